"""Link lookups: an in-process LRU in front of Redis.

Fresh entries (positive for `cache_ttl_seconds`, negative for `negative_cache_ttl_seconds`)
answer without Redis, so a link deactivated by the API stops redirecting within the TTL.
Concurrent misses on one code share one GET. When Redis fails, a stale entry is served (and
kept for another TTL): a known link keeps redirecting through an outage; an unknown one raises
`Unavailable` (the app answers 503).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from tracker import keys
from tracker.cache import TtlLru
from tracker.events import LinkRecord
from tracker.metrics import Metrics
from tracker.redirect import Target
from tracker.sink import REDIS_ERRORS, RedisHealth

log = logging.getLogger("tracker.links")


class Unavailable(Exception):
    """Redis can't be reached and the code is not cached."""


class LinkResolver:
    def __init__(
        self,
        redis: Any,
        prefix: str,
        metrics: Metrics,
        health: RedisHealth,
        *,
        size: int,
        ttl: float,
        negative_ttl: float,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._metrics = metrics
        self._health = health
        self._ttl = ttl
        self._negative_ttl = min(negative_ttl, ttl)
        self.cache: TtlLru[str, Target | None] = TtlLru(size)
        self._pending: dict[str, asyncio.Future[Target | None]] = {}

    async def resolve(self, code: str) -> Target | None:
        """The target of a (well-formed) code, or None for unknown and deactivated codes."""
        pending = self._pending.get(code)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Target | None] = asyncio.get_running_loop().create_future()
        self._pending[code] = future
        try:
            target = await self._lookup(code)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark it retrieved: nobody else may be waiting
            raise
        else:
            future.set_result(target)
            return target
        finally:
            del self._pending[code]

    async def _lookup(self, code: str) -> Target | None:
        if self._health.up:
            try:
                raw = await self._redis.get(keys.link(self._prefix, code))
            except REDIS_ERRORS as exc:
                self._metrics.redis_errors += 1
                self._health.mark_down(exc, "link lookup")
            else:
                self._metrics.link_lookups += 1
                target = self._parse(code, raw)
                now = time.monotonic()
                self.cache.put(code, target, now + (self._ttl if target else self._negative_ttl))
                return target
        stale = self.cache.get(code)
        if stale is None:
            raise Unavailable(code)
        self.cache.put(code, stale[1], time.monotonic() + self._ttl)
        return stale[1]

    def _parse(self, code: str, raw: bytes | None) -> Target | None:
        if raw is None:
            return None
        try:
            record = LinkRecord.from_json(raw)
            if not record.active:
                return None
            if record.code != code:
                raise ValueError("code differs from the key's")
            return Target.of(record)
        except (ValueError, UnicodeError) as exc:
            log.error("invalid link record in redis", extra={"code": code, "error": str(exc)})
            return None
