"""Failure limits in Redis: how many failed attempts (bad API keys, forged postback signatures)
one subject (a client, a key prefix, a brand) may make in a window, across every process.

A fixed window per subject: the first failure creates the counter
`<prefix>:ratelimit:<name>:<subject>`, which expires `window_seconds` later; each failure
increments it. The increment is one Lua script (INCR, then PEXPIRE if the counter has no expiry
yet, so no counter outlives its window), touching one key: every counter is its own key,
spread over a Redis Cluster's slots like any other. A fixed window may let up to twice the limit
through around its end; for failures, where the point is 20 a minute rather than 600, that is
a fair price for one key and one round trip.

Only failures are counted, so a successful request never writes here, and the redirect path
never calls this module at all. The API's bearer-key endpoints use it through
`api.accounts.lockout`, the postbacks for their signatures (`postback_refusal`).

If Redis does not answer, a limit fails open: the caller serves the request as if there were no
limit (and logs a warning). Refusing every request because the limiter's store is down would
turn a Redis outage into an outage of everything.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from starlette.responses import JSONResponse

from tracker.settings import load

log = logging.getLogger("vouch.tracker.ratelimit")

# KEYS: the counter. ARGV: the window in ms. Returns {failures, ms left in the window}.
_FAIL_LUA = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""


@dataclass(frozen=True, slots=True)
class FailureLimit:
    """`limit` failures per subject allowed in `window_seconds`; a limit of 0 is no limit."""

    name: str
    limit: int
    window_seconds: int

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def key(self, prefix: str, subject: str) -> str:
        return f"{prefix}:ratelimit:{self.name}:{subject}"


@dataclass(frozen=True, slots=True)
class Count:
    """A subject's failures in the current window, and the whole seconds until it ends."""

    failures: int
    retry_after: int


def _count(result: Any) -> Count:
    failures, ms = (int(x) for x in result)
    return Count(failures, max(1, math.ceil(ms / 1000)))


def count_failure(client: Any, limit: FailureLimit, key: str) -> Count:
    """Counts one failure (a synchronous client)."""
    return _count(client.eval(_FAIL_LUA, 1, key, limit.window_seconds * 1000))


async def count_failure_async(client: Any, limit: FailureLimit, key: str) -> Count:
    """Counts one failure (an asyncio client)."""
    return _count(await client.eval(_FAIL_LUA, 1, key, limit.window_seconds * 1000))


_UNREAD: Any = object()


def blocked_for(client: Any, limit: FailureLimit, key: str, raw: Any = _UNREAD) -> int | None:
    """Seconds until the subject may try again when it has used up its failures, else None (a
    synchronous client). One GET for a subject within its limit; none when the caller read the
    counter already (`raw`: what its GET answered)."""
    if raw is _UNREAD:
        raw = client.get(key)
    if raw is None or int(raw) < limit.limit:
        return None
    ms = int(client.pttl(key))
    return max(1, math.ceil(ms / 1000)) if ms > 0 else 1


# --- postbacks --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def postback_limit() -> FailureLimit:
    """Bad signatures allowed per brand (POSTBACK_FAILURES_PER_BRAND per POSTBACK_FAILURE_WINDOW),
    read once a process (`postback_limit.cache_clear()` re-reads them)."""
    settings = load()
    return FailureLimit(
        "postback",
        settings.postback_failures_per_brand,
        settings.postback_failure_window_seconds,
    )


async def postback_refusal(client: Any, prefix: str, brand_id: int) -> JSONResponse | None:
    """Counts a postback whose signature does not match for `brand_id`: the 429 to answer once
    the brand's limit is used up in this window, else None (the caller answers 401).

    Only failed signatures count, and a correctly signed postback is never refused here: a
    forger must not be able to lock a brand out of reporting its own orders. What the limit
    does is answer a forger 429 with Retry-After (well-behaved clients back off), and log the
    brand once per window, so that someone can tell the brand."""
    limit = postback_limit()
    if not limit.enabled:
        return None
    try:
        count = await count_failure_async(client, limit, limit.key(prefix, str(brand_id)))
    except Exception:  # Redis failing: fail open, the 401 stands
        log.warning("could not count a forged postback of brand %s", brand_id, exc_info=True)
        return None
    if count.failures == limit.limit:
        log.warning(
            "brand %s: %d postbacks with a bad signature within %d s; further ones are "
            "answered 429 for %d s",
            brand_id,
            count.failures,
            limit.window_seconds,
            count.retry_after,
        )
    if count.failures <= limit.limit:
        return None
    return JSONResponse(
        {
            "error": f"too many postbacks with a bad signature for this brand: retry in "
            f"{count.retry_after} s",
            "field": "Vouch-Signature",
            "retry_after": count.retry_after,
        },
        status_code=429,
        headers={"Retry-After": str(count.retry_after)},
    )
