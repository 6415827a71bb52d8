"""Bounded in-process maps of the hot path: the link cache and the dedupe window."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlLru(Generic[K, V]):
    """An LRU map whose entries are fresh until their expiry time.

    Entries past it are kept (until the LRU evicts them), so a caller can still use a stale value
    when the source of truth is unreachable.
    """

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: K) -> tuple[float, V] | None:
        """(expires_at, value), fresh or stale; None if absent."""
        entry = self._data.get(key)
        if entry is not None:
            self._data.move_to_end(key)
        return entry

    def put(self, key: K, value: V, expires_at: float) -> None:
        self._data[key] = (expires_at, value)
        self._data.move_to_end(key)
        if len(self._data) > self._size:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()


# What the dedupe window keeps of a first click: (expires_at, click_id), so that a repeat
# reuses the id.
Visit = tuple[float, str]


class DedupeWindow:
    """Remembers the first click of each visitor key for `window` seconds.

    Keys are hashes of (ip, user agent, code). Two generations of plain dicts: new keys go to
    the current one, which becomes the previous one after `window` seconds (or when it holds
    half of `size`), and the previous one is then dropped. An entry is found until its own
    expiry (checked on lookup); one that outlives its generation was expired anyway, unless a
    full map rotated early, as an LRU would have evicted it. Cheaper than an ordered map: no
    per-insert eviction.

    The map is per process, a first level: a repeat that lands on another tracker process is
    found in Redis when its batch is written (`tracker.sink.WRITE_SCRIPT`), and logged as a
    repeat of the first click there.
    """

    def __init__(self, window: float, size: int) -> None:
        self.window = window
        self._half = max(1, size // 2)
        self._current: dict[int, Visit] = {}
        self._previous: dict[int, Visit] = {}
        self._rotate_at = -math.inf

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)

    def seen(self, key: int, now: float) -> Visit | None:
        """The first click of this key if it is less than `window` old."""
        current = self._current
        if now >= self._rotate_at or len(current) >= self._half:
            self._previous, self._current = current, {}
            self._rotate_at = now + self.window
            current = self._current
        visit = current.get(key) or self._previous.get(key)
        if visit is not None and visit[0] > now:
            return visit
        return None

    def remember(self, key: int, visit: Visit) -> None:
        """Records a first click (call after `seen` returned None for the key)."""
        self._current[key] = visit
