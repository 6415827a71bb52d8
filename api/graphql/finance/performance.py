"""`performance(from, to)` on campaigns, partnerships, influencers and tracked links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.dataloader import DataLoader

from api.finance.performance import Performance, performance_of_many
from api.graphql import inputs
from api.graphql.context import Context, Info
from api.graphql.loaders import by_id
from api.graphql.money import Money
from api.graphql.permissions import share_of
from api.models import Campaign as CampaignModel
from api.money import MoneyError, normalize_currency

MAX_RANGE_DAYS = 731


POSTS = (
    "Post results: over the latest snapshot (results so far) of every deliverable whose "
    "publishedAt is in [from, to), null when none reported it, and null on a tracked link "
    "(posts belong to the partnership, not to one link)."
)


@strawberry.type(
    name="Performance",
    description="Results over [from, to) in one currency, from hourly rollups: from and to are "
    "rounded down to the hour (UTC).",
)
class PerformanceType:
    currency: str
    clicks: int
    unique_clicks: int
    conversions: int
    revenue: Money = strawberry.field(description="Approved conversions net of refunds.")
    first_order_revenue: Money = strawberry.field(
        description="The part of revenue from customers' first orders (and orders of "
        "customers Vouch cannot tell apart)."
    )
    repeat_revenue: Money = strawberry.field(
        description="The part of revenue from repeat orders of customers an influencer brought."
    )
    commission: Money = strawberry.field(description="Net of reversals and clawbacks.")
    cost: Money = strawberry.field(description="Commission + fees + gifted product value.")
    conversion_rate: Decimal | None = strawberry.field(
        description="Conversions per unique click, percent."
    )
    epc: Money | None = strawberry.field(description="Commission per click.")
    average_order_value: Money | None
    roi: Decimal | None = strawberry.field(description="(revenue - cost) / cost.")
    roas: Decimal | None = strawberry.field(description="revenue / cost.")
    impressions: int | None = strawberry.field(description=POSTS + " Sum of impressions.")
    reach: int | None = strawberry.field(description=POSTS + " Sum of reach.")
    views: int | None = strawberry.field(description=POSTS + " Sum of views.")
    engagements: int | None = strawberry.field(
        description=POSTS + " Sum of likes + comments + shares + saves."
    )
    engagement_rate: Decimal | None = strawberry.field(
        description=POSTS + " Engagements / reach x 100 over the posts that reported both, "
        "percent, 2 places half-even."
    )
    ctr: Decimal | None = strawberry.field(
        description=POSTS + " Link clicks / impressions x 100 over the posts that reported "
        "both, percent, 2 places half-even."
    )
    cpm: Money | None = strawberry.field(
        description="cost x 1000 / impressions, half-even to the minor unit."
    )
    cpe: Money | None = strawberry.field(description="cost / engagements, half-even.")
    cpv: Money | None = strawberry.field(description="cost / views, half-even.")
    cost_per_conversion: Money | None = strawberry.field(
        description="cost / conversions, half-even."
    )


DESCRIPTION = (
    "Clicks, conversions, revenue and cost over [from, to); for an INFLUENCER key, its own "
    "partnerships' share only."
)
Currency = Callable[[Info, Any], Awaitable[str]]


def performance_field(scope: str, default_currency: Currency | None = None) -> Any:
    """The `performance(from, to, currency)` field of a node type: the results whose `scope`
    column (e.g. "campaign_id") is the node's id. Without `default_currency` the currency
    argument is required; with it, `currency` may be left out."""
    if default_currency is None:

        async def required(
            self: Any,
            info: Info,
            from_: Annotated[datetime, strawberry.argument(name="from")],
            to: datetime,
            currency: str,
        ) -> PerformanceType:
            return await resolve_performance(info, {scope: self.id}, currency, from_, to)

        return strawberry.field(resolver=required, description=DESCRIPTION)

    async def optional(
        self: Any,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        currency: str | None = None,
    ) -> PerformanceType:
        code = currency or await default_currency(info, self)
        return await resolve_performance(info, {scope: self.id}, code, from_, to)

    return strawberry.field(
        resolver=optional, description=DESCRIPTION + " In the campaign's currency by default."
    )


async def own_currency(_info: Info, node: Any) -> str:
    return str(node.currency)


async def campaign_currency(info: Info, node: Any) -> str:
    """The currency of the campaign a node (partnership, link) belongs to."""
    campaign = await by_id(info.context, CampaignModel).load(node.row.campaign_id)
    return campaign.currency if campaign else "EUR"


async def resolve_performance(
    info: Info, scope: dict[str, int], currency: str, start: datetime, end: datetime
) -> PerformanceType:
    """One scope's performance; the scopes of a page (every campaign of a connection, say) are
    computed together by one DataLoader, in the same three statements as one scope. An
    INFLUENCER key reads its own share only (`share_of`): a campaign's performance is then the
    sum over its own partnerships of that campaign, never the other influencers' results."""
    check_window(start, end)
    currency = checked_currency(currency)
    [(kind, key)] = scope.items()
    p = await _loader(info.context, kind, start, end).load((key, currency))
    return performance_type(p)


