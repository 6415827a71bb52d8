"""Redis outages: nothing lost, nothing written twice.

These tests start their own redis-server (with `appendfsync always`, so what Redis acknowledged
survives a SIGKILL) and kill it under load.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import redis

from tests.tracker.helpers import (
    BROWSER_UA,
    RedisServer,
    asgi_client,
    delete_prefix,
    lifespan,
    link,
    publish,
    read_events,
    served,
    wait_for,
)
from tracker import keys
from tracker.app import create_app
from tracker.events import KIND_CLICK, ClickEvent, link_head, new_id
from tracker.settings import RedisSettings, TrackerSettings
from tracker.spool import Batch

pytestmark = pytest.mark.anyio

MakeSettings = Callable[..., TrackerSettings]


@pytest.fixture
def own_redis(tmp_path: Path, prefix: str) -> Iterator[RedisServer]:
    server = RedisServer(
        str(tmp_path / "redis"), None, "--appendonly", "yes", "--appendfsync", "always"
    ).start()
    try:
        yield server
    finally:
        if server.process is None:
            server.start()
        client = redis.Redis(port=server.port)
        delete_prefix(client, prefix)
        client.close()
        server.stop()


def settings_for(
    make_settings: MakeSettings, server: RedisServer, prefix: str, **overrides: object
) -> TrackerSettings:
    return make_settings(
        redis=RedisSettings(url=server.url, cluster_url="", prefix=prefix),
        redis_timeout_seconds=0.2,
        **overrides,
    )


def markers(client: redis.Redis, prefix: str) -> list[bytes]:
    return list(client.scan_iter(match=keys.clicks_stream(prefix) + ":batch:*"))


@pytest.mark.parametrize("outage", ["killed", "frozen"])
async def test_redis_outage_mid_load_loses_and_duplicates_nothing(
    make_settings: MakeSettings, own_redis: RedisServer, prefix: str, outage: str
) -> None:
    """killed: SIGKILL then a restart (AOF reload). frozen: SIGSTOP then SIGCONT, so writes the
    tracker gave up on (timeout) are applied late: their replay must not write them again."""
    client = redis.Redis(port=own_redis.port)
    publish(client, prefix, link("spring24"))
    settings = settings_for(
        make_settings,
        own_redis,
        prefix,
        trusted_proxies=("127.0.0.1/32",),
        cache_ttl_seconds=0.3,  # entries go stale during the outage: served stale
        batch_size=32,
    )
    app = create_app(settings)
    vclids: list[str] = []
    statuses: Counter[int] = Counter()
    numbers = itertools.count(1)
    stop = asyncio.Event()

    async def shopper(http: httpx.AsyncClient) -> None:
        while not stop.is_set():
            n = next(numbers)
            response = await http.get(
                "/c/spring24",
                headers={
                    "user-agent": BROWSER_UA,
                    "x-forwarded-for": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
                },
            )
            statuses[response.status_code] += 1
            if response.status_code == 302:
                query = urlsplit(response.headers["location"]).query
                vclids.append(dict(parse_qsl(query))["vclid"])

    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        shoppers = [asyncio.ensure_future(shopper(http)) for _ in range(8)]
        await asyncio.sleep(0.6)
        own_redis.kill() if outage == "killed" else own_redis.pause()
        before_outage = len(vclids)
        # At least a second, and enough clicks to prove something on a loaded machine.
        deadline = asyncio.get_running_loop().time() + 15
        await asyncio.sleep(1.0)
        while len(vclids) - before_outage <= 80 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        during_outage = len(vclids) - before_outage
        own_redis.start() if outage == "killed" else own_redis.resume()
        await asyncio.sleep(0.6)
        stop.set()
        await asyncio.gather(*shoppers)
        await wait_for(lambda: app.spool.depth == 0 and app.sink.depth == 0, timeout=10)
    # the server is down now: its shutdown has flushed whatever was left

    events = read_events(client, prefix)
    client.close()
    assert statuses == {302: len(vclids)}, statuses
    assert during_outage > 50, "the outage saw too few clicks to prove anything"
    assert app.metrics.events_spooled > 0 and app.metrics.events_replayed > 0
    assert app.metrics.redis_errors > 0
    event_ids = [e.event_id for e in events]
    assert len(event_ids) == len(set(event_ids)), "an event was written twice"
    assert len(events) == len(vclids) == app.metrics.redirects, "a click was lost"
    assert sorted(e.click_id for e in events) == sorted(vclids)
    assert all(e.kind == KIND_CLICK and e.unique for e in events)
    if outage == "frozen":
        # writes given up on during the freeze were applied when Redis resumed: their replay
        # found them written, which is what this test is about
        assert app.metrics.batches_already_written > 0
    assert not list(Path(settings.spool_dir).glob("*.jsonl"))


async def test_spool_left_by_one_process_is_replayed_by_the_next(
    make_settings: MakeSettings, own_redis: RedisServer, prefix: str
) -> None:
    client = redis.Redis(port=own_redis.port)
    publish(client, prefix, link("spring24"))
    settings = settings_for(make_settings, own_redis, prefix, replay_interval_seconds=0.05)
    vclids = []
    async with asgi_client(settings) as (_, http):
        first = await http.get("/c/spring24", headers={"user-agent": BROWSER_UA})
        vclids.append(dict(parse_qsl(urlsplit(first.headers["location"]).query))["vclid"])
        await wait_for(lambda: client.xlen(keys.clicks_stream(prefix)) == 1)
        own_redis.kill()
        for i in range(20):
            response = await http.get("/c/spring24", headers={"user-agent": f"{BROWSER_UA} {i}"})
            assert response.status_code == 302  # cached: redirects while Redis is down
            vclids.append(dict(parse_qsl(urlsplit(response.headers["location"]).query))["vclid"])
    # shut down with Redis still down: everything is in the spool, on disk
    segments = list(Path(settings.spool_dir).glob("clicks-*.jsonl"))
    assert sum(len(p.read_text().splitlines()) for p in segments) == 20
    # only the truncated IP and its hash are ever stored, never the shopper's full IP
    assert all("198.51.100.20" not in p.read_text() for p in segments)
    assert all("198.51.100.0" in p.read_text() for p in segments)

    own_redis.start()
    async with asgi_client(settings) as (app2, _):
        assert app2.spool.depth == 20
        await wait_for(lambda: app2.spool.depth == 0)
    events = read_events(client, prefix)
    assert sorted(e.click_id for e in events) == sorted(vclids)
    assert len({e.event_id for e in events}) == 21
    assert not list(Path(settings.spool_dir).glob("clicks-*.jsonl"))
    # The first process could not drop the marker of its one acknowledged batch (Redis was
    # down until it stopped): it expires on its own.
    left = markers(client, prefix)
    assert len(left) <= 1
    assert all(0 < client.ttl(m) <= settings.batch_marker_ttl_seconds for m in left)
    client.close()


def _events(n: int) -> list[str]:
    return [
        ClickEvent(KIND_CLICK, new_id(), new_id(), "spring24", 1, "10.0.0.0", "h", link_id=1).pack()
        for _ in range(n)
    ]


async def test_a_batch_written_twice_lands_once(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    # A write whose reply was lost goes to the spool and is replayed under the same batch id.
    app = create_app(make_settings())
    stream = keys.clicks_stream(prefix)
    async with lifespan(app):
        batch = Batch(new_id(), _events(3))
        assert await app.sink.write(batch) == 3
        await app.spool.append([batch])  # as if the acknowledgement had been lost
        await app.sink.replay()
        assert sync_redis.xlen(stream) == 3
        assert app.spool.depth == 0
        # the replayed batch's marker is dropped by the next write
        assert len(markers(sync_redis, prefix)) == 1
        await app.sink.write(Batch(new_id(), _events(2)))
        assert sync_redis.xlen(stream) == 5
        assert len(markers(sync_redis, prefix)) == 1  # only the newest batch's
    assert app.metrics.events_replayed == 0


async def test_buffer_overflow_goes_to_the_spool_and_comes_back(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    settings = make_settings(batch_size=10, buffer_size=20, max_flushes=1)
    app = create_app(settings)
    head = link_head(link("spring24"))
    # events as the app buffers them (full IP, packed when they leave the buffer)
    # (the flags: bot, unique and an empty country), each of its own visitor (a repeat would be
    # found in Redis and written as one)
    events = [
        (head, new_id(), new_id(), 1, f"10.0.0.{i % 7}", f"{BROWSER_UA} {i}", "", "0\x1f1\x1f")
        for i in range(200)
    ]
    async with lifespan(app):
        for event in events:  # no await in between: the writer can't keep up
            app.sink.add(event)
        assert app.sink.depth <= 20
        await wait_for(lambda: app.metrics.events_spooled > 0)
        await wait_for(lambda: sync_redis.xlen(keys.clicks_stream(prefix)) == 200)
        await wait_for(lambda: app.spool.depth == 0)
    written = read_events(sync_redis, prefix)
    assert sorted(e.pack() for e in written) == sorted(app._encode(events))
    assert {e.ip for e in written} == {"10.0.0.0"}
    assert sorted(e.event_id for e in written) == sorted(e[1] for e in events)
    assert app.metrics.events_replayed > 0
    assert markers(sync_redis, prefix) == []
