"""`performanceSeries`, `performanceBreakdown` and `leaderboard`: resolvers over
`api.finance.analytics`, through DataLoaders keyed by scope id (a page of campaigns costs the
statements of one), with the checks `performance` makes of from/to and currency."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.dataloader import DataLoader

from api.content.post_metrics import POST_SCOPES, Published, latest_of_many
from api.domain import buckets as bucket_maths
from api.domain import post_metrics
from api.domain.dimensions import Dimension, platform_of
from api.finance import analytics
from api.finance.performance import Performance
from api.graphql.analytics.types import (
    BreakdownDimension,
    BreakdownOrder,
    BreakdownRow,
    Granularity,
    LeaderboardEntry,
    LeaderboardMetric,
    PerformanceBucket,
)
from api.graphql.context import Context, Info
from api.graphql.finance.performance import (
    check_window,
    checked_currency,
    performance_type,
)
from api.graphql.loaders import by_fk, by_id
from api.graphql.money import Money
from api.graphql.permissions import scoped, share_of
from api.graphql.relay import global_id
from api.ledger.rollups import hour_of
from api.models import Brand as BrandModel
from api.models import Campaign as CampaignModel
from api.models import Influencer as InfluencerModel
from api.models import Partnership as PartnershipModel
from api.models import TrackedLink as TrackedLinkModel

MAX_ROWS = 100
Lookup = Callable[[Info, Any], Awaitable[str]]

# --- defaults: the currency and time zone of a node --------------------------------------------


async def _brand(info: Info, brand_id: int) -> BrandModel | None:
    row: BrandModel | None = await by_id(info.context, BrandModel).load(brand_id)
    return row


async def zone_of_brand(info: Info, node: Any) -> str:
    return str(node.row.time_zone)


async def zone_of_campaign(info: Info, node: Any) -> str:
    brand = await _brand(info, node.row.brand_id)
    return brand.time_zone if brand else "UTC"


async def zone_of_campaign_of(info: Info, node: Any) -> str:
    """The time zone of the brand of a node's campaign (a partnership, a link)."""
    campaign = await by_id(info.context, CampaignModel).load(node.row.campaign_id)
    brand = await _brand(info, campaign.brand_id) if campaign else None
    return brand.time_zone if brand else "UTC"


async def utc(_info: Info, _node: Any) -> str:
    return "UTC"


def _zone(name: str) -> Any:
    try:
        return bucket_maths.zone(name)
    except bucket_maths.BucketError as exc:
        raise GraphQLError(str(exc)) from None


# --- performanceSeries -------------------------------------------------------------------------

SERIES_DESCRIPTION = (
    "Results over time: every bucket (HOUR, DAY, WEEK from Monday, MONTH) of `timeZone` from "
    "the one holding `from` to the one holding the instant before `to`, zero-filled; at most "
    f"{bucket_maths.MAX_BUCKETS} buckets. Days, weeks and months follow the zone's clock (a "
    "day is 23 or 25 hours when daylight saving time starts or ends). `timeZone` defaults to "
    "the brand's. For an INFLUENCER key, its own partnerships' share only."
)


def series_field(scope: str, default_currency: Lookup | None, default_zone: Lookup) -> Any:
    """The `performanceSeries` field of a node type whose id is the `scope` column."""

    async def resolve(
        self: Any,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        granularity: Granularity,
        time_zone: str | None = None,
        currency: str | None = None,
    ) -> list[PerformanceBucket]:
        check_window(from_, to)
        if currency is None:
            if default_currency is None:
                raise GraphQLError("currency is required here (an influencer's results)")
            currency = await default_currency(info, self)
        code = checked_currency(currency)
        name = time_zone if time_zone is not None else await default_zone(info, self)
        tz = _zone(name)
        try:
            found = bucket_maths.buckets(from_, to, granularity, tz)
        except bucket_maths.BucketError as exc:
            raise GraphQLError(str(exc)) from None
        # Daily rollups only where every bucket is whole UTC days (the UTC zone, or one whose
        # offset is 0 at every edge); elsewhere a local day straddles two UTC days: hourly.
        daily = granularity is not Granularity.HOUR and all(
            _utc_midnight(b.start) and _utc_midnight(b.end) for b in found
        )
        loader = _series_loader(
            info.context, scope, code, found[0].start, found[-1].end, daily=daily
        )
        hourly = await loader.load(self.id)
        totals = bucket_maths.fold(
            found, hourly.items(), lambda: analytics.zero(code), analytics.add
        )
        if granularity is Granularity.HOUR or scope not in POST_SCOPES:
            return [_bucket(b, p) for b, p in zip(found, totals, strict=True)]
        # Post results by when each deliverable was published, folded the same way.
        published = await _published_loader(
            info.context, scope, found[0].start, found[-1].end
        ).load(self.id)
        posts = bucket_maths.fold(
            found,
            ((at, [(counts, followers)]) for at, counts, followers in published),
            list,
            lambda a, b: a + b,
        )
        return [
            _bucket(b, dataclasses.replace(p, posts=post_metrics.total(snapshots)))
            for b, p, snapshots in zip(found, totals, posts, strict=True)
        ]

    description = SERIES_DESCRIPTION
    if default_currency is not None:
        description += " In the campaign's currency by default."
    return strawberry.field(resolver=resolve, description=description)


