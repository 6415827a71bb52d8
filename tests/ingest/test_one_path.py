"""One conversion path: the worker and a review book an order the same way, through
`api.ledger.posting.credit_conversions`; the ingest package never writes to the books itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.db import utcnow
from api.ingest.conversions import Context
from api.ledger.posting import PostingError, Terms, approve_conversion
from api.models import Campaign, Conversion, LedgerEntry
from api.models.events import ConversionStatus
from api.models.rollups import PerformanceRollup
from tests.ingest import seed
from tests.ingest.helpers import drain, ledger, push

INGEST = Path(__file__).resolve().parents[2] / "api" / "ingest"


def _rollup(session, partnership_id: int) -> tuple[int, int, int, int]:
    session.commit()
    r = PerformanceRollup
    row = session.execute(
        select(
            func.coalesce(func.sum(r.conversions), 0),
            func.coalesce(func.sum(r.revenue), 0),
            func.coalesce(func.sum(r.commission), 0),
            func.coalesce(func.sum(r.fees), 0),
        ).where(r.partnership_id == partnership_id)
    ).one()
    return tuple(int(v) for v in row)  # type: ignore[return-value]


def _booked(session, partnership_id: int) -> list[tuple[object, ...]]:
    return [
        (e.kind, e.amount, e.currency, e.basis_points, e.available_at - e.created_at)
        for e in ledger(session, partnership_id=partnership_id)
    ]


def test_a_held_order_approved_is_booked_like_the_same_order_credited_by_the_worker(
    rds, prefix, sessions, session
):
    w = seed.world(session, plan=seed.percent(bps=1250), hold_days=14)
    campaign_id = w.p.campaign_id
    held = seed.add_partner(
        session, w, session.get(Campaign, campaign_id), customer_ids=["me@example.com"]
    )
    session.commit()
    direct = w.p
    push(
        rds,
        prefix,
        seed.conversion(w, "o-direct", 19_999, code=direct.discount_code),
        seed.conversion(w, "o-held", 19_999, code=held.discount_code, customer_id="me@example.com"),
        seed.refund(w, "r-direct", "o-direct", "50.01"),
        seed.refund(w, "r-held", "o-held", "50.01"),  # applied while the order is held
    )
    drain(rds, sessions, prefix)
    order = session.scalars(select(Conversion).where(Conversion.order_id == "o-held")).one()
    assert order.status == ConversionStatus.HELD
    assert _booked(session, held.partnership_id) == []
    assert _rollup(session, held.partnership_id) == (0, 0, 0, 0)

    assert approve_conversion(session, order, "reviewer")
    session.commit()

    booked = _booked(session, direct.partnership_id)
    assert [b[:2] for b in booked] == [("COMMISSION", 2500), ("REVERSAL", -625)]
    assert _booked(session, held.partnership_id) == booked
    assert _rollup(session, direct.partnership_id) == (1, 19_999 - 5_001, 2500 - 625, 0)
    assert _rollup(session, held.partnership_id) == _rollup(session, direct.partnership_id)
    memos = {e.memo for e in ledger(session, kind="COMMISSION")}
    assert memos == {
        f"Commission on order {order}: 12.5% of 199.99 EUR = 25.00 EUR"
        for order in ("o-direct", "o-held")
    }


def test_an_order_its_plan_cannot_price_is_held_and_cannot_be_approved(
    rds, prefix, sessions, session
):
    w = seed.world(session)
    push(rds, prefix, seed.conversion(w, "o-usd", 1000, code=w.p.discount_code, currency="USD"))
    drain(rds, sessions, prefix)
    order = session.scalars(select(Conversion).where(Conversion.order_id == "o-usd")).one()
    assert order.status == ConversionStatus.HELD
    assert order.hold_reasons == ["CURRENCY_MISMATCH"]
    assert "USD" in (order.review_reason or "") and "EUR" in (order.review_reason or "")
    assert _rollup(session, w.p.partnership_id) == (0, 0, 0, 0)

    with pytest.raises(PostingError) as err:
        approve_conversion(session, order, "reviewer")
    assert err.value.code == "CURRENCY_MISMATCH"
    session.commit()
    session.expire_all()
    assert session.get(Conversion, order.id).status == ConversionStatus.HELD
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    assert _rollup(session, w.p.partnership_id) == (0, 0, 0, 0)


def test_terms_are_built_one_way(session):
    override = {"commission": {"kind": "PERCENT", "bps": 700}}
    w = seed.world(session, plan=seed.percent(bps=1000), hold_days=9)
    partner = seed.add_partner(
        session, w, session.get(Campaign, w.p.campaign_id), override=override
    )
    session.commit()
    ctx = Context(now=utcnow())
    assert ctx.partnership(session, partner.partnership_id) is not None
    loaded = Terms.load(session, partner.partnership_id)
    assert ctx.terms(partner.partnership_id) == loaded
    assert (loaded.hold_days, loaded.influencer_id) == (9, partner.influencer_id)
    assert loaded.plan is not None and loaded.plan.commission.bps == 700


# What only the ledger package does: pricing, posting, reversing, counting in the rollups.
_BOOKS = {
    "api.ledger.rollups": None,
    "api.ledger.posting": {
        "commission_values",
        "post_entries",
        "post_entry",
        "sync_reversals",
        "reversal_for_refund",
    },
    "api.domain.commission": {"commission_for_order", "reversal_for_refund"},
}


def test_the_ingest_package_leaves_the_books_to_the_ledger():
    offending = []
    for path in sorted(INGEST.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {a.name for a in node.names}
                if node.module == "api.ledger" and "rollups" in names:
                    offending.append((path.name, "api.ledger.rollups"))
                banned = _BOOKS.get(node.module, set())
                if node.module in _BOOKS and banned is None:
                    offending.append((path.name, node.module))
                elif banned:
                    offending += [(path.name, f"{node.module}.{n}") for n in names & banned]
            elif isinstance(node, ast.Import):
                offending += [
                    (path.name, a.name) for a in node.names if a.name == "api.ledger.rollups"
                ]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "update"
                and any(isinstance(a, ast.Name) and a.id == "Conversion" for a in node.args)
            ):
                offending.append((path.name, "update(Conversion)"))
    assert offending == [], offending
