"""`recordPostMetrics`: one snapshot of a published deliverable's results."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.content import post_metrics as recording
from api.domain.post_metrics import Counts, MetricSource
from api.graphql import inputs
from api.graphql.context import Info
from api.graphql.errors import from_domain
from api.graphql.lookup import load_visible
from api.graphql.mutation import run_mutation
from api.graphql.partnerships.mutations import actor
from api.graphql.permissions import require
from api.graphql.post_metrics.types import PostMetrics, PostMetricsError, PostMetricsErrorCode
from api.models import Deliverable as DeliverableModel
from api.models.enums import Role

ERRORS = (PostMetricsError, PostMetricsErrorCode)


@strawberry.input(
    description="A published deliverable's lifetime totals as of capturedAt; leave out what the "
    "source does not report. Counters never go backwards against the deliverable's snapshots "
    "before (or after) capturedAt; reach never exceeds impressions."
)
class RecordPostMetricsInput:
    deliverable_id: strawberry.ID
    captured_at: datetime = strawberry.field(
        description="When the numbers were read: not in the future, not before publication."
    )
    impressions: int | None = None
    reach: int | None = None
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    link_clicks: int | None = None
    followers_at_posting: int | None = strawberry.field(
        default=None, description="The account's followers when the post went live, if known."
    )
    source: MetricSource = strawberry.field(
        default=MetricSource.MANUAL,
        description="Where the numbers come from; always SELF_REPORTED for an INFLUENCER key.",
    )
    caption: str | None = strawberry.field(
        default=None, description="The caption as it reads live, if checked."
    )


@strawberry.type
class RecordPostMetricsPayload:
    metrics: PostMetrics | None = None
    created: bool = strawberry.field(
        default=False,
        description="False when the same snapshot was recorded before (nothing changed).",
    )
    user_errors: list[PostMetricsError]  # type: ignore[valid-type]


def reading_of(input: RecordPostMetricsInput, source: MetricSource) -> recording.Reading:
    captured_at = inputs.aware(input.captured_at, "capturedAt")
    assert captured_at is not None
    caption = inputs.text(input.caption, "caption", recording.MAX_CAPTION, multiline=True)
    return recording.Reading(
        captured_at=captured_at,
        counts=Counts(
            impressions=input.impressions,
            reach=input.reach,
            views=input.views,
            likes=input.likes,
            comments=input.comments,
            shares=input.shares,
            saves=input.saves,
            link_clicks=input.link_clicks,
        ),
        source=source,
        followers_at_posting=input.followers_at_posting,
        caption=caption,
    )


@strawberry.type
class PostMetricsMutation:
    @strawberry.mutation(
        description="Records a snapshot of a PUBLISHED deliverable's results (MANAGER or ADMIN; "
        "an INFLUENCER key its own deliverables', stored as SELF_REPORTED). Idempotent by "
        "(deliverable, capturedAt): the same numbers again return the snapshot recorded "
        "before; other numbers are a CONFLICT."
    )
    def record_post_metrics(
        self, info: Info, input: RecordPostMetricsInput
    ) -> RecordPostMetricsPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "post_metrics")
            source = MetricSource(input.source)
            if ctx.viewer.role is Role.INFLUENCER:
                source = MetricSource.SELF_REPORTED
            reading = reading_of(input, source)
            deliverable = load_visible(
                info, DeliverableModel, "Deliverable", input.deliverable_id, "deliverableId"
            )
            try:
                row, outcome = recording.record(
                    ctx.session, deliverable, reading, actor(ctx.viewer)
                )
            except recording.Refused as exc:
                raise from_domain(exc.problems) from None
            return {
                "metrics": PostMetrics.from_row(row),
                "created": outcome is recording.Outcome.CREATED,
            }

        return run_mutation(info, RecordPostMetricsPayload, ERRORS, body)
