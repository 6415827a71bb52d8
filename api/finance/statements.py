"""A monthly statement per influencer and currency: opening, the period's entries, closing.

Periods are calendar months in UTC ("2026-10"); an entry belongs to the month of its
`created_at`. opening = sum of entries before the month; closing = opening + the month's entries
= opening + credits - debits (debits are reported as a positive figure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.finance.errors import FinanceError
from api.models import LedgerEntry

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
    return Statement(p.label, currency, opening, entries, closing, credits, debits)
