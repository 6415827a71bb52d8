from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.domain.commission import (
    INHERIT,
    Bonus,
    Commission,
    CommissionError,
    CommissionKind,
    CompensationPlan,
    GiftedProduct,
    PlanFormatError,
    PlanOverride,
    Tier,
    commission_for_order,
    effective_plan,
    reversal_for_refund,
    tier_index_for,
)
from api.domain.problems import ProblemCode

K = CommissionKind
TIERED = Commission(
    K.TIERED,
    tiers=(Tier(0, 500), Tier(100_000, 750), Tier(500_000, 1_000)),
)


def plan(commission: Commission = TIERED, **kwargs: Any) -> CompensationPlan:
    return CompensationPlan(currency="EUR", commission=commission, **kwargs)


def problems_of(p: CompensationPlan) -> list[tuple[str, ProblemCode]]:
    return [(problem.field, problem.code) for problem in p.validate()]


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "commission",
    [
        Commission(),
        Commission(K.PERCENT, bps=0),
        Commission(K.PERCENT, bps=10_000),
        Commission(K.FLAT_PER_CONVERSION, flat_minor=500),
        TIERED,
        Commission(K.TIERED, tiers=(Tier(0, 1_000),)),
    ],
)
def test_valid_plans(commission: Commission) -> None:
    full = plan(
        commission,
        flat_fee_per_deliverable_minor=50_000,
        gifted_product=GiftedProduct("Trail shoes, size 42", 12_000),
        bonus=Bonus(20_000, "50 sales in June"),
    )
    assert full.validate() == []


def test_currency_is_upper_cased_and_must_be_known() -> None:
    assert CompensationPlan(currency=" eur ").currency == "EUR"
    assert problems_of(CompensationPlan(currency="EURO")) == [
        ("currency", ProblemCode.UNKNOWN_CURRENCY)
    ]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"flat_fee_per_deliverable_minor": -1},
            [("flat_fee_per_deliverable_minor", ProblemCode.NEGATIVE)],
        ),
        (
            {"flat_fee_per_deliverable_minor": 10**15},
            [("flat_fee_per_deliverable_minor", ProblemCode.OUT_OF_RANGE)],
        ),
        (
            {"flat_fee_per_deliverable_minor": True},
            [("flat_fee_per_deliverable_minor", ProblemCode.INVALID)],
        ),
        (
            {"gifted_product": GiftedProduct(" ", -5)},
            [
                ("gifted_product.description", ProblemCode.REQUIRED),
                ("gifted_product.value_minor", ProblemCode.NEGATIVE),
            ],
        ),
        ({"gifted_product": GiftedProduct("Serum")}, []),  # value is optional
        (
            {"bonus": Bonus(-100, "")},
            [
                ("bonus.amount_minor", ProblemCode.NEGATIVE),
                ("bonus.description", ProblemCode.REQUIRED),
            ],
        ),
    ],
)
def test_money_fields(kwargs: dict[str, Any], expected: list[tuple[str, ProblemCode]]) -> None:
    assert problems_of(plan(Commission(), **kwargs)) == expected


@pytest.mark.parametrize(
    ("commission", "expected"),
    [
        (Commission(K.PERCENT), [("commission.bps", ProblemCode.REQUIRED)]),
        (Commission(K.PERCENT, bps=-1), [("commission.bps", ProblemCode.OUT_OF_RANGE)]),
        (Commission(K.PERCENT, bps=10_001), [("commission.bps", ProblemCode.OUT_OF_RANGE)]),
        (
            Commission(K.PERCENT, bps=500, flat_minor=100),
            [("commission.flat_minor", ProblemCode.NOT_ALLOWED)],
        ),
        (
            Commission(K.NONE, bps=500, tiers=(Tier(0, 1),)),
            [
                ("commission.bps", ProblemCode.NOT_ALLOWED),
                ("commission.tiers", ProblemCode.NOT_ALLOWED),
            ],
        ),
        (
            Commission(K.FLAT_PER_CONVERSION),
            [("commission.flat_minor", ProblemCode.REQUIRED)],
        ),
        (
            Commission(K.FLAT_PER_CONVERSION, flat_minor=-10),
            [("commission.flat_minor", ProblemCode.NEGATIVE)],
        ),
        (Commission(K.TIERED), [("commission.tiers", ProblemCode.REQUIRED)]),
        (
            Commission(K.TIERED, bps=100, tiers=(Tier(0, 100),)),
            [("commission.bps", ProblemCode.NOT_ALLOWED)],
        ),
        (
            Commission(K.TIERED, tiers=(Tier(100, 500),)),
            [("commission.tiers[0].min_monthly_revenue_minor", ProblemCode.INVALID)],
        ),
        (
            Commission(K.TIERED, tiers=(Tier(0, 500), Tier(1_000, 600), Tier(1_000, 700))),
            [("commission.tiers[2].min_monthly_revenue_minor", ProblemCode.DUPLICATE)],
        ),
        (
            Commission(K.TIERED, tiers=(Tier(0, 500), Tier(5_000, 600), Tier(1_000, 700))),
            [("commission.tiers[2].min_monthly_revenue_minor", ProblemCode.NOT_ASCENDING)],
        ),
        (
            Commission(K.TIERED, tiers=(Tier(0, 500), Tier(-5, 10_001))),
            [
                ("commission.tiers[1].min_monthly_revenue_minor", ProblemCode.NEGATIVE),
                ("commission.tiers[1].bps", ProblemCode.OUT_OF_RANGE),
            ],
        ),
        (
            Commission("BOGUS"),  # type: ignore[arg-type]
            [("commission.kind", ProblemCode.INVALID)],
        ),
    ],
)
def test_commission_rules(commission: Commission, expected: list[tuple[str, ProblemCode]]) -> None:
    assert problems_of(plan(commission)) == expected


