"""The plain rules of programs: level moves, retainer periods and proration, bonus actions,
application forms."""

from __future__ import annotations

from datetime import date

import pytest

from api.domain.program_bonuses import BonusAction, Progress, bonus_action
from api.domain.program_forms import Question, QuestionKind, check_answers, check_form
from api.domain.program_levels import LevelRule, check_thresholds, level_for
from api.domain.retainers import due_periods, prorate

LEVELS = [LevelRule(1, 0, 0), LevelRule(2, 1, 50_000), LevelRule(3, 2, 150_000)]


@pytest.mark.parametrize(
    ("measured", "level"),
    [(0, 1), (49_999, 1), (50_000, 2), (149_999, 2), (150_000, 3), (10**12, 3), (-500, 1)],
)
def test_level_for_picks_the_highest_level_reached(measured, level):
    assert level_for(list(reversed(LEVELS)), measured).level_id == level


def test_thresholds_start_at_zero_and_ascend():
    assert check_thresholds(LEVELS) == []
    codes = [p.code for p in check_thresholds([LevelRule(1, 0, 5), LevelRule(2, 1, 5)])]
    assert codes == ["OUT_OF_RANGE", "NOT_ASCENDING"]
    assert [p.code for p in check_thresholds([LevelRule(1, 0, -1)])] == [
        "NEGATIVE",
        "OUT_OF_RANGE",
    ]


def test_prorate_is_half_even_once():
    assert prorate(30_000, 17, 31) == 16_452  # 16,451.61...
    assert prorate(7_000, 4, 7) == 4_000
    assert prorate(1, 1, 2) == 0  # 0.5 -> 0 (even)
    assert prorate(3, 1, 2) == 2  # 1.5 -> 2 (even)
    assert prorate(30_000, 31, 31) == 30_000


def test_monthly_periods_are_due_once_ended_and_the_first_is_prorated():
    due = list(due_periods("MONTHLY", 30_000, date(2026, 1, 15), None, date(2026, 4, 1)))
    assert [(d.start, d.days, d.period_days, d.amount) for d in due] == [
        (date(2026, 1, 1), 17, 31, 16_452),
        (date(2026, 2, 1), 28, 28, 30_000),
        (date(2026, 3, 1), 31, 31, 30_000),
    ]
    # April has not ended on 2026-04-30: not due yet.
    assert len(list(due_periods("MONTHLY", 30_000, date(2026, 1, 15), None, date(2026, 4, 30))))
    assert len(list(due_periods("MONTHLY", 1, date(2026, 1, 15), None, date(2026, 4, 30)))) == 3


def test_an_ended_retainer_stops_and_its_last_period_is_prorated():
    due = list(
        due_periods("MONTHLY", 31_000, date(2026, 1, 1), date(2026, 2, 11), date(2026, 12, 1))
    )
    assert [(d.start, d.amount) for d in due] == [
        (date(2026, 1, 1), 31_000),
        (date(2026, 2, 1), 11_071),  # 31,000 x 10 / 28 = 11,071.43
    ]


def test_weekly_periods_are_iso_weeks():
    # 2026-01-01 is a Thursday: its week runs from Monday 2025-12-29; 4 of 7 days covered.
    due = list(due_periods("WEEKLY", 7_000, date(2026, 1, 1), None, date(2026, 1, 19)))
    assert [(d.start, d.amount) for d in due] == [
        (date(2025, 12, 29), 4_000),
        (date(2026, 1, 5), 7_000),
        (date(2026, 1, 12), 7_000),
    ]


def test_bonus_actions():
    met, under = Progress(10, 12), Progress(10, 9)
    assert (met.remaining, under.remaining) == (0, 1)
    assert bonus_action(met, False, closed=False) is BonusAction.CREDIT
    assert bonus_action(met, False, closed=True) is BonusAction.CREDIT  # a late run still pays
    assert bonus_action(met, True, closed=False) is BonusAction.NONE
    assert bonus_action(under, True, closed=False) is BonusAction.REVERSE
    assert bonus_action(under, True, closed=True) is BonusAction.NONE  # closed: it stays
    assert bonus_action(under, False, closed=False) is BonusAction.NONE


FORM = [
    Question("audience", "Who follows you?", QuestionKind.TEXT, True),
    Question("size", "How many?", QuestionKind.CHOICE, True, ("<10k", "10k+")),
    Question("portfolio", "A link", QuestionKind.URL),
]


def test_form_checks():
    assert check_form(FORM) == []
    bad = [
        Question("Bad Key", "x", QuestionKind.TEXT),
        Question("a", "", QuestionKind.CHOICE),
        Question("a", "dup", QuestionKind.URL, choices=("x",)),
    ]
    assert [(p.field, p.code) for p in check_form(bad)] == [
        ("questions[0].key", "INVALID"),
        ("questions[1].label", "REQUIRED"),
        ("questions[1].choices", "REQUIRED"),
        ("questions[2].key", "DUPLICATE"),
        ("questions[2].choices", "NOT_ALLOWED"),
    ]


def test_answers_are_checked_against_the_form():
    clean, problems = check_answers(FORM, {"audience": " moms ", "size": "10k+"})
    assert (clean, problems) == ({"audience": "moms", "size": "10k+"}, [])
    _, problems = check_answers(
        FORM, {"size": "huge", "portfolio": "javascript:alert(1)", "extra": "x"}
    )
    assert [(p.field, p.code) for p in problems] == [
        ("answers.extra", "NOT_ALLOWED"),
        ("answers.audience", "REQUIRED"),
        ("answers.size", "INVALID"),
        ("answers.portfolio", "INVALID"),
    ]
