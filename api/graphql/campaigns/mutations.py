from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.domain import campaign_status, disclosure, validation
from api.domain.attribution import RepeatOrders, repeat_rule_problem
from api.domain.commission import CompensationPlan as PlanDomain
from api.domain.commission import PlanOverride
from api.domain.partnership_status import PartnershipStatus
from api.domain.state_machine import TransitionError
from api.graphql import inputs
from api.graphql.brands.mutations import load_brand
from api.graphql.campaigns.compensation import CompensationPlanInput, to_domain
from api.graphql.campaigns.types import (
    Campaign,
    CampaignError,
    CampaignErrorCode,
    CampaignObjective,
    CampaignStatus,
)
from api.graphql.context import Info
from api.graphql.errors import problem
from api.graphql.live_posts.types import LiveBreachAction
from api.graphql.lookup import load_visible
from api.graphql.money import MoneyInput, currency_or_error, minor_or_error
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.models import Campaign as CampaignModel
from api.models import Partnership as PartnershipModel

if TYPE_CHECKING:
    from api.graphql.partnerships.types import Partnership

ERRORS = (CampaignError, CampaignErrorCode)
JURISDICTIONS = tuple(j.value for j in disclosure.Jurisdiction)  # those the checker has rules for
# A campaign that ends takes back the invitations nobody answered.
_ENDING = frozenset({CampaignStatus.CANCELLED, CampaignStatus.COMPLETED})
_TAG = re.compile(r"^[\w.]{1,100}$")


@strawberry.input
class CreateCampaignInput:
    brand_id: strawberry.ID
    name: str
    objective: CampaignObjective
    landing_url: str
    currency: str | None = strawberry.field(default=None, description="Defaults to the brand's.")
    brief: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    budget: MoneyInput | None = None
    allowed_domains: list[str] | None = None
    required_hashtags: list[str] | None = None
    required_mentions: list[str] | None = None
    jurisdictions: list[str] | None = None
    required_labels: list[str] | None = None
    attribution_window_days: int = 30
    hold_days: int = 30
    repeat_orders: RepeatOrders = strawberry.field(
        default=RepeatOrders.FIRST_ORDER_ONLY,
        description="Whether a customer's later orders credit the influencer who brought them.",
    )
    repeat_order_months: int | None = strawberry.field(
        default=None, description="For WITHIN_MONTHS: how many months (1-120)."
    )
    compensation_plan: CompensationPlanInput | None = None
    live_breach_action: LiveBreachAction = strawberry.field(
        default=LiveBreachAction.NOTIFY,
        description="What a live post that broke its approved disclosure or caption triggers.",
    )


@strawberry.input
class UpdateCampaignInput:
    campaign_id: strawberry.ID
    name: str | None = None
    objective: CampaignObjective | None = None
    landing_url: str | None = None
    brief: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    budget: MoneyInput | None = None
    allowed_domains: list[str] | None = None
    required_hashtags: list[str] | None = None
    required_mentions: list[str] | None = None
    jurisdictions: list[str] | None = None
    required_labels: list[str] | None = None
    attribution_window_days: int | None = None
    hold_days: int | None = None
    repeat_orders: RepeatOrders | None = None
    repeat_order_months: int | None = strawberry.field(
        default=None, description="For WITHIN_MONTHS: how many months (1-120)."
    )
    live_breach_action: LiveBreachAction | None = None
    archived: bool | None = None


@strawberry.input
class TransitionCampaignInput:
    campaign_id: strawberry.ID
    status: CampaignStatus


@strawberry.input(description="Sets a campaign's plan, or a partnership's override of it.")
class SetCompensationPlanInput:
    campaign_id: strawberry.ID | None = None
    partnership_id: strawberry.ID | None = None
    plan: CompensationPlanInput | None = strawberry.field(
        default=None, description="Null on a partnership removes its override."
    )


@strawberry.type
class CampaignPayload:
    campaign: Campaign | None = None
    user_errors: list[CampaignError]  # type: ignore[valid-type]


@strawberry.type
class SetCompensationPlanPayload:
    campaign: Campaign | None = None
    partnership: (
        Annotated[Partnership, strawberry.lazy("api.graphql.partnerships.types")] | None
    ) = None
    user_errors: list[CampaignError]  # type: ignore[valid-type]


def load_campaign(info: Info, gid: strawberry.ID, field: str = "campaignId") -> CampaignModel:
    row: CampaignModel = load_visible(info, CampaignModel, "Campaign", gid, field)
    return row


