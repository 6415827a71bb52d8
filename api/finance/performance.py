"""Performance of a campaign, partnership, influencer or tracked link over a time range.

Everything comes from hourly rollups, never raw clicks, conversions or ledger entries: clicks
from `ClickRollup`; approved conversions, their revenue net of applied refunds (at the order's
hour), commission net of reversals and fees (at the entry's hour) from `PerformanceRollup`; cost
adds gifted-product value (`campaign_costs`, a row per partnership). Everything is in one
currency: rows in other currencies are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

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

    @property
    def cost(self) -> int:
        return self.commission + self.fees + self.gifted

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


def _where(model: Any, scope: Scope) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [model.organization_id == scope.organization_id]
    for name in ("campaign_id", "partnership_id", "influencer_id"):
        value = getattr(scope, name)
        if value is not None:
            clauses.append(getattr(model, name) == value)
    return clauses


def performance(
    session: Session, scope: Scope, currency: str, start: datetime, end: datetime
) -> Performance:
    """Three aggregate statements over rollups and campaign costs, whatever the data size.
    Rollups are hourly: `start` and `end` are rounded down to the hour (UTC)."""
    start, end = hour_of(start), hour_of(end)
    hours = (ClickRollup.hour >= start, ClickRollup.hour < end)
    clicks, unique = session.execute(
        select(
            func.coalesce(func.sum(ClickRollup.clicks), 0),
            func.coalesce(func.sum(ClickRollup.unique_clicks), 0),
        ).where(*_rollup_where(ClickRollup, scope), *hours)
    ).one()

    r = PerformanceRollup
    conversions, revenue, commission, fees = session.execute(
        select(
            func.coalesce(func.sum(r.conversions), 0),
            func.coalesce(func.sum(r.revenue), 0),
            func.coalesce(func.sum(r.commission), 0),
            func.coalesce(func.sum(r.fees), 0),
        ).where(*_rollup_where(r, scope), r.currency == currency, r.hour >= start, r.hour < end)
    ).one()

    gifted: int | None = 0
    if scope.link_id is None:  # gifts go to partnerships, never through a link
        gifted = session.scalar(
            select(func.coalesce(func.sum(CampaignCost.amount), 0)).where(
                *_where(CampaignCost, scope),
                CampaignCost.currency == currency,
                CampaignCost.created_at >= start,
                CampaignCost.created_at < end,
            )
        )
    return Performance(
        currency=currency,
        clicks=int(clicks),
        unique_clicks=int(unique),
        conversions=int(conversions),
        revenue=int(revenue),
        commission=int(commission),
        fees=int(fees),
        gifted=int(gifted or 0),
    )


def _rollup_where(model: Any, scope: Scope) -> list[ColumnElement[bool]]:
    """The scope on a rollup with link, campaign and partnership columns; an influencer's rows
    are their partnerships' (click rollups have no influencer column)."""
    clauses = [model.organization_id == scope.organization_id]
    if scope.link_id is not None:
        clauses.append(model.link_id == scope.link_id)
    if scope.campaign_id is not None:
        clauses.append(model.campaign_id == scope.campaign_id)
    if scope.partnership_id is not None:
        clauses.append(model.partnership_id == scope.partnership_id)
    if scope.influencer_id is not None and hasattr(model, "influencer_id"):
        clauses.append(model.influencer_id == scope.influencer_id)
    elif scope.influencer_id is not None:
        own = select(Partnership.id).where(Partnership.influencer_id == scope.influencer_id)
        clauses.append(model.partnership_id.in_(own))
    return clauses
