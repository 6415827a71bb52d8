"""createLedgerAdjustment: bonuses and manual corrections, posted as new entries, idempotent,
finance only, never across organizations; every bad input a userError that posts nothing."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import func, select

from api.finance.balances import balance
from api.finance.statements import statement
from api.models import LedgerEntry
from tests.factories import gid

SELECT = "created ledgerEntry { kind amount { amount currency } memo status }"


def _count(db: Any, org_id: int) -> int:
    db.expire_all()
    return int(
        db.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.organization_id == org_id)
        )
    )


def _input(w: dict[str, Any], **over: Any) -> dict[str, Any]:
    values = {
        "influencerId": gid(w["influencer"]),
        "kind": "ADJUSTMENT",
        "amount": "-12.50",
        "currency": "EUR",
        "memo": "double-counted order 1042",
        "idempotencyKey": secrets.token_hex(8),
    }
    values.update(over)
    return values


def test_bonus_and_adjustment_move_the_balance_and_show_on_the_statement(gql, db, factory):
    w = factory.world()
    key = w["keys"]["FINANCE"]
    bonus = gql.mutate(
        key,
        "createLedgerAdjustment",
        _input(
            w, kind="BONUS", amount="100", partnershipId=gid(w["partnership"]), memo="launch bonus"
        ),
        SELECT,
    )
    assert bonus["userErrors"] == []
    assert bonus["created"] is True
    entry = bonus["ledgerEntry"]
    assert entry["kind"] == "BONUS" and entry["status"] == "AVAILABLE"
    assert entry["amount"] == {"amount": "100.00", "currency": "EUR"}
    assert entry["memo"].startswith("launch bonus; posted by ")
    fix = gql.mutate(key, "createLedgerAdjustment", _input(w), SELECT)
    assert fix["userErrors"] == [] and fix["ledgerEntry"]["amount"]["amount"] == "-12.50"

    db.expire_all()
    b = balance(db, w["org"].id, w["influencer"].id, "EUR")
    assert (b.pending, b.available, b.paid) == (0, 8750, 0)
    period = entry_period(db, w)
    s = statement(db, w["org"].id, w["influencer"].id, period, "EUR")
    assert [(e.kind, e.amount) for e in s.entries] == [("BONUS", 10000), ("ADJUSTMENT", -1250)]
    assert (s.credits, s.debits, s.closing_balance) == (10000, 1250, 8750)


def entry_period(db: Any, w: dict[str, Any]) -> str:
    created = db.scalar(
        select(func.max(LedgerEntry.created_at)).where(
            LedgerEntry.influencer_id == w["influencer"].id
        )
    )
    return created.strftime("%Y-%m")


def test_a_retry_with_the_same_key_posts_once(gql, db, factory):
    w = factory.world()
    key = w["keys"]["ADMIN"]
    payload = _input(w, idempotencyKey="retry-me")
    first = gql.mutate(key, "createLedgerAdjustment", payload, SELECT)
    again = gql.mutate(key, "createLedgerAdjustment", payload, SELECT)
    assert (first["created"], again["created"]) == (True, False)
    assert again["ledgerEntry"] == first["ledgerEntry"] and again["userErrors"] == []
    assert _count(db, w["org"].id) == 1
    reused = gql.mutate(key, "createLedgerAdjustment", {**payload, "amount": "-13"}, SELECT)
    assert reused["ledgerEntry"] is None
    assert (reused["userErrors"][0]["field"], reused["userErrors"][0]["code"]) == (
        "idempotencyKey",
        "IDEMPOTENCY_KEY_REUSED",
    )
    # Keys are per organization: another one may use the same key.
    other = factory.world()
    theirs = gql.mutate(
        other["keys"]["FINANCE"],
        "createLedgerAdjustment",
        _input(other, idempotencyKey="retry-me"),
        SELECT,
    )
    assert theirs["created"] is True
    assert _count(db, w["org"].id) == 1 and _count(db, other["org"].id) == 1


@pytest.mark.parametrize(
    ("over", "field", "code"),
    [
        ({"amount": "0"}, "amount", "INVALID_AMOUNT"),
        ({"amount": "0.00"}, "amount", "INVALID_AMOUNT"),
        ({"amount": "1.005"}, "amount", "INVALID_AMOUNT"),
        ({"kind": "BONUS", "amount": "-5"}, "amount", "NEGATIVE"),
        ({"currency": "EURO"}, "currency", "INVALID_CURRENCY"),
        ({"memo": "   "}, "memo", "REQUIRED"),
        ({"memo": "x" * 501}, "memo", "TOO_LONG"),
        ({"idempotencyKey": ""}, "idempotencyKey", "INVALID"),
        ({"influencerId": "garbage"}, "influencerId", "NOT_FOUND"),
    ],
)
def test_bad_input_posts_nothing(gql, db, factory, over, field, code):
    w = factory.world()
    out = gql.mutate(w["keys"]["FINANCE"], "createLedgerAdjustment", _input(w, **over), SELECT)
    assert out["ledgerEntry"] is None
    assert (out["userErrors"][0]["field"], out["userErrors"][0]["code"]) == (field, code)
    assert _count(db, w["org"].id) == 0


def test_partnership_of_another_influencer_is_refused(gql, db, factory):
    w = factory.world()
    someone = factory.influencer(w["org"])
    out = gql.mutate(
        w["keys"]["FINANCE"],
        "createLedgerAdjustment",
        _input(w, influencerId=gid(someone), partnershipId=gid(w["partnership"])),
        SELECT,
    )
    assert out["userErrors"][0]["field"] == "partnershipId"
    assert out["userErrors"][0]["code"] == "INVALID"
    assert _count(db, w["org"].id) == 0


@pytest.mark.parametrize("role", ["MANAGER", "INFLUENCER"])
def test_only_finance_and_admin_post(gql, db, factory, role):
    w = factory.world()
    out = gql.mutate(w["keys"][role], "createLedgerAdjustment", _input(w), SELECT)
    assert out["ledgerEntry"] is None and out["userErrors"][0]["code"] == "FORBIDDEN"
    assert _count(db, w["org"].id) == 0


def test_another_organizations_influencer_or_partnership_is_not_found(gql, db, factory):
    w, other = factory.world(), factory.world()
    key = w["keys"]["FINANCE"]
    out = gql.mutate(key, "createLedgerAdjustment", _input(other), SELECT)
    assert out["userErrors"][0]["field"] == "influencerId"
    assert out["userErrors"][0]["code"] == "NOT_FOUND"
    out = gql.mutate(
        key, "createLedgerAdjustment", _input(w, partnershipId=gid(other["partnership"])), SELECT
    )
    assert out["userErrors"][0]["field"] == "partnershipId"
    assert out["userErrors"][0]["code"] == "NOT_FOUND"
    assert _count(db, w["org"].id) == 0 and _count(db, other["org"].id) == 0
