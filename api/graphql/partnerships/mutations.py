from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import contracts
from api.accounts import roles
from api.accounts.keys import Viewer
from api.content import live_posts, usage_rights
from api.db import utcnow
from api.domain import campaign_status, exclusivity, partnership_status, validation
from api.domain.partnership_status import PartnershipStatus as StatusEnum
from api.domain.state_machine import TransitionError
from api.graphql import inputs
from api.graphql.campaigns.mutations import load_campaign
from api.graphql.context import Info
from api.graphql.errors import problem
from api.graphql.influencers.mutations import load_influencer
from api.graphql.lookup import load_visible
from api.graphql.money import MoneyInput, minor_or_error
from api.graphql.mutation import run_mutation
from api.graphql.partnerships.types import (
    Contract,
    MaterialConnection,
    Partnership,
    PartnershipError,
    PartnershipErrorCode,
    PartnershipStatus,
    UsageRights,
)
from api.graphql.permissions import require
from api.ledger.posting import record_gifted_cost
from api.models import Campaign as CampaignModel
from api.models import Contract as ContractModel
from api.models import Partnership as PartnershipModel
from api.models.enums import MaterialConnection as ConnectionEnum
from api.models.enums import Role
from api.models.enums import UsageRights as UsageRightsEnum
from api.webhooks import events
from api.webhooks.outbox import emit

ERRORS = (PartnershipError, PartnershipErrorCode)
MAX_DAYS = 3650
MAX_PAYMENT_TERMS_DAYS = 180
MAX_APPROVAL_ROUNDS = 10
MAX_LIST = 50
# Statuses set by the influencer's answer (respondToPartnership), not by transitionPartnership.
_RESPONSES = frozenset({StatusEnum.ACCEPTED, StatusEnum.DECLINED})


@strawberry.enum(name="PartnershipDecision")
class PartnershipDecision(Enum):
    ACCEPT = "ACCEPT"
    DECLINE = "DECLINE"


@strawberry.input
class CreatePartnershipInput:
    campaign_id: strawberry.ID
    influencer_id: strawberry.ID
    connection: MaterialConnection = strawberry.field(
        default=ConnectionEnum.PAID,
        description="What ties the influencer to the brand; decides the disclosure needed.",
    )
    message: str | None = strawberry.field(
        default=None,
        description="A note for the influencer (at most 5000 characters): the partnership's "
        "invitationMessage.",
    )
    override_exclusivity: bool = strawberry.field(
        default=False,
        description="ADMIN only: invite although the influencer is exclusive to another brand "
        "of the organization in this brand's categories (or names it a competitor); an "
        "EXCLUSIVITY_CONFLICT finding is recorded.",
    )


@strawberry.input
class RespondToPartnershipInput:
    partnership_id: strawberry.ID
    decision: PartnershipDecision
    note: str | None = None


@strawberry.input
class TransitionPartnershipInput:
    partnership_id: strawberry.ID
    status: PartnershipStatus


@strawberry.input(
    description="The whole terms of a new contract version: fields left out take their "
    "defaults, not the previous version's."
)
class SetContractTermsInput:
    partnership_id: strawberry.ID
    usage_rights: UsageRights
    deliverables_due: str | None = None
    usage_rights_days: int | None = None
    usage_rights_regions: list[str] | None = None
    exclusivity_days: int | None = None
    exclusivity_categories: list[str] | None = None
    exclusivity_competitors: list[str] | None = strawberry.field(
        default=None,
        description="Competitor brands (names or @handles) the influencer must not work for "
        "during the exclusivity; captions mentioning them are findings.",
    )
    payment_terms_days: int = 30
    approval_rounds: int = 2
    kill_fee: MoneyInput | None = None


@strawberry.type
class PartnershipPayload:
    partnership: Partnership | None = None
    user_errors: list[PartnershipError]  # type: ignore[valid-type]


@strawberry.type
class ContractPayload:
    contract: Contract | None = None
    partnership: Partnership | None = None
    user_errors: list[PartnershipError]  # type: ignore[valid-type]


def status_changed(session: Session, row: PartnershipModel, previous: str) -> None:
    """Owes webhooks `partnership.status_changed` (in the transaction of the change)."""
    if row.status != previous:
        emit(
            session,
            "partnership.status_changed",
            row.organization_id,
            lambda: {"partnership": events.partnership(row), "previousStatus": previous},
        )


def actor(viewer: Viewer) -> str:
    """Who did something, as recorded on rows: the influencer for their own key, else the key."""
    if viewer.role is Role.INFLUENCER and viewer.influencer_id is not None:
        return f"influencer:{viewer.influencer_id}"
    return viewer.label


def load_partnership(
    info: Info, gid: strawberry.ID, field: str = "partnershipId"
) -> PartnershipModel:
    """The partnership, locked for the rest of the transaction (status changes serialize)."""
    row: PartnershipModel = load_visible(
        info, PartnershipModel, "Partnership", gid, field, lock=True
    )
    return row