def test_problem_messages_are_plain_words() -> None:
    p = plan(Commission(K.PERCENT, bps=12_000))
    assert p.validate()[0].message == (
        "must be between 0 and 10000 basis points (0-100 %), got 12000"
    )


def test_kind_given_as_stored_string_is_the_enum() -> None:
    assert Commission("PERCENT", bps=10).kind is K.PERCENT  # type: ignore[arg-type]


# --- JSON -------------------------------------------------------------------------------------


def test_plan_json_shape() -> None:
    p = plan(
        TIERED,
        flat_fee_per_deliverable_minor=50_000,
        gifted_product=GiftedProduct("Trail shoes"),
        bonus=Bonus(20_000, "50 sales in June"),
    )
    data = p.to_dict()
    assert data == {
        "currency": "EUR",
        "flat_fee_per_deliverable_minor": 50_000,
        "commission": {
            "kind": "TIERED",
            "tiers": [
                {"min_monthly_revenue_minor": 0, "bps": 500},
                {"min_monthly_revenue_minor": 100_000, "bps": 750},
                {"min_monthly_revenue_minor": 500_000, "bps": 1_000},
            ],
        },
        "gifted_product": {"description": "Trail shoes"},
        "bonus": {"amount_minor": 20_000, "description": "50 sales in June"},
    }
    assert CompensationPlan.from_dict(data) == p
    assert CompensationPlan.from_dict({"currency": "USD"}) == CompensationPlan(currency="USD")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"currency": "EUR", "comission": {}}, "unknown key"),
        ({"currency": 978}, "currency must be a string"),
        ({"currency": "EUR", "commission": {"kind": "CPA"}}, "unknown kind"),
        (
            {"currency": "EUR", "commission": {"kind": "PERCENT", "bps": "10"}},
            "bps must be an integer",
        ),
        ({"currency": "EUR", "commission": {"kind": "TIERED", "tiers": {}}}, "must be a list"),
        ({"currency": "EUR", "bonus": {"amount_minor": 1.5, "description": "x"}}, "integer"),
        ({"currency": "EUR", "gifted_product": "shoes"}, "must be an object"),
    ],
)
def test_plan_json_of_the_wrong_shape(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanFormatError, match=message):
        CompensationPlan.from_dict(data)


money = st.integers(0, 10**9)
bps = st.integers(0, 10_000)


@st.composite
def tier_lists(draw: st.DrawFn) -> tuple[Tier, ...]:
    thresholds = sorted(draw(st.sets(st.integers(1, 10**8), max_size=4)))
    return tuple(Tier(t, draw(bps)) for t in [0, *thresholds])


commissions = st.one_of(
    st.just(Commission()),
    st.builds(Commission, st.just(K.PERCENT), bps=bps),
    st.builds(Commission, st.just(K.FLAT_PER_CONVERSION), flat_minor=money),
    st.builds(Commission, st.just(K.TIERED), tiers=tier_lists()),
)
plans = st.builds(
    CompensationPlan,
    currency=st.sampled_from(["EUR", "USD", "JPY", "KWD"]),
    flat_fee_per_deliverable_minor=st.none() | money,
    commission=commissions,
    gifted_product=st.none() | st.builds(GiftedProduct, st.text(min_size=1), st.none() | money),
    bonus=st.none() | st.builds(Bonus, money, st.text(min_size=1)),
)


