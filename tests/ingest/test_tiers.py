"""Tiered commission is priced by the influencer's attributed revenue in the calendar month,
over all their partnerships: revenue earned on one campaign moves them up a tier on another."""

from __future__ import annotations

from sqlalchemy import select

from api.models import Conversion
from tests.ingest import seed
from tests.ingest.helpers import drain, ledger, push

TIERS = [(0, 500), (100_000, 1000)]  # 5 %, then 10 % from 1,000.00 EUR in the month


def _second_partnership(session, w, plan) -> str:
    """The first influencer's partnership on another campaign of the brand: its discount code."""
    campaign = seed.add_campaign(session, w, plan=plan)
    partner = seed.add_partner(session, w, campaign, influencer_id=w.p.influencer_id)
    session.commit()
    return partner.discount_code


def _rates(session, brand_id: int) -> dict[str, tuple[int, int | None]]:
    orders = {
        c.id: c.order_id
        for c in session.scalars(select(Conversion).where(Conversion.brand_id == brand_id))
    }
    return {
        orders[e.conversion_id]: (e.amount, e.basis_points)
        for e in ledger(session, kind="COMMISSION")
        if e.conversion_id in orders
    }


def test_revenue_on_one_partnership_moves_the_influencer_up_a_tier_on_another(
    rds, prefix, sessions, session
):
    plan = seed.tiered(TIERS)
    w = seed.world(session, plan=plan, partners=2)
    other_code = _second_partnership(session, w, plan)
    events = [
        seed.conversion(w, "a", 60_000, code=w.p.discount_code, occurred=seed.utc(2026, 3, 2)),
        # The same influencer on the second campaign: 60,000 + 50,000 crosses 100,000.
        seed.conversion(w, "b", 50_000, code=other_code, occurred=seed.utc(2026, 3, 9)),
        # Another influencer of the first campaign: still at 0 this month.
        seed.conversion(
            w, "c", 50_000, code=w.partners[1].discount_code, occurred=seed.utc(2026, 3, 10)
        ),
        # Back on the first campaign: already past the threshold.
        seed.conversion(w, "d", 10_000, code=w.p.discount_code, occurred=seed.utc(2026, 3, 31)),
        # A new month starts again from 0.
        seed.conversion(w, "e", 10_000, code=other_code, occurred=seed.utc(2026, 4, 1)),
    ]
    for event in events:
        push(rds, prefix, event)
        drain(rds, sessions, prefix)
    assert _rates(session, w.brand_id) == {
        "a": (3_000, 500),
        "b": (5_000, 1000),
        "c": (2_500, 500),
        "d": (1_000, 1000),
        "e": (500, 500),
    }


def test_one_batch_over_two_partnerships_is_priced_in_order_time(rds, prefix, sessions, session):
    plan = seed.tiered(TIERS)
    w = seed.world(session, plan=plan)
    other_code = _second_partnership(session, w, plan)
    push(  # stream order is the reverse of the order times
        rds,
        prefix,
        seed.conversion(w, "late", 50_000, code=other_code, occurred=seed.utc(2026, 5, 20)),
        seed.conversion(w, "early", 60_000, code=w.p.discount_code, occurred=seed.utc(2026, 5, 3)),
    )
    drain(rds, sessions, prefix)
    assert _rates(session, w.brand_id) == {"early": (3_000, 500), "late": (5_000, 1000)}
