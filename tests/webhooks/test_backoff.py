"""The retry schedule, giving up and disabling: plain arithmetic (api.webhooks.backoff)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from api.webhooks import backoff

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_delays_double_from_5_seconds_up_to_6_hours():
    delays = [backoff.base_delay(n).total_seconds() for n in range(1, 16)]
    assert delays[:6] == [5, 10, 20, 40, 80, 160]
    assert all(b == min(2 * a, 6 * 3600) for a, b in itertools.pairwise(delays))
    assert delays[-1] == 6 * 3600
    with pytest.raises(ValueError):
        backoff.base_delay(0)


def test_jitter_keeps_a_delay_between_its_half_and_itself():
    d = timedelta(seconds=100)
    assert backoff.jittered(d, lambda: 0.0) == timedelta(seconds=50)
    assert backoff.jittered(d, lambda: 0.5) == timedelta(seconds=75)
    assert backoff.jittered(d, lambda: 0.999) < d


def test_retries_span_three_days_then_give_up():
    """Failing at once every time it is tried, a delivery is tried until 3 days after it was
    made, the last retry exactly at that limit; then it is given up."""
    now, attempt, times = T0, 1, [T0]
    while (due := backoff.next_attempt(T0, attempt, now, draw=lambda: 0.999)) is not None:
        assert due > now
        times.append(due)
        now, attempt = due, attempt + 1
    assert times[-1] == T0 + timedelta(days=3)
    assert 20 <= len(times) <= 30  # 5 s, 10 s, ... then every 6 h
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) <= backoff.MAX_DELAY


def test_retry_after_is_honoured_when_longer_but_capped():
    due = backoff.next_attempt(T0, 1, T0, retry_after=timedelta(seconds=120), draw=lambda: 0)
    assert due == T0 + timedelta(seconds=120)
    due = backoff.next_attempt(T0, 1, T0, retry_after=timedelta(days=9), draw=lambda: 0)
    assert due == T0 + backoff.MAX_DELAY
    assert backoff.parse_retry_after(" 30 ") == timedelta(seconds=30)
    for bad in (None, "soon", "Wed, 21 Oct 2026 07:28:00 GMT", "-5", "١٢", "9" * 12):
        assert backoff.parse_retry_after(bad) is None


def test_an_endpoint_is_disabled_after_a_day_of_failures():
    assert not backoff.should_disable(None, T0)
    assert not backoff.should_disable(T0 - timedelta(hours=23, minutes=59), T0)
    assert backoff.should_disable(T0 - timedelta(days=1), T0)