@given(plans)
@settings(max_examples=100)
def test_plan_json_round_trip(p: CompensationPlan) -> None:
    assert CompensationPlan.from_dict(p.to_dict()) == p


# --- overrides --------------------------------------------------------------------------------

CAMPAIGN = plan(
    Commission(K.PERCENT, bps=1_000),
    flat_fee_per_deliverable_minor=50_000,
    gifted_product=GiftedProduct("Trail shoes", 12_000),
    bonus=Bonus(20_000, "50 sales in June"),
)


def test_no_override_is_the_campaign_plan() -> None:
    assert effective_plan(CAMPAIGN, None) is CAMPAIGN
    assert effective_plan(CAMPAIGN, PlanOverride()) == CAMPAIGN


def test_override_replaces_only_the_fields_it_sets() -> None:
    override = PlanOverride(commission=Commission(K.PERCENT, bps=1_500), bonus=None)
    merged = effective_plan(CAMPAIGN, override)
    assert merged == plan(
        Commission(K.PERCENT, bps=1_500),
        flat_fee_per_deliverable_minor=50_000,
        gifted_product=GiftedProduct("Trail shoes", 12_000),
        bonus=None,
    )


def test_override_commission_is_replaced_as_a_whole() -> None:
    merged = effective_plan(CAMPAIGN, PlanOverride(commission=TIERED))
    assert merged.commission == TIERED and merged.validate() == []


def test_override_in_the_same_currency_any_case_still_merges() -> None:
    merged = effective_plan(
        CAMPAIGN, PlanOverride(currency="eur", flat_fee_per_deliverable_minor=None)
    )
    assert merged.flat_fee_per_deliverable_minor is None
    assert merged.commission == CAMPAIGN.commission


def test_override_in_another_currency_inherits_no_amounts() -> None:
    override = PlanOverride(
        currency="USD", commission=Commission(K.FLAT_PER_CONVERSION, flat_minor=700)
    )
    assert effective_plan(CAMPAIGN, override) == CompensationPlan(
        currency="USD", commission=Commission(K.FLAT_PER_CONVERSION, flat_minor=700)
    )


def test_override_json_distinguishes_inherit_from_cleared() -> None:
    override = PlanOverride(flat_fee_per_deliverable_minor=None, commission=TIERED)
    data = override.to_dict()
    assert data == {
        "flat_fee_per_deliverable_minor": None,
        "commission": {
            "kind": "TIERED",
            "tiers": [
                {"min_monthly_revenue_minor": 0, "bps": 500},
                {"min_monthly_revenue_minor": 100_000, "bps": 750},
                {"min_monthly_revenue_minor": 500_000, "bps": 1_000},
            ],
        },
    }
    assert "bonus" not in data and "currency" not in data
    back = PlanOverride.from_dict(data)
    assert back == override
    assert back.bonus is INHERIT and back.flat_fee_per_deliverable_minor is None


overrides = st.builds(
    PlanOverride,
    currency=st.just(INHERIT) | st.sampled_from(["EUR", "USD"]),
    flat_fee_per_deliverable_minor=st.just(INHERIT) | st.none() | money,
    commission=st.just(INHERIT) | commissions,
    gifted_product=st.just(INHERIT) | st.none() | st.builds(GiftedProduct, st.text(min_size=1)),
    bonus=st.just(INHERIT) | st.none() | st.builds(Bonus, money, st.text(min_size=1)),
)


@given(overrides)
@settings(max_examples=100)
def test_override_json_round_trip(o: PlanOverride) -> None:
    assert PlanOverride.from_dict(o.to_dict()) == o


# --- commission per order ---------------------------------------------------------------------


def test_percent_rounds_half_even_once() -> None:
    one_bp = plan(Commission(K.PERCENT, bps=1))
    assert commission_for_order(one_bp, 5_000, "EUR").amount_minor == 0  # 0.5 -> 0
    assert commission_for_order(one_bp, 15_000, "EUR").amount_minor == 2  # 1.5 -> 2
    quote = commission_for_order(plan(Commission(K.PERCENT, bps=1_250)), 4_990, "eur")
    assert (quote.amount_minor, quote.bps_applied, quote.tier_index) == (624, 1_250, None)
    assert quote.explanation == "12.5% of 49.90 EUR = 6.24 EUR"  # 623.75 -> 624
    assert quote.currency == "EUR"


