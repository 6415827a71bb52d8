"""Migration 0009 (CANCELLED payout batches, partial unique indexes): down to 0008 and up again on
the session database, with a cancelled batch and the batch that replaced it on the same day."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from api.models.ledger import payout_cutoff
from tests.test_finance import TODAY, entry


def _batches(engine: Any, org_id: int) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, status FROM payout_batches WHERE organization_id = :o ORDER BY id"),
            {"o": org_id},
        ).all()
    return [(int(i), s) for i, s in rows]


def _insert(engine: Any, org_id: int, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO payout_batches (organization_id, currency, as_of, cutoff_at, "
                "minimum_amount, status, created_at, updated_at) VALUES (:o, 'EUR', :d, :c, 0, "
                ":s, :c, :c)"
            ),
            {"o": org_id, "d": TODAY, "c": payout_cutoff(TODAY), "s": status},
        )


def test_downgrade_to_0008_drops_cancelled_batches_and_upgrade_restores_the_rules(factory, db):
    from api.db import get_engine, reset_engine
    from api.finance.payouts import cancel_batch, create_payout_batch, lines_of
    from api.migrations import downgrade, upgrade

    w = factory.world()
    entry(db, w, 1000)
    org = w["org"].id
    cancelled = create_payout_batch(db, org, "EUR", TODAY, 0)
    cancel_batch(db, cancelled, "Ana")
    live = create_payout_batch(db, org, "EUR", TODAY, 0)
    db.commit()
    assert [line.amount for line in lines_of(db, live)] == [1000]
    db.close()
    reset_engine()
    try:
        downgrade("0008")
        engine = get_engine()
        columns = {c["name"] for c in inspect(engine).get_columns("payout_batches")}
        assert "cancelled_at" not in columns and "cancelled_by" not in columns
        # The cancelled batch (and its line) went; the live one stayed.
        assert _batches(engine, org) == [(live.id, "DRAFT")]
        with engine.connect() as conn:
            lines = conn.execute(
                text("SELECT batch_id FROM payout_lines WHERE organization_id = :o"), {"o": org}
            ).all()
        assert [row[0] for row in lines] == [live.id]
        # 0008's rules: one batch per day whatever its status, no CANCELLED.
        with pytest.raises(IntegrityError):
            _insert(engine, org, "PAID")
    finally:
        reset_engine()
        upgrade()
        reset_engine()
    engine = get_engine()
    assert _batches(engine, org) == [(live.id, "DRAFT")]
    with pytest.raises(IntegrityError):
        _insert(engine, org, "PAID")  # the day has a live batch
    _insert(engine, org, "CANCELLED")
    with pytest.raises(IntegrityError):
        _insert(engine, org, "REFUNDED")  # not a status
    assert [s for _, s in _batches(engine, org)] == ["DRAFT", "CANCELLED"]
