"""Repeat customers and per-code rates through the worker, to the ledger and the rollups."""

from __future__ import annotations

from sqlalchemy import func, select, update

from api.models import Campaign, Conversion, CustomerClaim, DiscountCode, PerformanceRollup
from api.models.events import AttributedVia
from tests.ingest import seed
from tests.ingest.helpers import drain, ledger, push


def _world(session, mode: str, months: int | None = None):
    w = seed.world(session, plan=seed.percent(1000, repeat_order_bps=500), partners=2)
    session.execute(
        update(Campaign)
        .where(Campaign.id == w.p.campaign_id)
        .values(repeat_orders=mode, repeat_months=months)
    )
    session.commit()
    return w


def _orders(session, w):
    session.expire_all()
    rows = session.scalars(
        select(Conversion).where(Conversion.brand_id == w.brand_id).order_by(Conversion.id)
    )
    return [(c.order_id, c.partnership_id, c.attributed_via, c.repeat) for c in rows]


def test_lifetime_customer_keeps_crediting_the_first_influencer(rds, prefix, sessions, session):
    w = _world(session, "LIFETIME")
    a, b = w.partners
    click = seed.click(w, b, ts_ms=seed.now_ms() - 60_000)
    push(rds, prefix, click)
    push(rds, prefix, seed.conversion(w, "o1", 10000, code=a.discount_code, customer_id="C-1"))
    push(rds, prefix, seed.conversion(w, "o2", 4000, customer_id="c-1"))  # same, normalised
    push(rds, prefix, seed.conversion(w, "o3", 6000, click_id=click.click_id, customer_id="C-1"))
    push(rds, prefix, seed.conversion(w, "o4", 2000, click_id=click.click_id, customer_id="C-2"))
    drain(rds, sessions, prefix)
    assert _orders(session, w) == [
        ("o1", a.partnership_id, AttributedVia.DISCOUNT_CODE, False),
        ("o2", a.partnership_id, AttributedVia.CUSTOMER, True),
        ("o3", a.partnership_id, AttributedVia.CUSTOMER, True),  # B's click does not take C-1
        ("o4", b.partnership_id, AttributedVia.CLICK, False),
    ]
    # 10% on the first order, 5% on repeats
    assert [(e.amount, e.basis_points) for e in ledger(session)] == [
        (1000, 1000),
        (200, 500),
        (300, 500),
        (200, 1000),
    ]
    claims = session.scalars(select(CustomerClaim.partnership_id).order_by(CustomerClaim.id))
    assert list(claims) == [a.partnership_id, b.partnership_id]
    first, repeat = session.execute(
        select(
            func.sum(PerformanceRollup.revenue), func.sum(PerformanceRollup.repeat_revenue)
        ).where(PerformanceRollup.partnership_id == a.partnership_id)
    ).one()
    assert (first - repeat, repeat) == (10000, 10000)


def test_first_order_only_credits_nothing_without_a_click_or_code(rds, prefix, sessions, session):
    w = _world(session, "FIRST_ORDER_ONLY")
    a = w.p
    push(rds, prefix, seed.conversion(w, "o1", 10000, code=a.discount_code, customer_id="C-1"))
    push(rds, prefix, seed.conversion(w, "o2", 4000, customer_id="C-1"))
    push(rds, prefix, seed.conversion(w, "o3", 4000, code=a.discount_code, customer_id="C-1"))
    drain(rds, sessions, prefix)
    assert _orders(session, w) == [
        ("o1", a.partnership_id, AttributedVia.DISCOUNT_CODE, False),
        ("o2", None, None, False),
        ("o3", a.partnership_id, AttributedVia.DISCOUNT_CODE, True),  # the same influencer again
    ]
    assert [e.amount for e in ledger(session)] == [1000, 200]


def test_a_code_with_its_own_rate_overrides_the_plan(rds, prefix, sessions, session):
    w = _world(session, "FIRST_ORDER_ONLY")
    session.execute(
        update(DiscountCode)
        .where(DiscountCode.code == w.p.discount_code)
        .values(commission_bps=2500)
    )
    session.commit()
    push(rds, prefix, seed.conversion(w, "o1", 10000, code=w.p.discount_code))
    drain(rds, sessions, prefix)
    [entry] = ledger(session)
    assert (entry.amount, entry.basis_points) == (2500, 2500)
    assert "discount code's own rate" in entry.memo