def _bucket(bucket: bucket_maths.Bucket, p: Performance) -> PerformanceBucket:
    posts, costs = p.posts, p.post_costs
    return PerformanceBucket(
        start=bucket.start,
        end=bucket.end,
        clicks=p.clicks,
        unique_clicks=p.unique_clicks,
        conversions=p.conversions,
        revenue=Money.of(p.revenue, p.currency),  # type: ignore[arg-type]
        commission=Money.of(p.commission, p.currency),  # type: ignore[arg-type]
        cost=Money.of(p.cost, p.currency),  # type: ignore[arg-type]
        impressions=posts.impressions if posts else None,
        reach=posts.reach if posts else None,
        views=posts.views if posts else None,
        engagements=posts.engagements if posts else None,
        engagement_rate=posts.engagement_rate if posts else None,
        ctr=posts.ctr if posts else None,
        cpm=Money.of(costs.cpm, p.currency) if costs else None,
        cpe=Money.of(costs.cpe, p.currency) if costs else None,
    )


def _published_loader(
    ctx: Context, scope: str, start: datetime, end: datetime
) -> DataLoader[int, list[Published]]:
    """The deliverables of each scope published in [start, end), with their latest counts."""

    async def load(ids: list[int]) -> list[list[Published]]:
        found = latest_of_many(
            ctx.session,
            ctx.viewer.organization_id,
            scope,
            ids,
            start,
            end,
            share_of=share_of(ctx.viewer),
        )
        return [found[i] for i in ids]

    return ctx.loader(("series_posts", scope, start, end), lambda: DataLoader(load))


def _utc_midnight(moment: datetime) -> bool:
    return moment.astimezone(UTC).time() == time()


def _series_loader(
    ctx: Context, scope: str, currency: str, start: datetime, end: datetime, *, daily: bool
) -> DataLoader[int, dict[datetime, Performance]]:
    async def load(ids: list[int]) -> list[dict[datetime, Performance]]:
        rows = analytics.aggregate(
            ctx.session,
            ctx.viewer.organization_id,
            scope,
            ids,
            "hour",
            currency,
            start,
            end,
            share_of=share_of(ctx.viewer),
            daily=daily,
        )
        grouped = analytics.by_scope(rows, ids)
        return [grouped[i] for i in ids]

    key = ("performance_series", scope, currency, start, end, daily)
    return ctx.loader(key, lambda: DataLoader(load))


# --- performanceBreakdown ----------------------------------------------------------------------

_KEYS: dict[BreakdownDimension, tuple[str, Dimension | None]] = {
    BreakdownDimension.INFLUENCER: ("influencer_id", None),
    BreakdownDimension.LINK: ("link_id", None),
    BreakdownDimension.DISCOUNT_CODE: ("value", Dimension.DISCOUNT_CODE),
    BreakdownDimension.COUNTRY: ("value", Dimension.COUNTRY),
    BreakdownDimension.DEVICE: ("value", Dimension.DEVICE),
    BreakdownDimension.REFERRER: ("value", Dimension.REFERRER),
    BreakdownDimension.PLATFORM: ("value", Dimension.REFERRER),  # folded by platform_of
}
_ORDER: dict[BreakdownOrder, Callable[[Performance], int]] = {
    BreakdownOrder.REVENUE: lambda p: p.revenue,
    BreakdownOrder.CONVERSIONS: lambda p: p.conversions,
    BreakdownOrder.CLICKS: lambda p: p.clicks,
    BreakdownOrder.UNIQUE_CLICKS: lambda p: p.unique_clicks,
    BreakdownOrder.COMMISSION: lambda p: p.commission,
    BreakdownOrder.COST: lambda p: p.cost,
}

