"""Audience demographics: validation of the distributions and the follower-weighted blend."""

from __future__ import annotations

from api.domain import demographics as dm


def _check(countries=(), ages=(), genders=(), fake=None):
    return dm.audience(list(countries), list(ages), list(genders), fake)


def test_a_valid_snapshot_passes_with_codes_normalised():
    audience, problems = _check(
        countries=[("fr", 4_000), ("US", 2_500)],
        ages=[("18-24", 3_334), ("AGE_25_34", 3_333), ("35-44", 3_334)],  # 100.01 %: rounding
        genders=[("F", 6_000), ("male", 3_900), ("unknown", 100)],
        fake=1_250,
    )
    assert problems == []
    assert audience.countries == {"FR": 4_000, "US": 2_500}
    assert audience.age_bands == {"18-24": 3_334, "25-34": 3_333, "35-44": 3_334}
    assert audience.genders == {"FEMALE": 6_000, "MALE": 3_900, "OTHER": 100}
    assert audience.fake_share == 1_250


def test_every_problem_is_reported_with_its_path():
    _, problems = _check(
        countries=[("XX", 100), ("FR", -1), ("DE", 100), ("de", 200)],
        ages=[("65+", 5_000), ("18-24", 5_000)],
        genders=[("FEMALE", 12_000)],
        fake=10_001,
    )
    found = {(p.field, p.code) for p in problems}
    assert ("countries[0].country", "INVALID") in found  # not an assigned code
    assert ("countries[1].share", "OUT_OF_RANGE") in found  # negative
    assert ("countries[3].country", "DUPLICATE") in found
    assert ("age_bands[0].band", "INVALID") in found
    assert ("genders[0].share", "OUT_OF_RANGE") in found  # over 100 %
    assert ("fake_share", "OUT_OF_RANGE") in found


def test_sums_over_100_percent_or_incomplete_splits_are_refused():
    _, problems = _check(countries=[("FR", 6_000), ("US", 5_000)])
    assert [(p.field, p.code) for p in problems] == [("countries", "OUT_OF_RANGE")]
    _, problems = _check(ages=[("18-24", 5_000), ("25-34", 4_000)])  # 90 %: not complete
    assert [(p.field, p.code) for p in problems] == [("age_bands", "OUT_OF_RANGE")]
    _, problems = _check(countries=[("FR", 3_000)])  # a top-N list may add up to less
    assert problems == []


def test_blend_is_follower_weighted_per_reporting_account():
    big = dm.Audience(countries={"FR": 10_000}, genders={"FEMALE": 10_000}, fake_share=1_000)
    small = dm.Audience(countries={"US": 10_000}, fake_share=3_000)
    mixed = dm.blend([(90_000, big), (10_000, small)])
    assert mixed.countries == {"FR": 9_000, "US": 1_000}
    assert mixed.genders == {"FEMALE": 10_000}  # only the account that reports genders
    assert mixed.fake_share == 1_200
    assert dm.blend([]) == dm.Audience()
    # no followers anywhere: a plain mean, half-even
    assert dm.blend([(0, small), (0, big)]).fake_share == 2_000