def test_flat_per_conversion_ignores_the_order_amount() -> None:
    quote = commission_for_order(plan(Commission(K.FLAT_PER_CONVERSION, flat_minor=500)), 0, "EUR")
    assert (quote.amount_minor, quote.bps_applied, quote.tier_index) == (500, None, None)
    assert quote.explanation == "flat 5.00 EUR per conversion (order 0.00 EUR)"


def test_no_commission() -> None:
    quote = commission_for_order(plan(Commission()), 10_000, "EUR")
    assert quote.amount_minor == 0 and quote.explanation == "the plan pays no commission on orders"


@pytest.mark.parametrize(
    ("before", "amount", "tier", "commission"),
    [
        (0, 10_000, 0, 500),
        (90_000, 9_999, 0, 500),  # 99,999: one short of tier 2
        (90_000, 10_000, 1, 750),  # exactly 100,000: the whole order at 7.5 %
        (100_000, 10_000, 1, 750),
        (499_000, 1_000, 2, 100),
        (0, 600_000, 2, 60_000),  # one big order jumps straight to the top tier
    ],
)
def test_tiered_uses_the_tier_reached_by_this_order(
    before: int, amount: int, tier: int, commission: int
) -> None:
    quote = commission_for_order(plan(TIERED), amount, "EUR", before)
    assert (quote.tier_index, quote.amount_minor) == (tier, commission)
    assert quote.bps_applied == TIERED.tiers[tier].bps


def test_tiered_explanation() -> None:
    quote = commission_for_order(plan(TIERED), 10_000, "EUR", 95_000)
    assert quote.explanation == (
        "tier 2 of 3 (monthly revenue from 1000.00 EUR; 1050.00 EUR this month with this order): "
        "7.5% of 100.00 EUR = 7.50 EUR"
    )


def test_currency_mismatch_is_an_error_for_the_worker() -> None:
    with pytest.raises(
        CommissionError, match="order is in USD but the compensation plan pays in EUR"
    ) as err:
        commission_for_order(plan(), 1_000, "usd")
    assert err.value.code == "CURRENCY_MISMATCH"
    with pytest.raises(CommissionError) as err:
        commission_for_order(plan(), 1_000, "DOLLARS")
    assert err.value.code == "UNKNOWN_CURRENCY"


def test_invalid_plan_or_amounts_are_errors() -> None:
    with pytest.raises(
        CommissionError, match=r"commission\.bps: PERCENT commissions need bps"
    ) as err:
        commission_for_order(plan(Commission(K.PERCENT)), 1_000, "EUR")
    assert err.value.code == "INVALID_PLAN"
    with pytest.raises(CommissionError) as err:
        commission_for_order(plan(), -1, "EUR")
    assert err.value.code == "INVALID_AMOUNT"
    with pytest.raises(CommissionError):
        commission_for_order(plan(), 1, "EUR", -5)


# --- refunds ----------------------------------------------------------------------------------


def test_partial_refunds_reverse_cumulatively() -> None:
    # 999 commission on a 10,000 order refunded in three thirds: 333 + 333 + 333 = 999
    assert reversal_for_refund(999, 10_000, 0, 3_333, 0) == 333  # 332.97
    assert reversal_for_refund(999, 10_000, 3_333, 3_333, 333) == 333  # 665.93 -> 666
    assert reversal_for_refund(999, 10_000, 6_666, 3_334, 666) == 333  # exactly 999


def test_half_even_rounding_is_corrected_by_the_next_refund() -> None:
    # commission 1 on an order of 2: half of it is 0.5 -> 0, the rest reverses the whole 1
    assert reversal_for_refund(1, 2, 0, 1, 0) == 0
    assert reversal_for_refund(1, 2, 1, 1, 0) == 1


def test_refund_larger_than_what_is_left_is_refused() -> None:
    with pytest.raises(CommissionError, match="exceeds the 4000 left to refund") as err:
        reversal_for_refund(500, 10_000, 6_000, 4_001, 300)
    assert err.value.code == "REFUND_EXCEEDS_ORDER"


def test_inconsistent_history_is_refused() -> None:
    with pytest.raises(CommissionError) as err:
        reversal_for_refund(500, 10_000, 1_000, 1_000, 400)
    assert err.value.code == "INCONSISTENT_REVERSAL"
    with pytest.raises(CommissionError) as err:
        reversal_for_refund(500, 10_000, 0, -1, 0)
    assert err.value.code == "INVALID_AMOUNT"