BREAKDOWN_DESCRIPTION = (
    "Results over [from, to) by influencer, link, discount code, country, device class, "
    "referrer host or platform (of the referrer), largest first by `orderBy`: the `first` "
    f"(at most {MAX_ROWS}) rows, then an OTHER row with what is left (the rows past `first` "
    "and what has no value for the dimension: discount-code sales by country, fees and gifts "
    "by anything but influencer, clicks from before dimensions were kept), so that the rows "
    "add up to `performance` over the same range. COUNTRY, DEVICE, REFERRER, PLATFORM and "
    "DISCOUNT_CODE rows carry clicks, conversions, revenue and commission only. From rollups "
    "only. For an INFLUENCER key, its own partnerships' share only."
)


def breakdown_field(scope: str, default_currency: Lookup) -> Any:
    """The `performanceBreakdown` field of a node type whose id is the `scope` column."""

    async def resolve(
        self: Any,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        by: BreakdownDimension,
        first: int = 10,
        order_by: BreakdownOrder = BreakdownOrder.REVENUE,
        currency: str | None = None,
    ) -> list[BreakdownRow]:
        check_window(from_, to)
        if not 1 <= first <= MAX_ROWS:
            raise GraphQLError(f"first must be between 1 and {MAX_ROWS}")
        code = checked_currency(currency or await default_currency(info, self))
        found = await _breakdown_loader(info.context, scope, by, code, from_, to).load(self.id)
        total = await _total_loader(info.context, scope, code, from_, to).load(self.id)
        metric = _ORDER[order_by]
        ranked = sorted(found.items(), key=lambda item: (-metric(item[1]), str(item[0])))
        shown = ranked[:first]
        labels = await _labels(info, by, [k for k, _ in shown])
        left = total
        for _, p in shown:
            left = analytics.minus(left, p)
        rows = [
            BreakdownRow(key=key, label=label, performance=performance_type(p))
            for (_, p), (key, label) in zip(shown, labels, strict=True)
        ]
        if left != analytics.zero(code):
            rows.append(
                BreakdownRow(key="OTHER", label="Other", performance=performance_type(left))
            )
        return rows

    return strawberry.field(
        resolver=resolve,
        description=BREAKDOWN_DESCRIPTION + " In the default currency by default.",
    )


Breakdown = dict[Any, Performance]


def _total_loader(
    ctx: Context, scope: str, currency: str, start: datetime, end: datetime
) -> DataLoader[int, Performance]:
    """A breakdown's total: what `performance` says over the same range."""

    async def load(ids: list[int]) -> list[Performance]:
        totals = analytics.aggregate(
            ctx.session,
            ctx.viewer.organization_id,
            scope,
            ids,
            None,
            currency,
            start,
            end,
            share_of=share_of(ctx.viewer),
        )
        return [totals.get((i, 0)) or analytics.zero(currency) for i in ids]

    return ctx.loader(("performance_total", scope, currency, start, end), lambda: DataLoader(load))


def _breakdown_loader(
    ctx: Context,
    scope: str,
    by: BreakdownDimension,
    currency: str,
    start: datetime,
    end: datetime,
) -> DataLoader[int, Breakdown]:
    key_kind, dimension = _KEYS[by]

    async def load(ids: list[int]) -> list[Breakdown]:
        rows = analytics.aggregate(
            ctx.session,
            ctx.viewer.organization_id,
            scope,
            ids,
            key_kind,
            currency,
            start,
            end,
            dimension=dimension,
            share_of=share_of(ctx.viewer),
        )
        grouped = analytics.by_scope(rows, ids)
        result = []
        for i in ids:
            found: dict[Any, Performance] = {}
            for k, p in grouped[i].items():
                if by is BreakdownDimension.PLATFORM:
                    k = platform_of(k)
                if analytics.known(k):
                    found[k] = analytics.add(found[k], p) if k in found else p
            result.append(found)
        return result

    loader_key = ("performance_breakdown", scope, by, currency, start, end)
    return ctx.loader(loader_key, lambda: DataLoader(load))


async def _labels(info: Info, by: BreakdownDimension, keys: list[Any]) -> list[tuple[str, str]]:
    """(key, label) of each row: global ids and names for influencers and links."""
    if by is BreakdownDimension.INFLUENCER:
        influencers = await by_id(info.context, InfluencerModel).load_many(keys)
        return [
            (global_id("Influencer", k), row.name if row else "")
            for k, row in zip(keys, influencers, strict=True)
        ]
    if by is BreakdownDimension.LINK:
        links = await by_id(info.context, TrackedLinkModel).load_many(keys)
        return [
            (global_id("TrackedLink", k), (row.code or "") if row else "")
            for k, row in zip(keys, links, strict=True)
        ]
    if by in (BreakdownDimension.DEVICE, BreakdownDimension.PLATFORM):
        return [(str(k), str(k).capitalize()) for k in keys]  # MOBILE: "Mobile"
    return [(str(k), str(k)) for k in keys]


