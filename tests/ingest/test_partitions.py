"""A year of clicks: exactly once across the monthly partitions of clicks and conversions (on
PostgreSQL; the same tests hold on SQLite's plain tables), the months ahead, and the retention.

These run on Alembic's schema (the session database), not on the models' `create_all` that the
other ingest tests use: only the migration partitions the tables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.ingest import partitions
from api.ingest.partitions import Month, retention_cutoff
from api.models import Click, ClickRollup, Conversion, ConversionKey, LedgerEntry, Refund
from api.models.events import RefundStatus
from tests.ingest import seed
from tests.ingest.helpers import dead_letters, drain, make_worker, push

POSTGRES = bool(os.environ.get("TEST_DATABASE_URL", "").strip())


@pytest.fixture
def db_url(database: str) -> str:
    """The session database, migrated by Alembic (partitioned on PostgreSQL)."""
    return database


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _months_ago(n: int) -> datetime:
    return Month.of(datetime.now(UTC)).plus(-n).start + timedelta(days=14, hours=3)


def _partition_of(session: Session, table: str, where: str, **params: Any) -> str | None:
    """Which partition a row is in (None on SQLite, whose tables are plain)."""
    if not POSTGRES:
        return None
    return str(
        session.scalar(text(f"SELECT tableoid::regclass::text FROM {table} WHERE {where}"), params)
    )


def test_month_arithmetic_and_the_retention_cutoff():
    assert Month(2026, 12).plus(1) == Month(2027, 1)
    assert Month(2027, 1).plus(-13) == Month(2025, 12)
    assert Month.of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)).name("clicks") == "clicks_y2026m12"
    now = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
    # The current month and the 12 before it are kept whole.
    assert retention_cutoff(now, 12) == datetime(2025, 12, 1, tzinfo=UTC)
    assert retention_cutoff(now, 1) == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="at least 1"):
        retention_cutoff(now, 0)
    assert partitions.is_partition("clicks_y2026m12")
    assert partitions.is_partition("orphan_visits_history")
    assert not partitions.is_partition("clicks")
    assert not partitions.is_partition("click_rollups_hourly")


def test_a_click_redelivered_in_a_later_batch_is_counted_once(rds, prefix, sessions, session):
    w = seed.world(session)
    old, new = seed.click(w, ts_ms=_ms(_months_ago(2))), seed.click(w)
    push(rds, prefix, old, new)
    drain(rds, sessions, prefix)
    push(rds, prefix, new, old)  # the same entries again, in a later batch
    stats = drain(rds, sessions, prefix)
    assert (stats.clicks, stats.click_duplicates) == (0, 2)
    session.commit()
    rows = session.scalars(select(Click.click_id).where(Click.organization_id == w.org_id)).all()
    assert sorted(rows) == sorted([old.event_id, new.event_id])
    counted = session.scalar(
        select(func.sum(ClickRollup.clicks)).where(ClickRollup.organization_id == w.org_id)
    )
    assert counted == 2
    here = _partition_of(session, "clicks", "click_id = :c", c=new.event_id)
    there = _partition_of(session, "clicks", "click_id = :c", c=old.event_id)
    if POSTGRES:
        assert here == Month.of(datetime.now(UTC)).name("clicks") and there != here


def test_an_order_repeated_a_month_later_is_the_same_order(rds, prefix, sessions, session):
    w = seed.world(session)
    code = w.p.discount_code
    push(rds, prefix, seed.conversion(w, "o-1", 10_000, code=code, occurred=_months_ago(1)))
    drain(rds, sessions, prefix)
    # The brand sends it again with this month's time: the same amount is a duplicate, another
    # amount is refused; neither is a second order.
    push(rds, prefix, seed.conversion(w, "o-1", 10_000, code=code))
    assert drain(rds, sessions, prefix).duplicates == 1
    push(rds, prefix, seed.conversion(w, "o-1", 12_000, code=code))
    drain(rds, sessions, prefix)
    [dead] = dead_letters(rds, prefix)
    assert "already recorded" in dead["dlq_reason"]
    session.commit()
    orders = session.scalars(select(Conversion).where(Conversion.brand_id == w.brand_id)).all()
    assert [(o.order_id, o.amount) for o in orders] == [("o-1", 10_000)]
    key = session.scalars(select(ConversionKey).where(ConversionKey.brand_id == w.brand_id)).one()
    assert key.id == orders[0].id and key.occurred_at == orders[0].occurred_at
    commission = session.scalar(
        select(func.sum(LedgerEntry.amount)).where(LedgerEntry.conversion_id == key.id)
    )
    assert commission == 1_000  # 10 % of the order, once
    if POSTGRES:
        month = _partition_of(session, "conversions", "id = :i", i=key.id)
        assert month != Month.of(datetime.now(UTC)).name("conversions")


def test_a_refund_in_a_later_month_finds_its_order(rds, prefix, sessions, session):
    w = seed.world(session)
    code = w.p.discount_code
    push(rds, prefix, seed.conversion(w, "o-2", 10_000, code=code, occurred=_months_ago(2)))
    drain(rds, sessions, prefix)
    push(rds, prefix, seed.refund(w, "r-1", "o-2", "40.00"))  # this month
    drain(rds, sessions, prefix)
    session.commit()
    order = session.scalars(select(Conversion).where(Conversion.brand_id == w.brand_id)).one()
    refund = session.scalars(select(Refund).where(Refund.brand_id == w.brand_id)).one()
    assert (refund.status, refund.conversion_id, refund.amount) == (
        RefundStatus.APPLIED,
        order.id,
        4_000,
    )
    amounts = session.scalars(
        select(LedgerEntry.amount)
        .where(LedgerEntry.conversion_id == order.id)
        .order_by(LedgerEntry.id)
    ).all()
    assert amounts == [1_000, -400]  # the commission, then 40 % of it reversed


# --- the months ahead and the retention: a database of its own (PostgreSQL) -----------------


@pytest.fixture
def own_db(monkeypatch: Any) -> Iterator[str]:
    """A PostgreSQL database migrated to head for this test alone (detaching months would take
    them from the tests that share the session database)."""
    from api.db import reset_engine
    from api.migrations import upgrade
    from api.settings import reset_settings

    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base:
        pytest.skip("partitions exist on PostgreSQL only")
    name = f"vouch_parts_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{base.rpartition('/')[0]}/{name}"
    monkeypatch.setenv("DATABASE_URL", url)
    reset_settings()
    reset_engine()
    try:
        upgrade()
        yield url
    finally:
        reset_engine()
        monkeypatch.undo()
        reset_settings()
        reset_engine()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _names(engine: Engine, table: str) -> list[str]:
    with engine.begin() as conn:
        return [p.name for p in partitions.partitions(conn, table)]


def test_months_ahead_retention_and_a_click_past_it(own_db, rds, prefix, capsys):
    from api.cli import main
    from api.ingest.worker import worker_engine

    engine = worker_engine(own_db)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    this = Month.of(datetime.now(UTC))
    try:
        created = partitions.ensure(engine, datetime.now(UTC), months_ahead=5)
        assert created == [this.plus(n).name(table) for table in partitions.TABLES for n in (4, 5)]
        assert partitions.ensure(engine, datetime.now(UTC), months_ahead=5) == []
        assert _names(engine, "clicks")[-1] == this.plus(5).name("clicks")

        with sessions() as session:
            w = seed.world(session)
        old = seed.click(w, ts_ms=_ms(_months_ago(3)))  # in clicks_history
        push(rds, prefix, old, seed.click(w), seed.orphan("gone", _ms(_months_ago(3))))
        push(
            rds,
            prefix,
            seed.conversion(w, "o-3", 5_000, code=w.p.discount_code, occurred=_months_ago(3)),
        )
        drain(rds, sessions, prefix)
        conversions_before = _names(engine, "conversions")

        # The worker's daily round with a retention of one month: nothing is old enough yet
        # (the history partition ends at this month, which is kept whole).
        make_worker(rds, sessions, prefix, click_retention_months=1).keep_partitions()
        assert _names(engine, "clicks")[0] == "clicks_history"

        # Three months on, the same round detaches what ended before last month.
        later = this.plus(3).start + timedelta(days=10)
        created, gone = partitions.keep_up(engine, later, 1)
        assert created == [this.plus(6).name(table) for table in partitions.TABLES]
        before = f"before_{this.name('')[1:]}"
        assert gone == [
            name
            for table in partitions.RETAINED
            for name in (f"{table}_{before}", this.name(table), this.plus(1).name(table))
        ]
        cutoff = retention_cutoff(later, 1)
        with engine.begin() as conn:
            for table in partitions.RETAINED:
                assert partitions.partitions(conn, table)[0].lower == cutoff
            assert partitions.detached(conn) == sorted(gone)
            # Detached, not dropped: the rows are in their tables, to archive.
            assert conn.scalar(text(f"SELECT count(*) FROM clicks_{before}")) == 1
            assert conn.scalar(text(f"SELECT count(*) FROM {this.name('clicks')}")) == 1
            assert conn.scalar(select(func.count()).select_from(Click)) == 0
            kept = conn.scalar(
                select(func.sum(ClickRollup.clicks)).where(ClickRollup.organization_id == w.org_id)
            )
            assert kept == 2  # the rollups keep every figure
            assert conn.scalar(select(func.count()).select_from(Conversion)) == 1
        assert _names(engine, "conversions")[: len(conversions_before)] == conversions_before

        # A click of a month past retention finds no partition: a dead letter, never counted.
        push(rds, prefix, seed.click(w))
        drain(rds, sessions, prefix)
        [dead] = dead_letters(rds, prefix)
        assert "no partition" in dead["dlq_reason"]
        with engine.begin() as conn:
            still = conn.scalar(
                select(func.sum(ClickRollup.clicks)).where(ClickRollup.organization_id == w.org_id)
            )
            assert still == 2

        assert main(["partitions", "list"]) == 0
        listed = capsys.readouterr().out
        assert this.plus(2).name("clicks") in listed and "conversions_history" in listed
        assert f"detached, not dropped: clicks_{before}" in listed
        # Today nothing ended before the cut-off (last month): nothing to detach or drop.
        assert main(["partitions", "detach", "--older-than", "1", "--drop"]) == 0
        assert "no click or orphan-visit partition ends before" in capsys.readouterr().out
        with engine.begin() as conn:
            assert partitions.detached(conn) == sorted(gone)
        # Three months on, --drop drops what an earlier detach left (the rows are archived).
        assert partitions.detach(engine, cutoff, drop=True) == sorted(gone)
        with engine.begin() as conn:
            assert partitions.detached(conn) == []
        assert main(["partitions", "detach"]) == 2  # no --older-than, no CLICK_RETENTION_MONTHS
        assert "CLICK_RETENTION_MONTHS" in capsys.readouterr().err
        assert main(["partitions", "ensure", "--months-ahead", "-1"]) == 2
        assert main(["partitions", "ensure", "--months-ahead", "7"]) == 0
        # This month and the next were dropped in the test's future: made again, empty.
        assert capsys.readouterr().out.split()[1::2] == [
            name
            for table in partitions.TABLES
            for name in (
                [this.name(table), this.plus(1).name(table)] if table in partitions.RETAINED else []
            )
            + [this.plus(7).name(table)]
        ]
        # A campaign attributing orders to clicks of a year ago keeps a year of clicks.
        with engine.begin() as conn:
            conn.execute(text("UPDATE campaigns SET attribution_window_days = 365"))
            year_ago = Month.of(later - timedelta(days=365)).start
            assert partitions.safe_cutoff(conn, later, 1) == year_ago
        assert main(["partitions", "detach", "--older-than", "1"]) == 0
        assert "attribution window reaches back to" in capsys.readouterr().out
    finally:
        engine.dispose()
