"""`recheckPublishedContent`, `resolveContentFinding` and `setUsageRights`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import select

from api.content import live_posts
from api.content import usage_rights as rights_store
from api.domain import usage_rights
from api.graphql import inputs
from api.graphql.content.types import Deliverable
from api.graphql.context import Info
from api.graphql.errors import from_domain, problem
from api.graphql.live_posts.types import (
    ContentFinding,
    LivePostError,
    LivePostErrorCode,
    UsageChannel,
    UsageRights,
)
from api.graphql.lookup import load_visible
from api.graphql.mutation import run_mutation
from api.graphql.partnerships.mutations import actor
from api.graphql.permissions import require, visible
from api.models import Campaign as CampaignModel
from api.models import ContentFinding as FindingModel
from api.models import Deliverable as DeliverableModel
from api.models import Partnership as PartnershipModel
from api.models.live_posts import FindingStatus

ERRORS = (LivePostError, LivePostErrorCode)
# A synchronous recheck covers this many live posts; `vouch content recheck` does any number.
MAX_RECHECK = 500


@strawberry.input
class RecheckPublishedContentInput:
    deliverable_id: strawberry.ID | None = strawberry.field(
        default=None, description="One deliverable; by default every published one."
    )
    campaign_id: strawberry.ID | None = None


@strawberry.type
class RecheckPublishedContentPayload:
    checked: int = strawberry.field(default=0, description="Published deliverables looked at.")
    complete: bool = strawberry.field(
        default=True,
        description=f"False when more than {MAX_RECHECK} were due: run `vouch content recheck`.",
    )
    findings: list[ContentFinding] = strawberry.field(
        default_factory=list, description="The findings this run made (nothing seen before)."
    )
    user_errors: list[LivePostError]  # type: ignore[valid-type]


@strawberry.input
class ResolveContentFindingInput:
    finding_id: strawberry.ID
    note: str = strawberry.field(description="What was done (at most 2000 characters): kept.")


@strawberry.type
class ContentFindingPayload:
    finding: ContentFinding | None = None
    user_errors: list[LivePostError]  # type: ignore[valid-type]


@strawberry.input(
    description="A deliverable's usage rights, replacing those it had (from its contract or "
    "set before)."
)
class SetUsageRightsInput:
    deliverable_id: strawberry.ID
    channels: list[UsageChannel]
    territories: list[str] = strawberry.field(
        description="ISO 3166 alpha-2 countries (or EU), or WORLDWIDE alone."
    )
    paid_use: bool = False
    allowlisting: bool = strawberry.field(
        default=False, description="Ads from the creator's own account; needs paidUse."
    )
    expires_at: datetime | None = strawberry.field(
        default=None,
        description="When the rights end; null: the contract's usageRightsDays from "
        "publication, or no end date when there is neither.",
    )


@strawberry.type
class UsageRightsPayload:
    deliverable: Deliverable | None = None
    usage_rights: UsageRights | None = None
    user_errors: list[LivePostError]  # type: ignore[valid-type]


@strawberry.type
class LivePostMutation:
    @strawberry.mutation(
        description="Rechecks the latest live caption of published deliverables (one, a "
        "campaign's, or all; MANAGER or ADMIN) against the approved version and the current "
        "rules. Idempotent: a caption checked before makes no new finding."
    )
    def recheck_published_content(
        self, info: Info, input: RecheckPublishedContentInput
    ) -> RecheckPublishedContentPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "live_posts")
            conditions = list(visible(DeliverableModel, ctx.viewer))
            if input.deliverable_id is not None:
                row = load_visible(
                    info, DeliverableModel, "Deliverable", input.deliverable_id, "deliverableId"
                )
                conditions.append(DeliverableModel.id == row.id)
            if input.campaign_id is not None:
                campaign = load_visible(
                    info, CampaignModel, "Campaign", input.campaign_id, "campaignId"
                )
                conditions.append(
                    DeliverableModel.partnership_id.in_(
                        select(PartnershipModel.id).where(
                            PartnershipModel.campaign_id == campaign.id
                        )
                    )
                )
            report = live_posts.recheck_published(ctx.session, conditions, limit=MAX_RECHECK + 1)
            return {
                "checked": min(report.checked, MAX_RECHECK),
                "complete": report.checked <= MAX_RECHECK,
                "findings": ContentFinding.from_rows(report.made),
            }

        return run_mutation(info, RecheckPublishedContentPayload, ERRORS, body)

    @strawberry.mutation(
        description="Closes a finding with a note (MANAGER or ADMIN): who, when and why are "
        "kept. A deliverable marked breached by it alone is unmarked, and it no longer holds "
        "the partnership's new commissions (those held meanwhile wait for reviewConversion)."
    )
    def resolve_content_finding(
        self, info: Info, input: ResolveContentFindingInput
    ) -> ContentFindingPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "live_posts")
            finding = load_visible(
                info, FindingModel, "ContentFinding", input.finding_id, "findingId", lock=True
            )
            note = inputs.text(input.note, "note", 2000, required=True, multiline=True)
            assert note is not None
            if finding.status is FindingStatus.RESOLVED:
                raise problem("findingId", "the finding is resolved already", "INVALID_TRANSITION")
            live_posts.resolve(ctx.session, finding, actor(ctx.viewer), note)
            return {"finding": ContentFinding.from_row(finding)}

        return run_mutation(info, ContentFindingPayload, ERRORS, body)

    @strawberry.mutation(
        description="Sets a deliverable's usage rights (MANAGER or ADMIN): channels, paid use "
        "and allowlisting, territories and when they end."
    )
    def set_usage_rights(self, info: Info, input: SetUsageRightsInput) -> UsageRightsPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "live_posts")
            row = load_visible(
                info, DeliverableModel, "Deliverable", input.deliverable_id, "deliverableId"
            )
            expires_at = inputs.aware(input.expires_at, "expiresAt")
            rights, problems = usage_rights.validate(
                [str(c.value) for c in input.channels],
                input.paid_use,
                input.allowlisting,
                input.territories,
            )
            if problems:
                raise from_domain(problems)
            assert rights is not None
            if expires_at is None:
                expires_at = rights_store.contract_expiry(ctx.session, row)
            rights = usage_rights.Rights(
                rights.channels,
                rights.paid_use,
                rights.allowlisting,
                rights.territories,
                expires_at,
            )
            stored = rights_store.store(
                ctx.session, row, rights, usage_rights.Basis.EXPLICIT, actor(ctx.viewer)
            )
            return {
                "deliverable": Deliverable.from_row(row),
                "usage_rights": UsageRights.of(stored),
            }

        return run_mutation(info, UsageRightsPayload, ERRORS, body)
