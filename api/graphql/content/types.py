from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

from api.domain.deliverable_status import DeliverableStatus as StatusEnum
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.influencers.types import Platform
from api.graphql.loaders import by_fk, by_id
from api.graphql.relay import ModelNode
from api.models import ContentSubmission as SubmissionModel
from api.models import Deliverable as DeliverableModel
from api.models import Partnership as PartnershipModel
from api.models.enums import ContentFormat as FormatEnum
from api.models.enums import PlatformLabel as PlatformLabelEnum

if TYPE_CHECKING:
    from api.graphql.compliance.types import DisclosureReport
    from api.graphql.live_posts.types import ContentFinding, UsageRights
    from api.graphql.partnerships.types import Partnership
    from api.graphql.post_metrics.types import PostMetrics

DeliverableStatus = StatusEnum
strawberry.enum(DeliverableStatus, name="DeliverableStatus")
ContentFormat = FormatEnum
strawberry.enum(ContentFormat, name="ContentFormat")
PlatformLabel = PlatformLabelEnum
strawberry.enum(PlatformLabel, name="PlatformLabel")
ContentError, ContentErrorCode = error_type("Content", ("DISCLOSURE_FAILED",))


@strawberry.type(name="ContentSubmission", description="One version of a deliverable's content.")
class ContentSubmission(ModelNode):
    __model__ = SubmissionModel
    id: strawberry.relay.NodeID[int]
    version: int
    caption: str
    media_url: str | None
    platform_label: PlatformLabel | None
    retouched: bool
    ai_generated: bool
    creator_comments: list[str] | None = strawberry.field(
        description="The creator's own first comment and replies submitted with the caption "
        "(checked with it), if given."
    )
    feedback: str | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    submitted_by: str | None
    created_at: datetime
    disclosure_verdict: str | None = strawberry.field(
        description="Worst verdict of the disclosure check: PASS, NEEDS_REVIEW or FAIL."
    )

    @strawberry.field(description="The disclosure check run when this version was submitted.")
    def disclosure_report(
        self,
    ) -> Annotated[DisclosureReport, strawberry.lazy("api.graphql.compliance.types")] | None:
        from api.graphql.compliance.types import DisclosureReport

        return DisclosureReport.from_stored(self.row.disclosure_report)

    @strawberry.field(description="The stored report as JSON, with the brand's requirements.")
    def disclosure_report_json(self) -> JSON | None:
        report: Any = self.row.disclosure_report
        return report


@strawberry.type(name="Deliverable")
class Deliverable(ModelNode):
    __model__ = DeliverableModel
    id: strawberry.relay.NodeID[int]
    platform: Platform
    format: ContentFormat
    title: str
    brief: str | None
    due_at: datetime | None
    status: DeliverableStatus
    published_url: str | None
    published_at: datetime | None
    disclosure_override_reason: str | None
    breached_at: datetime | None = strawberry.field(
        description="When a live post broke its approved disclosure or caption and the "
        "campaign's liveBreachAction is MARK_BREACHED; null again once resolved."
    )
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    async def partnership(
        self, info: Info
    ) -> Annotated[Partnership, strawberry.lazy("api.graphql.partnerships.types")] | None:
        from api.graphql.partnerships.types import Partnership

        row = await by_id(info.context, PartnershipModel).load(self.row.partnership_id)
        return Partnership.from_row(row) if row else None

    @strawberry.field(description="Every version submitted, oldest first.")
    async def submissions(self, info: Info) -> list[ContentSubmission]:
        rows = await by_fk(
            info.context,
            SubmissionModel,
            SubmissionModel.deliverable_id,
            order_by=(SubmissionModel.version,),
        ).load(self.id)
        return ContentSubmission.from_rows(rows)

    @strawberry.field
    async def latest_submission(self, info: Info) -> ContentSubmission | None:
        versions = await self.submissions(info)
        return versions[-1] if versions else None

    @strawberry.field(description="The latest post-metric snapshot (results so far), if any.")
    async def metrics(
        self, info: Info
    ) -> Annotated[PostMetrics, strawberry.lazy("api.graphql.post_metrics.types")] | None:
        from api.graphql.post_metrics.types import PostMetrics, latest_metrics

        row = await latest_metrics(info.context).load(self.id)
        return PostMetrics.from_row(row) if row else None

    @strawberry.field(
        description="The `last` most recent post-metric snapshots (1-100, default 100), oldest "
        "first."
    )
    async def metrics_history(
        self, info: Info, last: int = 100
    ) -> list[Annotated[PostMetrics, strawberry.lazy("api.graphql.post_metrics.types")]]:
        from api.graphql.post_metrics.types import MAX_HISTORY, PostMetrics, metrics_history

        if not 1 <= last <= MAX_HISTORY:
            raise GraphQLError(f"last must be between 1 and {MAX_HISTORY}")
        return PostMetrics.from_rows(await metrics_history(info.context, last).load(self.id))

    @strawberry.field(description="Findings about the live post, oldest first.")
    async def findings(
        self, info: Info
    ) -> list[Annotated[ContentFinding, strawberry.lazy("api.graphql.live_posts.types")]]:
        from api.graphql.live_posts.types import ContentFinding
        from api.models import ContentFinding as FindingModel

        rows = await by_fk(
            info.context,
            FindingModel,
            FindingModel.deliverable_id,
            order_by=(FindingModel.detected_at, FindingModel.id),
        ).load(self.id)
        return ContentFinding.from_rows(rows)

    @strawberry.field(
        description="Where and until when the brand may use the content: from the contract at "
        "publication, or set with setUsageRights; null when none are granted."
    )
    async def usage_rights(
        self, info: Info
    ) -> Annotated[UsageRights, strawberry.lazy("api.graphql.live_posts.types")] | None:
        from api.graphql.live_posts.types import UsageRights
        from api.models import DeliverableUsageRights as RightsModel

        rows = await by_fk(info.context, RightsModel, RightsModel.deliverable_id).load(self.id)
        return UsageRights.of(rows[0]) if rows else None
