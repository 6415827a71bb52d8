"""Performance of a campaign, partnership, influencer or tracked link over a time range.

Everything comes from hourly rollups, never raw clicks, conversions or ledger entries: clicks
from `ClickRollup`; approved conversions, their revenue net of applied refunds (at the order's
hour), commission net of reversals and fees (at the entry's hour) from `PerformanceRollup`; cost
adds gifted-product value (`campaign_costs`, a row per partnership). Everything is in one
currency: rows in other currencies are left out. Rollups are keyed by partnership, so one
influencer's share of a campaign (or of a link, a partnership) is the sum over its own
partnerships' rows: the same statements with one more condition.

Post results (impressions, reach, views, engagements) are the latest snapshot of every
deliverable published in the range (`api.content.post_metrics.post_totals_of_many`): a fourth
statement, none for a tracked link (posts belong to partnerships, not to a link).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, join, literal, select
from sqlalchemy.orm import Session

from api.content.post_metrics import post_totals_of_many
from api.domain.post_metrics import CostFigures, PostTotals, cost_figures
from api.ledger.rollups import hour_of
from api.models import Partnership
from api.models.events import ClickRollup
from api.models.ledger import CampaignCost
from api.models.rollups import PerformanceRollup
from api.money import round_half_even


@dataclass(frozen=True)
class Scope:
    """What to measure: exactly one of these ids, inside one organization."""

    organization_id: int
    campaign_id: int | None = None
    partnership_id: int | None = None
    influencer_id: int | None = None
    link_id: int | None = None


@dataclass(frozen=True)
class Performance:
    currency: str
    clicks: int
    unique_clicks: int
    conversions: int
    revenue: int  # minor units, net of refunds
    commission: int  # commission net of reversals and clawbacks
    fees: int  # flat fees and bonuses
    gifted: int  # value of gifted products
    posts: PostTotals | None = None  # None for a tracked link
    repeat_revenue: int = 0  # the part of `revenue` from customers who came back

    @property
    def first_order_revenue(self) -> int:
        return self.revenue - self.repeat_revenue

    @property
    def cost(self) -> int:
        return self.commission + self.fees + self.gifted

    @property
    def post_costs(self) -> CostFigures | None:
        """CPM, CPE, CPV and cost per conversion of the range's cost over its post results."""
        if self.posts is None:
            return None
        return cost_figures(
            self.cost,
            impressions=self.posts.impressions,
            engagements=self.posts.engagements,
            views=self.posts.views,
            link_clicks=self.posts.link_clicks,
            conversions=self.conversions,
        )

    @property
    def conversion_rate(self) -> Decimal | None:
        """Conversions per unique click, in percent."""
        return _ratio(self.conversions * 100, self.unique_clicks)

    @property
    def epc(self) -> int | None:
        """Commission per click, minor units, half-even."""
        return round_half_even(Decimal(self.commission) / self.clicks) if self.clicks else None

    @property
    def average_order_value(self) -> int | None:
        return (
            round_half_even(Decimal(self.revenue) / self.conversions) if self.conversions else None
        )

    @property
    def roi(self) -> Decimal | None:
        """(revenue - cost) / cost."""
        return _ratio(self.revenue - self.cost, self.cost)

    @property
    def roas(self) -> Decimal | None:
        return _ratio(self.revenue, self.cost)


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_EVEN
    )


SCOPES = ("campaign_id", "partnership_id", "influencer_id", "link_id")


def performance(
    session: Session, scope: Scope, currency: str, start: datetime, end: datetime
) -> Performance:
    """The performance of one scope (`performance_of_many` of one id)."""
    kind = next((name for name in SCOPES if getattr(scope, name) is not None), None)
    key = getattr(scope, kind) if kind else 0
    found = performance_of_many(session, scope.organization_id, kind, [(key, currency)], start, end)
    return found[(key, currency)]


