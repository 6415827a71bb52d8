"""The derived figures of post results (api.domain.post_metrics), computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from api.domain import post_metrics as pm
from api.domain.post_metrics import Counts


def test_engagements_sum_the_reported_interactions_only():
    assert pm.engagements(Counts(likes=10, comments=2, shares=3, saves=5)) == 20
    assert pm.engagements(Counts(likes=10, saves=1)) == 11
    assert pm.engagements(Counts(impressions=100)) is None
    assert pm.engagements(Counts(likes=0)) == 0


def test_percent_is_two_places_half_even_and_none_when_undefined():
    assert pm.percent(1, 8) == Decimal("12.50")
    assert pm.percent(1, 3) == Decimal("33.33")
    assert pm.percent(1, 16) == Decimal("6.25")
    assert pm.percent(1, 1600) == Decimal("0.06")  # 0.0625 -> 0.06 (half-even)
    assert pm.percent(3, 1600) == Decimal("0.19")  # 0.1875 -> 0.19
    assert pm.percent(5, 0) is None
    assert pm.percent(None, 10) is None
    assert pm.percent(5, None) is None


def test_cost_figures_are_integer_minor_units_half_even():
    figures = pm.cost_figures(
        10_000, impressions=40_000, engagements=800, views=3, link_clicks=0, conversions=4
    )
    assert figures.cpm == 250  # 10000 x 1000 / 40000
    assert figures.cpe == 12  # 12.5 -> 12 (half-even)
    assert figures.cpv == 3333
    assert figures.cost_per_click is None  # no division by zero
    assert figures.cost_per_conversion == 2500
    assert all(isinstance(v, int) for v in (figures.cpm, figures.cpe, figures.cpv))
    assert pm.per(15, 10) == 2  # 1.5 -> 2
    assert pm.per(25, 10) == 2  # 2.5 -> 2
    assert pm.per(None, 10) is None
    assert pm.cost_figures(None, impressions=1, engagements=1, views=1, link_clicks=1).cpm is None


@pytest.mark.parametrize(("total", "parts"), [(100, 3), (7, 7), (5, 8), (0, 2), (1_000_001, 4)])
def test_split_evenly_adds_up_and_gives_the_remainder_to_the_first(total, parts):
    shares = pm.split_evenly(total, parts)
    assert sum(shares) == total and len(shares) == parts
    assert max(shares) - min(shares) <= 1
    assert shares == sorted(shares, reverse=True)


def test_split_evenly_of_nothing():
    assert pm.split_evenly(100, 0) == []
    assert pm.split_evenly(100, 3) == [34, 33, 33]


def test_validate_refuses_negative_absurd_counters_and_reach_above_impressions():
    problems = pm.validate(Counts(likes=-1, views=pm.MAX_COUNTER + 1, impressions=10, reach=11))
    assert {(p.field, p.code) for p in problems} == {
        ("likes", "NEGATIVE"),
        ("views", "OUT_OF_RANGE"),
        ("reach", "OUT_OF_RANGE"),
    }
    assert pm.validate(Counts(impressions=10, reach=10, likes=0)) == []
    assert pm.validate(Counts(reach=10)) == []  # impressions unknown: nothing to compare


def test_regressions_compare_known_counters_only():
    at = datetime(2026, 12, 1, tzinfo=UTC)
    earlier = Counts(likes=10, views=100, saves=None)
    later = Counts(likes=9, views=None, saves=4)
    [problem] = pm.regressions(earlier, later, f" (snapshot of {at.isoformat()})")
    assert problem.field == "likes" and problem.code == "REGRESSION"
    assert "2026-12-01" in problem.message
    assert pm.regressions(None, later) == []
    assert pm.regressions(earlier, Counts(likes=10, views=100)) == []


def test_totals_divide_rates_over_deliverables_that_reported_both_counters():
    totals = pm.total(
        [
            (Counts(impressions=1000, reach=800, likes=70, comments=10, link_clicks=20), 4000),
            (Counts(impressions=500, likes=30), None),  # no reach, no followers, no clicks
        ]
    )
    assert totals.deliverables == 2
    assert (totals.impressions, totals.reach, totals.engagements) == (1500, 800, 110)
    assert totals.views is None  # nobody reported views
    assert totals.engagement_rate == Decimal("10.00")  # 80 / 800, not 110 / 800
    assert totals.engagement_rate_by_followers == Decimal("2.00")  # 80 / 4000
    assert totals.ctr == Decimal("2.00")  # 20 / 1000, not 20 / 1500
    empty = pm.total([])
    assert empty.impressions is None and empty.engagement_rate is None and empty.ctr is None
