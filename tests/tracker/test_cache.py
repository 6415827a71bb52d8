from __future__ import annotations

from tracker.cache import DedupeWindow, TtlLru


def test_lru_evicts_the_least_recently_used_and_keeps_stale_entries() -> None:
    cache: TtlLru[str, int | None] = TtlLru(2)
    cache.put("a", 1, expires_at=10)
    cache.put("b", None, expires_at=10)
    assert cache.get("a") == (10, 1)  # a is now the most recent
    cache.put("c", 3, expires_at=10)
    assert cache.get("b") is None
    assert cache.get("a") == (10, 1) and cache.get("c") == (10, 3)
    cache.put("a", 5, expires_at=1)  # past its expiry: still readable, as stale
    assert cache.get("a") == (1, 5)


def _first_click(window: DedupeWindow, key: int, click_id: str, now: float) -> str | None:
    """The click id of an earlier click within the window, else records this one."""
    seen = window.seen(key, now)
    if seen is not None:
        return seen[1]
    window.remember(key, (now + window.window, click_id))
    return None


def test_dedupe_window_reuses_the_first_click_within_the_window() -> None:
    window = DedupeWindow(window=3600, size=100)
    assert _first_click(window, 1, "first", now=0) is None
    assert _first_click(window, 1, "second", now=3599) == "first"
    assert window.seen(1, now=3599) == (3600, "first")
    assert _first_click(window, 2, "other", now=10) is None
    # after the window, a new first click
    assert _first_click(window, 1, "third", now=3601) is None
    assert _first_click(window, 1, "fourth", now=3602) == "third"


def test_dedupe_window_is_bounded_and_drops_expired_entries() -> None:
    window = DedupeWindow(window=10, size=4)
    for key in range(10):
        _first_click(window, key, f"c{key}", now=0)
        assert len(window) <= 4
    assert _first_click(window, 9, "again", now=1) == "c9"
    assert _first_click(window, 0, "new", now=1) is None  # pushed out by newer ones
    # an entry past its window is never returned, even while its generation lives
    window = DedupeWindow(window=10, size=100)
    _first_click(window, 1, "a", now=0)
    _first_click(window, 2, "b", now=9)
    assert _first_click(window, 1, "a2", now=10.5) is None  # expired, in the previous generation
    assert _first_click(window, 2, "b2", now=18) == "b"  # 9 s old: still within its window
    _first_click(window, 3, "c", now=40)  # two rotations later: the old ones are gone
    assert len(window) <= 2
