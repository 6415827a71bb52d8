"""The programs' jobs run late, twice, or for a month not closed: the ledger stays right."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from api.models import LedgerEntry
from api.models.programs import RetainerPeriod
from api.programs import jobs
from api.programs.errors import ProgramError
from tests.programs.helpers import member, program_with_levels, retainer


def _retainer_amounts(db, m) -> list[int]:
    return list(
        db.scalars(
            select(LedgerEntry.amount)
            .where(LedgerEntry.influencer_id == m.influencer_id, LedgerEntry.kind == "RETAINER")
            .order_by(LedgerEntry.id)
        )
    )


def test_retainers_run_late_over_three_periods_then_twice(db, factory):
    w = program_with_levels(db, factory)
    m = member(db, factory, w)
    weekly = member(db, factory, w)
    retainer(db, m, 30_000, date(2026, 1, 15))
    retainer(db, weekly, 7_000, date(2026, 1, 1), RetainerPeriod.WEEKLY, date(2026, 1, 19))
    now = datetime(2026, 4, 2, tzinfo=UTC)
    assert jobs.run_retainers(db, date(2026, 4, 2), now=now) == 6
    assert jobs.run_retainers(db, date(2026, 4, 2), now=now) == 0
    db.commit()
    assert jobs.run_retainers(db, date(2026, 4, 30), now=now) == 0  # April not over yet
    assert _retainer_amounts(db, m) == [16_452, 30_000, 30_000]
    assert _retainer_amounts(db, weekly) == [4_000, 7_000, 7_000]  # ended on the 19th
    keys = db.scalars(
        select(LedgerEntry.idempotency_key).where(LedgerEntry.influencer_id == m.influencer_id)
    ).all()
    assert sorted(keys)[0].startswith("retainer:") and sorted(keys)[0].endswith(":2026-01-01")


def test_level_moves_refuse_an_open_month_and_run_once_per_month(db, factory):
    w = program_with_levels(db, factory)
    member(db, factory, w)
    with pytest.raises(ProgramError) as caught:
        jobs.run_level_moves(
            db, w["program"], date(2026, 3, 1), now=datetime(2026, 3, 31, tzinfo=UTC)
        )
    assert caught.value.code == "MONTH_NOT_CLOSED"
    now = datetime(2026, 4, 1, tzinfo=UTC)
    assert jobs.run_level_moves(db, w["program"], date(2026, 3, 1), now=now) == 0
    db.commit()
    # An earlier month reviewed after a later one is left alone (never moves back in time).
    assert jobs.run_level_moves(db, w["program"], date(2026, 2, 1), now=now) == 0
    assert jobs.run_due(db, now)["moved"] == 0


def test_month_of():
    assert jobs.month_of("2026-02") == date(2026, 2, 1)
    for bad in ("2026-13", "2026", "feb", ""):
        with pytest.raises(ProgramError):
            jobs.month_of(bad)


def test_the_commands(db, factory, capsys):
    from api.cli import main

    w = program_with_levels(db, factory)
    m = member(db, factory, w)
    retainer(db, m, 31_000, date(2026, 1, 1))
    org = str(w["org"].id)
    assert main(["programs", "run-month", "--month", "2026-13"]) == 2
    assert main(["programs", "retainers", "--until", "tomorrow"]) == 2
    assert "is not a date" in capsys.readouterr().err
    assert main(["programs", "retainers", "--until", "2026-03-01", "--org", org]) == 0
    assert "2 retainer period(s) credited up to 2026-03-01" in capsys.readouterr().err
    assert main(["programs", "retainers", "--until", "2026-03-01", "--org", org]) == 0
    assert "0 retainer period(s)" in capsys.readouterr().err
    assert main(["programs", "run-month", "--month", "2026-02", "--org", org]) == 0
    assert "2026-02: 1 program(s), 0 member(s) moved" in capsys.readouterr().err
    db.expire_all()
    assert _retainer_amounts(db, m) == [31_000, 31_000]


def test_what_the_worker_runs_is_idempotent(db, factory):
    from tests.programs.helpers import order, revenue_bonus

    w = program_with_levels(db, factory)
    m = member(db, factory, w)
    retainer(db, m, 30_000, date(2026, 1, 1))
    revenue_bonus(db, w, target=50_000, amount=2_500)
    order(db, w, m, 60_000, datetime(2026, 3, 3, tzinfo=UTC))
    now = datetime(2026, 3, 10, tzinfo=UTC)
    first = jobs.run_due(db, now)
    db.commit()
    assert first["retainers"] >= 2 and first["bonuses"] >= 1  # January, February; March's bonus
    assert jobs.run_due(db, now) == {"moved": 0, "bonuses": 0, "retainers": 0}
    kinds = sorted(
        db.scalars(select(LedgerEntry.kind).where(LedgerEntry.influencer_id == m.influencer_id))
    )
    assert kinds == ["BONUS", "COMMISSION", "RETAINER", "RETAINER"]