def performance_of_many(
    session: Session,
    organization_id: int,
    kind: str | None,
    keys: list[tuple[int, str]],
    start: datetime,
    end: datetime,
    *,
    share_of: int | None = None,
) -> dict[tuple[int, str], Performance]:
    """The performance of many scopes of one kind ("campaign_id", "partnership_id",
    "influencer_id", "link_id"; None: the whole organization, under id 0), each in a currency
    (`keys`: (id, currency) pairs), in three aggregate statements grouped by scope and currency,
    whatever the number of scopes, currencies or the data size (a page of campaigns in two
    currencies costs what one campaign does), and one for post results. Clicks and post results
    have no currency: read once, they go to each currency asked of a scope. With `share_of` (an
    influencer's id), only that influencer's share: the rows of its own partnerships. Rollups
    are hourly: `start` and `end` are rounded down to the hour (UTC)."""
    start, end = hour_of(start), hour_of(end)
    wanted = sorted({key for key, _currency in keys})
    currencies = sorted({currency for _key, currency in keys})

    c = ClickRollup
    click_key, click_from = _group(c, kind)
    click_rows = session.execute(
        select(click_key, func.sum(c.clicks), func.sum(c.unique_clicks))
        .select_from(click_from)
        .where(
            c.organization_id == organization_id,
            c.hour >= start,
            c.hour < end,
            *_in(click_key, kind, wanted),
            *_share(c, share_of),
        )
        .group_by(click_key)
    ).all()

    r = PerformanceRollup
    rollup_key = getattr(r, kind) if kind else literal(0)
    rollup_rows = session.execute(
        select(
            rollup_key,
            r.currency,
            func.sum(r.conversions),
            func.sum(r.revenue),
            func.sum(r.commission),
            func.sum(r.fees),
            func.sum(r.repeat_revenue),
        )
        .where(
            r.organization_id == organization_id,
            r.currency.in_(currencies),
            r.hour >= start,
            r.hour < end,
            *_in(rollup_key, kind, wanted),
            *_share(r, share_of),
        )
        .group_by(rollup_key, r.currency)
    ).all()

    gifts: dict[tuple[int, str], int] = {}
    if kind != "link_id":  # gifts go to partnerships, never through a link
        cost = CampaignCost
        cost_key = getattr(cost, kind) if kind else literal(0)
        gifts = {
            (int(k), str(c)): int(v or 0)
            for k, c, v in session.execute(
                select(cost_key, cost.currency, func.sum(cost.amount))
                .where(
                    cost.organization_id == organization_id,
                    cost.currency.in_(currencies),
                    cost.created_at >= start,
                    cost.created_at < end,
                    *_in(cost_key, kind, wanted),
                    *_share(cost, share_of),
                )
                .group_by(cost_key, cost.currency)
            )
        }

    posts: dict[int, PostTotals] = {}
    if kind != "link_id":
        posts = post_totals_of_many(
            session, organization_id, kind, wanted, start, end, share_of=share_of
        )

    clicks = {int(k): (int(n or 0), int(u or 0)) for k, n, u in click_rows}
    sums = {(int(k), str(c)): tuple(int(v or 0) for v in rest) for k, c, *rest in rollup_rows}
    result = {}
    for key, currency in keys:
        n, unique = clicks.get(key, (0, 0))
        conversions, revenue, commission, fees, repeat = sums.get((key, currency), (0, 0, 0, 0, 0))
        result[(key, currency)] = Performance(
            currency=currency,
            clicks=n,
            unique_clicks=unique,
            conversions=conversions,
            revenue=revenue,
            commission=commission,
            fees=fees,
            gifted=gifts.get((key, currency), 0),
            posts=posts.get(key),
            repeat_revenue=repeat,
        )
    return result


def _group(model: Any, kind: str | None) -> tuple[Any, Any]:
    """The grouping column of a click rollup for `kind`, and what to select from: click
    rollups have no influencer column, so an influencer's are their partnerships'."""
    if kind is None:
        return literal(0), model
    if kind == "influencer_id":
        return Partnership.influencer_id, join(
            model, Partnership, Partnership.id == model.partnership_id
        )
    return getattr(model, kind), model


def _in(column: Any, kind: str | None, ids: list[int]) -> list[ColumnElement[bool]]:
    return [] if kind is None else [column.in_(ids)]


def _share(model: Any, influencer_id: int | None) -> list[ColumnElement[bool]]:
    """The rows of `model` that are `influencer_id`'s share (every row for None), as the model
    declares it (`influencer_scope`: its partnerships' rows)."""
    return [] if influencer_id is None else [model.influencer_scope(influencer_id)]
