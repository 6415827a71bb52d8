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


def test_dedupe_window_reuses_the_first_click_id_within_the_window() -> None:
    window = DedupeWindow(window=3600, size=100)
    assert window.first_click(1, "first", now=0) is None
    assert window.first_click(1, "second", now=3599) == "first"
    assert window.first_click(2, "other", now=10) is None
    # after the window, a new first click
    assert window.first_click(1, "third", now=3601) is None
    assert window.first_click(1, "fourth", now=3602) == "third"


def test_dedupe_window_is_bounded_and_drops_expired_entries() -> None:
    window = DedupeWindow(window=10, size=3)
    for key in range(10):
        window.first_click(key, f"c{key}", now=0)
    assert len(window) == 3
    assert window.first_click(9, "again", now=1) == "c9"
    assert window.first_click(0, "new", now=1) is None  # evicted long ago
    for key in range(100, 104):
        window.first_click(key, "x", now=100)  # all earlier ones expired by now
    assert len(window) <= 3
