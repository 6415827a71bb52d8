"""Retainer periods and their amounts: which periods of a recurring fee are due, and how much.

A retainer is paid in arrears: a period is due once it has ended (its exclusive end is on or
before the day the job runs up to). MONTHLY periods are calendar months, WEEKLY ones ISO weeks
(Monday to Sunday). A period the retainer covers only in part (it started or ended inside it) is
prorated by days: amount x days covered / days in the period, rounded half-even once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from api.money import round_half_even

MONTHLY = "MONTHLY"
WEEKLY = "WEEKLY"


@dataclass(frozen=True, slots=True)
class DuePeriod:
    start: date  # the period's first day
    end: date  # exclusive
    days: int  # days of it the retainer covers
    period_days: int
    amount: int  # minor units, prorated

    @property
    def label(self) -> str:
        return self.start.isoformat()


def period_start(period: str, day: date) -> date:
    if period == MONTHLY:
        return day.replace(day=1)
    if period == WEEKLY:
        return day - timedelta(days=day.weekday())
    raise ValueError(f"unknown retainer period {period!r}")


def next_start(period: str, start: date) -> date:
    if period == MONTHLY:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=7)


def prorate(amount: int, days: int, period_days: int) -> int:
    """`amount` for `days` of a `period_days` period, half-even, once."""
    if days >= period_days:
        return amount
    return round_half_even(Decimal(amount) * days / Decimal(period_days))


def due_periods(
    period: str, amount: int, starts_on: date, ends_on: date | None, until: date
) -> Iterator[DuePeriod]:
    """Every period from `starts_on` (to `ends_on`, exclusive) that has ended by `until`
    (its exclusive end <= until), with its amount."""
    start = period_start(period, starts_on)
    while True:
        end = next_start(period, start)
        if end > until or (ends_on is not None and start >= ends_on):
            return
        covered_from = max(start, starts_on)
        covered_to = min(end, ends_on) if ends_on is not None else end
        days = (covered_to - covered_from).days
        period_days = (end - start).days
        if days > 0:
            yield DuePeriod(start, end, days, period_days, prorate(amount, days, period_days))
        start = end