# --- leaderboard -------------------------------------------------------------------------------


def _figure(metric: LeaderboardMetric, p: Performance) -> Decimal | None:
    if metric is LeaderboardMetric.ROI:
        return p.roi
    if metric is LeaderboardMetric.ENGAGEMENT_RATE:
        return p.posts.engagement_rate if p.posts else None
    if metric is LeaderboardMetric.CPE:
        costs = p.post_costs
        cpe = costs.cpe if costs else None
        return Money.of(cpe, p.currency).amount if cpe is not None else None  # type: ignore[union-attr]
    if metric is LeaderboardMetric.REVENUE:
        return Money.of(p.revenue, p.currency).amount  # type: ignore[union-attr]
    return Decimal(p.conversions if metric is LeaderboardMetric.CONVERSIONS else p.clicks)


LEADERBOARD_DESCRIPTION = (
    "The campaign's influencers ranked by `metric` over [from, to), best first (the highest "
    "figure; for CPE the lowest: the cheapest engagements); those without a figure (ROI "
    "without cost, ENGAGEMENT_RATE and CPE without post results) last; ties by name. Post "
    "results are those of the influencer's deliverables in the campaign published in the "
    "range, as `performance` counts them. For an INFLUENCER key, itself only."
)


def _names_loader(ctx: Context) -> DataLoader[int, str]:
    """Influencers' names (ties rank by name): two columns of every influencer of the campaign,
    not whole rows; only the entries shown load their influencer (`by_id`)."""

    async def load(ids: list[int]) -> list[str]:
        stmt = scoped(InfluencerModel, ctx.viewer).with_only_columns(
            InfluencerModel.id, InfluencerModel.name
        )
        rows = ctx.session.execute(stmt.where(InfluencerModel.id.in_(ids)))
        found: dict[int, str] = {i: name for i, name in rows}
        return [found.get(i) or "" for i in ids]

    return ctx.loader(("influencer_names",), lambda: DataLoader(load))


# Lower is better for these: the rest rank the largest first.
_ASCENDING = frozenset({LeaderboardMetric.CPE})


async def resolve_leaderboard(
    node: Any,
    info: Info,
    from_: datetime,
    to: datetime,
    metric: LeaderboardMetric,
    first: int,
    currency: str | None,
) -> list[LeaderboardEntry]:
    check_window(from_, to)
    if not 1 <= first <= MAX_ROWS:
        raise GraphQLError(f"first must be between 1 and {MAX_ROWS}")
    code = checked_currency(currency or node.currency)
    ctx = info.context
    partnerships = await by_fk(ctx, PartnershipModel, PartnershipModel.campaign_id).load(node.id)
    influencer_ids = sorted({p.influencer_id for p in partnerships})
    rows = await _breakdown_loader(
        ctx, "campaign_id", BreakdownDimension.INFLUENCER, code, from_, to
    ).load(node.id)
    # Post results as `performance` counts them: published in [from, to) rounded down to hours.
    published = await _published_loader(
        ctx, "partnership_id", hour_of(from_), hour_of(to)
    ).load_many([p.id for p in partnerships])
    # An influencer may have more than one partnership in the campaign: all its posts count.
    snapshots_of: dict[int, list[Any]] = {}
    for p, found in zip(partnerships, published, strict=True):
        snapshots_of.setdefault(p.influencer_id, []).extend((c, f) for _, c, f in found)
    posts_of = {i: post_metrics.total(found) for i, found in snapshots_of.items()}
    names = await _names_loader(ctx).load_many(influencer_ids)
    name_of = dict(zip(influencer_ids, names, strict=True))
    sign = 1 if metric in _ASCENDING else -1
    scored = []
    for influencer_id in influencer_ids:
        p = rows.get(influencer_id) or analytics.zero(code)
        p = dataclasses.replace(p, posts=posts_of.get(influencer_id))
        scored.append((influencer_id, _figure(metric, p), p))
    scored.sort(key=lambda s: (s[1] is None, sign * (s[1] or 0), name_of[s[0]], s[0]))
    return [
        LeaderboardEntry(
            rank=rank,
            value=value,
            influencer_id=influencer_id,
            performance=performance_type(p),
        )
        for rank, (influencer_id, value, p) in enumerate(scored[:first], start=1)
    ]
