"""A shopper whose User-Agent is not ASCII is counted (bots are told by their patterns, not by
their alphabet), and a click keeps only the origin and path of its Referer: a query string or a
fragment can carry a token."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from tests.tracker.helpers import BROWSER_UA, asgi_client, link, publish, wait_for_events
from tracker import keys
from tracker.bots import is_bot
from tracker.events import referer_origin_path
from tracker.settings import TrackerSettings

MakeSettings = Callable[..., TrackerSettings]

NON_ASCII_BROWSERS = [
    # Android puts the phone's model name in its User-Agent, in the maker's own script
    "Mozilla/5.0 (Linux; Android 13; \u0421\u044f\u043e\u043c\u0438 13) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 \u5c0f\u7ea2\u4e66/8.30",
    "Caf\u00e9Browser/1.0",
]


@pytest.mark.parametrize("ua", NON_ASCII_BROWSERS)
def test_non_ascii_user_agents_are_browsers(ua: str) -> None:
    assert not is_bot(ua)


@pytest.mark.parametrize(
    "ua", ["Caf\u00e9bot/1.0", "\u5c0f\u7ea2\u4e66 crawler", "curl/8.5 \u00e9"]
)
def test_non_ascii_bots_are_still_bots(ua: str) -> None:
    assert is_bot(ua)


@pytest.mark.parametrize(
    ("header", "stored"),
    [
        ("https://www.instagram.com/", "https://www.instagram.com/"),
        ("https://l.instagram.com/?u=https%3A%2F%2Fshop&e=AT0token", "https://l.instagram.com/"),
        (
            "https://mail.example.com/reset/confirm?token=s3cret#frag",
            "https://mail.example.com/reset/confirm",
        ),
        ("https://app.example/#access_token=abc", "https://app.example/"),
        ("https://user:pass@Intranet.Example:8443/a?b=c", "https://intranet.example:8443/a"),
        ("http://[2001:db8::1]:8080/p?q", "http://[2001:db8::1]:8080/p"),
        ("android-app://com.google.android.gm/", "android-app://com.google.android.gm/"),
        ("not a url?token=x", ""),
        ("/relative/path?token=x", ""),
        ("javascript:alert(1)", ""),
        ("https://bad-port.example:99999/x", ""),
        ("http://[::1/x", ""),
        ("", ""),
    ],
)
def test_a_referer_keeps_its_origin_and_path(header: str, stored: str) -> None:
    assert referer_origin_path(header) == stored


@pytest.mark.anyio
async def test_clicks_of_non_ascii_browsers_are_counted_over_asgi(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    async with asgi_client(make_settings()) as (app, client):
        for ua in NON_ASCII_BROWSERS:
            response = await client.get("/c/spring24", headers=[(b"user-agent", ua.encode())])
            assert response.status_code == 302
        events = await wait_for_events(sync_redis, prefix, len(NON_ASCII_BROWSERS))
    assert [e.user_agent for e in events] == NON_ASCII_BROWSERS
    assert not any(e.bot for e in events) and all(e.unique for e in events)
    assert (app.metrics.clicks, app.metrics.bot_hits) == (3, 0)


@pytest.mark.anyio
async def test_the_referers_query_and_fragment_are_not_recorded(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    referers = [
        b"https://l.instagram.com/?u=https%3A%2F%2Fshop.example&e=AT0-secret-token",
        b"https://mail.example.com/inbox/123?session=abc#msg=alice@example.com",
        b"https://l.instagram.com/?e=another-token",  # a new raw value, the same stored one
    ]
    async with asgi_client(make_settings()) as (_, client):
        for n, referer in enumerate(referers):
            headers = [(b"user-agent", f"{BROWSER_UA} {n}".encode()), (b"referer", referer)]
            assert (await client.get("/c/spring24", headers=headers)).status_code == 302
        events = await wait_for_events(sync_redis, prefix, 3)
    assert [e.referer for e in events] == [
        "https://l.instagram.com/",
        "https://mail.example.com/inbox/123",
        "https://l.instagram.com/",
    ]
    raw = b"".join(v for e in sync_redis.xrange(keys.clicks_stream(prefix)) for v in e[1].values())
    assert b"secret" not in raw and b"session" not in raw and b"alice" not in raw
