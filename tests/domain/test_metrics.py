from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.domain.metrics import (
    DEFAULT_THRESHOLDS,
    AccountEngagement,
    Tier,
    TierThresholds,
    blended_engagement_rate,
    engagement_rate,
    influencer_tier,
    tier_for,
)
from api.domain.problems import ProblemCode


@pytest.mark.parametrize(
    ("followers", "likes", "comments", "expected"),
    [
        (10_000, 300, 47, Decimal("3.47")),
        (1_000_000, 9_000, 500, Decimal("0.95")),
        (3, 1, 0, Decimal("33.33")),
        (8, 1, 0, Decimal("12.50")),
        (800, 1, 0, Decimal("0.12")),  # 0.125 -> 0.12, half-even
        (2_400, 3, 0, Decimal("0.12")),  # 0.125 again
        (1_000, 0, 0, Decimal("0.00")),
        (100, 150, 30, Decimal("180.00")),  # more interactions than followers is possible
        (10_000, Decimal("312.5"), Decimal("40.25"), Decimal("3.53")),
    ],
)
def test_engagement_rate(followers: int, likes: int, comments: int, expected: Decimal) -> None:
    rate = engagement_rate(followers, likes, comments)
    assert rate == expected
    assert rate is not None and rate.as_tuple().exponent == -2


def test_engagement_rate_without_followers_is_none() -> None:
    assert engagement_rate(0, 10, 2) is None


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="avg_likes must not be negative"):
        engagement_rate(100, -1, 0)


def test_blended_rate_is_sum_of_engagements_over_sum_of_followers() -> None:
    accounts = [
        AccountEngagement(followers=1_000_000, avg_likes=10_000, avg_comments=0),  # 1 %
        AccountEngagement(followers=5_000, avg_likes=500, avg_comments=0),  # 10 %
        AccountEngagement(followers=0, avg_likes=50, avg_comments=5),  # no rate: left out
    ]
    # 10,500 / 1,005,000 = 1.0448 %, not the 5.5 % a plain mean of rates would give
    assert blended_engagement_rate(accounts) == Decimal("1.04")


def test_blended_rate_of_nothing_is_none() -> None:
    assert blended_engagement_rate([]) is None
    assert blended_engagement_rate([AccountEngagement(0, 0, 0)]) is None


@given(
    st.lists(
        st.tuples(st.integers(1, 10**9), st.integers(0, 10**7), st.integers(0, 10**6)),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=100)
def test_blended_rate_lies_between_the_account_rates(rows: list[tuple[int, int, int]]) -> None:
    rates = [engagement_rate(*row) for row in rows]
    blended = blended_engagement_rate(AccountEngagement(*row) for row in rows)
    assert blended is not None
    assert (
        min(r for r in rates if r is not None) <= blended <= max(r for r in rates if r is not None)
    )


@pytest.mark.parametrize(
    ("followers", "tier"),
    [
        (0, Tier.UNDER_NANO),
        (999, Tier.UNDER_NANO),
        (1_000, Tier.NANO),
        (9_999, Tier.NANO),
        (10_000, Tier.MICRO),
        (49_999, Tier.MICRO),
        (50_000, Tier.MID),
        (499_999, Tier.MID),
        (500_000, Tier.MACRO),
        (999_999, Tier.MACRO),
        (1_000_000, Tier.MEGA),
        (400_000_000, Tier.MEGA),
    ],
)
def test_default_tier_boundaries(followers: int, tier: Tier) -> None:
    assert tier_for(followers) is tier


def test_custom_thresholds() -> None:
    wide_micro = TierThresholds(micro=10_000, mid=100_000)
    assert tier_for(99_999, wide_micro) is Tier.MICRO
    assert tier_for(100_000, wide_micro) is Tier.MID


def test_influencer_tier_is_the_largest_accounts_tier() -> None:
    assert influencer_tier([9_000, 9_000]) is Tier.NANO  # not MICRO from the 18k total
    assert influencer_tier([2_000, 600_000, 30_000]) is Tier.MACRO
    assert influencer_tier([]) is Tier.UNDER_NANO


def test_negative_followers_have_no_tier() -> None:
    with pytest.raises(ValueError):
        tier_for(-1)


def test_default_thresholds_are_valid_and_round_trip() -> None:
    assert DEFAULT_THRESHOLDS.validate() == []
    data = DEFAULT_THRESHOLDS.to_dict()
    assert data == {
        "nano": 1_000,
        "micro": 10_000,
        "mid": 50_000,
        "macro": 500_000,
        "mega": 1_000_000,
    }
    assert TierThresholds.from_dict(data) == DEFAULT_THRESHOLDS


def test_from_dict_fills_missing_keys_with_defaults() -> None:
    assert TierThresholds.from_dict({"mid": 100_000}) == TierThresholds(mid=100_000)


@pytest.mark.parametrize(
    "data",
    [{"giga": 10**9}, {"nano": "1000"}, {"nano": 1.5}, {"nano": True}],
)
def test_from_dict_refuses_bad_shapes(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TierThresholds.from_dict(data)


def test_thresholds_must_be_positive() -> None:
    problems = TierThresholds(nano=0, micro=-5).validate()
    assert [(p.field, p.code) for p in problems] == [
        ("nano", ProblemCode.OUT_OF_RANGE),
        ("micro", ProblemCode.OUT_OF_RANGE),
    ]


def test_thresholds_must_ascend() -> None:
    problems = TierThresholds(micro=100_000, mid=100_000, macro=90_000).validate()
    assert [(p.field, p.code) for p in problems] == [
        ("mid", ProblemCode.NOT_ASCENDING),
        ("macro", ProblemCode.NOT_ASCENDING),
    ]
    assert problems[0].message == (
        "the mid threshold (100,000) must be above the micro threshold (100,000)"
    )
