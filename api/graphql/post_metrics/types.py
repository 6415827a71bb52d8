"""Post results on GraphQL: `PostMetrics` (one snapshot, with its derived figures), the
`Deliverable.metrics` / `metricsHistory` loaders and the domain's error type. The formulas are
those of `api.domain.post_metrics`, written out in each field's description."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.dataloader import DataLoader

from api.content import post_metrics as recording
from api.domain import post_metrics
from api.domain.post_metrics import MetricSource as MetricSourceEnum
from api.graphql.context import Context, Info
from api.graphql.errors import error_type
from api.graphql.loaders import by_id, one_of
from api.graphql.money import Money
from api.graphql.permissions import scoped
from api.graphql.relay import ModelNode
from api.models import Deliverable as DeliverableModel
from api.models import PostMetricSnapshot

if TYPE_CHECKING:
    from api.graphql.content.types import Deliverable

MetricSource = MetricSourceEnum
strawberry.enum(MetricSource, name="PostMetricSource")
PostMetricsError, PostMetricsErrorCode = error_type(
    "PostMetrics", ("NOT_PUBLISHED", "REGRESSION", "CONFLICT")
)
MAX_HISTORY = 100

COST = (
    "The deliverable's cost to date: its partnership's cost (flat fees and bonuses, gifted "
    "product value, and the commission its tracked links and discount codes earned, net of "
    "reversals) split evenly over the partnership's published deliverables, the remainder one "
    "minor unit each to the earliest published. In the campaign's currency."
)


@strawberry.type(
    name="PostMetrics",
    description="A published deliverable's lifetime results as of `capturedAt`. Counters are "
    "null when the source did not report them; every derived figure is null where it is "
    "undefined (a counter missing, a zero denominator). Rates are percent, 2 places, "
    "half-even; money is rounded half-even once to the minor unit.",
)
class PostMetrics(ModelNode):
    __model__ = PostMetricSnapshot
    id: strawberry.relay.NodeID[int]
    captured_at: datetime
    impressions: int | None
    reach: int | None = strawberry.field(description="Distinct accounts reached; <= impressions.")
    views: int | None = strawberry.field(description="Video views / plays.")
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    link_clicks: int | None = strawberry.field(description="Link clicks the platform counted.")
    followers_at_posting: int | None = strawberry.field(
        description="The account's followers when the post went live: as given, else as on the "
        "deliverable's earlier snapshot, else the account's followers when first recorded."
    )
    source: MetricSource
    caption: str | None = strawberry.field(description="The caption as captured, if given.")
    creator_comments: list[str] | None = strawberry.field(
        description="The creator's own comments and replies as captured with the caption, if "
        "given (checked with it)."
    )
    recorded_by: str | None
    created_at: datetime

    @strawberry.field(description="likes + comments + shares + saves (those reported).")
    def engagements(self) -> int | None:
        return post_metrics.engagements(recording.counts_of(self.row))

    @strawberry.field(description="Engagement rate by reach: engagements / reach x 100.")
    def engagement_rate(self) -> Decimal | None:
        return post_metrics.percent(self.engagements(), self.row.reach)

    @strawberry.field(
        description="Engagement rate by followers: engagements / followersAtPosting x 100."
    )
    def engagement_rate_by_followers(self) -> Decimal | None:
        return post_metrics.percent(self.engagements(), self.row.followers_at_posting)

    @strawberry.field(description="Click-through rate: linkClicks / impressions x 100.")
    def ctr(self) -> Decimal | None:
        return post_metrics.percent(self.row.link_clicks, self.row.impressions)

    @strawberry.field(description=COST)
    async def cost(self, info: Info) -> Money | None:
        found = await _cost(info, self.row.deliverable_id)
        return Money.of(found[1], found[0]) if found else None

    @strawberry.field(description="Cost per thousand impressions: cost x 1000 / impressions.")
    async def cpm(self, info: Info) -> Money | None:
        return await self._per(info, self.row.impressions, 1000)

    @strawberry.field(description="Cost per engagement: cost / engagements.")
    async def cpe(self, info: Info) -> Money | None:
        return await self._per(info, self.engagements())

    @strawberry.field(description="Cost per view: cost / views.")
    async def cpv(self, info: Info) -> Money | None:
        return await self._per(info, self.row.views)

    @strawberry.field(description="Cost per link click: cost / linkClicks.")
    async def cost_per_click(self, info: Info) -> Money | None:
        return await self._per(info, self.row.link_clicks)

    async def _per(self, info: Info, count: int | None, scale: int = 1) -> Money | None:
        found = await _cost(info, self.row.deliverable_id)
        if found is None:
            return None
        return Money.of(post_metrics.per(found[1], count, scale), found[0])

    @strawberry.field
    async def deliverable(
        self, info: Info
    ) -> Annotated[Deliverable, strawberry.lazy("api.graphql.content.types")] | None:
        from api.graphql.content.types import Deliverable

        row = await by_id(info.context, DeliverableModel).load(self.row.deliverable_id)
        return Deliverable.from_row(row) if row else None


async def _cost(info: Info, deliverable_id: int) -> tuple[str, int] | None:
    ctx = info.context

    async def load(ids: list[int]) -> list[tuple[str, int] | None]:
        found = recording.deliverable_costs(ctx.session, ctx.viewer.organization_id, ids)
        return [found.get(i) for i in ids]

    loader = ctx.loader(("deliverable_cost",), lambda: DataLoader(load))
    result: tuple[str, int] | None = await loader.load(deliverable_id)
    return result


def latest_metrics(ctx: Context) -> DataLoader[int, PostMetricSnapshot | None]:
    """Each deliverable's latest snapshot, one statement for a page of deliverables."""

    async def load(ids: list[int]) -> list[PostMetricSnapshot | None]:
        s = PostMetricSnapshot
        rows = ctx.session.scalars(
            scoped(s, ctx.viewer).where(
                one_of(ctx.session, s.deliverable_id, ids), recording.latest_clause()
            )
        )
        found = {row.deliverable_id: row for row in rows}
        return [found.get(i) for i in ids]

    return ctx.loader(("post_metrics_latest",), lambda: DataLoader(load))


def metrics_history(ctx: Context, last: int) -> DataLoader[int, list[PostMetricSnapshot]]:
    """Each deliverable's `last` most recent snapshots, oldest first, in one statement."""

    async def load(ids: list[int]) -> list[list[PostMetricSnapshot]]:
        s = PostMetricSnapshot
        rows = ctx.session.scalars(
            scoped(s, ctx.viewer)
            .where(recording.history_clause(ids, last))
            .order_by(s.deliverable_id, s.captured_at)
        )
        groups: dict[int, list[PostMetricSnapshot]] = defaultdict(list)
        for row in rows:
            groups[row.deliverable_id].append(row)
        return [groups.get(i, []) for i in ids]

    return ctx.loader(("post_metrics_history", last), lambda: DataLoader(load))
