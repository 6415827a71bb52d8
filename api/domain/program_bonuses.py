"""Bonus progress of a program member in a calendar month: target, achieved, remaining, and
what the ledger must hold for it.

A bonus is "`target` of the metric (conversions, or revenue net of refunds) in a month ->
`amount`". It is credited once when met; if refunds take the month back under the target before
the month closes, the credit is reversed (a new entry: the ledger is append-only) and credited
again if it is met again. Once the month has closed, what is on the ledger stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Progress:
    target: int
    achieved: int

    @property
    def remaining(self) -> int:
        return max(self.target - self.achieved, 0)

    @property
    def met(self) -> bool:
        return self.achieved >= self.target


class BonusAction(StrEnum):
    NONE = "NONE"
    CREDIT = "CREDIT"
    REVERSE = "REVERSE"


def bonus_action(progress: Progress, credited: bool, *, closed: bool) -> BonusAction:
    """What to post given the progress, whether the bonus stands credited (credits minus
    reversals) and whether the month has closed."""
    if progress.met and not credited:
        return BonusAction.CREDIT
    if not progress.met and credited and not closed:
        return BonusAction.REVERSE
    return BonusAction.NONE
