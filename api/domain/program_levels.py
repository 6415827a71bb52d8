"""The monthly level rule of an ambassador program, and the checks of its levels.

Levels are ordered by rank (0 the lowest); each has a threshold of the program's metric
(attributed revenue net of refunds, in minor units, or approved conversions) in a calendar month.
After a month closes a member is moved to the highest level whose threshold the month reached:
up when it did better, down when it did worse. The lowest level's threshold is 0, so every
member always has a level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api.domain.commission import MAX_MINOR
from api.domain.problems import Problem, ProblemCode


@dataclass(frozen=True, slots=True)
class LevelRule:
    level_id: int
    rank: int
    threshold: int


def level_for(levels: Sequence[LevelRule], measured: int) -> LevelRule:
    """The highest level whose threshold `measured` reaches (the lowest when it reaches none).
    `levels` must not be empty."""
    ordered = sorted(levels, key=lambda rule: rule.rank)
    chosen = ordered[0]
    for rule in ordered:
        if measured >= rule.threshold:
            chosen = rule
    return chosen


def check_thresholds(levels: Sequence[LevelRule]) -> list[Problem]:
    """Problems of a program's levels, ordered by rank: the first threshold 0, then strictly
    ascending, none negative or absurdly large."""
    problems: list[Problem] = []
    ordered = sorted(levels, key=lambda rule: rule.rank)
    for index, rule in enumerate(ordered):
        if rule.threshold < 0:
            problems.append(Problem("threshold", "a threshold is 0 or more", ProblemCode.NEGATIVE))
        elif rule.threshold > MAX_MINOR:
            problems.append(Problem("threshold", "the threshold is too large", ProblemCode.INVALID))
        if index == 0 and rule.threshold != 0:
            problems.append(
                Problem(
                    "threshold",
                    "the lowest level's threshold is 0 (every member has a level)",
                    ProblemCode.OUT_OF_RANGE,
                )
            )
        if index and rule.threshold <= ordered[index - 1].threshold:
            problems.append(
                Problem(
                    "threshold",
                    "each level's threshold is above the one below it",
                    ProblemCode.NOT_ASCENDING,
                )
            )
    return problems