def _list(values: list[str] | None, field: str, clean: Any, what: str) -> list[str]:
    if values is None:
        return []
    if len(values) > 50:
        raise problem(field, "at most 50 values", "TOO_LONG")
    out = []
    for i, value in enumerate(values):
        cleaned = clean(inputs.no_controls(value.strip(), f"{field}[{i}]"))
        if cleaned is None:
            raise problem(f"{field}[{i}]", f"{value!r} is not a valid {what}", "INVALID")
        out.append(cleaned)
    return list(dict.fromkeys(out))


def _hashtag(value: str) -> str | None:
    tag = value.strip().lstrip("#")
    return tag if _TAG.match(tag) else None


def _mention(value: str) -> str | None:
    return validation.handle_key(value)


def _jurisdiction(value: str) -> str | None:
    code = value.strip().upper()
    code = "UK" if code == "GB" else code
    return code if code in JURISDICTIONS else None


def _label(value: str) -> str | None:
    label = value.strip()
    return label if 0 < len(label) <= 100 else None


def _apply(row: CampaignModel, data: Any, *, creating: bool) -> None:
    """Validates and copies the fields given (all on create); raises the first problem found."""
    if creating or data.name is not None:
        row.name = inputs.required_text(data.name, "name", 200)
    if creating or data.objective is not None:
        row.objective = data.objective.value
    if creating or data.brief is not None:
        row.brief = inputs.text(data.brief, "brief", 10_000, multiline=True)
    if creating or data.landing_url is not None:
        row.landing_url = inputs.url(data.landing_url or "", "landingUrl")
    if creating or data.allowed_domains is not None:
        row.allowed_domains = _list(
            data.allowed_domains, "allowedDomains", validation.domain, "domain"
        )
    if row.allowed_domains and not validation.host_allowed(
        validation.host_of(row.landing_url), row.allowed_domains
    ):
        raise problem("allowedDomains", "the landing URL's host must be among the allowed domains")
    if creating or data.required_hashtags is not None:
        row.required_hashtags = _list(
            data.required_hashtags, "requiredHashtags", _hashtag, "hashtag"
        )
    if creating or data.required_mentions is not None:
        row.required_mentions = _list(
            data.required_mentions, "requiredMentions", _mention, "handle"
        )
    if creating or data.jurisdictions is not None:
        row.jurisdictions = _list(
            data.jurisdictions,
            "jurisdictions",
            _jurisdiction,
            "jurisdiction (one of " + ", ".join(JURISDICTIONS) + ")",
        )
    if creating or data.required_labels is not None:
        row.required_labels = _list(data.required_labels, "requiredLabels", _label, "label")
    if creating or data.starts_at is not None:
        row.starts_at = inputs.aware(data.starts_at, "startsAt")
    if creating or data.ends_at is not None:
        row.ends_at = inputs.aware(data.ends_at, "endsAt")
    if row.starts_at and row.ends_at and row.ends_at <= row.starts_at:
        raise problem("endsAt", "endsAt must be after startsAt")
    if data.budget is not None:
        row.budget_amount = minor_or_error(data.budget, "budget", expected_currency=row.currency)
    if creating or data.attribution_window_days is not None:
        days = data.attribution_window_days
        if not 1 <= days <= 365:
            raise problem("attributionWindowDays", "between 1 and 365 days", "OUT_OF_RANGE")
        row.attribution_window_days = days
    if creating or data.hold_days is not None:
        if not 0 <= data.hold_days <= 365:
            raise problem("holdDays", "between 0 and 365 days", "OUT_OF_RANGE")
        row.hold_days = data.hold_days
    if creating or data.repeat_orders is not None or data.repeat_order_months is not None:
        mode = RepeatOrders(data.repeat_orders or row.repeat_orders)
        months = data.repeat_order_months
        if months is None and data.repeat_orders is None:
            months = row.repeat_months
        why = repeat_rule_problem(mode, months)
        if why is not None:
            raise problem("repeatOrderMonths", why, "INVALID")
        row.repeat_orders, row.repeat_months = str(mode), months
    if creating or data.live_breach_action is not None:
        row.live_breach_action = LiveBreachAction(data.live_breach_action)


def _withdraw_invitations(session: Session, campaign: CampaignModel) -> None:
    """INVITED partnerships of the campaign become WITHDRAWN: one UPDATE in the caller's
    transaction. The status condition is in the statement, so an invitation answered (and
    locked) concurrently keeps its answer."""
    session.execute(
        update(PartnershipModel)
        .where(
            PartnershipModel.organization_id == campaign.organization_id,
            PartnershipModel.campaign_id == campaign.id,
            PartnershipModel.status == PartnershipStatus.INVITED.value,
        )
        .values(status=PartnershipStatus.WITHDRAWN.value)
    )