def test_zero_order_has_nothing_to_reverse() -> None:
    assert reversal_for_refund(500, 0, 0, 0, 0) == 0


# --- properties -------------------------------------------------------------------------------


@st.composite
def refund_sequences(draw: st.DrawFn, order: int) -> list[int]:
    """Positive refunds summing to the whole order (a full refund in pieces)."""
    cuts = sorted(draw(st.sets(st.integers(1, order - 1), max_size=8))) if order > 1 else []
    bounds = [0, *cuts, order]
    return [b - a for a, b in pairwise(bounds)]


earning_commissions = st.one_of(
    st.builds(Commission, st.just(K.PERCENT), bps=bps),
    st.builds(Commission, st.just(K.FLAT_PER_CONVERSION), flat_minor=st.integers(0, 10**6)),
    st.builds(Commission, st.just(K.TIERED), tiers=tier_lists()),
)


def allowance(commission: Commission, quote_bps: int | None, order: int, net: int) -> Fraction:
    """What the plan pays, unrounded, on the net amount of an order."""
    if commission.kind is K.FLAT_PER_CONVERSION:
        assert commission.flat_minor is not None
        return Fraction(commission.flat_minor * net, order)
    assert quote_bps is not None
    return Fraction(quote_bps * net, 10_000)


@given(
    commission=earning_commissions,
    order=st.integers(1, 10**9),
    before=st.integers(0, 10**9),
    data=st.data(),
)
@settings(max_examples=200)
def test_net_commission_stays_within_the_plan(
    commission: Commission, order: int, before: int, data: st.DataObject
) -> None:
    """After every refund the net commission is >= 0 and at most the plan's rate on the net
    order amount. The commission was rounded once (<= 1/2 unit) and the cumulative reversal once
    more (<= 1/2 unit), so the net stays within half a unit of the commission's share of the net
    amount, and strictly less than one unit above the plan's exact rate."""
    quote = commission_for_order(plan(commission), order, "EUR", before)
    c = quote.amount_minor
    refunds = data.draw(refund_sequences(order))
    if data.draw(st.booleans()):
        refunds = refunds[:-1]  # a partial refund only
    refunded = reversed_ = 0
    for refund in refunds:
        reversal = reversal_for_refund(c, order, refunded, refund, reversed_)
        assert reversal >= 0
        refunded += refund
        reversed_ += reversal
        net = c - reversed_
        net_amount = order - refunded
        assert net >= 0
        assert abs(net - Fraction(c * net_amount, order)) <= Fraction(1, 2)
        assert net - allowance(commission, quote.bps_applied, order, net_amount) < 1


@given(commission=earning_commissions, order=st.integers(1, 10**9), data=st.data())
@settings(max_examples=200)
def test_any_full_refund_sequence_reverses_exactly_the_commission(
    commission: Commission, order: int, data: st.DataObject
) -> None:
    c = commission_for_order(plan(commission), order, "EUR").amount_minor
    refunded = reversed_ = 0
    for refund in data.draw(refund_sequences(order)):
        reversed_ += reversal_for_refund(c, order, refunded, refund, reversed_)
        refunded += refund
    assert refunded == order
    assert reversed_ == c
    with pytest.raises(CommissionError):
        reversal_for_refund(c, order, refunded, 1, reversed_)


@given(tiers=tier_lists(), data=st.data())
@settings(max_examples=200)
def test_tier_boundaries_are_exact(tiers: tuple[Tier, ...], data: st.DataObject) -> None:
    p = plan(Commission(K.TIERED, tiers=tiers))
    index = data.draw(st.integers(0, len(tiers) - 1))
    threshold = tiers[index].min_monthly_revenue_minor
    amount = data.draw(st.integers(1, 10**6))
    before = data.draw(st.integers(0, 10**9))
    if threshold >= amount:
        # this order brings the month exactly to the threshold: the whole order gets the tier
        reaching = commission_for_order(p, amount, "EUR", threshold - amount)
        assert reaching.tier_index == index
        assert reaching.amount_minor == round(Decimal(amount * tiers[index].bps) / 10_000)
        if index > 0 and threshold - amount - 1 >= 0:
            short = commission_for_order(p, amount, "EUR", threshold - amount - 1)
            assert short.tier_index == index - 1
    assert tier_index_for(tiers, before) == max(
        i for i, t in enumerate(tiers) if t.min_monthly_revenue_minor <= before
    )
