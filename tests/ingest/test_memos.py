"""Statement memos, written for the finance person who reads them: who did it (by label), and
amounts in the currency's own unit ("19.99 EUR", "1999 JPY", "1.500 KWD"), never in minor units.
Every entry the worker, reviews, adjustments and payouts write, and the statements CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from api.db import utcnow
from api.finance.export import entry_rows
from api.finance.payouts import create_payout_batch, mark_paid
from api.ledger.posting import credit_flat_fee, post_manual_entry, reject_conversion
from api.models import Conversion, LedgerEntry, Partnership, Refund
from api.models.ledger import EntryKind
from api.money import MoneyError, format_money
from tests.ingest import seed
from tests.ingest.helpers import drain, ledger, push

ANA = "Ana (FINANCE key 1a2b3c4d)"  # how a viewer's label reads


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1999, "EUR", "19.99 EUR"),
        (1999, "eur", "19.99 EUR"),
        (-625, "EUR", "-6.25 EUR"),
        (0, "EUR", "0.00 EUR"),
        (5, "USD", "0.05 USD"),
        (1999, "JPY", "1999 JPY"),
        (1999, "KWD", "1.999 KWD"),
        (-1, "KWD", "-0.001 KWD"),
    ],
)
def test_format_money_uses_the_currencys_minor_unit(minor, currency, text):
    assert format_money(minor, currency) == text


def test_format_money_refuses_an_unknown_currency():
    with pytest.raises(MoneyError):
        format_money(100, "XYZ")


def _memos(session, **where) -> list[tuple[str, str]]:
    return [(str(e.kind), e.memo or "") for e in ledger(session, **where)]


def test_every_memo_of_an_orders_life_reads_for_a_person(rds, prefix, sessions, session):
    plan = seed.percent(bps=1250, flat_fee_per_deliverable_minor=15_000)
    w = seed.world(session, plan=plan, hold_days=0)
    push(rds, prefix, seed.conversion(w, "o-1", 19_999, code=w.p.discount_code))
    push(rds, prefix, seed.refund(w, "r-1", "o-1", "50.01"))
    drain(rds, sessions, prefix)
    # Paid: what follows is taken back from the next payout.
    batch = create_payout_batch(session, w.org_id, "EUR", utcnow().date(), 0)
    mark_paid(session, batch, "SEPA-7")
    session.commit()
    push(rds, prefix, seed.refund(w, "r-2", "o-1", "20.00"))
    drain(rds, sessions, prefix)
    order = session.scalars(select(Conversion).where(Conversion.order_id == "o-1")).one()
    assert reject_conversion(session, order, ANA, "fraud")
    partnership = session.get(Partnership, w.p.partnership_id)
    post_manual_entry(
        session,
        organization_id=w.org_id,
        influencer_id=w.p.influencer_id,
        partnership=partnership,
        kind=EntryKind.BONUS,
        amount=1000,
        currency="EUR",
        memo="launch bonus",
        client_key="bonus-1",
        author=ANA,
    )
    deliverable = seed.deliverable(session, w)
    untitled = seed.deliverable(session, w, title="")
    credit_flat_fee(session, deliverable)
    credit_flat_fee(session, untitled)
    session.commit()

    paid = "already paid, taken back from the next payout"
    assert _memos(session) == [
        ("COMMISSION", "Commission on order o-1: 12.5% of 199.99 EUR = 25.00 EUR"),
        (
            "REVERSAL",
            "Refund r-1 of 50.01 EUR on order o-1 (50.01 EUR of 199.99 EUR refunded so far): "
            "6.25 EUR of the 25.00 EUR commission reversed",
        ),
        (
            "PAYOUT",
            f"Paid in payout batch {batch.id} of {batch.as_of.isoformat()}, transfer SEPA-7",
        ),
        (
            "CLAWBACK",
            "Refund r-2 of 20.00 EUR on order o-1 (70.01 EUR of 199.99 EUR refunded so far): "
            f"2.50 EUR of the 25.00 EUR commission, {paid}",
        ),
        (
            "CLAWBACK",
            f"Order o-1 rejected by {ANA}: fraud; 16.25 EUR of the 25.00 EUR commission, {paid}",
        ),
        ("BONUS", f"launch bonus; posted by {ANA}"),
        ("FLAT_FEE", 'Flat fee for the deliverable "Launch reel"'),
        ("FLAT_FEE", f"Flat fee for an untitled deliverable (number {untitled.id})"),
    ]
    for _kind, memo in _memos(session):
        assert "minor units" not in memo
        assert not re.search(r"(?<![\d.])\d+ EUR", memo), memo  # every EUR amount has cents

    # The statements CSV shows each entry's memo.
    period = utcnow().strftime("%Y-%m")
    rows = list(csv.DictReader(io.StringIO("".join(entry_rows(session, period, org_id=w.org_id)))))
    by_id = {e.id: e.memo for e in ledger(session)}
    assert sorted(r["memo"] for r in rows) == sorted(by_id.values())


def test_memos_in_currencies_without_cents_or_with_three_decimals(rds, prefix, sessions, session):
    yen = seed.world(session, plan=seed.percent(bps=1000, currency="JPY"), currency="JPY")
    dinar = seed.world(session, plan=seed.percent(bps=1000, currency="KWD"), currency="KWD")
    push(
        rds,
        prefix,
        seed.conversion(yen, "j-1", 1999, code=yen.p.discount_code, currency="JPY"),
        seed.refund(yen, "jr-1", "j-1", "999"),
        seed.conversion(dinar, "k-1", 1500, code=dinar.p.discount_code, currency="KWD"),
        seed.refund(dinar, "kr-1", "k-1", "2.000"),
    )
    drain(rds, sessions, prefix)
    assert _memos(session, partnership_id=yen.p.partnership_id) == [
        ("COMMISSION", "Commission on order j-1: 10% of 1999 JPY = 200 JPY"),
        (
            "REVERSAL",
            "Refund jr-1 of 999 JPY on order j-1 (999 JPY of 1999 JPY refunded so far): "
            "100 JPY of the 200 JPY commission reversed",
        ),
    ]
    assert _memos(session, partnership_id=dinar.p.partnership_id) == [
        ("COMMISSION", "Commission on order k-1: 10% of 1.500 KWD = 0.150 KWD"),
    ]
    refused = session.scalars(select(Refund).where(Refund.refund_id == "kr-1")).one()
    assert refused.status == "REJECTED"
    assert refused.reason == (
        "REFUND_EXCEEDS_ORDER: 2.000 KWD is more than the 1.500 KWD left to refund of order k-1 "
        "(1.500 KWD)"
    )
    assert session.query(LedgerEntry).count() == 3
