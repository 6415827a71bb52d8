"""Report buckets in a time zone: boundaries, DST, zero-filling, limits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from api.domain.buckets import MAX_BUCKETS, BucketError, Granularity, buckets, floor, fold, zone

BERLIN = zone("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_berlin_day_is_23_hours_when_summer_time_starts_and_25_when_it_ends():
    # 2026-03-29: clocks go 02:00 -> 03:00; 2026-10-25: 03:00 -> 02:00.
    spring = buckets(utc(2026, 3, 28, 12), utc(2026, 3, 30, 12), Granularity.DAY, BERLIN)
    assert [b.hours for b in spring] == [24, 23, 24]
    assert spring[1].start == utc(2026, 3, 28, 23)  # midnight CET
    assert spring[1].end == utc(2026, 3, 29, 22)  # midnight CEST
    autumn = buckets(utc(2026, 10, 25, 0), utc(2026, 10, 25, 12), Granularity.DAY, BERLIN)
    assert [(b.start, b.hours) for b in autumn] == [(utc(2026, 10, 24, 22), 25)]


def test_weeks_start_on_monday_and_months_on_the_first_local_midnight():
    week = floor(utc(2026, 12, 3, 12), Granularity.WEEK, BERLIN)  # a Thursday
    assert week == utc(2026, 11, 29, 23)  # Monday 30 November, 00:00 in Berlin
    months = buckets(utc(2026, 1, 15), utc(2026, 4, 2), Granularity.MONTH, BERLIN)
    assert [b.start for b in months] == [
        utc(2025, 12, 31, 23),
        utc(2026, 1, 31, 23),
        utc(2026, 2, 28, 23),
        utc(2026, 3, 31, 22),  # April starts in summer time
    ]
    assert months[-1].end == utc(2026, 4, 30, 22)


def test_hours_are_rollup_hours_and_the_range_is_rounded_out():
    hours = buckets(utc(2026, 1, 1, 10, 30), utc(2026, 1, 1, 12, 1), Granularity.HOUR, UTC)
    assert [b.start.hour for b in hours] == [10, 11, 12]
    exact = buckets(utc(2026, 1, 1, 10), utc(2026, 1, 1, 12), Granularity.HOUR, BERLIN)
    assert len(exact) == 2


def test_fold_zero_fills_and_sums_hours_into_their_local_day():
    days = buckets(utc(2026, 3, 28), utc(2026, 3, 31), Granularity.DAY, BERLIN)
    hourly = [
        (utc(2026, 3, 28, 22), 1),  # 23:00 in Berlin: 28 March
        (utc(2026, 3, 28, 23), 10),  # 00:00 in Berlin: 29 March
        (utc(2026, 3, 29, 21), 100),  # 23:00 CEST: still 29 March
        (utc(2026, 3, 29, 22), 1000),  # 00:00 CEST: 30 March
        (utc(2026, 4, 5), 99999),  # outside: left out
        (utc(2020, 1, 1), 99999),
    ]
    totals = fold(days, hourly, int, lambda a, b: a + b)
    assert [b.start.date().isoformat() for b in days] == [
        "2026-03-27",
        "2026-03-28",
        "2026-03-29",
        "2026-03-30",
    ]
    assert totals == [1, 110, 1000, 0]


def test_limits_and_bad_zones():
    with pytest.raises(BucketError, match="more than 1000 hour buckets"):
        buckets(utc(2026, 1, 1), utc(2026, 3, 1), Granularity.HOUR, UTC)
    assert (
        len(
            buckets(
                utc(2026, 1, 1),
                utc(2026, 1, 1) + timedelta(hours=MAX_BUCKETS),
                Granularity.HOUR,
                UTC,
            )
        )
        == MAX_BUCKETS
    )
    with pytest.raises(BucketError, match="after"):
        buckets(utc(2026, 1, 2), utc(2026, 1, 1), Granularity.DAY, UTC)
    for name in ("Mars/Olympus", "", "../etc/passwd", "/etc/localtime", "Europe/Berlin\n"):
        with pytest.raises(BucketError, match="unknown time zone"):
            zone(name)
    assert zone("America/Sao_Paulo").key == "America/Sao_Paulo"


def test_a_midnight_that_does_not_exist():
    # America/Santiago skips 00:00 -> 01:00 when summer time starts (2026-09-06).
    santiago = zone("America/Santiago")
    days = buckets(utc(2026, 9, 5, 12), utc(2026, 9, 7, 12), Granularity.DAY, santiago)
    assert all(a.end == b.start for a, b in itertools.pairwise(days))
    assert sorted({b.hours for b in days}) == [23, 24]
