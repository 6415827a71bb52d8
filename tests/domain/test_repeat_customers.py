"""Customers who come back: a claim credits the claiming partnership's later orders of the
customer within the campaign's repeat window, and another influencer's later click does not
take the customer away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.domain.attribution import (
    AttributionVia,
    ClickFacts,
    ConversionFacts,
    CustomerClaimFacts,
    DiscountCodeFacts,
    PartnershipFacts,
    RepeatOrders,
    add_months,
    attribute,
    claim_is_live,
    repeat_rule_problem,
)
from api.domain.campaign_status import CampaignStatus as S
from api.domain.commission import (
    Commission,
    CommissionKind,
    CompensationPlan,
    commission_for_order,
)

CLAIMED = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
FACTS = {1: PartnershipFacts(S.ACTIVE, 30), 2: PartnershipFacts(S.ACTIVE, 30)}
ENDED = {1: PartnershipFacts(S.COMPLETED, 30), 2: PartnershipFacts(S.ACTIVE, 30)}


def claim(mode: RepeatOrders, months: int | None = None) -> CustomerClaimFacts:
    return CustomerClaimFacts(1, 10, CLAIMED, mode, months)


def order(at: datetime, *, click: bool = False, code: bool = False) -> ConversionFacts:
    return ConversionFacts(at, "shopify:42", "c1" if click else None, "B10" if code else None)


def test_add_months_keeps_the_day_or_the_months_last():
    assert add_months(CLAIMED, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert add_months(CLAIMED, 13) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 2) == datetime(2027, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("mode", "months", "after", "live"),
    [
        (RepeatOrders.FIRST_ORDER_ONLY, None, timedelta(days=1), False),
        (RepeatOrders.WITHIN_MONTHS, 6, timedelta(days=150), True),
        # a month after Jan 31 12:00 is Feb 28 12:00 (the month's last day), exclusive
        (RepeatOrders.WITHIN_MONTHS, 1, timedelta(days=28, minutes=-1), True),
        (RepeatOrders.WITHIN_MONTHS, 1, timedelta(days=28), False),
        (RepeatOrders.LIFETIME, None, timedelta(days=3650), True),
    ],
)
def test_claim_window(mode, months, after, live):
    assert claim_is_live(claim(mode, months), CLAIMED + after) is live


def test_a_claimed_customer_is_not_taken_by_another_influencers_later_click():
    later = CLAIMED + timedelta(days=40)
    other_click = ClickFacts(later - timedelta(hours=1), 2, 20)
    result = attribute(
        order(later, click=True), other_click, None, FACTS, claim(RepeatOrders.LIFETIME)
    )
    assert (result.partnership_id, result.via, result.repeat) == (1, AttributionVia.CUSTOMER, True)
    # Outside the window, the click attributes as any click does, and is no repeat.
    result = attribute(
        order(later, click=True), other_click, None, FACTS, claim(RepeatOrders.WITHIN_MONTHS, 1)
    )
    assert (result.partnership_id, result.via, result.repeat) == (2, AttributionVia.CLICK, False)


def test_repeat_orders_with_nothing_else_and_the_claimers_own_click():
    later = CLAIMED + timedelta(days=40)
    result = attribute(order(later), None, None, FACTS, claim(RepeatOrders.LIFETIME))
    assert (result.partnership_id, result.via, result.repeat) == (1, AttributionVia.CUSTOMER, True)
    own_click = ClickFacts(later - timedelta(hours=1), 1, 10)
    result = attribute(
        order(later, click=True), own_click, None, FACTS, claim(RepeatOrders.FIRST_ORDER_ONLY)
    )
    assert (result.partnership_id, result.via, result.repeat) == (1, AttributionVia.CLICK, True)
    none = attribute(order(later), None, None, FACTS, claim(RepeatOrders.FIRST_ORDER_ONLY))
    assert not none.attributed and not none.repeat


def test_another_partnerships_code_still_wins_and_an_ended_campaign_claims_nothing():
    later = CLAIMED + timedelta(days=40)
    code = DiscountCodeFacts(2, 20, True)
    result = attribute(order(later, code=True), None, code, FACTS, claim(RepeatOrders.LIFETIME))
    assert (result.partnership_id, result.via, result.repeat) == (
        2,
        AttributionVia.DISCOUNT_CODE,
        False,
    )
    ended = attribute(order(later), None, None, ENDED, claim(RepeatOrders.LIFETIME))
    assert not ended.attributed


def test_repeat_rule_settings():
    assert repeat_rule_problem(RepeatOrders.WITHIN_MONTHS, 12) is None
    assert repeat_rule_problem(RepeatOrders.WITHIN_MONTHS, None) is not None
    assert repeat_rule_problem(RepeatOrders.WITHIN_MONTHS, 121) is not None
    assert repeat_rule_problem(RepeatOrders.LIFETIME, 3) is not None
    assert repeat_rule_problem(RepeatOrders.FIRST_ORDER_ONLY, None) is None


def test_repeat_rate_and_code_rate_override_the_plan():
    plan = CompensationPlan(
        "EUR", commission=Commission(CommissionKind.PERCENT, bps=1000), repeat_order_bps=500
    )
    assert commission_for_order(plan, 10001, "EUR").amount_minor == 1000
    assert commission_for_order(plan, 10001, "EUR", repeat=True).amount_minor == 500
    assert commission_for_order(plan, 10001, "EUR", rate_bps=2500).amount_minor == 2500
    flat = CompensationPlan(
        "EUR", commission=Commission(CommissionKind.FLAT_PER_CONVERSION, flat_minor=700)
    )
    assert commission_for_order(flat, 10000, "EUR", repeat=True).amount_minor == 700
    assert CompensationPlan.from_dict(plan.to_dict()) == plan
    assert [p.field for p in CompensationPlan("EUR", repeat_order_bps=10001).validate()] == [
        "repeat_order_bps"
    ]