def check_window(start: datetime, end: datetime) -> None:
    """The checks of a report's [from, to): aware, in order, at most MAX_RANGE_DAYS long."""
    inputs.aware_argument(start, "from")
    inputs.aware_argument(end, "to")
    if end <= start:
        raise GraphQLError("to must be after from")
    if (end - start).days > MAX_RANGE_DAYS:
        raise GraphQLError(f"a range covers at most {MAX_RANGE_DAYS} days")


def checked_currency(currency: str) -> str:
    try:
        return normalize_currency(currency)
    except MoneyError as exc:
        raise GraphQLError(str(exc)) from None


def performance_type(p: Performance) -> PerformanceType:
    currency = p.currency

    def money(minor: int | None) -> Money | None:
        return Money.of(minor, currency)

    posts, costs = p.posts, p.post_costs

    return PerformanceType(
        currency=currency,
        clicks=p.clicks,
        unique_clicks=p.unique_clicks,
        conversions=p.conversions,
        revenue=Money.of(p.revenue, currency),  # type: ignore[arg-type]
        first_order_revenue=Money.of(p.first_order_revenue, currency),  # type: ignore[arg-type]
        repeat_revenue=Money.of(p.repeat_revenue, currency),  # type: ignore[arg-type]
        commission=Money.of(p.commission, currency),  # type: ignore[arg-type]
        cost=Money.of(p.cost, currency),  # type: ignore[arg-type]
        conversion_rate=p.conversion_rate,
        epc=money(p.epc),
        average_order_value=money(p.average_order_value),
        roi=p.roi,
        roas=p.roas,
        impressions=posts.impressions if posts else None,
        reach=posts.reach if posts else None,
        views=posts.views if posts else None,
        engagements=posts.engagements if posts else None,
        engagement_rate=posts.engagement_rate if posts else None,
        ctr=posts.ctr if posts else None,
        cpm=money(costs.cpm) if costs else None,
        cpe=money(costs.cpe) if costs else None,
        cpv=money(costs.cpv) if costs else None,
        cost_per_conversion=money(costs.cost_per_conversion) if costs else None,
    )


def _loader(
    ctx: Context, kind: str, start: datetime, end: datetime
) -> DataLoader[tuple[int, str], Performance]:
    """The request's loader for one kind of scope and range, of (id, currency) keys: a page
    whose scopes are in several currencies is one batch."""

    async def load(keys: list[tuple[int, str]]) -> list[Performance]:
        found = performance_of_many(
            ctx.session,
            ctx.viewer.organization_id,
            kind,
            keys,
            start,
            end,
            share_of=share_of(ctx.viewer),
        )
        return [found[k] for k in keys]

    return ctx.loader(("performance", kind, start, end), lambda: DataLoader(load))
