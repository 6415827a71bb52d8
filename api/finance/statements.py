"""A monthly statement per influencer and currency: opening, the period's entries, closing.

Periods are calendar months in UTC ("2026-10"); an entry belongs to the month of its
`created_at`. opening = sum of entries before the month; closing = opening + the month's entries
= opening + credits - debits (debits are reported as a positive figure).

Revenue of the period, first and repeat orders apart (`revenue_terms`): the value of the orders
whose COMMISSION entry is in the period, less the refunds whose REVERSAL or CLAWBACK entry is in
it; an order is a repeat order when its conversion is (`Conversion.repeat`). It follows the
ledger, so a later month's refund lowers that month's revenue and never rewrites a closed one.
A reversal without a refund (a rejected conversion) takes back commission, not revenue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session

from api.finance.errors import FinanceError
from api.models import Conversion, LedgerEntry, Refund
from api.models.ledger import EntryKind

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    start: datetime
    end: datetime  # exclusive


def parse_period(value: str, field: str = "period") -> Period:
    """ "2026-10" -> [2026-10-01, 2026-11-01) UTC; FinanceError for anything else."""
    match = _PERIOD.match((value or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise FinanceError(
            "INVALID_PERIOD", f"period {value!r} is not a month such as 2026-10 (YYYY-MM)", field
        )
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    if (year, month) == (datetime.max.year, 12):
        # Its end (the exclusive bound of every query) would be year 10000, which datetime
        # cannot hold: refused like any other bad period rather than a 500.
        raise FinanceError(
            "INVALID_PERIOD",
            f"period {value!r} is out of range: the last month is {datetime.max.year}-11",
            field,
        )
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return Period(f"{year:04d}-{month:02d}", start, end)


@dataclass(frozen=True, slots=True)
class Statement:
    period: str
    currency: str
    opening_balance: int  # minor units
    entries: list[LedgerEntry]
    closing_balance: int
    credits: int  # sum of the period's positive entries
    debits: int  # minus the sum of its negative entries (>= 0)
    first_order_revenue: int = 0  # minor units (module docstring)
    repeat_revenue: int = 0


def revenue_terms(inside: Any = None) -> tuple[Any, Any]:
    """Sum expressions (first-order revenue, repeat revenue) over ledger entries for which
    `inside` holds; the query must outer-join `Conversion` on `LedgerEntry.conversion_id` and
    `Refund` on `LedgerEntry.refund_id`."""
    inside = true() if inside is None else inside
    kind = LedgerEntry.kind
    value = case(
        (kind == EntryKind.COMMISSION, Conversion.amount),
        (
            and_(
                kind.in_((EntryKind.REVERSAL, EntryKind.CLAWBACK)),
                LedgerEntry.refund_id.is_not(None),
            ),
            -func.coalesce(Refund.amount, 0),
        ),
        else_=0,
    )
    repeat = Conversion.repeat.is_(True)
    first = func.coalesce(func.sum(case((and_(inside, ~repeat), value), else_=0)), 0)
    again = func.coalesce(func.sum(case((and_(inside, repeat), value), else_=0)), 0)
    return first, again


def statement(
    session: Session, org_id: int, influencer_id: int, period: str, currency: str
) -> Statement:
    p = parse_period(period)
    own = (
        LedgerEntry.organization_id == org_id,
        LedgerEntry.influencer_id == influencer_id,
        LedgerEntry.currency == currency,
    )
    opening = int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                *own, LedgerEntry.created_at < p.start
            )
        )
        or 0
    )
    entries = list(
        session.scalars(
            select(LedgerEntry)
            .where(*own, LedgerEntry.created_at >= p.start, LedgerEntry.created_at < p.end)
            .order_by(LedgerEntry.created_at, LedgerEntry.id)
        )
    )
    credits = sum(e.amount for e in entries if e.amount > 0)
    debits = -sum(e.amount for e in entries if e.amount < 0)
    closing = opening + credits - debits
    first, again = session.execute(
        select(*revenue_terms())
        .select_from(LedgerEntry)
        .outerjoin(Conversion, Conversion.id == LedgerEntry.conversion_id)
        .outerjoin(Refund, Refund.id == LedgerEntry.refund_id)
        .where(*own, LedgerEntry.created_at >= p.start, LedgerEntry.created_at < p.end)
    ).one()
    return Statement(
        p.label, currency, opening, entries, closing, credits, debits, int(first), int(again)
    )
