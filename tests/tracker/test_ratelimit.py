"""tracker.ratelimit's counters: a fixed window per subject, one key each, on one server and on a
Redis Cluster, from synchronous and asyncio clients."""

from __future__ import annotations

import time

import pytest
import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from tests.tracker.test_cluster import cluster  # noqa: F401 - the fixture
from tracker.ratelimit import (
    FailureLimit,
    blocked_for,
    count_failure,
    count_failure_async,
)

pytestmark = pytest.mark.anyio


def test_counts_expire_with_their_window(sync_redis, prefix):
    limit = FailureLimit("t", 3, 1)
    key = limit.key(prefix, "who")
    assert key == f"{prefix}:ratelimit:t:who"
    assert blocked_for(sync_redis, limit, key) is None  # no counter: nothing to wait for
    counts = [count_failure(sync_redis, limit, key) for _ in range(4)]
    assert [c.failures for c in counts] == [1, 2, 3, 4]
    assert all(c.retry_after == 1 for c in counts)  # whole seconds, at least 1
    assert 0 < sync_redis.pttl(key) <= 1000
    assert blocked_for(sync_redis, limit, key) == 1
    time.sleep(1.1)
    assert not sync_redis.exists(key)
    assert blocked_for(sync_redis, limit, key) is None
    assert count_failure(sync_redis, limit, key).failures == 1  # a new window


def test_the_window_is_fixed_from_the_first_failure(sync_redis, prefix):
    limit = FailureLimit("t", 2, 60)
    key = limit.key(prefix, "who")
    count_failure(sync_redis, limit, key)
    sync_redis.pexpire(key, 5000)  # as if 55 s had gone by
    assert count_failure(sync_redis, limit, key).retry_after == 5  # later failures do not extend
    assert blocked_for(sync_redis, limit, key) == 5


def test_a_counter_without_expiry_gets_one(sync_redis, prefix):
    limit = FailureLimit("t", 2, 60)
    key = limit.key(prefix, "who")
    sync_redis.set(key, 7)  # however it came to lose its expiry, it must not block forever
    count = count_failure(sync_redis, limit, key)
    assert count.failures == 8 and count.retry_after == 60
    assert 0 < sync_redis.pttl(key) <= 60_000


async def test_the_asyncio_client_counts_the_same(redis_url, sync_redis, prefix):
    limit = FailureLimit("t", 2, 30)
    key = limit.key(prefix, "who")
    client = aredis.Redis.from_url(redis_url)
    try:
        counts = [await count_failure_async(client, limit, key) for _ in range(3)]
    finally:
        await client.aclose()
    assert [c.failures for c in counts] == [1, 2, 3]
    assert blocked_for(sync_redis, limit, key) == 30


async def test_on_a_cluster_each_counter_is_its_own_key(cluster, prefix):  # noqa: F811
    limit = FailureLimit("t", 2, 30)
    client = RedisCluster.from_url(cluster)
    aclient = AsyncRedisCluster.from_url(cluster)
    subjects = [f"client{i}" for i in range(12)]
    try:
        assert len({client.get_node_from_key(limit.key(prefix, s)).name for s in subjects}) > 1
        for s in subjects:
            key = limit.key(prefix, s)
            assert count_failure(client, limit, key).failures == 1
            assert (await count_failure_async(aclient, limit, key)).failures == 2
            assert blocked_for(client, limit, key) == 30
    finally:
        await aclient.aclose()
        client.close()
