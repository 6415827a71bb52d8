"""Rollup deltas follow the facts through SAVEPOINTs: one rolled back forgets only the deltas
added inside it (SQLAlchemy fires `after_rollback` for a SAVEPOINT too, which used to forget
the whole transaction's), one released keeps them, and they are written once, at the commit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from api.ledger.rollups import bump
from api.models import PerformanceRollup
from api.models.rollups import NO_LINK

HOUR = datetime(2026, 11, 3, 14, tzinfo=UTC)


def _values(w):
    return {
        "partnership_id": w["partnership"].id,
        "link_id": NO_LINK,
        "hour": HOUR,
        "currency": "EUR",
        "organization_id": w["org"].id,
        "campaign_id": w["campaign"].id,
        "influencer_id": w["influencer"].id,
    }


def _row(db, w):
    return db.scalar(
        select(PerformanceRollup).where(PerformanceRollup.partnership_id == w["partnership"].id)
    )


def test_a_rolled_back_savepoint_forgets_only_its_own_deltas(db, factory):
    w = factory.world()
    db.commit()
    bump(db, _values(w), conversions=1, revenue=1000)
    try:
        with db.begin_nested():
            bump(db, _values(w), conversions=1, revenue=5000)
            raise RuntimeError("the fact inside was undone")
    except RuntimeError:
        pass
    with db.begin_nested():  # released: its delta stays, written with the transaction
        bump(db, _values(w), revenue=250, commission=25)
    assert _row(db, w) is None  # nothing written before the commit
    db.commit()
    row = _row(db, w)
    assert (row.conversions, row.revenue, row.commission) == (1, 1250, 25)


def test_a_rolled_back_transaction_forgets_everything(db, factory):
    w = factory.world()
    db.commit()
    with db.begin_nested():
        bump(db, _values(w), conversions=1, revenue=700)
    db.rollback()
    db.commit()
    assert _row(db, w) is None
    bump(db, _values(w), conversions=2, revenue=900)
    db.commit()
    row = _row(db, w)
    assert (row.conversions, row.revenue) == (2, 900)
