"""Properties of the database posting path (worker functions + ledger), for any order, plan and
sequence of refunds, arriving before or after the order, some too large."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from api.db import utcnow
from api.domain.commission import Commission, CommissionKind, CompensationPlan
from api.ingest.conversions import Context, ingest_conversion, ingest_refund
from api.models import Conversion, LedgerEntry, Refund
from api.money import round_half_even
from tests.ingest import seed

plans = st.one_of(
    st.integers(0, 10_000).map(lambda bps: Commission(CommissionKind.PERCENT, bps=bps)),
    st.integers(0, 100_000).map(
        lambda flat: Commission(CommissionKind.FLAT_PER_CONVERSION, flat_minor=flat)
    ),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, Commission, list[tuple[int, bool]]]:
    amount = draw(st.integers(1, 10_000_000))
    commission = draw(plans)
    refunds = draw(
        st.lists(
            st.tuples(st.integers(1, amount + amount // 4 + 1), st.booleans()),  # (minor, early)
            max_size=6,
        )
    )
    return amount, commission, refunds


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_the_ledger_never_pays_more_than_the_plan_for_the_net_order(sessions, session, scenario):
    amount, commission, refunds = scenario
    plan = CompensationPlan(currency="EUR", commission=commission).to_dict()
    w = seed.world(session, plan=plan, hold_days=0)
    ctx = Context(now=utcnow())
    order = seed.conversion(w, "o", amount, code=w.p.discount_code)
    with sessions() as s, s.begin():  # refunds that arrive before their order wait for it
        for i, (minor, early) in enumerate(refunds):
            if early:
                ingest_refund(s, seed.refund(w, f"r{i}", "o", str(Decimal(minor).scaleb(-2))), ctx)
    with sessions() as s, s.begin():
        ingest_conversion(s, order, ctx)
    for i, (minor, early) in enumerate(refunds):
        if not early:
            with sessions() as s, s.begin():
                ingest_refund(s, seed.refund(w, f"r{i}", "o", str(Decimal(minor).scaleb(-2))), ctx)
    with sessions() as s, s.begin():  # replays change nothing
        ingest_conversion(s, order, ctx)

    session.commit()
    conversion = session.scalars(select(Conversion).where(Conversion.brand_id == w.brand_id)).one()
    entries = session.scalars(
        select(LedgerEntry).where(LedgerEntry.conversion_id == conversion.id)
    ).all()
    applied = session.scalars(
        select(Refund).where(Refund.brand_id == w.brand_id, Refund.status == "APPLIED")
    ).all()
    refunded = sum(r.amount or 0 for r in applied)
    statuses = session.execute(
        select(Refund.status, func.count())
        .where(Refund.brand_id == w.brand_id)
        .group_by(Refund.status)
    ).all()

    assert refunded <= amount
    assert "WAITING" not in dict(statuses)
    quoted = (
        round_half_even(Decimal(amount) * commission.bps / 10_000)
        if commission.kind is CommissionKind.PERCENT
        else commission.flat_minor
    )
    commissions = [e.amount for e in entries if e.kind == "COMMISSION"]
    assert commissions == ([quoted] if quoted else [])
    if not quoted:
        assert entries == []
        return
    reversals = [e.amount for e in entries if e.kind == "REVERSAL"]
    assert len(reversals) == len(applied)  # one per applied refund, none twice
    assert all(r <= 0 for r in reversals)
    net = sum(e.amount for e in entries)
    # Cumulative reversal: exactly the commission's share of what is left of the order.
    assert net == quoted - round_half_even(Decimal(quoted) * refunded / amount)
    assert 0 <= net <= quoted
    if refunded == amount:
        assert net == 0
    if commission.kind is CommissionKind.PERCENT:
        # Never more than the rate on the net order, beyond the two half-unit roundings.
        exact = Decimal(amount - refunded) * commission.bps / 10_000
        assert abs(net - exact) <= 1
