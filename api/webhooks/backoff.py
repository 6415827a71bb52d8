"""When a failed webhook delivery is tried again, when it is given up, and when its endpoint is
disabled: plain arithmetic, tested on its own.

- Retries back off exponentially from FIRST_RETRY (5 s, 10 s, 20 s, ... doubling), each capped
  at MAX_DELAY (6 h), with jitter: a delay d becomes a time drawn evenly from [d/2, d), so
  endpoints that failed together are not all retried in the same second. A `Retry-After` the
  receiver sent (429, 503) is honoured when longer, up to MAX_DELAY.
- A delivery is tried for up to GIVE_UP_AFTER (3 days) from its creation: the last retry is
  placed at that limit at the latest, after which it is FAILED.
- An endpoint whose attempts have all failed for DISABLE_AFTER (1 day, counted from the first
  failure after its last success) is disabled; any success resets the count.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

FIRST_RETRY: Final = timedelta(seconds=5)
MAX_DELAY: Final = timedelta(hours=6)
GIVE_UP_AFTER: Final = timedelta(days=3)
DISABLE_AFTER: Final = timedelta(days=1)


def base_delay(attempt: int) -> timedelta:
    """The delay before retry number `attempt` + 1, after `attempt` (1, 2, ...) failed,
    without jitter."""
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    seconds = FIRST_RETRY.total_seconds() * 2 ** min(attempt - 1, 40)
    return min(timedelta(seconds=seconds), MAX_DELAY)


def jittered(delay: timedelta, draw: Callable[[], float] = random.random) -> timedelta:
    """`delay` moved to a time in [delay/2, delay): `draw()` is in [0, 1)."""
    return delay / 2 + delay / 2 * draw()


def next_attempt(
    created_at: datetime,
    attempt: int,
    now: datetime,
    *,
    retry_after: timedelta | None = None,
    draw: Callable[[], float] = random.random,
) -> datetime | None:
    """When to try a delivery created at `created_at` again after its attempt number `attempt`
    failed at `now`, or None to give up (GIVE_UP_AFTER has passed)."""
    deadline = created_at + GIVE_UP_AFTER
    if now >= deadline:
        return None
    delay = jittered(base_delay(attempt), draw)
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, MAX_DELAY)
    return min(now + delay, deadline)


def should_disable(failing_since: datetime | None, now: datetime) -> bool:
    """Whether an endpoint failing since `failing_since` (None: its last attempt succeeded) has
    failed long enough to be disabled."""
    return failing_since is not None and now - failing_since >= DISABLE_AFTER


def parse_retry_after(value: str | None) -> timedelta | None:
    """A `Retry-After` header in seconds (the HTTP-date form is ignored: a clock of the
    receiver's is no reason to wait)."""
    if value is None:
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    return timedelta(seconds=int(text))
