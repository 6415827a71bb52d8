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


class DedupeWindow:
    """Remembers the first click id of each visitor key for `window` seconds.

    Keys are hashes of (ip, user agent, code). Two generations of plain dicts: new keys go to
    the current one, which becomes the previous one after `window` seconds (or when it holds
    half of `size`), and the previous one is then dropped. An entry is found until its own
    expiry (checked on lookup); one that outlives its generation was expired anyway, unless a
    full map rotated early, as an LRU would have evicted it. Cheaper than an ordered map: no
    per-insert eviction.

    The map is per process: behind a load balancer with several tracker processes, a repeat
    may land on another process and be logged as a new unique click.
    """

    def __init__(self, window: float, size: int) -> None:
        self._window = window
        self._half = max(1, size // 2)
        self._current: dict[int, tuple[float, str]] = {}
        self._previous: dict[int, tuple[float, str]] = {}
        self._rotate_at = -math.inf

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)

    def first_click(self, key: int, click_id: str, now: float) -> str | None:
        """The click id of an earlier click of this key within the window; else records
        `click_id` as the first and returns None."""
        current = self._current
        if now >= self._rotate_at or len(current) >= self._half:
            self._previous, self._current = current, {}
            self._rotate_at = now + self._window
            current = self._current
        entry = current.get(key) or self._previous.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        current[key] = (now + self._window, click_id)
        return None
