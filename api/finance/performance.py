"""Performance of a campaign, partnership, influencer or tracked link over a time range.

Clicks come from the hourly rollups (never raw clicks); conversions and revenue from approved
conversions net of applied refunds; commission and fees from the ledger; cost adds gifted-product
value. Everything is in one currency: rows in other currencies are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.models import Partnership
from api.models.events import Click, ClickRollup, Conversion, ConversionStatus, Refund, RefundStatus
from api.models.ledger import CampaignCost, EntryKind, LedgerEntry
from api.money import round_half_even

COMMISSION_KINDS = (EntryKind.COMMISSION, EntryKind.REVERSAL, EntryKind.CLAWBACK)
FEE_KINDS = (EntryKind.FLAT_FEE, EntryKind.BONUS)


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
    # Clicks: rollups have campaign and partnership; an influencer's are its partnerships'.
    rollup_where = [
        ClickRollup.organization_id == scope.organization_id,
        ClickRollup.hour >= start,
        ClickRollup.hour < end,
    ]
    if scope.link_id is not None:
        rollup_where.append(ClickRollup.link_id == scope.link_id)
    if scope.campaign_id is not None:
        rollup_where.append(ClickRollup.campaign_id == scope.campaign_id)
    if scope.partnership_id is not None:
        rollup_where.append(ClickRollup.partnership_id == scope.partnership_id)
    if scope.influencer_id is not None:
        partnerships = select(Partnership.id).where(
            Partnership.influencer_id == scope.influencer_id
        )
        rollup_where.append(ClickRollup.partnership_id.in_(partnerships))
    clicks, unique = session.execute(
        select(
            func.coalesce(func.sum(ClickRollup.clicks), 0),
            func.coalesce(func.sum(ClickRollup.unique_clicks), 0),
        ).where(*rollup_where)
    ).one()

    conv_where = [
        *_where(Conversion, scope),
        Conversion.status == ConversionStatus.APPROVED,
        Conversion.currency == currency,
        Conversion.occurred_at >= start,
        Conversion.occurred_at < end,
    ]
    if scope.link_id is not None:
        conv_where.append(
            Conversion.click_id.in_(select(Click.click_id).where(Click.link_id == scope.link_id))
        )
    conversions, gross = session.execute(
        select(func.count(), func.coalesce(func.sum(Conversion.amount), 0)).where(*conv_where)
    ).one()
    refunded = session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.status == RefundStatus.APPLIED,
            Refund.conversion_id.in_(select(Conversion.id).where(*conv_where)),
        )
    )

    entry_where = [
        *_where(LedgerEntry, scope),
        LedgerEntry.currency == currency,
        LedgerEntry.created_at >= start,
        LedgerEntry.created_at < end,
    ]
    if scope.link_id is not None:
        entry_where.append(LedgerEntry.conversion_id.in_(select(Conversion.id).where(*conv_where)))
    sums = dict(
        session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
            .where(*entry_where, LedgerEntry.kind.in_([*COMMISSION_KINDS, *FEE_KINDS]))
            .group_by(LedgerEntry.kind)
        ).all()
    )
    gifted = 0
    if scope.link_id is None:
        gifted = (
            session.scalar(
                select(func.coalesce(func.sum(CampaignCost.amount), 0)).where(
                    *_where(CampaignCost, scope),
                    CampaignCost.currency == currency,
                    CampaignCost.created_at >= start,
                    CampaignCost.created_at < end,
                )
            )
            or 0
        )
    return Performance(
        currency=currency,
        clicks=int(clicks),
        unique_clicks=int(unique),
        conversions=int(conversions),
        revenue=int(gross) - int(refunded or 0),
        commission=sum(int(sums.get(k) or 0) for k in COMMISSION_KINDS),
        fees=sum(int(sums.get(k) or 0) for k in FEE_KINDS),
        gifted=int(gifted),
    )
