"""Balances, payout batches and statements: every figure a sum over hand-made ledger entries."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.finance.balances import balance, net_total
from api.finance.errors import FinanceError
from api.finance.payouts import create_payout_batch, lines_of, mark_paid
from api.finance.statements import statement
from api.models import LedgerEntry, PayoutBatch, PayoutLine
from api.models.ledger import EntryKind, PayoutStatus, SourceType

_keys = itertools.count(1)
NOW = datetime.now(UTC)
TODAY = NOW.date()


def entry(
    db: Any,
    w: dict[str, Any],
    amount: int,
    *,
    kind: EntryKind = EntryKind.COMMISSION,
    created: datetime | None = None,
    available: datetime | None = None,
    hold_days: int = 0,
    currency: str = "EUR",
    influencer: Any = None,
) -> LedgerEntry:
    created = created or NOW - timedelta(days=10)
    row = LedgerEntry(
        organization_id=w["org"].id,
        influencer_id=(influencer or w["influencer"]).id,
        partnership_id=w["partnership"].id,
        campaign_id=w["campaign"].id,
        kind=kind,
        amount=amount,
        currency=currency,
        source_type=SourceType.MANUAL,
        created_at=created,
        available_at=available or created + timedelta(days=hold_days),
        idempotency_key=f"test:{next(_keys)}",
    )
    db.add(row)
    db.commit()
    return row


def bal(db: Any, w: dict[str, Any], influencer: Any = None, **kw: Any) -> tuple[int, int, int]:
    db.expire_all()
    b = balance(db, w["org"].id, (influencer or w["influencer"]).id, "EUR", **kw)
    return b.pending, b.available, b.paid


def test_balance_is_the_sum_by_status(db, factory):
    w = factory.world()
    entry(db, w, 1000, hold_days=0)  # available at once
    entry(db, w, 2500, hold_days=30)  # available in 20 days
    entry(db, w, 400, kind=EntryKind.BONUS, available=NOW + timedelta(hours=1))
    entry(db, w, -150, kind=EntryKind.ADJUSTMENT)
    entry(db, w, 999, currency="USD")  # another currency, never mixed in
    assert bal(db, w) == (2900, 850, 0)
    # the same entries later: everything has become available
    assert bal(db, w, as_of=NOW + timedelta(days=31)) == (0, 3750, 0)
    # before the entries existed there was nothing
    assert bal(db, w, as_of=NOW - timedelta(days=11)) == (0, 0, 0)
    b = balance(db, w["org"].id, w["influencer"].id, "EUR")
    assert b.net == net_total(db, w["org"].id, w["influencer"].id, "EUR") == 3750
    assert b.held == 0


def test_payout_batch_pays_available_and_balances_move_to_paid(db, factory):
    w = factory.world()
    entry(db, w, 1000)
    entry(db, w, 500, hold_days=30)  # still pending: not in the batch
    batch = create_payout_batch(db, w["org"].id, "eur", TODAY, 0)
    db.commit()
    assert [(line.influencer_id, line.amount) for line in lines_of(db, batch)] == [
        (w["influencer"].id, 1000)
    ]
    assert batch.status == PayoutStatus.DRAFT
    assert bal(db, w) == (500, 1000, 0)  # a draft pays nothing
    mark_paid(db, batch, "SEPA-1")
    db.commit()
    assert bal(db, w) == (500, 0, 1000)
    payouts = db.scalars(select(LedgerEntry).where(LedgerEntry.payout_batch_id == batch.id)).all()
    assert [(p.kind, p.amount) for p in payouts] == [(EntryKind.PAYOUT, -1000)]
    assert net_total(db, w["org"].id, w["influencer"].id, "EUR") == 500
    with pytest.raises(FinanceError) as err:
        mark_paid(db, batch, "SEPA-1 again")
    assert err.value.code == "ALREADY_PAID"
    db.rollback()
    count = db.scalar(select(func.count()).where(LedgerEntry.payout_batch_id == batch.id))
    assert count == 1


def _paid_yesterday(db: Any, factory: Any) -> dict[str, Any]:
    """A world whose one entry of 10.00 EUR was paid by a batch marked paid a day ago."""
    w = factory.world()
    entry(db, w, 1000, created=NOW - timedelta(days=10))
    batch = create_payout_batch(db, w["org"].id, "EUR", TODAY - timedelta(days=3), 0)
    db.commit()
    mark_paid(db, batch, "SEPA-1", now=NOW - timedelta(days=1))
    db.commit()
    return w


def test_balance_as_of_a_past_moment_ignores_batches_paid_since(db, factory):
    w = _paid_yesterday(db, factory)
    assert bal(db, w) == (0, 0, 1000)
    # Two days ago the batch was not paid yet: the entry was available, nothing was paid.
    assert bal(db, w, as_of=NOW - timedelta(days=2)) == (0, 1000, 0)
    # Then the sum of entries made by then is still pending + available.
    then = balance(db, w["org"].id, w["influencer"].id, "EUR", NOW - timedelta(days=2))
    assert then.net == 1000
    assert bal(db, w, as_of=NOW - timedelta(hours=1)) == (0, 0, 1000)


def test_balance_query_as_of(gql, db, factory):
    w = _paid_yesterday(db, factory)
    q = (
        'query($i: ID!, $at: DateTime) { balance(influencerId: $i, currency: "EUR", '
        "asOf: $at) { available { amount } paid { amount } } }"
    )
    key = w["keys"]["FINANCE"]
    before = gql(key, q, i=gid(w["influencer"]), at=(NOW - timedelta(days=2)).isoformat())
    assert before["balance"] == {"available": {"amount": "10.00"}, "paid": {"amount": "0.00"}}
    now = gql(key, q, i=gid(w["influencer"]), at=None)
    assert now["balance"] == {"available": {"amount": "0.00"}, "paid": {"amount": "10.00"}}
    errors = gql.errors(key, q, i=gid(w["influencer"]), at="2026-10-01T00:00:00")
    assert "time zone" in errors[0]["message"]


def test_payout_batch_is_idempotent(db, factory):
    w = factory.world()
    entry(db, w, 1000)
    first = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()
    entry(db, w, 700)  # arrives later: not added to the existing batch
    again = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()
    assert again.id == first.id
    assert [line.amount for line in lines_of(db, again)] == [1000]
    assert db.scalar(select(func.count()).where(PayoutBatch.organization_id == w["org"].id)) == 1


def test_payout_minimum_and_other_influencers(db, factory):
    w = factory.world()
    small = factory.influencer(w["org"])
    entry(db, w, 5000)
    entry(db, w, 900, influencer=small)
    batch = create_payout_batch(db, w["org"].id, "EUR", TODAY, 1000)
    db.commit()
    assert [(line.influencer_id, line.amount) for line in lines_of(db, batch)] == [
        (w["influencer"].id, 5000)
    ]
    mark_paid(db, batch, "T-1")
    db.commit()
    assert bal(db, w, influencer=small) == (0, 900, 0)  # left for a later batch
    assert bal(db, w) == (0, 0, 5000)


def test_clawback_is_netted_against_the_next_payout(db, factory):
    w = factory.world()
    entry(db, w, 1000, created=NOW - timedelta(days=20))
    b1 = create_payout_batch(db, w["org"].id, "EUR", TODAY - timedelta(days=5), 0)
    mark_paid(db, b1, "T-1")
    db.commit()
    # a refund after the payout: a clawback available at once
    entry(db, w, -300, kind=EntryKind.CLAWBACK, created=NOW - timedelta(days=2))
    assert bal(db, w) == (0, -300, 1000)
    # a clawback alone pays nobody: no batch is made (an empty draft would block every later one)
    with pytest.raises(FinanceError) as err:
        create_payout_batch(db, w["org"].id, "EUR", TODAY - timedelta(days=1), 0)
    assert (err.value.code, err.value.field) == ("NOTHING_PAYABLE", "asOf")
    db.rollback()
    assert db.scalar(select(func.count()).where(PayoutBatch.organization_id == w["org"].id)) == 1
    entry(db, w, 800, created=NOW - timedelta(hours=2))
    assert bal(db, w) == (0, 500, 1000)
    b3 = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    assert [line.amount for line in lines_of(db, b3)] == [500]
    mark_paid(db, b3, "T-3")
    db.commit()
    assert bal(db, w) == (0, 0, 1500)
    assert net_total(db, w["org"].id, w["influencer"].id, "EUR") == 0


@pytest.mark.parametrize(
    ("currency", "minimum", "as_of", "code"),
    [
        ("EURO", 0, TODAY, "INVALID_CURRENCY"),
        ("EUR", -1, TODAY, "NEGATIVE"),
        ("EUR", 0, TODAY + timedelta(days=2), "INVALID"),
    ],
)
def test_bad_payout_input_changes_nothing(db, factory, currency, minimum, as_of, code):
    w = factory.world()
    entry(db, w, 1000)
    with pytest.raises(FinanceError) as err:
        create_payout_batch(db, w["org"].id, currency, as_of, minimum)
    assert err.value.code == code
    db.rollback()
    assert db.scalar(select(func.count()).where(PayoutBatch.organization_id == w["org"].id)) == 0
    assert db.scalar(select(func.count()).where(PayoutLine.organization_id == w["org"].id)) == 0


def test_a_second_draft_is_refused(db, factory):
    w = factory.world()
    entry(db, w, 1000)
    create_payout_batch(db, w["org"].id, "EUR", TODAY - timedelta(days=1), 0)
    with pytest.raises(FinanceError) as err:
        create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    assert err.value.code == "DRAFT_BATCH_EXISTS"
    db.rollback()


def test_statement_reconciles_with_a_hand_computed_ledger(db, factory):
    w = factory.world()
    at = lambda m, d: datetime(2025, m, d, 12, tzinfo=UTC)  # noqa: E731
    entry(db, w, 10_000, created=at(9, 15))  # September: opening
    entry(db, w, -2_000, kind=EntryKind.PAYOUT, created=at(9, 30))
    entry(db, w, 3_000, created=at(10, 1))  # October
    entry(db, w, 450, kind=EntryKind.BONUS, created=at(10, 31))
    entry(db, w, -700, kind=EntryKind.REVERSAL, created=at(10, 20))
    entry(db, w, 111, created=at(11, 1))  # November: not in October
    entry(db, w, 555, created=at(10, 5), currency="USD")
    s = statement(db, w["org"].id, w["influencer"].id, "2025-10", "EUR")
    assert s.opening_balance == 8_000
    assert (s.credits, s.debits) == (3_450, 700)
    assert s.closing_balance == 10_750 == s.opening_balance + sum(e.amount for e in s.entries)
    assert [e.amount for e in s.entries] == [3_000, -700, 450]
    nov = statement(db, w["org"].id, w["influencer"].id, "2025-11", "EUR")
    assert nov.opening_balance == s.closing_balance
    assert nov.closing_balance == net_total(db, w["org"].id, w["influencer"].id, "EUR")
    dec = statement(db, w["org"].id, w["influencer"].id, "2025-12", "EUR")
    assert dec.entries == [] and dec.opening_balance == dec.closing_balance == 10_861


@pytest.mark.parametrize(
    "period", ["2026-13", "2026-00", "2026-1", "26-10", "", "2026-10-01", "9999-12", "1969-12"]
)
def test_bad_periods(db, factory, period):
    w = factory.world()
    with pytest.raises(FinanceError) as err:
        statement(db, w["org"].id, w["influencer"].id, period, "EUR")
    assert err.value.code == "INVALID_PERIOD" and err.value.field == "period"


# --- GraphQL ------------------------------------------------------------------------------------

from api.models import Conversion  # noqa: E402
from api.models.events import ConversionStatus  # noqa: E402
from tests.factories import gid  # noqa: E402

BATCH = (
    "payoutBatch { id status reference total { amount currency } "
    "lines { amount { amount } influencer { id } } }"
)


def _counts(db: Any, w: dict[str, Any]) -> tuple[int, int, int]:
    db.expire_all()
    org = w["org"].id
    return (
        db.scalar(select(func.count()).where(PayoutBatch.organization_id == org)) or 0,
        db.scalar(select(func.count()).where(PayoutLine.organization_id == org)) or 0,
        db.scalar(select(func.count()).where(LedgerEntry.organization_id == org)) or 0,
    )


@pytest.mark.parametrize("role", ["ADMIN", "FINANCE", "MANAGER", "INFLUENCER"])
def test_payout_role_matrix(gql, db, factory, role):
    w = factory.world()
    entry(db, w, 1234)
    before = _counts(db, w)
    out = gql.mutate(
        w["keys"][role],
        "createPayoutBatch",
        {"currency": "EUR", "asOf": TODAY.isoformat(), "minimumAmount": "0"},
        BATCH,
    )
    if role in ("ADMIN", "FINANCE"):
        assert out["userErrors"] == []
        assert out["payoutBatch"]["total"] == {"amount": "12.34", "currency": "EUR"}
        paid = gql.mutate(
            w["keys"][role],
            "markPayoutBatchPaid",
            {"payoutBatchId": out["payoutBatch"]["id"], "reference": "SEPA-9"},
            BATCH,
        )
        assert paid["userErrors"] == [] and paid["payoutBatch"]["status"] == "PAID"
        again = gql.mutate(
            w["keys"][role],
            "markPayoutBatchPaid",
            {"payoutBatchId": out["payoutBatch"]["id"], "reference": "x"},
            BATCH,
        )
        assert again["userErrors"][0]["code"] == "ALREADY_PAID"
        assert _counts(db, w) == (1, 1, before[2] + 1)
    else:
        assert out["payoutBatch"] is None
        assert out["userErrors"][0]["code"] == "FORBIDDEN"
        assert _counts(db, w) == before


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"currency": "XXY", "asOf": TODAY.isoformat()}, "currency", "INVALID_CURRENCY"),
        (
            {"currency": "EUR", "asOf": TODAY.isoformat(), "minimumAmount": "-1"},
            "minimumAmount",
            "NEGATIVE",
        ),
        (
            {"currency": "EUR", "asOf": TODAY.isoformat(), "minimumAmount": "1.001"},
            "minimumAmount",
            "INVALID_AMOUNT",
        ),
        ({"currency": "EUR", "asOf": (TODAY + timedelta(days=3)).isoformat()}, "asOf", "INVALID"),
    ],
)
def test_bad_payout_input_over_graphql(gql, db, factory, payload, field, code):
    w = factory.world()
    entry(db, w, 1000)
    before = _counts(db, w)
    out = gql.mutate(w["keys"]["FINANCE"], "createPayoutBatch", payload, BATCH)
    assert out["payoutBatch"] is None
    assert (out["userErrors"][0]["field"], out["userErrors"][0]["code"]) == (field, code)
    assert _counts(db, w) == before


def test_other_organizations_ids_are_not_found(gql, db, factory):
    w, other = factory.world(), factory.world()
    entry(db, other, 1000)
    entry(db, w, 500)
    theirs = create_payout_batch(db, other["org"].id, "EUR", TODAY, 0)
    db.commit()
    key = w["keys"]["FINANCE"]
    out = gql.mutate(
        key, "markPayoutBatchPaid", {"payoutBatchId": gid(theirs), "reference": "steal"}, BATCH
    )
    assert out["userErrors"][0]["code"] == "NOT_FOUND"
    db.expire_all()
    assert db.get(PayoutBatch, theirs.id).status == PayoutStatus.DRAFT
    q = 'query($i: ID!) { balance(influencerId: $i, currency: "EUR") { available { amount } } }'
    assert gql(key, q, i=gid(other["influencer"]))["balance"] is None
    assert gql(key, q, i=gid(w["influencer"]))["balance"] == {"available": {"amount": "5.00"}}
    entries = gql(key, "{ ledgerEntries(first: 100) { edges { node { amount { amount } } } } }")
    assert [e["node"]["amount"]["amount"] for e in entries["ledgerEntries"]["edges"]] == ["5.00"]
    batches = gql(key, "{ payoutBatches { totalCount } }")
    assert batches["payoutBatches"]["totalCount"] == 0


def test_influencer_key_sees_only_its_own(gql, db, factory):
    w = factory.world()
    peer = factory.influencer(w["org"])
    entry(db, w, 1000)
    entry(db, w, 2000, influencer=peer)
    batch = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()
    key = w["keys"]["INFLUENCER"]
    data = gql(
        key,
        "{ ledgerEntries { edges { node { amount { amount } status "
        "influencer { id } } } } payoutBatches { edges { node { total { amount } "
        "lines { amount { amount } } } } } }",
    )
    assert [e["node"]["amount"]["amount"] for e in data["ledgerEntries"]["edges"]] == ["10.00"]
    assert data["ledgerEntries"]["edges"][0]["node"]["status"] == "AVAILABLE"
    node = data["payoutBatches"]["edges"][0]["node"]
    assert node["total"]["amount"] == "10.00" and len(node["lines"]) == 1
    q = 'query($i: ID!) { balance(influencerId: $i, currency: "EUR") { available { amount } } }'
    assert gql(key, q, i=gid(peer))["balance"] is None
    assert batch.id


def test_balance_and_statement_queries(gql, db, factory):
    w = factory.world()
    at = datetime(2025, 10, 5, tzinfo=UTC)
    entry(db, w, 1000, created=at - timedelta(days=10))
    entry(db, w, 2500, created=at)
    entry(db, w, -300, kind=EntryKind.ADJUSTMENT, created=at + timedelta(days=1))
    entry(db, w, 4000, hold_days=60, created=NOW)
    key = w["keys"]["MANAGER"]  # may read
    data = gql(
        key,
        'query($i: ID!) { balance(influencerId: $i, currency: "eur") '
        "{ currency pending { amount } available { amount } paid { amount } "
        "held { amount } }"
        ' statement(influencerId: $i, period: "2025-10", currency: "EUR") { period '
        "openingBalance { amount } closingBalance { amount } credits { amount } "
        "debits { amount } entries { kind amount { amount } status } } }",
        i=gid(w["influencer"]),
    )
    assert data["balance"] == {
        "currency": "EUR",
        "pending": {"amount": "40.00"},
        "available": {"amount": "32.00"},
        "paid": {"amount": "0.00"},
        "held": {"amount": "0.00"},
    }
    s = data["statement"]
    assert (s["openingBalance"], s["closingBalance"]) == ({"amount": "10.00"}, {"amount": "32.00"})
    assert (s["credits"], s["debits"]) == ({"amount": "25.00"}, {"amount": "3.00"})
    assert [e["kind"] for e in s["entries"]] == ["COMMISSION", "ADJUSTMENT"]
    errors = gql.errors(
        key,
        'query($i: ID!) { statement(influencerId: $i, period: "2026-13", '
        'currency: "EUR") { period } }',
        i=gid(w["influencer"]),
    )
    assert "2026-13" in errors[0]["message"] and "YYYY-MM" in errors[0]["message"]
    # The month whose end would be year 10000: refused in words, not an Unexpected error.
    errors = gql.errors(
        key,
        'query($i: ID!) { statement(influencerId: $i, period: "9999-12", '
        'currency: "EUR") { period } }',
        i=gid(w["influencer"]),
    )
    assert errors[0]["message"] == "period '9999-12' is out of range: the last month is 9999-11"


def _conversion(db: Any, w: dict[str, Any], status: ConversionStatus) -> Conversion:
    row = Conversion.keyed(
        db,
        organization_id=w["org"].id,
        brand_id=w["brand"].id,
        order_id=f"o-{next(_keys)}",
        amount=10_000,
        currency="EUR",
        occurred_at=NOW,
        received_at=NOW,
        status=status,
        partnership_id=w["partnership"].id,
        influencer_id=w["influencer"].id,
        campaign_id=w["campaign"].id,
        hold_reasons=["SELF_REFERRAL"] if status == "HELD" else [],
    )
    db.add(row)
    db.commit()
    return row


def test_review_conversion(gql, db, factory):
    w = factory.world()
    held, other = (_conversion(db, w, ConversionStatus.HELD) for _ in range(2))
    sel = "conversion { status reviewReason }"
    denied = gql.mutate(
        w["keys"]["MANAGER"],
        "reviewConversion",
        {"conversionId": gid(held), "decision": "APPROVE"},
        sel,
    )
    assert denied["userErrors"][0]["code"] == "FORBIDDEN"
    ok = gql.mutate(
        w["keys"]["FINANCE"],
        "reviewConversion",
        {"conversionId": gid(held), "decision": "APPROVE", "reason": "checked"},
        sel,
    )
    assert ok == {"conversion": {"status": "APPROVED", "reviewReason": "checked"}, "userErrors": []}
    db.expire_all()
    commission = db.scalars(select(LedgerEntry).where(LedgerEntry.conversion_id == held.id)).all()
    assert [(e.kind, e.amount) for e in commission] == [(EntryKind.COMMISSION, 1000)]  # 10 %
    rejected = gql.mutate(
        w["keys"]["ADMIN"],
        "reviewConversion",
        {"conversionId": gid(other), "decision": "REJECT"},
        sel,
    )
    assert rejected["conversion"]["status"] == "REJECTED"
    again = gql.mutate(
        w["keys"]["ADMIN"],
        "reviewConversion",
        {"conversionId": gid(other), "decision": "APPROVE"},
        sel,
    )
    assert again["userErrors"][0]["code"] == "ALREADY_REJECTED"
    stranger = factory.world()
    nf = gql.mutate(
        stranger["keys"]["ADMIN"],
        "reviewConversion",
        {"conversionId": gid(held), "decision": "REJECT"},
        sel,
    )
    assert nf["userErrors"][0]["code"] == "NOT_FOUND"
    listed = gql(w["keys"]["FINANCE"], "{ conversions(filter: {status: APPROVED}) { totalCount } }")
    assert listed["conversions"]["totalCount"] == 1


def test_entries_of_a_rejected_conversion_show_rejected(gql, db, factory):
    w = factory.world()
    conversion = _conversion(db, w, ConversionStatus.HELD)
    key = w["keys"]["FINANCE"]
    q = "{ ledgerEntries(first: 10) { nodes { kind status amount { amount } } } }"
    approve = {"conversionId": gid(conversion), "decision": "APPROVE"}
    assert gql.mutate(key, "reviewConversion", approve, "conversion { status }")["userErrors"] == []
    assert gql(key, q)["ledgerEntries"]["nodes"] == [
        {"kind": "COMMISSION", "status": "PENDING", "amount": {"amount": "10.00"}}
    ]
    reject = {"conversionId": gid(conversion), "decision": "REJECT", "reason": "fraud"}
    assert gql.mutate(key, "reviewConversion", reject, "conversion { status }")["userErrors"] == []
    nodes = gql(key, q)["ledgerEntries"]["nodes"]
    assert sorted((n["kind"], n["status"], n["amount"]["amount"]) for n in nodes) == [
        ("COMMISSION", "REJECTED", "10.00"),
        ("REVERSAL", "REJECTED", "-10.00"),
    ]
    db.expire_all()
    assert balance(db, w["org"].id, w["influencer"].id, "EUR").net == 0


def test_entries_without_a_conversion_count_while_some_order_is_held(db, factory):
    # Regression: "conversion_id IN (held ids)" is NULL for entries without a conversion, which
    # dropped fees, bonuses and adjustments from every bucket while any order anywhere was held.
    w, other = factory.world(), factory.world()
    _conversion(db, other, ConversionStatus.HELD)
    entry(db, w, 3000, kind=EntryKind.FLAT_FEE)
    entry(db, w, -500, kind=EntryKind.ADJUSTMENT)
    assert bal(db, w) == (0, 2500, 0)
