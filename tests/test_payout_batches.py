"""Payout batches with nothing to pay are refused, and a DRAFT can be cancelled: its lines are
payable again, the batch stays CANCELLED with who and when, the ledger is not touched."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from api.finance.balances import balance
from api.finance.errors import FinanceError
from api.finance.payouts import cancel_batch, create_payout_batch, lines_of, mark_paid
from api.finance.statements import statement
from api.models import PayoutBatch
from api.models.ledger import PayoutStatus, payout_cutoff
from tests.factories import gid
from tests.test_finance import NOW, TODAY, _counts, entry

BATCH = (
    "payoutBatch { id status asOf cancelledAt cancelledBy total { amount } "
    "lines { amount { amount } } }"
)


def _create(gql: Any, key: str, as_of: Any = TODAY, minimum: str = "0") -> Any:
    return gql.mutate(
        key,
        "createPayoutBatch",
        {"currency": "EUR", "asOf": as_of.isoformat(), "minimumAmount": minimum},
        BATCH,
    )


def _cancel(gql: Any, key: str, batch_id: str) -> Any:
    return gql.mutate(key, "cancelPayoutBatch", {"payoutBatchId": batch_id}, BATCH)


# --- nothing payable ----------------------------------------------------------------------------


def test_a_batch_before_anything_is_payable_is_refused_and_blocks_nothing(db, factory):
    w = factory.world()
    # Earned 10 days ago, held for 7 days: available 3 days ago, not as of 5 days ago.
    entry(db, w, 1000, created=NOW - timedelta(days=10), hold_days=7)
    before = _counts(db, w)
    with pytest.raises(FinanceError) as err:
        create_payout_batch(db, w["org"].id, "eur", TODAY - timedelta(days=5), 0)
    db.rollback()
    assert (err.value.code, err.value.field) == ("NOTHING_PAYABLE", "asOf")
    available_on = (NOW - timedelta(days=3)).date().isoformat()
    assert err.value.message == (
        f"nothing is payable in EUR as of {(TODAY - timedelta(days=5)).isoformat()} for "
        f"{w['org'].name}: no influencer is owed money available by the end of that day; "
        f"the next earnings become available on {available_on}"
    )
    assert _counts(db, w) == before
    # No empty draft was left behind: today's batch is made at once.
    batch = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()
    assert batch.status == PayoutStatus.DRAFT
    assert [line.amount for line in lines_of(db, batch)] == [1000]


def test_an_organization_with_no_earnings_at_all_is_told_so(db, factory):
    w = factory.world()
    with pytest.raises(FinanceError) as err:
        create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.rollback()
    assert err.value.code == "NOTHING_PAYABLE"
    assert err.value.message.endswith(
        "no influencer is owed money available by the end of that day"
    )
    assert _counts(db, w) == (0, 0, 0)


def test_balances_all_below_the_minimum_are_refused_naming_the_amounts(db, factory):
    w = factory.world()
    peer = factory.influencer(w["org"])
    entry(db, w, 900)
    entry(db, w, 450, influencer=peer)
    with pytest.raises(FinanceError) as err:
        create_payout_batch(db, w["org"].id, "EUR", TODAY, 1000)
    db.rollback()
    assert (err.value.code, err.value.field) == ("NOTHING_PAYABLE", "minimumAmount")
    assert err.value.message.endswith(
        "the largest unpaid balance, 9.00 EUR, is below the minimum of 10.00 EUR"
    )
    assert _counts(db, w)[:2] == (0, 0)


def test_nothing_payable_over_graphql_changes_nothing(gql, db, factory):
    w = factory.world()
    entry(db, w, 1234, created=NOW - timedelta(days=2))
    key = w["keys"]["FINANCE"]
    before = _counts(db, w)
    out = _create(gql, key, TODAY - timedelta(days=4))
    assert out["payoutBatch"] is None
    (error,) = out["userErrors"]
    assert (error["field"], error["code"]) == ("asOf", "NOTHING_PAYABLE")
    assert f"for {w['org'].name}" in error["message"] and "in EUR" in error["message"]
    assert _counts(db, w) == before
    again = _create(gql, key)  # the way out the empty draft used to block
    assert again["userErrors"] == [] and again["payoutBatch"]["total"] == {"amount": "12.34"}


# --- cancelling ---------------------------------------------------------------------------------


def test_cancel_then_create_again_pays_the_same_lines(db, factory):
    w = factory.world()
    peer = factory.influencer(w["org"])
    entry(db, w, 1000)
    entry(db, w, 2500, influencer=peer)
    first = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()
    entries_before = _counts(db, w)[2]
    cancelled = cancel_batch(db, first, "Ana (FINANCE key 1a2b3c4d)", now=NOW)
    db.commit()
    assert cancelled.status == PayoutStatus.CANCELLED
    assert (cancelled.cancelled_by, cancelled.cancelled_at) == ("Ana (FINANCE key 1a2b3c4d)", NOW)
    # Kept with its lines, as the record of what it would have paid; the ledger is untouched.
    assert [line.amount for line in lines_of(db, cancelled)] == [1000, 2500]
    assert _counts(db, w)[2] == entries_before
    # The same day can be batched again, with the same lines.
    second = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()
    assert second.id != first.id and second.status == PayoutStatus.DRAFT
    assert [(x.influencer_id, x.amount) for x in lines_of(db, second)] == [
        (w["influencer"].id, 1000),
        (peer.id, 2500),
    ]
    # The cancelled batch can neither be paid nor cancelled again.
    for act, code in (
        (lambda: mark_paid(db, first, "SEPA-0"), "ALREADY_CANCELLED"),
        (lambda: cancel_batch(db, first, "someone"), "ALREADY_CANCELLED"),
    ):
        with pytest.raises(FinanceError) as err:
            act()
        assert err.value.code == code
        db.rollback()
    mark_paid(db, second, "SEPA-1")
    db.commit()
    b = balance(db, w["org"].id, w["influencer"].id, "EUR")
    assert (b.available, b.paid, b.net) == (0, 1000, 0)  # paid once, not twice


def test_a_cancelled_batch_leaves_balances_and_statements_as_they_were(db, factory):
    w = factory.world()
    entry(db, w, 1000, created=NOW - timedelta(days=10))
    entry(db, w, 300, created=NOW - timedelta(days=1), hold_days=30)  # pending
    period = TODAY.strftime("%Y-%m")

    def figures() -> tuple[Any, ...]:
        db.expire_all()
        b = balance(db, w["org"].id, w["influencer"].id, "EUR")
        s = statement(db, w["org"].id, w["influencer"].id, period, "EUR")
        return (b.pending, b.available, b.paid, s.opening_balance, s.closing_balance)

    before = figures()
    assert before[:3] == (300, 1000, 0)
    batch = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()
    cancel_batch(db, batch, "Ana")
    db.commit()
    assert figures() == before
    # A batch paid after the cancelled one moves exactly the available amount to paid.
    mark_paid(db, create_payout_batch(db, w["org"].id, "EUR", TODAY, 0), "SEPA-2")
    db.commit()
    assert figures()[:3] == (300, 0, 1000)


def test_a_paid_batch_cannot_be_cancelled(db, factory):
    w = factory.world()
    entry(db, w, 1000)
    batch = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    mark_paid(db, batch, "SEPA-7", now=NOW)
    db.commit()
    before = _counts(db, w)
    with pytest.raises(FinanceError) as err:
        cancel_batch(db, batch, "Ana")
    db.rollback()
    assert (err.value.code, err.value.field) == ("ALREADY_PAID", "payoutBatchId")
    assert "reference SEPA-7" in err.value.message and "ledger adjustment" in err.value.message
    db.expire_all()
    assert db.get(PayoutBatch, batch.id).status == PayoutStatus.PAID
    assert _counts(db, w) == before


def test_the_database_refuses_two_drafts_or_two_live_batches_of_a_day(db, factory):
    w = factory.world()
    entry(db, w, 1000)
    create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()

    def raw(as_of: Any, status: str) -> None:
        db.add(
            PayoutBatch(
                organization_id=w["org"].id,
                currency="EUR",
                as_of=as_of,
                cutoff_at=payout_cutoff(as_of),
                minimum_amount=0,
                status=status,
            )
        )
        db.flush()

    for as_of, status in ((TODAY - timedelta(days=1), "DRAFT"), (TODAY, "PAID")):
        with pytest.raises(IntegrityError):
            raw(as_of, status)
        db.rollback()
    raw(TODAY, "CANCELLED")  # cancelled batches share the day freely
    raw(TODAY, "CANCELLED")
    db.rollback()


# --- over GraphQL -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["ADMIN", "FINANCE", "MANAGER", "INFLUENCER"])
def test_cancel_role_matrix(gql, db, factory, role):
    w = factory.world()
    entry(db, w, 1234)
    batch = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()
    before = _counts(db, w)
    out = _cancel(gql, w["keys"][role], gid(batch))
    db.expire_all()
    if role in ("ADMIN", "FINANCE"):
        assert out["userErrors"] == []
        node = out["payoutBatch"]
        assert node["status"] == "CANCELLED" and node["cancelledAt"] is not None
        assert f"{role} key" in node["cancelledBy"]
        assert db.get(PayoutBatch, batch.id).status == PayoutStatus.CANCELLED
    else:
        assert out["payoutBatch"] is None
        assert out["userErrors"][0]["code"] == "FORBIDDEN"
        assert db.get(PayoutBatch, batch.id).status == PayoutStatus.DRAFT
    assert _counts(db, w) == before


def test_cancel_and_create_again_over_graphql(gql, db, factory):
    w = factory.world()
    entry(db, w, 1234)
    key = w["keys"]["FINANCE"]
    first = _create(gql, key)["payoutBatch"]
    blocked = _create(gql, key, TODAY - timedelta(days=1))
    assert blocked["userErrors"][0]["code"] == "DRAFT_BATCH_EXISTS"
    assert "cancel it" in blocked["userErrors"][0]["message"]
    cancelled = _cancel(gql, key, first["id"])
    assert cancelled["userErrors"] == [] and cancelled["payoutBatch"]["status"] == "CANCELLED"
    again = _create(gql, key)
    assert again["userErrors"] == []
    assert again["payoutBatch"]["id"] != first["id"]
    assert again["payoutBatch"]["lines"] == first["lines"] == [{"amount": {"amount": "12.34"}}]
    twice = _cancel(gql, key, first["id"])
    assert (twice["userErrors"][0]["field"], twice["userErrors"][0]["code"]) == (
        "payoutBatchId",
        "ALREADY_CANCELLED",
    )
    pay_cancelled = gql.mutate(
        key, "markPayoutBatchPaid", {"payoutBatchId": first["id"], "reference": "X"}, BATCH
    )
    assert pay_cancelled["userErrors"][0]["code"] == "ALREADY_CANCELLED"
    paid = gql.mutate(
        key,
        "markPayoutBatchPaid",
        {"payoutBatchId": again["payoutBatch"]["id"], "reference": "S"},
        BATCH,
    )
    assert paid["payoutBatch"]["status"] == "PAID"
    refused = _cancel(gql, key, again["payoutBatch"]["id"])
    assert refused["payoutBatch"] is None and refused["userErrors"][0]["code"] == "ALREADY_PAID"
    listed = gql(key, "{ payoutBatches { edges { node { status cancelledBy } } } }")
    statuses = [e["node"]["status"] for e in listed["payoutBatches"]["edges"]]
    assert statuses == ["PAID", "CANCELLED"]
    q = (
        'query($i: ID!) { balance(influencerId: $i, currency: "EUR") '
        "{ available { amount } paid { amount } } }"
    )
    assert gql(key, q, i=gid(w["influencer"]))["balance"] == {
        "available": {"amount": "0.00"},
        "paid": {"amount": "12.34"},
    }


def test_another_organizations_batch_is_not_found(gql, db, factory):
    w, other = factory.world(), factory.world()
    entry(db, other, 1000)
    theirs = create_payout_batch(db, other["org"].id, "EUR", TODAY, 0)
    db.commit()
    out = _cancel(gql, w["keys"]["ADMIN"], gid(theirs))
    assert out["payoutBatch"] is None
    assert (out["userErrors"][0]["field"], out["userErrors"][0]["code"]) == (
        "payoutBatchId",
        "NOT_FOUND",
    )
    db.expire_all()
    assert db.get(PayoutBatch, theirs.id).status == PayoutStatus.DRAFT
    garbage = _cancel(gql, w["keys"]["ADMIN"], "not-an-id")
    assert garbage["userErrors"][0]["code"] == "NOT_FOUND"