def _days(value: int | None, field: str, limit: int) -> int | None:
    if value is not None and not 0 <= value <= limit:
        raise problem(field, f"{field} must be between 0 and {limit}", "OUT_OF_RANGE")
    return value


def _regions(values: list[str] | None) -> list[str]:
    if values is None:
        return []
    if len(values) > MAX_LIST:
        raise problem("usageRightsRegions", f"at most {MAX_LIST} regions", "TOO_LONG")
    out = []
    for i, value in enumerate(values):
        code = validation.region(value)
        if code is None:
            raise problem(
                f"usageRightsRegions[{i}]",
                f"{value!r} is not a region: use ISO 3166 alpha-2 codes such as FR, or EU",
            )
        out.append(code)
    return list(dict.fromkeys(out))


def _competitors(values: list[str] | None) -> list[str]:
    names = inputs.names(
        values,
        "exclusivityCompetitors",
        limit=exclusivity.MAX_COMPETITORS,
        each=exclusivity.MAX_NAME,
        fold=False,
    )
    for i, name in enumerate(names):
        if exclusivity.clean_competitor(name) is None:
            raise problem(f"exclusivityCompetitors[{i}]", "a brand name or @handle, please")
    return names


def _terms(input: SetContractTermsInput, currency: str) -> dict[str, Any]:
    """The validated columns of a contract version; raises the first problem found."""
    rights = UsageRightsEnum(input.usage_rights)
    days = _days(input.usage_rights_days, "usageRightsDays", MAX_DAYS)
    regions = _regions(input.usage_rights_regions)
    if rights is UsageRightsEnum.NONE and (days or regions):
        raise problem(
            "usageRightsDays" if days else "usageRightsRegions",
            "no usage rights are granted: leave their duration and regions out",
            "NOT_ALLOWED",
        )
    return {
        "deliverables_due": inputs.text(
            input.deliverables_due, "deliverablesDue", 5000, multiline=True
        ),
        "usage_rights": rights,
        "usage_rights_days": days,
        "usage_rights_regions": regions,
        "exclusivity_days": _days(input.exclusivity_days, "exclusivityDays", MAX_DAYS),
        "exclusivity_categories": inputs.names(
            input.exclusivity_categories, "exclusivityCategories", limit=MAX_LIST
        ),
        "exclusivity_competitors": _competitors(input.exclusivity_competitors),
        "payment_terms_days": _days(
            input.payment_terms_days, "paymentTermsDays", MAX_PAYMENT_TERMS_DAYS
        ),
        "approval_rounds": _days(input.approval_rounds, "approvalRounds", MAX_APPROVAL_ROUNDS),
        "kill_fee_amount": minor_or_error(input.kill_fee, "killFee", expected_currency=currency)
        if input.kill_fee is not None
        else None,
    }


def _latest_contract(info: Info, partnership_id: int) -> ContractModel | None:
    return info.context.session.scalar(
        select(ContractModel)
        .where(ContractModel.partnership_id == partnership_id)
        .order_by(ContractModel.version.desc())
        .limit(1)
    )


def exclusivity_gate(
    info: Info, campaign: Any, influencer_id: int, override: bool, field: str = "influencerId"
) -> list[Any]:
    """The exclusivities in force (to other brands of the organization) that the influencer
    joining the campaign would break: a CONFLICT userError naming whose and until when, unless
    an ADMIN overrides (`overrideExclusivity`): then the conflicts, for the finding the caller
    records on the partnership."""
    viewer = info.context.viewer
    if override and not roles.may(viewer.role, "exclusivity_override"):
        raise problem(
            "overrideExclusivity",
            roles.refusal(viewer.role, "exclusivity_override"),
            "FORBIDDEN",
        )
    conflicts = live_posts.invitation_conflicts(
        info.context.session, campaign, influencer_id, utcnow()
    )
    if conflicts and not override:
        raise problem(
            field,
            "; ".join(live_posts.describe(c) for c in conflicts)
            + ": an ADMIN may go on anyway with overrideExclusivity",
            "CONFLICT",
        )
    return conflicts


