"""Attribution rules, one row per situation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.domain.attribution import (
    Attribution,
    AttributionVia,
    ClickFacts,
    ConversionFacts,
    DiscountCodeFacts,
    HoldReason,
    PartnershipFacts,
    UnattributedReason,
    attribute,
)
from api.domain.campaign_status import CampaignStatus as S

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

# partnership id -> (campaign status, window days); campaign id = partnership id x 10
SETUP = {
    1: (S.ACTIVE, 30),
    2: (S.ACTIVE, 7),
    3: (S.PAUSED, 30),
    4: (S.COMPLETED, 30),
    5: (S.DRAFT, 30),
    6: (S.CANCELLED, 30),
    7: (S.ACTIVE, 0),
}
INFLUENCER_CUSTOMERS = {1: frozenset({"cust-influencer-1"}), 2: frozenset({"cust-influencer-2"})}
PARTNERSHIPS = {
    pid: PartnershipFacts(status, window, INFLUENCER_CUSTOMERS.get(pid, frozenset()))
    for pid, (status, window) in SETUP.items()
}
# A live post of partnership 8 broke its approved disclosure; the brand holds its commissions.
PARTNERSHIPS[8] = PartnershipFacts(S.ACTIVE, 30, live_post_breach=True)
PARTNERSHIPS[9] = PartnershipFacts(S.ACTIVE, 30, risk_hold=True)


@dataclass(frozen=True)
class Click:
    partnership: int
    before: timedelta  # how long before the conversion the click happened


@dataclass(frozen=True)
class Code:
    partnership: int
    active: bool = True


UNKNOWN = "unknown"  # the conversion carries a click id / code that matched nothing

V, R, H = AttributionVia, UnattributedReason, HoldReason


def ok(pid: int, via: AttributionVia, *holds: HoldReason) -> Attribution:
    return Attribution(pid, pid * 10, via, None, holds)


def no(reason: UnattributedReason) -> Attribution:
    return Attribution(None, None, None, reason)


CASES: list[tuple[str, Click | str | None, Code | str | None, str | None, Attribution]] = [
    # nothing to go by
    ("no click id, no code", None, None, None, no(R.NO_MATCH)),
    ("unknown click id", UNKNOWN, None, None, no(R.NO_MATCH)),
    ("unknown code", None, UNKNOWN, None, no(R.NO_MATCH)),
    ("unknown click id and code", UNKNOWN, UNKNOWN, None, no(R.NO_MATCH)),
    # clicks and the window
    ("click a day before", Click(1, DAY), None, None, ok(1, V.CLICK)),
    ("click exactly at the window", Click(1, 30 * DAY), None, None, ok(1, V.CLICK)),
    (
        "click a second past the window",
        Click(1, 30 * DAY + SECOND),
        None,
        None,
        no(R.EXPIRED_CLICK),
    ),
    (
        "click a microsecond past the window",
        Click(2, 7 * DAY + timedelta(microseconds=1)),
        None,
        None,
        no(R.EXPIRED_CLICK),
    ),
    (
        "zero-day window, same instant",
        Click(7, timedelta(0)),
        None,
        None,
        ok(7, V.CLICK, H.FAST_CONVERSION),
    ),
    ("zero-day window, a second later", Click(7, SECOND), None, None, no(R.EXPIRED_CLICK)),
    # conversions before their click (clock skew)
    (
        "conversion 30 s before click",
        Click(1, -30 * SECOND),
        None,
        None,
        ok(1, V.CLICK, H.FAST_CONVERSION),
    ),
    (
        "conversion 60 s before click",
        Click(1, -60 * SECOND),
        None,
        None,
        ok(1, V.CLICK, H.FAST_CONVERSION),
    ),
    ("conversion 61 s before click", Click(1, -61 * SECOND), None, None, no(R.NO_MATCH)),
    ("conversion a day before click", Click(1, -DAY), None, None, no(R.NO_MATCH)),
    # fast conversions
    (
        "9.999 s after click",
        Click(1, 10 * SECOND - timedelta(milliseconds=1)),
        None,
        None,
        ok(1, V.CLICK, H.FAST_CONVERSION),
    ),
    ("exactly 10 s after click", Click(1, 10 * SECOND), None, None, ok(1, V.CLICK)),
    # discount codes
    ("active code", None, Code(2), None, ok(2, V.DISCOUNT_CODE)),
    ("inactive code", None, Code(2, active=False), None, no(R.INACTIVE_CODE)),
    ("inactive code, valid click", Click(1, DAY), Code(2, active=False), None, ok(1, V.CLICK)),
    ("unknown code, valid click", Click(1, DAY), UNKNOWN, None, ok(1, V.CLICK)),
    ("unknown click id, active code", UNKNOWN, Code(2), None, ok(2, V.DISCOUNT_CODE)),
    # both point somewhere
    (
        "code beats a click of another partnership",
        Click(1, DAY),
        Code(2),
        None,
        ok(2, V.DISCOUNT_CODE),
    ),
    ("code and click of one partnership", Click(1, DAY), Code(1), None, ok(1, V.CLICK)),
    (
        "code beats a fast click elsewhere: no fast hold",
        Click(1, SECOND),
        Code(2),
        None,
        ok(2, V.DISCOUNT_CODE),
    ),
    ("expired click, active code", Click(1, 40 * DAY), Code(2), None, ok(2, V.DISCOUNT_CODE)),
    (
        "expired click, same partnership's code",
        Click(1, 40 * DAY),
        Code(1),
        None,
        ok(1, V.DISCOUNT_CODE),
    ),
    # most specific reason
    ("expired click, no code", Click(1, 40 * DAY), None, None, no(R.EXPIRED_CLICK)),
    ("expired click, unknown code", Click(1, 40 * DAY), UNKNOWN, None, no(R.EXPIRED_CLICK)),
    (
        "expired click, inactive code",
        Click(1, 40 * DAY),
        Code(2, active=False),
        None,
        no(R.INACTIVE_CODE),
    ),
    ("unknown click id, inactive code", UNKNOWN, Code(2, active=False), None, no(R.INACTIVE_CODE)),
    (
        "click too early, inactive code",
        Click(1, -DAY),
        Code(2, active=False),
        None,
        no(R.INACTIVE_CODE),
    ),
    # campaign status
    ("click, paused campaign", Click(3, DAY), None, None, ok(3, V.CLICK)),
    ("code, paused campaign", None, Code(3), None, ok(3, V.DISCOUNT_CODE)),
    ("click, completed campaign", Click(4, DAY), None, None, no(R.CAMPAIGN_NOT_ACTIVE)),
    ("code, draft campaign", None, Code(5), None, no(R.CAMPAIGN_NOT_ACTIVE)),
    ("code, cancelled campaign", None, Code(6), None, no(R.CAMPAIGN_NOT_ACTIVE)),
    ("cancelled campaign's code, valid click", Click(1, DAY), Code(6), None, ok(1, V.CLICK)),
    (
        "completed campaign's click, valid code",
        Click(4, DAY),
        Code(2),
        None,
        ok(2, V.DISCOUNT_CODE),
    ),
    ("expired click of a cancelled campaign", Click(6, 40 * DAY), None, None, no(R.EXPIRED_CLICK)),
    (
        "inactive code of a completed campaign",
        None,
        Code(4, active=False),
        None,
        no(R.INACTIVE_CODE),
    ),
    (
        "completed campaign's click, inactive code",
        Click(4, DAY),
        Code(2, active=False),
        None,
        no(R.CAMPAIGN_NOT_ACTIVE),
    ),
    # holds
    (
        "self-referral by code",
        None,
        Code(2),
        "cust-influencer-2",
        ok(2, V.DISCOUNT_CODE, H.SELF_REFERRAL),
    ),
    (
        "self-referral by click",
        Click(1, DAY),
        None,
        "cust-influencer-1",
        ok(1, V.CLICK, H.SELF_REFERRAL),
    ),
    (
        "self-referral, fast",
        Click(1, 2 * SECOND),
        None,
        "cust-influencer-1",
        ok(1, V.CLICK, H.SELF_REFERRAL, H.FAST_CONVERSION),
    ),
    ("another influencer's customer id", Click(1, DAY), None, "cust-influencer-2", ok(1, V.CLICK)),
    ("a shopper", None, Code(1), "cust-42", ok(1, V.DISCOUNT_CODE)),
    (
        "customer id matching differs by case",
        None,
        Code(2),
        "CUST-INFLUENCER-2",
        ok(2, V.DISCOUNT_CODE),
    ),
    (
        "a live post breach holds",
        None,
        Code(8),
        "cust-42",
        ok(8, V.DISCOUNT_CODE, H.LIVE_POST_BREACH),
    ),
    (
        "a creator risk at the brand's hold level holds",
        None,
        Code(9),
        "cust-42",
        ok(9, V.DISCOUNT_CODE, H.RISK_SCORE),
    ),
    (
        "unattributed self-referral has no hold",
        None,
        Code(2, active=False),
        "cust-influencer-2",
        no(R.INACTIVE_CODE),
    ),
]


def run(click: Click | str | None, code: Code | str | None, customer: str | None) -> Attribution:
    conversion = ConversionFacts(
        occurred_at=NOW,
        customer_id=customer,
        click_id=None if click is None else "clk_123",
        discount_code=None if code is None else "SUMMER10",
    )
    click_facts = (
        ClickFacts(NOW - click.before, click.partnership, click.partnership * 10)
        if isinstance(click, Click)
        else None
    )
    code_facts = (
        DiscountCodeFacts(code.partnership, code.partnership * 10, code.active)
        if isinstance(code, Code)
        else None
    )
    return attribute(conversion, click_facts, code_facts, PARTNERSHIPS)


@pytest.mark.parametrize(
    ("click", "code", "customer", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_attribution(
    click: Click | str | None, code: Code | str | None, customer: str | None, expected: Attribution
) -> None:
    result = run(click, code, customer)
    assert result == expected
    assert result.attributed is (expected.unattributed_reason is None)
    assert result.on_hold is bool(expected.hold_reasons)


def test_every_reason_and_hold_is_covered() -> None:
    seen = {case[4].unattributed_reason for case in CASES} | {case[4].via for case in CASES}
    holds = {hold for case in CASES for hold in case[4].hold_reasons}
    # CUSTOMER (a claimed customer's repeat order) is covered by test_repeat_customers.
    assert set(UnattributedReason) | (set(AttributionVia) - {AttributionVia.CUSTOMER}) <= seen
    assert holds == set(HoldReason)


def test_timezones_are_compared_as_instants() -> None:
    paris = timedelta(hours=2)
    conversion = ConversionFacts(
        occurred_at=datetime(2026, 6, 15, 14, 0, tzinfo=timezone(paris)), click_id="c"
    )
    click = ClickFacts(NOW - 30 * DAY, 1, 10)  # 12:00 UTC == 14:00 in Paris: exactly 30 days
    assert attribute(conversion, click, None, PARTNERSHIPS).partnership_id == 1


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="occurred_at must be timezone-aware"):
        attribute(ConversionFacts(datetime(2026, 6, 15)), None, None, PARTNERSHIPS)
    with pytest.raises(ValueError, match="clicked_at must be timezone-aware"):
        attribute(
            ConversionFacts(NOW, click_id="c"),
            ClickFacts(datetime(2026, 6, 15), 1, 10),
            None,
            PARTNERSHIPS,
        )


def test_inconsistent_input_is_refused() -> None:
    with pytest.raises(ValueError, match="without a click id"):
        attribute(ConversionFacts(NOW), ClickFacts(NOW, 1, 10), None, PARTNERSHIPS)
    with pytest.raises(ValueError, match="without a code"):
        attribute(ConversionFacts(NOW), None, DiscountCodeFacts(1, 10, True), PARTNERSHIPS)
    with pytest.raises(ValueError, match="no facts given for partnership 99"):
        attribute(
            ConversionFacts(NOW, discount_code="X"), None, DiscountCodeFacts(99, 990, True), {}
        )
    with pytest.raises(ValueError, match="window must not be negative"):
        attribute(
            ConversionFacts(NOW, discount_code="X"),
            None,
            DiscountCodeFacts(1, 10, True),
            {1: PartnershipFacts(S.ACTIVE, -1)},
        )
