"""One decimal grammar for money: the API (`api.money.parse_amount`, every GraphQL Decimal and
Money input) accepts exactly the strings the tracker's postbacks accept, with the same minor
units, and every other value is a userError naming the field, never an "Unexpected error"."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from api.models import Campaign, DiscountCode, LedgerEntry, PayoutBatch
from api.money import MoneyError, parse_amount
from tests.factories import gid
from tracker.conversions import FieldError, parse_decimal, to_minor

ARABIC_12 = "\u0661\u0662"  # Arabic-Indic digits: Python's Decimal reads them as 12
HOSTILE = ("1e999999999", "NaN", "1e-999999999", "1_000", ARABIC_12, "+5")
CURRENCIES = ("EUR", "JPY", "KWD")


def _tracker(text: str, currency: str) -> int | None:
    try:
        return to_minor(parse_decimal(text), currency)
    except FieldError:
        return None


def _api(text: str, currency: str) -> int | None:
    try:
        return parse_amount(text, currency)
    except MoneyError:
        return None


amounts = st.one_of(
    st.from_regex(r"\s?-?[0-9]{1,18}(\.[0-9]{1,5})?\s?", fullmatch=True),
    st.text(alphabet="0123456789.-+eE_ \t\u0661\u0662\u0663NaInfy", max_size=24),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
)


@given(text=amounts, currency=st.sampled_from(CURRENCIES))
def test_api_and_tracker_accept_the_same_strings(text: str, currency: str) -> None:
    assert _api(text, currency) == _tracker(text, currency)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_refused_by_both(text):
    assert _api(text, "EUR") is None and _tracker(text, "EUR") is None
    with pytest.raises(MoneyError, match="not a decimal amount"):
        parse_amount(text, "EUR")


def test_exact_conversion_without_rounding():
    assert parse_amount("12.50", "EUR") == 1250 == _tracker("12.50", "EUR")
    assert parse_amount("12.5" + "0" * 40, "EUR") == 1250
    with pytest.raises(MoneyError, match="decimal places"):
        parse_amount("1." + "0" * 40 + "1", "EUR")  # a 28-digit context would round it to 1.00
    assert parse_amount("9999999999999.99", "EUR") == 10**15 - 1
    with pytest.raises(MoneyError, match="too large"):
        parse_amount("10000000000000", "EUR")
    with pytest.raises(MoneyError, match="too large"):
        parse_amount("9" * 5000, "EUR")
    assert parse_amount("-3", "EUR", allow_negative=True) == -300
    with pytest.raises(MoneyError, match="negative"):
        parse_amount("-3", "EUR")
    with pytest.raises(MoneyError, match="decimal string"):
        parse_amount(12.5, "EUR")


# --- through GraphQL -----------------------------------------------------------------------


def _refused(payload: dict[str, Any], field: str) -> str:
    errors = payload["userErrors"]
    assert [e["field"] for e in errors] == [field], errors
    assert errors[0]["code"] in ("INVALID", "INVALID_AMOUNT"), errors
    message: str = errors[0]["message"]
    return message


def _create_campaign(gql: Any, w: dict[str, Any], **extra: Any) -> Any:
    fields = {
        "brandId": gid(w["brand"]),
        "name": "Spring",
        "objective": "CONVERSIONS",
        "landingUrl": "https://shop.example.com/spring",
        **extra,
    }
    return gql.mutate(w["keys"]["MANAGER"], "createCampaign", fields, "campaign { id }")


@pytest.mark.parametrize("text", [*HOSTILE, 12.5])
def test_create_campaign_budget(gql, db, factory, text):
    w = factory.world()
    payload = _create_campaign(gql, w, budget={"amount": text, "currency": "EUR"})
    assert "decimal" in _refused(payload, "budget.amount")
    brand = w["brand"].id
    assert db.scalar(select(func.count()).where(Campaign.brand_id == brand)) == 1  # the world's


@pytest.mark.parametrize("text", HOSTILE)
def test_issue_discount_code_percent_off(gql, db, factory, text):
    w = factory.world()
    payload = gql.mutate(
        w["keys"]["MANAGER"],
        "issueDiscountCode",
        {"partnershipId": gid(w["partnership"]), "percentOff": text, "code": "GOODCODE"},
        "discountCode { id }",
    )
    assert _refused(payload, "percentOff").startswith("percentOff ")
    part = w["partnership"].id
    assert db.scalar(select(func.count()).where(DiscountCode.partnership_id == part)) == 0


@pytest.mark.parametrize("text", HOSTILE)
def test_create_payout_batch_minimum_amount(gql, db, factory, text):
    w = factory.world()
    payload = gql.mutate(
        w["keys"]["FINANCE"],
        "createPayoutBatch",
        {"currency": "EUR", "asOf": "2026-01-01", "minimumAmount": text},
        "payoutBatch { id }",
    )
    _refused(payload, "minimumAmount")
    org = w["org"].id
    assert db.scalar(select(func.count()).where(PayoutBatch.organization_id == org)) == 0


@pytest.mark.parametrize("text", [*HOSTILE, "-1e999999999"])
def test_create_ledger_adjustment_amount(gql, db, factory, text):
    w = factory.world()
    payload = gql.mutate(
        w["keys"]["FINANCE"],
        "createLedgerAdjustment",
        {
            "influencerId": gid(w["influencer"]),
            "kind": "ADJUSTMENT",
            "amount": text,
            "currency": "EUR",
            "memo": "correction",
            "idempotencyKey": secrets.token_hex(8),
        },
        "ledgerEntry { id }",
    )
    _refused(payload, "amount")
    org = w["org"].id
    assert db.scalar(select(func.count()).where(LedgerEntry.organization_id == org)) == 0


def test_compensation_plan_amount(gql, factory):
    w = factory.world()
    plan = {"currency": "EUR", "flatFeePerDeliverable": "1e-999999999"}
    payload = _create_campaign(gql, w, compensationPlan=plan)
    _refused(payload, "compensationPlan.flatFeePerDeliverable")