@strawberry.type
class PartnershipMutation:
    @strawberry.mutation(description="Invites an influencer to a campaign (status INVITED).")
    def create_partnership(self, info: Info, input: CreatePartnershipInput) -> PartnershipPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "partnerships")
            campaign = load_campaign(info, input.campaign_id)
            if campaign_status.is_terminal(campaign.status):
                raise problem(
                    "campaignId",
                    f"a {campaign.status} campaign takes no new partnerships",
                    "INVALID_TRANSITION",
                )
            if campaign.archived_at is not None:
                raise problem("campaignId", "the campaign is archived", "NOT_ALLOWED")
            influencer = load_influencer(info, input.influencer_id)
            if influencer.archived_at is not None:
                raise problem("influencerId", "the influencer is archived", "NOT_ALLOWED")
            message = inputs.text(input.message, "message", 5000, multiline=True)
            exists = ctx.session.scalar(
                select(func.count()).where(
                    PartnershipModel.campaign_id == campaign.id,
                    PartnershipModel.influencer_id == influencer.id,
                )
            )
            if exists:
                raise problem(
                    "influencerId", "the influencer is in this campaign already", "DUPLICATE"
                )
            now = utcnow()
            conflicts = exclusivity_gate(info, campaign, influencer.id, input.override_exclusivity)
            row = PartnershipModel(
                organization_id=ctx.viewer.organization_id,
                campaign_id=campaign.id,
                influencer_id=influencer.id,
                status=StatusEnum.INVITED.value,
                connection=ConnectionEnum(input.connection),
                invitation_message=message,
            )
            ctx.session.add(row)
            try:
                ctx.session.flush()
            except IntegrityError:  # invited concurrently: the unique pair is the last guard
                raise problem(
                    "influencerId", "the influencer is in this campaign already", "DUPLICATE"
                ) from None
            if conflicts:
                live_posts.record_invitation_override(
                    ctx.session, row, campaign, conflicts, actor(ctx.viewer), now
                )
            return {"partnership": Partnership.from_row(row)}

        return run_mutation(info, PartnershipPayload, ERRORS, body)

    @strawberry.mutation(
        description="The influencer's answer to an invitation. Accepting also accepts the "
        "latest contract version, if there is one."
    )
    def respond_to_partnership(
        self, info: Info, input: RespondToPartnershipInput
    ) -> PartnershipPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "partnership_response")
            row = load_partnership(info, input.partnership_id)
            note = inputs.text(input.note, "note", 2000, multiline=True)
            target = (
                StatusEnum.ACCEPTED
                if input.decision is PartnershipDecision.ACCEPT
                else StatusEnum.DECLINED
            )
            previous = row.status
            try:
                row.status = partnership_status.transition(row.status, target).value
            except TransitionError as exc:
                raise problem("decision", str(exc), "INVALID_TRANSITION") from None
            status_changed(ctx.session, row, previous)
            now = utcnow()
            row.responded_at = now
            row.response_note = note
            if target is StatusEnum.ACCEPTED:
                contract = _latest_contract(info, row.id)
                if contract is not None and contract.accepted_at is None:
                    contract.accepted_at = now
                    contract.accepted_by = actor(ctx.viewer)
                # The gifted product ships once the deal is on: its value is a campaign cost.
                record_gifted_cost(ctx.session, row, now=now)
            ctx.session.flush()
            return {"partnership": Partnership.from_row(row)}

        return run_mutation(info, PartnershipPayload, ERRORS, body)

    @strawberry.mutation(
        description="Moves an accepted partnership on (ACTIVE, COMPLETED or TERMINATED), or "
        "withdraws an invitation not answered yet (WITHDRAWN)."
    )
    def transition_partnership(
        self, info: Info, input: TransitionPartnershipInput
    ) -> PartnershipPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "partnerships")
            row = load_partnership(info, input.partnership_id)
            target = StatusEnum(input.status)
            if target in _RESPONSES:
                raise problem(
                    "status",
                    f"{target.value} is the influencer's answer: use respondToPartnership",
                    "INVALID_TRANSITION",
                )
            previous = row.status
            try:
                row.status = partnership_status.transition(row.status, target).value
            except TransitionError as exc:
                raise problem("status", str(exc), "INVALID_TRANSITION") from None
            info.context.session.flush()
            status_changed(info.context.session, row, previous)
            return {"partnership": Partnership.from_row(row)}

        return run_mutation(info, PartnershipPayload, ERRORS, body)

    @strawberry.mutation(
        description="Sets new terms: a new contract version; earlier versions are kept."
    )
    def set_contract_terms(self, info: Info, input: SetContractTermsInput) -> ContractPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "partnerships")
            row = load_partnership(info, input.partnership_id)
            if partnership_status.is_terminal(row.status):
                raise problem(
                    "partnershipId",
                    f"a {row.status} partnership's terms cannot change",
                    "INVALID_TRANSITION",
                )
            campaign = ctx.session.get(CampaignModel, row.campaign_id)
            assert campaign is not None
            terms = _terms(input, campaign.currency)
            latest = _latest_contract(info, row.id)
            contract = ContractModel(
                organization_id=row.organization_id,
                partnership_id=row.id,
                version=(latest.version if latest else 0) + 1,
                **terms,
            )
            ctx.session.add(contract)
            ctx.session.flush()
            # What its PDF shows, frozen now: the version signed is the version made.
            contract.document = contracts.snapshot(ctx.session, contract)
            ctx.session.flush()
            usage_rights.follow_contract(ctx.session, row.id)
            return {
                "contract": Contract.from_row(contract),
                "partnership": Partnership.from_row(row),
            }

        return run_mutation(info, ContractPayload, ERRORS, body)