def _plan_for(row: CampaignModel, value: CompensationPlanInput, field: str) -> PlanDomain:
    plan = to_domain(value, field)
    if plan.currency != row.currency:
        raise problem(
            f"{field}.currency",
            f"the plan must be in the campaign's currency {row.currency}",
            "INVALID_CURRENCY",
        )
    return plan


@strawberry.type
class CampaignMutation:
    @strawberry.mutation(description="Creates a DRAFT campaign for a brand.")
    def create_campaign(self, info: Info, input: CreateCampaignInput) -> CampaignPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "campaigns")
            brand = load_brand(info, input.brand_id)
            currency = (
                currency_or_error(input.currency, "currency")
                if input.currency
                else brand.default_currency
            )
            row = CampaignModel(
                organization_id=ctx.viewer.organization_id,
                brand_id=brand.id,
                currency=currency,
                status=campaign_status.CampaignStatus.DRAFT.value,
            )
            _apply(row, input, creating=True)
            if input.compensation_plan is not None:
                row.compensation = _plan_for(
                    row, input.compensation_plan, "compensationPlan"
                ).to_dict()
            ctx.session.add(row)
            ctx.session.flush()
            return {"campaign": Campaign.from_row(row)}

        return run_mutation(info, CampaignPayload, ERRORS, body)

    @strawberry.mutation(description="Changes the fields given; the others stay as they are.")
    def update_campaign(self, info: Info, input: UpdateCampaignInput) -> CampaignPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "campaigns")
            row = load_campaign(info, input.campaign_id)
            if campaign_status.is_terminal(row.status):
                raise problem(
                    "campaignId", f"a {row.status} campaign cannot be changed", "INVALID_TRANSITION"
                )
            _apply(row, input, creating=False)
            if input.archived is not None:
                from api.db import utcnow

                row.archived_at = utcnow() if input.archived else None
            info.context.session.flush()
            return {"campaign": Campaign.from_row(row)}

        return run_mutation(info, CampaignPayload, ERRORS, body)

    @strawberry.mutation(
        description="Moves a campaign to another status, if the move is legal. CANCELLED and "
        "COMPLETED withdraw its invitations not answered yet (INVITED partnerships)."
    )
    def transition_campaign(self, info: Info, input: TransitionCampaignInput) -> CampaignPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "campaigns")
            row = load_campaign(info, input.campaign_id)
            try:
                target = campaign_status.transition(row.status, input.status.value)
            except TransitionError as exc:
                raise problem("status", str(exc), "INVALID_TRANSITION") from None
            row.status = target.value
            info.context.session.flush()
            if target in _ENDING:
                _withdraw_invitations(info.context.session, row)
            return {"campaign": Campaign.from_row(row)}

        return run_mutation(info, CampaignPayload, ERRORS, body)

    @strawberry.mutation(
        description="Sets the plan of a campaign, or overrides it for one partnership."
    )
    def set_compensation_plan(
        self, info: Info, input: SetCompensationPlanInput
    ) -> SetCompensationPlanPayload:
        from api.graphql.partnerships.types import Partnership

        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "campaigns")
            if (input.campaign_id is None) == (input.partnership_id is None):
                raise problem(None, "give either campaignId or partnershipId", "REQUIRED")
            if input.campaign_id is not None:
                campaign = load_campaign(info, input.campaign_id)
                if input.plan is None:
                    raise problem("plan", "a campaign needs a plan", "REQUIRED")
                campaign.compensation = _plan_for(campaign, input.plan, "plan").to_dict()
                ctx.session.flush()
                return {"campaign": Campaign.from_row(campaign)}
            partnership = load_visible(
                info, PartnershipModel, "Partnership", input.partnership_id, "partnershipId"
            )
            parent = ctx.session.get(CampaignModel, partnership.campaign_id)
            assert parent is not None
            if input.plan is None:
                partnership.compensation_override = None
            else:
                plan = _plan_for(parent, input.plan, "plan")
                # A whole plan given for a partnership replaces every field of the campaign's.
                override = PlanOverride(
                    currency=plan.currency,
                    flat_fee_per_deliverable_minor=plan.flat_fee_per_deliverable_minor,
                    commission=plan.commission,
                    gifted_product=plan.gifted_product,
                    bonus=plan.bonus,
                    repeat_order_bps=plan.repeat_order_bps,
                    leaked_order_bps=plan.leaked_order_bps,
                )
                partnership.compensation_override = override.to_dict()
            ctx.session.flush()
            return {
                "campaign": Campaign.from_row(parent),
                "partnership": Partnership.from_row(partnership),
            }

        return run_mutation(info, SetCompensationPlanPayload, ERRORS, body)
