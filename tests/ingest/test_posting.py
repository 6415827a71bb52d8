"""Flat fees, gifted costs, review errors, influencer scopes and the migration of these tables."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from api.db import utcnow
from api.domain.commission import Commission, CommissionKind, CompensationPlan, GiftedProduct
from api.ingest.conversions import Context, ingest_conversion
from api.ledger.posting import (
    PostingError,
    approve_conversion,
    credit_flat_fee,
    record_gifted_cost,
    reject_conversion,
)
from api.models import (
    CampaignCost,
    Click,
    Conversion,
    LedgerEntry,
    Partnership,
    PayoutLine,
    Refund,
)
from tests.ingest import seed

PLAN = CompensationPlan(
    currency="EUR",
    flat_fee_per_deliverable_minor=25_000,
    commission=Commission(CommissionKind.PERCENT, bps=1500),
    gifted_product=GiftedProduct("Spring box", value_minor=8_900),
).to_dict()


def test_flat_fee_is_credited_once_per_published_deliverable(session):
    w = seed.world(session, plan=PLAN, hold_days=7)
    deliverable = seed.deliverable(session, w)
    first = credit_flat_fee(session, deliverable)
    second = credit_flat_fee(session, deliverable)
    session.commit()
    assert first is not None and second is not None and first.id == second.id
    entries = session.scalars(select(LedgerEntry)).all()
    assert [(e.kind, e.amount, e.deliverable_id) for e in entries] == [
        ("FLAT_FEE", 25_000, deliverable.id)
    ]
    assert entries[0].available_at - entries[0].created_at == timedelta(days=7)
    with pytest.raises(PostingError) as err:
        credit_flat_fee(session, seed.deliverable(session, w, status="APPROVED"))
    assert err.value.code == "NOT_PUBLISHED"


def test_gifted_product_is_a_cost_never_a_payable_entry(session):
    w = seed.world(session, plan=PLAN)
    partnership = session.get(Partnership, w.p.partnership_id)
    cost = record_gifted_cost(session, partnership)
    again = record_gifted_cost(session, partnership)
    session.commit()
    assert cost is not None and again is not None and cost.id == again.id
    assert (cost.kind, cost.amount, cost.currency, cost.description) == (
        "GIFTED_PRODUCT",
        8_900,
        "EUR",
        "Spring box",
    )
    assert session.scalars(select(CampaignCost)).all() == [cost]
    assert session.scalars(select(LedgerEntry)).all() == []  # nothing owed to the influencer


def test_reviewing_unattributed_or_rejected_conversions_is_refused(session, sessions):
    w = seed.world(session)
    with sessions() as s, s.begin():
        ingest_conversion(s, seed.conversion(w, "lost", 1000, code="NOPE"), Context(utcnow()))
    conversion = session.scalars(select(Conversion)).one()
    with pytest.raises(PostingError) as err:
        approve_conversion(session, conversion, "r")
    assert err.value.code == "NOT_ATTRIBUTED"
    session.rollback()
    with sessions() as s, s.begin():
        ingest_conversion(
            s, seed.conversion(w, "ok", 1000, code=w.p.discount_code), Context(utcnow())
        )
    approved = session.scalars(select(Conversion).where(Conversion.order_id == "ok")).one()
    assert reject_conversion(session, approved, "r", "fraud")
    session.commit()
    with pytest.raises(PostingError) as err:
        approve_conversion(session, approved, "r")
    assert err.value.code == "ALREADY_REJECTED"


def test_influencer_scopes_show_only_their_own_rows(session, sessions):
    w = seed.world(session, partners=2)
    ctx = Context(utcnow())
    with sessions() as s, s.begin():
        for i, partner in enumerate(w.partners):
            ingest_conversion(s, seed.conversion(w, f"o{i}", 1000, code=partner.discount_code), ctx)
    session.commit()
    mine = w.partners[0].influencer_id
    for model in (Conversion, LedgerEntry):
        rows = session.scalars(select(model).where(model.influencer_scope(mine))).all()
        assert len(rows) == 1 and rows[0].partnership_id == w.partners[0].partnership_id
    for model in (Click, Refund, PayoutLine, CampaignCost):
        assert session.scalars(select(model).where(model.influencer_scope(mine))).all() == []


def test_alembic_head_builds_the_models_schema(tmp_path, monkeypatch):
    """Migration 0002 matches the models (`alembic check` on a fresh database)."""
    from api import migrations
    from api.db import reset_engine
    from api.settings import reset_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/migrated.db")
    reset_settings()
    reset_engine()
    try:
        migrations.upgrade()
        migrations.check()
    finally:
        monkeypatch.undo()
        reset_settings()
        reset_engine()
