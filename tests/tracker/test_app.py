"""The tracker app over ASGI (lifespan running): redirects, events, caching, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import redis

from tests.tracker.helpers import (
    BROWSER_UA,
    asgi_client,
    free_port,
    link,
    publish,
    read_events,
    wait_for_events,
)
from tracker import keys
from tracker.events import KIND_CLICK, KIND_ORPHAN, id_timestamp_ms
from tracker.settings import RedisSettings, TrackerSettings

pytestmark = pytest.mark.anyio

MakeSettings = Callable[..., TrackerSettings]
BROWSER = {"user-agent": BROWSER_UA, "referer": "https://www.instagram.com/"}


def vclid(response: httpx.Response) -> str:
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))["vclid"]


async def test_redirect_and_click_event(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    async with asgi_client(make_settings()) as (app, client):
        response = await client.get("/c/spring24", headers=BROWSER)
        assert response.status_code == 302
        assert response.headers["cache-control"] == "private, no-store"
        assert response.headers["referrer-policy"] == "no-referrer-when-downgrade"
        click_id = vclid(response)
        assert response.headers["location"] == (
            "https://shop.example.com/landing?ref=ig&utm_source=instagram"
            f"&utm_medium=influencer&utm_campaign=spring&vclid={click_id}"
        )
        [event] = await wait_for_events(sync_redis, prefix, 1)
    assert event.kind == KIND_CLICK
    assert event.event_id == event.click_id == click_id
    assert (event.link_id, event.partnership_id, event.campaign_id) == (11, 22, 33)
    assert (event.brand_id, event.organization_id, event.code) == (44, 55, "spring24")
    assert event.ip == "198.51.100.0"  # the ASGI client's peer, truncated
    assert len(event.ip_hash) == 64 and "198.51.100.20" not in event.ip_hash
    assert event.user_agent == BROWSER_UA
    assert event.referer == "https://www.instagram.com/"
    assert (event.bot, event.unique) == (False, True)
    assert id_timestamp_ms(event.event_id) == event.ts
    assert app.metrics.redirects == app.metrics.clicks == app.metrics.unique_clicks == 1


async def test_head_redirects_but_is_never_logged(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    async with asgi_client(make_settings()) as (app, client):
        head = await client.head("/c/spring24", headers=BROWSER)
        assert head.status_code == 302 and "vclid=" in head.headers["location"]
        assert head.content == b""
        missing = await client.head("/c/unknown1", headers=BROWSER)
        assert missing.status_code == 404 and missing.content == b""
        await client.get("/c/spring24", headers=BROWSER)  # one logged GET to wait for
        events = await wait_for_events(sync_redis, prefix, 1)
        await asyncio.sleep(0.05)
    assert len(read_events(sync_redis, prefix)) == len(events) == 1
    assert app.metrics.head_requests == 2 and app.metrics.orphans == 0


async def test_unknown_and_deactivated_codes_are_orphans(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("gone1", active=False))
    async with asgi_client(make_settings()) as (app, client):
        for code in ("nothere", "gone1"):
            response = await client.get(f"/c/{code}", headers=BROWSER)
            assert response.status_code == 404
            assert "location" not in response.headers
            assert response.headers["content-type"].startswith("text/html")
            assert b"Link not found" in response.content
        events = await wait_for_events(sync_redis, prefix, 2)
    assert sorted((e.kind, e.code) for e in events) == [
        (KIND_ORPHAN, "gone1"),
        (KIND_ORPHAN, "nothere"),
    ]
    assert all(e.link_id is None and e.click_id == "" for e in events)
    assert app.metrics.orphans == 2 and app.metrics.redirects == 0


@pytest.mark.parametrize(
    "path",
    [
        "/c/",
        "/c/" + "x" * 65,
        "/c/a.b",
        "/c/abc/",
        "/c//evil.example",
        "/c/%2F%2Fevil.example",
        "/c/https:%2F%2Fevil.example",
        "/c/spring24%0D%0ALocation:%20https:%2F%2Fevil.example",
        "/c/spring24%00",
        "/c/spring24/..%2F..%2Fevil",
        "/c/%E2%82%AC",
    ],
)
async def test_malformed_codes_get_404_without_touching_redis(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str, path: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    async with asgi_client(make_settings()) as (app, client):
        response = await client.get(path, headers=BROWSER)
        assert response.status_code == 404
        assert "location" not in response.headers
    assert app.metrics.invalid_codes == 1
    assert app.metrics.link_lookups == 0 and app.metrics.events == 0


async def test_no_input_of_the_request_changes_the_destination(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    async with asgi_client(make_settings()) as (_, client):
        plain = await client.get("/c/spring24", headers=BROWSER)
        tricky = await client.get(
            "/c/spring24?url=https://evil.example&next=//evil.example&vclid=forged"
            "&utm_source=evil&redirect=%2F%2Fevil.example",
            headers={
                **BROWSER,
                "host": "evil.example",
                "x-forwarded-host": "evil.example",
                "x-original-url": "//evil.example",
                "referer": "https://evil.example/",
            },
        )
    for response in (plain, tricky):
        assert response.status_code == 302
        assert urlsplit(response.headers["location"]).netloc == "shop.example.com"
    strip = lambda r: r.headers["location"].rpartition("vclid=")[0]  # noqa: E731
    assert strip(plain) == strip(tricky)
    assert vclid(tricky) != "forged"


@pytest.mark.parametrize(
    "destination",
    [
        "javascript:alert(1)",
        "//evil.example/",
        "https://shop.example.com/\r\nSet-Cookie: session=stolen",
        "/relative",
    ],
)
async def test_invalid_published_destination_is_never_redirected_to(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str, destination: str
) -> None:
    # Written raw, as a buggy or compromised publisher might: the tracker validates again.
    record = link("bad1").to_json().replace("https://shop.example.com/landing?ref=ig", "{D}")
    sync_redis.set(keys.link(prefix, "bad1"), record.replace('"{D}"', _json(destination)))
    async with asgi_client(make_settings()) as (_, client):
        response = await client.get("/c/bad1", headers=BROWSER)
    assert response.status_code == 404
    assert "location" not in response.headers


def _json(text: str) -> str:
    import json

    return json.dumps(text)


async def test_record_under_another_code_is_not_served(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    sync_redis.set(keys.link(prefix, "alias1"), link("spring24").to_json())
    async with asgi_client(make_settings()) as (_, client):
        assert (await client.get("/c/alias1", headers=BROWSER)).status_code == 404


async def test_bots_get_the_redirect_but_are_flagged_and_not_counted(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    async with asgi_client(make_settings()) as (app, client):
        for ua in ("facebookexternalhit/1.1", "Twitterbot/1.0", "curl/8.4.0", ""):
            response = await client.get("/c/spring24", headers={"user-agent": ua})
            assert response.status_code == 302
        events = await wait_for_events(sync_redis, prefix, 4)
    assert all(e.bot and not e.unique for e in events)
    assert len({e.click_id for e in events}) == 4
    assert app.metrics.bot_hits == 4 and app.metrics.clicks == 0
    assert app.metrics.redirects == 4


async def test_repeat_within_the_window_reuses_the_first_click_id(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    publish(sync_redis, prefix, link("other24", link_id=12))
    async with asgi_client(make_settings()) as (app, client):
        first = await client.get("/c/spring24", headers=BROWSER)
        again = await client.get("/c/spring24", headers=BROWSER)
        other_ua = await client.get("/c/spring24", headers={"user-agent": BROWSER_UA + " x"})
        other_code = await client.get("/c/other24", headers=BROWSER)
        events = await wait_for_events(sync_redis, prefix, 4)
    assert vclid(again) == vclid(first)
    assert len({vclid(first), vclid(other_ua), vclid(other_code)}) == 3
    # batches may land in any order: find the entries by what they are
    same = sorted((e for e in events if e.user_agent == BROWSER_UA and e.code == "spring24"),
                  key=lambda e: not e.unique)  # fmt: skip
    assert [e.unique for e in same] == [True, False]
    assert same[1].click_id == same[0].click_id == same[0].event_id == vclid(first)
    assert same[1].event_id != same[0].event_id  # every entry has its own id
    assert sum(e.unique for e in events) == 3
    assert app.metrics.clicks == 4 and app.metrics.unique_clicks == 3


async def test_a_repeat_on_another_tracker_process_is_a_repeat(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    # Two tracker processes behind one load balancer: each has its own in-memory window, so
    # the visitor's second click is a "first" for the second process until Redis says not.
    publish(sync_redis, prefix, link("spring24"))
    one = make_settings(spool_dir=str(tmp_path / "one"))
    two = make_settings(spool_dir=str(tmp_path / "two"))
    async with (
        asgi_client(one) as (app_one, first_tracker),
        asgi_client(two) as (
            app_two,
            second_tracker,
        ),
    ):
        first = await first_tracker.get("/c/spring24", headers=BROWSER)
        await wait_for_events(sync_redis, prefix, 1)
        again = await second_tracker.get("/c/spring24", headers=BROWSER)
        other = await second_tracker.get(
            "/c/spring24", headers={"user-agent": BROWSER_UA + " other"}
        )
        await wait_for_events(sync_redis, prefix, 3)
        back = await first_tracker.get("/c/spring24", headers=BROWSER)
        events = await wait_for_events(sync_redis, prefix, 4)
    by_id = {e.event_id: e for e in events}
    assert by_id[vclid(first)].unique
    # the second process answered with its own event's id (a stored click too) ...
    repeat = by_id[vclid(again)]
    # ... and the event says whose repeat it is
    assert (repeat.unique, repeat.click_id) == (False, vclid(first))
    assert by_id[vclid(other)].unique  # another visitor
    assert vclid(back) == vclid(first)  # the first process's own window
    assert sum(e.unique for e in events) == 2
    assert app_two.metrics.unique_clicks == 1 and app_two.metrics.cross_process_repeats == 1
    assert app_one.metrics.unique_clicks == 1


async def test_dedupe_window_expires(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    async with asgi_client(make_settings(dedupe_window_seconds=0.1)) as (_, client):
        first = await client.get("/c/spring24", headers=BROWSER)
        await asyncio.sleep(0.15)
        later = await client.get("/c/spring24", headers=BROWSER)
        events = await wait_for_events(sync_redis, prefix, 2)
    assert vclid(first) != vclid(later)
    assert [e.unique for e in events] == [True, True]


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    settings = make_settings(trusted_proxies=("10.0.0.0/8",))
    forwarded = {**BROWSER, "x-forwarded-for": "6.6.6.6, 203.0.113.50, 10.1.2.3"}
    async with asgi_client(settings, peer="10.0.0.5") as (_, client):
        await client.get("/c/spring24", headers=forwarded)
    async with asgi_client(settings, peer="192.0.2.77") as (_, client):
        await client.get("/c/spring24", headers=forwarded)
    via_proxy, direct = await wait_for_events(sync_redis, prefix, 2)
    assert via_proxy.ip == "203.0.113.0"
    assert direct.ip == "192.0.2.0"  # the forged header is ignored
    assert via_proxy.ip_hash != direct.ip_hash


async def test_deactivated_link_stops_redirecting_within_the_cache_ttl(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    record = link("spring24")
    publish(sync_redis, prefix, record)
    settings = make_settings(cache_ttl_seconds=0.2, negative_cache_ttl_seconds=0.2)
    async with asgi_client(settings) as (app, client):
        assert (await client.get("/c/spring24", headers=BROWSER)).status_code == 302
        publish(sync_redis, prefix, link("spring24", active=False))
        await asyncio.sleep(0.25)
        assert (await client.get("/c/spring24", headers=BROWSER)).status_code == 404
        # reactivated, then deleted: both seen within the TTL too
        publish(sync_redis, prefix, record)
        await asyncio.sleep(0.25)
        assert (await client.get("/c/spring24", headers=BROWSER)).status_code == 302
        sync_redis.delete(keys.link(prefix, "spring24"))
        await asyncio.sleep(0.25)
        assert (await client.get("/c/spring24", headers=BROWSER)).status_code == 404
    assert app.metrics.link_lookups == 4


async def test_cached_link_needs_no_redis_and_misses_are_coalesced(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    async with asgi_client(make_settings()) as (app, client):
        responses = await asyncio.gather(
            *(client.get("/c/spring24", headers=BROWSER) for _ in range(50))
        )
        assert {r.status_code for r in responses} == {302}
        assert app.metrics.link_lookups == 1
        for _ in range(20):
            await client.get("/c/spring24", headers=BROWSER)
        assert app.metrics.link_lookups == 1


async def test_uncached_code_with_redis_down_is_503_with_retry_after(
    make_settings: MakeSettings,
) -> None:
    down = RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0", cluster_url="", prefix="x")
    settings = make_settings(redis=down, redis_timeout_seconds=0.1)
    async with asgi_client(settings) as (app, client):
        response = await client.get("/c/spring24", headers=BROWSER)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert "location" not in response.headers
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "degraded", "redis": False, "buffer": 0, "spool": 0}
    assert app.metrics.unavailable == 1


async def test_shutdown_flushes_the_buffer(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    settings = make_settings(flush_delay_ms=60_000, batch_size=1000)
    async with asgi_client(settings) as (app, client):
        for i in range(30):
            await client.get("/c/spring24", headers={"user-agent": f"{BROWSER_UA} {i}"})
        assert app.sink.depth == 30
        assert sync_redis.xlen(keys.clicks_stream(prefix)) == 0
    assert len(read_events(sync_redis, prefix)) == 30


async def test_healthz_metrics_and_other_paths(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    async with asgi_client(make_settings(metrics_token="scrape-me")) as (_, client):
        await client.get("/c/spring24", headers=BROWSER)
        await client.get("/c/spring24", headers={"user-agent": "Slackbot 1.0"})
        await client.head("/c/spring24")
        await client.get("/c/nothere", headers=BROWSER)
        await wait_for_events(sync_redis, prefix, 3)
        health = await client.get("/healthz")
        assert health.json() == {"status": "ok", "redis": True, "buffer": 0, "spool": 0}
        scrape = {"authorization": "Bearer scrape-me"}
        metrics = (await client.get("/metrics", headers=scrape)).text
        post = await client.post("/c/spring24")
        missing = await client.get("/nope")
    values = dict(
        line.rsplit(" ", 1) for line in metrics.splitlines() if line and not line.startswith("#")
    )
    assert values["tracker_redirects_total"] == "3"
    assert values["tracker_clicks_total"] == "1"
    assert values["tracker_bot_hits_total"] == "1"
    assert values["tracker_head_requests_total"] == "1"
    assert values["tracker_orphans_total"] == "1"
    assert values["tracker_events_written_total"] == "3"
    assert values["tracker_buffer_depth"] == "0" and values["tracker_spool_depth"] == "0"
    assert values["tracker_redis_up"] == "1"
    assert int(values["tracker_flush_seconds_count"]) >= 1
    assert 'tracker_flush_seconds_bucket{le="+Inf"}' in values
    assert post.status_code == 405 and post.headers["allow"] == "GET, HEAD"
    assert post.json()["error"] == "method_not_allowed"
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_header_values_cannot_break_the_event_format(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    async with asgi_client(make_settings()) as (_, client):
        ua = BROWSER_UA + " \x1f tail " + "é" * 600
        response = await client.get(
            "/c/spring24",
            headers=[(b"user-agent", ua.encode()), (b"referer", b"https://a.example/x\x1fy")],
        )
        assert response.status_code == 302
        [event] = await wait_for_events(sync_redis, prefix, 1)
    assert "\x1f" not in event.user_agent and event.referer == "https://a.example/x y"
    assert event.user_agent.startswith(BROWSER_UA + "   tail")
    assert len(event.user_agent) <= 512
