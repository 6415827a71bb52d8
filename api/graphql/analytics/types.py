"""The value types of performance over time, broken down and ranked."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.domain.buckets import Granularity as GranularityEnum
from api.graphql.finance.performance import PerformanceType
from api.graphql.money import Money

if TYPE_CHECKING:
    from api.graphql.influencers.types import Influencer

Granularity = GranularityEnum
strawberry.enum(
    Granularity,
    name="Granularity",
    description="HOUR, DAY, WEEK (ISO, from Monday) or MONTH of a time zone.",
)


@strawberry.enum(description="What a breakdown groups results by.")
class BreakdownDimension(StrEnum):
    INFLUENCER = "INFLUENCER"
    LINK = "LINK"
    DISCOUNT_CODE = "DISCOUNT_CODE"
    COUNTRY = "COUNTRY"
    DEVICE = "DEVICE"
    REFERRER = "REFERRER"
    PLATFORM = "PLATFORM"


@strawberry.enum(description="The figure a breakdown's rows are sorted by, largest first.")
class BreakdownOrder(StrEnum):
    REVENUE = "REVENUE"
    CONVERSIONS = "CONVERSIONS"
    CLICKS = "CLICKS"
    UNIQUE_CLICKS = "UNIQUE_CLICKS"
    COMMISSION = "COMMISSION"
    COST = "COST"


@strawberry.enum(
    description="The figure a leaderboard ranks influencers by, best first: the largest, but "
    "for CPE the lowest (the cheapest engagements). ENGAGEMENT_RATE and CPE are of the post "
    "results of the deliverables published in the range (the latest snapshot of each)."
)
class LeaderboardMetric(StrEnum):
    REVENUE = "REVENUE"
    CONVERSIONS = "CONVERSIONS"
    ROI = "ROI"
    ENGAGEMENT_RATE = "ENGAGEMENT_RATE"
    CPE = "CPE"
    CLICKS = "CLICKS"


POSTS = (
    "Of the deliverables published in the bucket (the latest snapshot of each); null for HOUR "
    "buckets, a tracked link's series, or when none reported it."
)


@strawberry.type(description="One bucket of a series: its hours' results, zero when none.")
class PerformanceBucket:
    start: datetime = strawberry.field(description="The bucket's first instant (UTC).")
    end: datetime = strawberry.field(description="The next bucket's start (UTC).")
    clicks: int
    unique_clicks: int
    conversions: int
    revenue: Money = strawberry.field(description="Approved conversions net of refunds.")
    commission: Money = strawberry.field(description="Net of reversals and clawbacks.")
    cost: Money = strawberry.field(description="Commission + fees + gifted product value.")
    # Post results: of the deliverables published in the bucket (the latest snapshot of each,
    # as `performance` counts them); null for HOUR buckets, for a tracked link (posts belong to
    # partnerships) and where no deliverable published in the bucket reported the counter.
    impressions: int | None = strawberry.field(default=None, description=POSTS)
    reach: int | None = strawberry.field(default=None, description=POSTS)
    views: int | None = strawberry.field(default=None, description=POSTS)
    engagements: int | None = strawberry.field(
        default=None, description="Likes + comments + shares + saves. " + POSTS
    )
    engagement_rate: Decimal | None = strawberry.field(
        default=None, description="Engagements / reach x 100. " + POSTS
    )
    ctr: Decimal | None = strawberry.field(
        default=None, description="Link clicks / impressions x 100. " + POSTS
    )
    cpm: Money | None = strawberry.field(
        default=None, description="The bucket's cost x 1000 / impressions. " + POSTS
    )
    cpe: Money | None = strawberry.field(
        default=None, description="The bucket's cost / engagements. " + POSTS
    )


@strawberry.type(
    name="BreakdownRow",
    description="One row of a breakdown: what it is, and its results (a `Performance`).",
)
class BreakdownRow:
    key: str = strawberry.field(
        description="What the row is: a global id (INFLUENCER, LINK), an ISO country code, a "
        "device class (DESKTOP, MOBILE, TABLET, OTHER), a referrer host, a platform or a code; "
        "OTHER for the remainder row (the last, absent when nothing is left)."
    )
    label: str
    performance: PerformanceType = strawberry.field(
        description="The row's results over the breakdown's range, as `performance` has them. "
        "Post results and the costs over them (impressions ... costPerConversion) are null on "
        "every row (`performance` and `leaderboard` have them); fees and gifts, which no "
        "dimension but INFLUENCER keeps, are in the OTHER row."
    )


@strawberry.type(
    name="LeaderboardEntry",
    description="An influencer's place in a campaign's leaderboard, and its results.",
)
class LeaderboardEntry:
    rank: int = strawberry.field(description="1 for the best; influencers without a figure last.")
    value: Decimal | None = strawberry.field(
        description="The figure ranked by (money in major units, a rate in percent); null when "
        "undefined (ROI without any cost, ENGAGEMENT_RATE and CPE without post results)."
    )
    performance: PerformanceType = strawberry.field(
        description="The influencer's results in the campaign over the leaderboard's range, "
        "post results included."
    )
    influencer_id: strawberry.Private[int]

    @strawberry.field
    async def influencer(
        self, info: strawberry.Info
    ) -> Annotated[Influencer, strawberry.lazy("api.graphql.influencers.types")] | None:
        from api.graphql.influencers.types import Influencer
        from api.graphql.loaders import by_id
        from api.models import Influencer as InfluencerModel

        row = await by_id(info.context, InfluencerModel).load(self.influencer_id)
        return Influencer.from_row(row) if row else None
