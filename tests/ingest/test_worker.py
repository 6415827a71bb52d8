"""The ingest worker against a real Redis and database: exactly once, attribution, commissions,
holds, refunds, dead letters and reclaiming."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api.db import utcnow
from api.ingest.worker import GROUP
from api.ledger.posting import approve_conversion, reject_conversion
from api.models import (
    Campaign,
    Click,
    ClickRollup,
    Conversion,
    OrphanVisitRollup,
    PayoutBatch,
    PayoutLine,
    Refund,
)
from api.models.events import ConversionStatus, RefundStatus
from api.models.ledger import EntryKind, PayoutStatus, payout_cutoff
from tests.ingest import seed
from tests.ingest.helpers import dead_letters, drain, ledger, ledger_sum, make_worker, push
from tests.tracking_fixtures import unseal
from tracker import keys

# --- clicks -----------------------------------------------------------------------------------


def test_clicks_rollups_and_replays_count_once(rds, prefix, sessions, session):
    w = seed.world(session, partners=2)
    hour = seed.now_ms() // 3_600_000 * 3_600_000
    events = [
        seed.click(w, ts_ms=hour + 1000),
        seed.click(w, ts_ms=hour + 2000),
        seed.click(w, ts_ms=hour + 3000, unique=False),
        seed.click(w, ts_ms=hour + 4000, bot=True),
        seed.click(w, ts_ms=hour - 1000),  # the previous hour
        seed.click(w, w.partners[1], ts_ms=hour + 5000),
    ]
    push(rds, prefix, *events, events[0])  # the tracker may write an entry twice
    drain(rds, sessions, prefix)
    # Replaying everything (a crash between commit and XACK) inserts and counts nothing.
    push(rds, prefix, *events)
    stats = drain(rds, sessions, prefix)
    assert stats.clicks == 0 and stats.click_duplicates == len(events)

    assert session.scalar(select(func.count()).select_from(Click)) == 6
    rollups = {
        (r.link_id, r.hour.timestamp() * 1000): (r.clicks, r.unique_clicks, r.bot_hits)
        for r in session.scalars(select(ClickRollup))
    }
    assert rollups == {
        (w.p.link_id, hour): (3, 2, 1),  # the bot is a hit, never a click
        (w.p.link_id, hour - 3_600_000): (1, 1, 0),
        (w.partners[1].link_id, hour): (1, 1, 0),
    }
    row = session.scalars(select(Click).where(Click.click_id == events[0].event_id)).one()
    assert (row.partnership_id, row.campaign_id, row.organization_id) == (
        w.p.partnership_id,
        w.p.campaign_id,
        w.org_id,
    )
    assert row.ip_trunc == "203.0.113.0" and len(row.ip_hash or "") == 64


def test_orphan_visits_are_counted_per_code_and_hour(rds, prefix, sessions, session):
    hour = seed.now_ms() // 3_600_000 * 3_600_000
    push(rds, prefix, seed.orphan("nope", hour + 1), seed.orphan("nope", hour + 2))
    push(rds, prefix, seed.orphan("other", hour + 3))
    drain(rds, sessions, prefix)
    counts = {r.code: r.count for r in session.scalars(select(OrphanVisitRollup))}
    assert counts == {"nope": 2, "other": 1}


def test_replayed_orphan_visits_count_once(rds, prefix, sessions, session):
    hour = seed.now_ms() // 3_600_000 * 3_600_000
    visits = [seed.orphan("gone", hour + 1), seed.orphan("gone", hour + 2)]
    push(rds, prefix, *visits, visits[0])  # the tracker may write an entry twice
    assert drain(rds, sessions, prefix).orphans == 2
    push(rds, prefix, *visits)  # a crash between commit and XACK: the batch comes again
    assert drain(rds, sessions, prefix).orphans == 0
    session.expire_all()
    counts = {r.code: r.count for r in session.scalars(select(OrphanVisitRollup))}
    assert counts == {"gone": 2}


def test_orphan_visit_without_an_event_id_is_dead_lettered(rds, prefix, sessions, session):
    hour = seed.now_ms() // 3_600_000 * 3_600_000
    bad = seed.orphan("gone", hour + 1).to_fields() | {"event_id": ""}
    push(rds, prefix, (keys.clicks_stream(prefix), bad), seed.orphan("gone", hour + 2))
    assert drain(rds, sessions, prefix).orphans == 1
    [dead] = dead_letters(rds, prefix)
    assert "event_id" in dead["dlq_reason"]
    session.expire_all()
    assert [(r.code, r.count) for r in session.scalars(select(OrphanVisitRollup))] == [("gone", 1)]


def test_long_user_agent_and_referer_are_truncated(rds, prefix, sessions, session):
    w = seed.world(session)
    event = seed.click(w)
    fields = event.to_fields() | {"ua": "U" * 2000, "referer": "https://r/" + "x" * 5000}
    push(rds, prefix, (keys.clicks_stream(prefix), fields))
    drain(rds, sessions, prefix)
    row = session.scalars(select(Click)).one()
    assert len(row.user_agent or "") == 512 and len(row.referer or "") == 1024


def test_text_is_stored_verbatim_whatever_it_holds(rds, prefix, sessions, session):
    # COPY's text format escapes: backslashes, tabs and non-ASCII text come back as sent.
    w = seed.world(session)
    event = seed.click(w)
    ua = "Mozilla\\5.0\t(x\\N) \u00e9\u6f22 \\."
    fields = event.to_fields() | {"ua": ua, "referer": "\\N"}
    push(rds, prefix, (keys.clicks_stream(prefix), fields))
    drain(rds, sessions, prefix)
    row = session.scalars(select(Click)).one()
    assert (row.user_agent, row.referer) == (ua, "\\N")
    assert dead_letters(rds, prefix) == []


def test_a_click_whose_ids_are_not_its_links_is_dead_lettered(rds, prefix, sessions, session):
    w = seed.world(session, partners=2)
    a, b = w.partners
    good = seed.click(w, a)
    crossed = seed.click(w, a).to_fields() | {"partnership_id": str(b.partnership_id)}
    not_a_number = seed.click(w, a).to_fields() | {"link_id": "12x"}
    stream = keys.clicks_stream(prefix)
    push(rds, prefix, good, (stream, crossed), (stream, not_a_number), seed.click(w, b))
    stats = drain(rds, sessions, prefix)
    assert stats.clicks == 2
    reasons = sorted(d["dlq_reason"] for d in dead_letters(rds, prefix))
    assert reasons == [
        f"link {a.link_id} is partnership/campaign/organization "
        f"{a.partnership_id}/{a.campaign_id}/{w.org_id}, the click says "
        f"{b.partnership_id}/{a.campaign_id}/{w.org_id}",
        "unknown link '12x'",
    ]
    assert rds.xpending(stream, GROUP)["pending"] == 0


@pytest.mark.parametrize("click_thread", [True, False])
def test_run_reads_clicks_and_conversions_until_stopped(
    rds, prefix, sessions, session, click_thread
):
    w = seed.world(session)
    clicks = [seed.click(w, ts_ms=seed.now_ms() - 60_000 + i) for i in range(300)]
    orders = [
        seed.conversion(w, f"o{i}", 1000, click_id=clicks[i].event_id, occurred=seed.now_ms())
        for i in range(0, 150, 15)  # a shopper clicks before buying: earlier in the stream
    ]
    push(rds, prefix, *clicks[:150], *orders, *clicks[150:])
    worker = make_worker(rds, sessions, prefix, batch_size=40, click_thread=click_thread)
    runner = threading.Thread(target=worker.run)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            worker.stats.clicks < 300 or worker.stats.conversions < 10 or worker.pending()
        ):
            time.sleep(0.05)
    finally:
        worker.stop_event.set()
        runner.join(10)
    assert not runner.is_alive()
    assert session.scalar(select(func.count()).select_from(Click)) == 300
    assert session.scalar(select(func.sum(ClickRollup.clicks))) == 300
    session.commit()
    statuses = session.scalars(select(Conversion.attributed_via)).all()
    assert statuses == ["CLICK"] * 10  # every order found its click
    assert ledger_sum(session) == 10 * 100


# --- attribution ------------------------------------------------------------------------------


def _conversion(session, brand_id, order_id):
    session.commit()
    return session.scalars(
        select(Conversion).where(Conversion.brand_id == brand_id, Conversion.order_id == order_id)
    ).one()


def test_click_attribution_credits_commission_after_hold_days(rds, prefix, sessions, session):
    w = seed.world(session, hold_days=14)
    c = seed.click(w, ts_ms=seed.now_ms() - 3_600_000)
    push(rds, prefix, c, seed.conversion(w, "o-1", 4990, click_id=c.event_id))
    drain(rds, sessions, prefix)

    conv = _conversion(session, w.brand_id, "o-1")
    assert conv.status == ConversionStatus.APPROVED
    assert (conv.attributed_via, conv.partnership_id, conv.influencer_id) == (
        "CLICK",
        w.p.partnership_id,
        w.p.influencer_id,
    )
    [entry] = ledger(session)
    assert entry.kind == EntryKind.COMMISSION and entry.amount == 499  # 10 % of 49.90
    assert entry.basis_points == 1000 and entry.currency == "EUR"
    assert entry.influencer_id == w.p.influencer_id and entry.conversion_id == conv.id
    assert entry.available_at - entry.created_at == timedelta(days=14)


def test_discount_code_wins_over_a_click_of_another_partnership(rds, prefix, sessions, session):
    w = seed.world(session, partners=2)
    c = seed.click(w, w.partners[0], ts_ms=seed.now_ms() - 60_000)
    order = seed.conversion(w, "o-2", 10000, click_id=c.event_id, code=w.partners[1].discount_code)
    push(rds, prefix, c, order)
    drain(rds, sessions, prefix)
    conv = _conversion(session, w.brand_id, "o-2")
    assert (conv.attributed_via, conv.partnership_id) == (
        "DISCOUNT_CODE",
        w.partners[1].partnership_id,
    )
    assert ledger_sum(session, influencer_id=w.partners[1].influencer_id) == 1000
    assert ledger_sum(session, influencer_id=w.partners[0].influencer_id) == 0


def test_discount_code_is_case_insensitive(rds, prefix, sessions, session):
    w = seed.world(session)
    push(rds, prefix, seed.conversion(w, "o-3", 2000, code=w.p.discount_code.lower()))
    drain(rds, sessions, prefix)
    assert _conversion(session, w.brand_id, "o-3").attributed_via == "DISCOUNT_CODE"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown_click", "NO_MATCH"),
        ("unknown_code", "NO_MATCH"),
        ("expired_click", "EXPIRED_CLICK"),
        ("inactive_code", "INACTIVE_CODE"),
        ("campaign_not_active", "CAMPAIGN_NOT_ACTIVE"),
        ("other_brands_click", "NO_MATCH"),
    ],
)
def test_unattributed_reasons(rds, prefix, sessions, session, case, reason):
    w = seed.world(
        session,
        window_days=7,
        code_active=case != "inactive_code",
        campaign_status="COMPLETED" if case == "campaign_not_active" else "ACTIVE",
    )
    if case == "unknown_click":
        order = seed.conversion(w, "o", 1000, click_id="NOTACLICKID")
    elif case == "unknown_code":
        order = seed.conversion(w, "o", 1000, code="NOSUCHCODE")
    elif case == "expired_click":
        c = seed.click(w, ts_ms=seed.now_ms() - 8 * 86_400_000)
        push(rds, prefix, c)
        order = seed.conversion(w, "o", 1000, click_id=c.event_id)
    elif case == "other_brands_click":
        other = seed.world(session)
        c = seed.click(other, ts_ms=seed.now_ms() - 60_000)
        push(rds, prefix, c)
        order = seed.conversion(w, "o", 1000, click_id=c.event_id)
    elif case == "campaign_not_active":
        c = seed.click(w, ts_ms=seed.now_ms() - 60_000)
        push(rds, prefix, c)
        order = seed.conversion(w, "o", 1000, click_id=c.event_id)
    else:
        order = seed.conversion(w, "o", 1000, code=w.p.discount_code)
    push(rds, prefix, order)
    drain(rds, sessions, prefix)
    conv = _conversion(session, w.brand_id, "o")
    assert conv.status == ConversionStatus.UNATTRIBUTED
    assert conv.unattributed_reason == reason and conv.partnership_id is None
    assert ledger(session) == []


# --- holds and reviews ------------------------------------------------------------------------


def test_self_referral_is_held_until_approved(rds, prefix, sessions, session):
    w = seed.world(session, customer_ids=["Creator@Example.com"])
    push(
        rds,
        prefix,
        seed.conversion(
            w, "o-self", 5000, code=w.p.discount_code, customer_id="creator@example.com"
        ),
    )
    drain(rds, sessions, prefix)
    conv = _conversion(session, w.brand_id, "o-self")
    assert conv.status == ConversionStatus.HELD and conv.hold_reasons == ["SELF_REFERRAL"]
    assert ledger(session) == []  # a held conversion earns nothing until reviewed

    assert approve_conversion(session, conv, "reviewer@brand", "known customer, fine")
    session.commit()
    [entry] = ledger(session)
    assert (entry.kind, entry.amount) == (EntryKind.COMMISSION, 500)
    assert entry.available_at - entry.created_at == timedelta(days=30)
    conv = _conversion(session, w.brand_id, "o-self")
    assert conv.status == ConversionStatus.APPROVED and conv.reviewed_by == "reviewer@brand"
    # The same review again changes nothing.
    assert not approve_conversion(session, conv, "reviewer@brand", "known customer, fine")
    session.commit()
    assert len(ledger(session)) == 1


def test_conversion_within_ten_seconds_of_its_click_is_held_then_rejected(
    rds, prefix, sessions, session
):
    w = seed.world(session)
    c = seed.click(w, ts_ms=seed.now_ms() - 3000)
    push(
        rds,
        prefix,
        c,
        seed.conversion(w, "o-fast", 5000, click_id=c.event_id, occurred=c.ts + 3000),
    )
    drain(rds, sessions, prefix)
    conv = _conversion(session, w.brand_id, "o-fast")
    assert conv.status == ConversionStatus.HELD and conv.hold_reasons == ["FAST_CONVERSION"]
    assert reject_conversion(session, conv, "reviewer", "bot traffic")
    session.commit()
    assert not reject_conversion(session, conv, "reviewer", "bot traffic")
    assert _conversion(session, w.brand_id, "o-fast").status == ConversionStatus.REJECTED
    assert ledger(session) == []


def test_rejecting_an_approved_conversion_reverses_what_is_left(rds, prefix, sessions, session):
    w = seed.world(session)
    push(rds, prefix, seed.conversion(w, "o-r", 10000, code=w.p.discount_code))
    push(rds, prefix, seed.refund(w, "r-1", "o-r", "25.00"))
    drain(rds, sessions, prefix)
    conv = _conversion(session, w.brand_id, "o-r")
    assert reject_conversion(session, conv, "finance", "fraud")
    session.commit()
    kinds = [(e.kind, e.amount) for e in ledger(session)]
    assert kinds == [
        (EntryKind.COMMISSION, 1000),
        (EntryKind.REVERSAL, -250),
        (EntryKind.REVERSAL, -750),
    ]
    assert ledger_sum(session) == 0


def test_order_in_another_currency_than_the_plan_is_held(rds, prefix, sessions, session):
    w = seed.world(session)
    push(rds, prefix, seed.conversion(w, "o-usd", 1000, code=w.p.discount_code, currency="USD"))
    drain(rds, sessions, prefix)
    conv = _conversion(session, w.brand_id, "o-usd")
    assert conv.status == ConversionStatus.HELD and "CURRENCY_MISMATCH" in conv.hold_reasons
    assert ledger(session) == []


# --- tiers ------------------------------------------------------------------------------------


def test_tiers_follow_the_partnerships_approved_revenue_in_the_calendar_month(
    rds, prefix, sessions, session
):
    w = seed.world(session, plan=seed.tiered([(0, 500), (100_000, 1000)]))
    code = w.p.discount_code
    events = [
        seed.conversion(w, "jan-1", 60_000, code=code, occurred=seed.utc(2026, 1, 5)),
        seed.conversion(w, "jan-2", 50_000, code=code, occurred=seed.utc(2026, 1, 20)),  # crosses
        seed.conversion(w, "jan-3", 10_000, code=code, occurred=seed.utc(2026, 1, 31, 23)),
        seed.conversion(w, "feb-1", 10_000, code=code, occurred=seed.utc(2026, 2, 1)),  # new month
    ]
    for event in events:  # in order: a tier depends on the month's earlier approved orders
        push(rds, prefix, event)
        drain(rds, sessions, prefix)
    amounts = {
        e.conversion_id: (e.amount, e.basis_points) for e in ledger(session, kind="COMMISSION")
    }
    by_order = {
        o: amounts[_conversion(session, w.brand_id, o).id]
        for o in ("jan-1", "jan-2", "jan-3", "feb-1")
    }
    assert by_order == {
        "jan-1": (3000, 500),
        "jan-2": (5000, 1000),
        "jan-3": (1000, 1000),
        "feb-1": (500, 500),
    }


def test_held_orders_do_not_count_towards_the_tier(rds, prefix, sessions, session):
    w = seed.world(session, plan=seed.tiered([(0, 500), (100_000, 1000)]), customer_ids=["me"])
    code = w.p.discount_code
    push(
        rds,
        prefix,
        seed.conversion(
            w, "held", 90_000, code=code, customer_id="me", occurred=seed.utc(2026, 3, 1)
        ),
    )
    push(rds, prefix, seed.conversion(w, "next", 20_000, code=code, occurred=seed.utc(2026, 3, 2)))
    drain(rds, sessions, prefix)
    [entry] = ledger(session)
    assert (entry.amount, entry.basis_points) == (1000, 500)


# --- refunds ----------------------------------------------------------------------------------


def test_partial_refunds_reverse_cumulatively_to_exactly_the_commission(
    rds, prefix, sessions, session
):
    w = seed.world(session, plan=seed.percent(bps=1234))
    push(rds, prefix, seed.conversion(w, "o", 10001, code=w.p.discount_code))  # 1234.1234 -> 1234
    for i, amount in enumerate(["33.33", "33.33", "33.35"]):
        push(rds, prefix, seed.refund(w, f"r{i}", "o", amount))
    push(rds, prefix, seed.refund(w, "too-much", "o", "0.01"))
    drain(rds, sessions, prefix)
    entries = ledger(session)
    assert [e.kind for e in entries] == ["COMMISSION", "REVERSAL", "REVERSAL", "REVERSAL"]
    assert entries[0].amount == 1234
    # Cumulative targets: round(1234 x 3333/10001) = 411, round(1234 x 6666/10001) = 823, 1234.
    assert [e.amount for e in entries[1:]] == [-411, -412, -411]
    assert ledger_sum(session) == 0  # fully refunded: nothing left
    refunds = {r.refund_id: r for r in session.scalars(select(Refund))}
    assert refunds["too-much"].status == RefundStatus.REJECTED
    assert "REFUND_EXCEEDS_ORDER" in (refunds["too-much"].reason or "")
    assert all(refunds[f"r{i}"].status == RefundStatus.APPLIED for i in range(3))


def test_refund_before_its_order_waits_and_is_applied_when_it_arrives(
    rds, prefix, sessions, session
):
    w = seed.world(session)
    push(rds, prefix, seed.refund(w, "early", "late-order", "20.00"))
    drain(rds, sessions, prefix)
    r = session.scalars(select(Refund)).one()
    assert (r.status, r.conversion_id, r.amount) == (RefundStatus.WAITING, None, None)

    push(rds, prefix, seed.conversion(w, "late-order", 8000, code=w.p.discount_code))
    drain(rds, sessions, prefix)
    session.commit()
    r = session.scalars(select(Refund)).one()
    assert (r.status, r.amount, r.currency) == (RefundStatus.APPLIED, 2000, "EUR")
    assert [(e.kind, e.amount) for e in ledger(session)] == [
        (EntryKind.COMMISSION, 800),
        (EntryKind.REVERSAL, -200),
    ]


def test_early_refund_larger_than_the_order_is_rejected_with_a_reason(
    rds, prefix, sessions, session
):
    w = seed.world(session)
    push(rds, prefix, seed.refund(w, "big", "o", "90.00"), seed.refund(w, "jpy", "o", "1.5", "JPY"))
    push(rds, prefix, seed.conversion(w, "o", 5000, code=w.p.discount_code))
    drain(rds, sessions, prefix)
    reasons = {r.refund_id: (r.status, r.reason) for r in session.scalars(select(Refund))}
    assert reasons["big"][0] == RefundStatus.REJECTED and "exceeds" not in reasons["big"][1]
    assert "REFUND_EXCEEDS_ORDER" in reasons["big"][1]
    assert reasons["jpy"][0] == RefundStatus.REJECTED and "JPY" in reasons["jpy"][1]
    assert ledger_sum(session) == 500


def test_refund_of_a_held_conversion_is_reversed_when_it_is_approved(
    rds, prefix, sessions, session
):
    w = seed.world(session, customer_ids=["me"])
    push(rds, prefix, seed.conversion(w, "o", 10000, code=w.p.discount_code, customer_id="me"))
    push(rds, prefix, seed.refund(w, "r", "o", "40.00"))
    drain(rds, sessions, prefix)
    assert ledger(session) == []
    approve_conversion(session, _conversion(session, w.brand_id, "o"), "reviewer")
    session.commit()
    assert [(e.kind, e.amount) for e in ledger(session)] == [
        (EntryKind.COMMISSION, 1000),
        (EntryKind.REVERSAL, -400),
    ]


def _pay(session, w, influencer_id, amount, *, as_of):
    batch = PayoutBatch(
        organization_id=w.org_id,
        currency="EUR",
        as_of=as_of,
        cutoff_at=payout_cutoff(as_of),
        minimum_amount=0,
        status=PayoutStatus.PAID,
        reference="wire-1",
        paid_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    session.add(
        PayoutLine(
            organization_id=w.org_id,
            batch_id=batch.id,
            influencer_id=influencer_id,
            amount=amount,
            currency="EUR",
        )
    )
    session.commit()


def test_refund_after_payout_is_a_clawback_available_at_once(rds, prefix, sessions, session):
    w = seed.world(session, hold_days=0)
    push(rds, prefix, seed.conversion(w, "paid-order", 10000, code=w.p.discount_code))
    push(rds, prefix, seed.conversion(w, "unpaid-order", 10000, code=w.p.discount_code))
    drain(rds, sessions, prefix)
    # A PAID batch created after the first commission covers it; the second is created later.
    paid_id = _conversion(session, w.brand_id, "paid-order").id
    session.execute(
        Campaign.__table__.update().values(hold_days=60).where(Campaign.id == w.p.campaign_id)
    )
    session.commit()
    _pay(session, w, w.p.influencer_id, 2000, as_of=utcnow().date())
    push(rds, prefix, seed.conversion(w, "later-order", 10000, code=w.p.discount_code))
    push(rds, prefix, seed.refund(w, "r-paid", "paid-order", "50.00"))
    push(rds, prefix, seed.refund(w, "r-later", "later-order", "50.00"))
    before = utcnow()
    drain(rds, sessions, prefix)
    clawback = ledger(session, refund_id=_refund_pk(session, "r-paid"))[0]
    assert (clawback.kind, clawback.amount, clawback.conversion_id) == (
        EntryKind.CLAWBACK,
        -500,
        paid_id,
    )
    assert clawback.available_at <= utcnow() and clawback.available_at >= before
    reversal = ledger(session, refund_id=_refund_pk(session, "r-later"))[0]
    later_commission = ledger(
        session, conversion_id=_conversion(session, w.brand_id, "later-order").id, kind="COMMISSION"
    )[0]
    assert reversal.kind == EntryKind.REVERSAL
    # An unpaid commission's reversal becomes available with it: same payout, never before.
    assert reversal.available_at == later_commission.available_at


def _refund_pk(session, refund_id):
    return session.scalars(select(Refund.id).where(Refund.refund_id == refund_id)).one()


# --- exactly once, dead letters, reclaiming ---------------------------------------------------


def test_replayed_conversions_and_refunds_post_nothing_twice(rds, prefix, sessions, session):
    w = seed.world(session)
    events = [
        seed.conversion(w, "o1", 10000, code=w.p.discount_code),
        seed.refund(w, "r1", "o1", "10.00"),
        seed.refund(w, "r2", "o1", "10.00"),
    ]
    for _ in range(3):
        push(rds, prefix, *events)
        drain(rds, sessions, prefix)
    assert [(e.kind, e.amount) for e in ledger(session)] == [
        (EntryKind.COMMISSION, 1000),
        (EntryKind.REVERSAL, -100),
        (EntryKind.REVERSAL, -100),
    ]
    assert session.scalar(select(func.count()).select_from(Conversion)) == 1
    assert session.scalar(select(func.count()).select_from(Refund)) == 2
    assert dead_letters(rds, prefix) == []


def test_poison_and_conflicting_events_go_to_the_dead_letters(rds, prefix, sessions, session):
    w = seed.world(session)
    conv_stream, click_stream = keys.conversions_stream(prefix), keys.clicks_stream(prefix)
    good = seed.conversion(w, "o1", 1000, code=w.p.discount_code)
    push(
        rds,
        prefix,
        (conv_stream, {"garbage": "\xff"}),
        (conv_stream, good.to_fields() | {"amount": "-5"}),
        (click_stream, {"v": "1", "kind": "click"}),
        (click_stream, seed.click(w).to_fields() | {"link_id": "999999"}),  # no such link
        good,
        (conv_stream, good.to_fields() | {"amount": "2000"}),  # same order, another amount
        (conv_stream, good.to_fields() | {"brand_id": "424242", "order_id": "o9"}),
    )
    drain(rds, sessions, prefix)
    dead = dead_letters(rds, prefix)
    assert len(dead) == 6, dead
    assert sum(d["dlq_reason"].startswith("invalid event") for d in dead) == 3
    assert any(d.get("garbage") for d in dead)  # the original fields are kept
    assert any("already recorded" in d["dlq_reason"] for d in dead)
    assert any("unknown brand 424242" in d["dlq_reason"] for d in dead)
    assert any(
        d.get("link_id") == "999999" and d["dlq_reason"] == "unknown link '999999'" for d in dead
    )
    assert all(d["dlq_stream"] in (conv_stream, click_stream) and d["dlq_entry_id"] for d in dead)
    # Everything is acknowledged and the good order is recorded once.
    assert rds.xpending(conv_stream, GROUP)["pending"] == 0
    assert rds.xpending(click_stream, GROUP)["pending"] == 0
    assert _conversion(session, w.brand_id, "o1").amount == 1000


def test_entries_left_pending_by_a_dead_consumer_are_reclaimed(rds, prefix, sessions, session):
    w = seed.world(session)
    clicks = [seed.click(w, ts_ms=seed.now_ms() - 60_000) for _ in range(5)]
    push(rds, prefix, *clicks, seed.conversion(w, "o1", 1000, click_id=clicks[0].event_id))
    worker = make_worker(rds, sessions, prefix, claim_idle_ms=50)
    worker.ensure_groups()
    # A consumer reads everything, then dies before writing or acknowledging.
    rds.xreadgroup(
        GROUP, "dead-one", {keys.clicks_stream(prefix): ">", keys.conversions_stream(prefix): ">"}
    )
    assert worker.pending() == 6
    threading.Event().wait(0.1)
    worker.drain()
    assert worker.pending() == 0
    assert session.scalar(select(func.count()).select_from(Click)) == 5
    assert _conversion(session, w.brand_id, "o1").attributed_via == "CLICK"


def test_entry_that_keeps_killing_workers_is_dead_lettered(rds, prefix, sessions, session):
    w = seed.world(session)
    push(rds, prefix, seed.click(w))
    worker = make_worker(rds, sessions, prefix, claim_idle_ms=0, max_deliveries=3)
    worker.ensure_groups()
    stream = {keys.clicks_stream(prefix): ">"}
    rds.xreadgroup(GROUP, "victim", stream)
    entry_id = rds.xpending_range(keys.clicks_stream(prefix), GROUP, "-", "+", 1)[0]["message_id"]
    for i in range(3):  # three more workers took it and died
        rds.xclaim(keys.clicks_stream(prefix), GROUP, f"victim{i}", 0, [entry_id])
    worker.drain()
    [dead] = dead_letters(rds, prefix)
    assert "delivered 5 times" in dead["dlq_reason"]  # 1 read + 3 claims + ours
    assert session.scalar(select(func.count()).select_from(Click)) == 0


def test_conversion_waits_for_its_click_still_in_the_click_stream(rds, prefix, sessions, session):
    """The click is pending on a dead consumer: the conversion must not become NO_MATCH."""
    w = seed.world(session)
    c = seed.click(w, ts_ms=seed.now_ms() - 20_000)
    push(rds, prefix, c)
    worker = make_worker(rds, sessions, prefix, claim_idle_ms=400, claim_interval_s=0.05)
    worker.ensure_groups()
    rds.xreadgroup(GROUP, "dead-one", {keys.clicks_stream(prefix): ">"})
    push(rds, prefix, seed.conversion(w, "o1", 3000, click_id=c.event_id))
    worker.read_once()  # the click is not in the database yet: deferred, not unattributed
    assert worker.stats.deferred >= 1
    assert session.scalar(select(func.count()).select_from(Conversion)) == 0
    worker.drain()
    conv = _conversion(session, w.brand_id, "o1")
    assert (conv.status, conv.attributed_via) == (ConversionStatus.APPROVED, "CLICK")


def test_two_workers_at_once_count_everything_once(rds, prefix, sessions, session):
    w = seed.world(session, partners=3)
    events = []
    base = seed.now_ms() - 600_000
    expected_commission = 0
    for i in range(600):
        c = seed.click(w, w.partners[i % 3], ts_ms=base + i)
        events.append(c)
        if i % 10 == 0:
            amount = 1000 + i
            events.append(
                seed.conversion(w, f"o{i}", amount, click_id=c.event_id, occurred=base + i + 30_000)
            )
            expected_commission += amount // 10
    # Everything twice: the second copy must change nothing.
    push(rds, prefix, *events, *events)

    errors = []

    def run():
        try:
            make_worker(rds, sessions, prefix, batch_size=50).drain()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert session.scalar(select(func.count()).select_from(Click)) == 600
    assert session.scalar(select(func.sum(ClickRollup.clicks))) == 600
    assert session.scalar(select(func.count()).select_from(Conversion)) == 60
    assert len(ledger(session)) == 60
    assert ledger_sum(session) == expected_commission


def test_trim_deletes_acknowledged_entries_and_keeps_pending_ones(rds, prefix, sessions, session):
    w = seed.world(session)
    push(rds, prefix, *[seed.click(w) for _ in range(400)])
    worker = make_worker(rds, sessions, prefix, batch_size=500)
    worker.drain()
    stream = keys.clicks_stream(prefix)
    [late] = push(rds, prefix, seed.click(w))
    rds.xreadgroup(GROUP, "slow-one", {stream: ">"})  # read, not yet acknowledged
    worker.trim()
    assert rds.xlen(stream) < 401  # whole stream nodes of acknowledged entries are gone
    assert [i.decode() for i, _ in rds.xrange(stream, min=late, max=late)] == [late]
    assert rds.xpending(stream, GROUP)["pending"] == 1


def test_worker_republishes_links_and_secrets_when_redis_lost_its_data(
    rds, prefix, sessions, session
):
    """A Redis that comes back empty (restart without persistence, failover to an empty
    replica) loses the consumer groups with the records: the worker, seeing its groups gone,
    writes the links and postback secrets again from the database."""
    w = seed.world(session)
    secret = seed.rotate_secret(session, w.brand_id, rds, prefix)
    worker = make_worker(rds, sessions, prefix)
    runner = threading.Thread(target=worker.run)
    runner.start()
    try:
        secrets_key, link_key = (
            keys.brand_secrets(prefix, w.brand_id),
            keys.link(prefix, w.p.link_code),
        )

        def wait_for(key: str) -> bytes | None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and rds.get(key) is None:
                time.sleep(0.05)
            return rds.get(key)

        assert wait_for(link_key) is not None  # first start: the groups were new
        for key in rds.scan_iter(match=prefix + ":*"):  # Redis lost everything of ours
            rds.delete(key)
        published = wait_for(secrets_key)
        assert published is not None and secret not in published.decode()  # sealed
        assert [unseal(item["sealed"]) for item in json.loads(published)] == [secret]
        assert wait_for(link_key) is not None
    finally:
        worker.stop_event.set()
        runner.join(10)
    assert not runner.is_alive()


def test_tiers_in_one_batch_follow_the_order_times_not_the_stream_order(
    rds, prefix, sessions, session
):
    w = seed.world(session, plan=seed.tiered([(0, 500), (100_000, 1000)]))
    code = w.p.discount_code
    push(
        rds,
        prefix,
        seed.conversion(w, "b", 50_000, code=code, occurred=seed.utc(2026, 1, 20)),
        seed.conversion(w, "a", 60_000, code=code, occurred=seed.utc(2026, 1, 5)),
    )
    drain(rds, sessions, prefix)
    rates = {_conversion(session, w.brand_id, o).id: o for o in ("a", "b")}
    got = {rates[e.conversion_id]: e.basis_points for e in ledger(session, kind="COMMISSION")}
    assert got == {"a": 500, "b": 1000}  # b crosses 1,000.00 in the month: the higher rate
