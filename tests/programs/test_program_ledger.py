"""The issue's proof: a three-level program over three simulated months. Retainers, level moves,
bonuses and refunds land on the ledger exactly once, whichever job runs twice or late, and the
statements add up to the cent."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from api.finance.statements import statement
from api.models import LedgerEntry, ProgramLevel, ProgramLevelChange, ProgramMember
from api.models.programs import LevelChangeReason
from api.programs import jobs
from tests.programs.helpers import (
    member,
    order,
    program_with_levels,
    refund,
    retainer,
    revenue_bonus,
)


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def close(db, w, month: int) -> None:
    """What the worker does after a month ends, twice (the second run changes nothing)."""
    now = at(month + 1, 1, 3)
    for _ in range(2):
        jobs.run_level_moves(db, w["program"], date(2026, month, 1), now=now)
        jobs.run_bonuses(db, w["program"], date(2026, month, 1), now=now)
        jobs.run_retainers(db, date(2026, month + 1, 1), now=now)
        db.commit()


def level(db, m) -> str:
    db.refresh(m)
    return db.get(ProgramLevel, m.level_id).name


def test_three_months_of_a_program_land_once_and_statements_add_up(db, factory):
    w = program_with_levels(db, factory)
    a, b, c = (member(db, factory, w) for _ in range(3))
    retainer(db, a, 30_000, date(2026, 1, 15))
    revenue_bonus(db, w, target=100_000, amount=5_000)

    # January: A sells 600 EUR (BRONZE, 10 %); B 1,200 EUR, meets the bonus mid-month, then a
    # 300 EUR refund before the month closes takes it back under: the bonus is reversed.
    order(db, w, a, 30_000, at(1, 5))
    order(db, w, a, 30_000, at(1, 6))
    b_jan = order(db, w, b, 120_000, at(1, 10))
    assert jobs.run_bonuses(db, w["program"], date(2026, 1, 1), now=at(1, 11)) == 1
    assert jobs.run_bonuses(db, w["program"], date(2026, 1, 1), now=at(1, 11)) == 0
    db.commit()
    refund(db, b_jan, 30_000, at(1, 20))
    assert jobs.run_bonuses(db, w["program"], date(2026, 1, 1), now=at(1, 21)) == 1
    db.commit()
    close(db, w, 1)
    assert (level(db, a), level(db, b), level(db, c)) == ("SILVER", "SILVER", "BRONZE")

    # February, priced at the new levels: A 1,600 EUR at 15 % and meets the bonus; B 100 EUR.
    a_feb = order(db, w, a, 160_000, at(2, 3))
    order(db, w, b, 10_000, at(2, 4))
    close(db, w, 2)
    assert (level(db, a), level(db, b), level(db, c)) == ("GOLD", "BRONZE", "BRONZE")

    # March: a refund of A's February order after February closed: the commission share is
    # reversed, the February bonus stays. A sells 200 EUR at 20 %.
    refund(db, a_feb, 60_000, at(3, 2))
    assert jobs.run_bonuses(db, w["program"], date(2026, 2, 1), now=at(3, 2)) == 0
    order(db, w, a, 20_000, at(3, 10))
    close(db, w, 3)
    # A late, repeated run of everything changes nothing more.
    for month in (1, 2, 3):
        jobs.run_level_moves(db, w["program"], date(2026, month, 1), now=at(4, 20))
        jobs.run_bonuses(db, w["program"], date(2026, month, 1), now=at(4, 20))
    jobs.run_retainers(db, date(2026, 4, 1), now=at(4, 20))
    db.commit()
    assert (level(db, a), level(db, b), level(db, c)) == ("BRONZE", "BRONZE", "BRONZE")

    def entries(m: ProgramMember) -> list[tuple[str, int]]:
        return [
            (e.kind.value, e.amount)
            for e in db.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.influencer_id == m.influencer_id)
                .order_by(LedgerEntry.id)
            )
        ]

    assert entries(a) == [
        ("COMMISSION", 3_000),
        ("COMMISSION", 3_000),
        ("RETAINER", 16_452),  # 17 of January's 31 days of 300 EUR, half-even
        ("COMMISSION", 24_000),
        ("BONUS", 5_000),
        ("RETAINER", 30_000),
        ("REVERSAL", -9_000),  # 600 of 1,600 EUR refunded: 3/8 of 240 EUR
        ("COMMISSION", 4_000),
        ("RETAINER", 30_000),
    ]
    assert entries(b) == [
        ("COMMISSION", 12_000),
        ("BONUS", 5_000),
        ("REVERSAL", -3_000),
        ("REVERSAL", -5_000),  # the bonus, taken back before January closed
        ("COMMISSION", 1_500),
    ]
    assert entries(c) == []

    # Statements: each month's closing is the next month's opening, and the sum of all.
    for m, total in ((a, 106_452), (b, 10_500)):
        opening = 0
        for month in ("2026-01", "2026-02", "2026-03", "2026-04"):
            s = statement(db, w["org"].id, m.influencer_id, month, "EUR")
            assert s.opening_balance == opening
            assert s.closing_balance == opening + sum(e.amount for e in s.entries)
            opening = s.closing_balance
        assert opening == total

    # One RULE review per member and month, moves recorded with what was measured.
    rules = dict(
        db.execute(
            select(ProgramLevelChange.member_id, func.count())
            .where(
                ProgramLevelChange.reason == LevelChangeReason.RULE,
                ProgramLevelChange.member_id.in_([a.id, b.id, c.id]),
            )
            .group_by(ProgramLevelChange.member_id)
        ).all()
    )
    assert rules == {a.id: 3, b.id: 3, c.id: 3}
    history = db.scalars(
        select(ProgramLevelChange.measured)
        .where(
            ProgramLevelChange.member_id == a.id,
            ProgramLevelChange.reason == LevelChangeReason.RULE,
        )
        .order_by(ProgramLevelChange.month)
    ).all()
    assert history == [60_000, 160_000, 20_000]  # as measured when reviewed
