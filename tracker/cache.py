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

    Keys are hashes of (ip, user agent, code). The map is per process: behind a load balancer
    with several tracker processes, a repeat may land on another process and be logged as a
    new unique click. Entries expire in insertion order (the window is constant), and the
    oldest are dropped first when the map is full.
    """

    def __init__(self, window: float, size: int) -> None:
        self._window = window
        self._size = max(1, size)
        self._data: OrderedDict[int, tuple[float, str]] = OrderedDict()
        self._oldest = math.inf  # expiry of the first (oldest) entry

    def __len__(self) -> int:
        return len(self._data)

    def first_click(self, key: int, click_id: str, now: float) -> str | None:
        """The click id of an earlier click of this key within the window; else records
        `click_id` as the first and returns None."""
        data = self._data
        entry = data.get(key)
        if entry is not None:
            if entry[0] > now:
                return entry[1]
            del data[key]
        data[key] = (now + self._window, click_id)
        if len(data) > self._size or self._oldest <= now:
            # Drop a couple of expired or surplus entries from the old end: amortised O(1).
            for _ in range(2):
                expires = next(iter(data.values()))[0]
                if expires > now and len(data) <= self._size:
                    break
                data.popitem(last=False)
            self._oldest = next(iter(data.values()))[0] if data else math.inf
        elif len(data) == 1:
            self._oldest = now + self._window
        return None
