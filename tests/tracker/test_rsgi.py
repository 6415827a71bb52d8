"""The tracker over granian's RSGI interface, as `vouch tracker serve` runs it.

The cached GET of `/c/{code}` is answered natively (`TrackerApp.__rsgi__`), everything else by
the ASGI app through `tracker.rsgi.call_asgi`. The same requests must get the same answers and
log the same events as over ASGI.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import redis

from tests.tracker.helpers import (
    BROWSER_UA,
    asgi_client,
    link,
    publish,
    read_events,
    served,
    wait_for,
)
from tracker import keys
from tracker.app import create_app
from tracker.events import ClickEvent
from tracker.rsgi import UNREADABLE_USER_AGENT, asgi_scope, call_asgi, peer_host
from tracker.settings import TrackerSettings

pytestmark = pytest.mark.anyio

MakeSettings = Callable[..., TrackerSettings]

# (method, path, headers): clicks, a bot, a repeat, an orphan, HEAD, a bad method, other routes
REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/c/spring24", {"user-agent": BROWSER_UA, "referer": "https://www.instagram.com/"}),
    ("GET", "/c/spring24", {"user-agent": BROWSER_UA, "referer": "https://www.instagram.com/"}),
    ("GET", "/c/spring24", {"user-agent": BROWSER_UA, "x-forwarded-for": "203.0.113.9"}),
    ("GET", "/c/spring24", {"user-agent": "facebookexternalhit/1.1"}),
    ("GET", "/c/spring24", {}),
    ("GET", "/c/nosuchcode", {"user-agent": BROWSER_UA}),
    ("GET", "/c/nosuchcode", {"user-agent": BROWSER_UA}),
    ("GET", "/c/bad%20code", {"user-agent": BROWSER_UA}),
    ("HEAD", "/c/spring24", {"user-agent": BROWSER_UA}),
    ("HEAD", "/c/nosuchcode", {"user-agent": BROWSER_UA}),
    ("POST", "/c/spring24", {"user-agent": BROWSER_UA}),
    ("GET", "/healthz", {}),
    ("GET", "/nothing-here", {}),
    ("POST", "/v1/conversions", {"content-type": "application/json"}),
]

_COMPARED_HEADERS = ("content-type", "cache-control", "referrer-policy", "retry-after", "allow")


def _answer(response: httpx.Response) -> tuple[Any, ...]:
    location = response.headers.get("location")
    params: list[tuple[str, str]] = []
    if location:
        params = [
            (k, "<id>" if k == "vclid" else v) for k, v in parse_qsl(urlsplit(location).query)
        ]
        location = location.split("?")[0]
    headers = {name: response.headers.get(name) for name in _COMPARED_HEADERS}
    return response.status_code, location, params, headers, response.content


def _event(event: ClickEvent) -> tuple[Any, ...]:
    return (
        event.kind, event.code, event.link_id, event.ip, event.user_agent, event.referer,
        event.bot, event.unique, event.click_id == event.event_id,
    )  # fmt: skip


async def test_the_same_requests_get_the_same_answers_and_events_as_over_asgi(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    stream = keys.clicks_stream(prefix)
    # the ASGI client calls from 127.0.0.1 too, so the trusted-proxy rule is the same
    settings = make_settings(trusted_proxies=("127.0.0.1/32",))

    async def run(client: httpx.AsyncClient) -> list[tuple[Any, ...]]:
        answers = []
        for method, path, headers in REQUESTS:
            answer = _answer(await client.request(method, path, headers=headers))
            if path == "/healthz":  # its buffer depth depends on timing
                answer = answer[:-1]
            answers.append(answer)
        return answers

    async with asgi_client(settings, peer="127.0.0.1") as (_, client):
        over_asgi = await run(client)
    asgi_events = [_event(e) for e in read_events(sync_redis, prefix)]
    sync_redis.delete(stream)
    # and what the dedupe window keeps in Redis, so the second app sees the visitor anew
    for key in sync_redis.scan_iter(match=f"{stream}:seen:*"):
        sync_redis.delete(key)

    app = create_app(settings)
    async with served(app) as base, httpx.AsyncClient(base_url=base) as client:
        over_rsgi = await run(client)  # a fresh dedupe window, like the ASGI app's
    rsgi_events = [_event(e) for e in read_events(sync_redis, prefix)]

    assert over_rsgi == over_asgi
    # batches may be written concurrently: the stream's order is not the requests' order
    assert sorted(rsgi_events) == sorted(asgi_events)
    kinds = sorted((e[0], e[3], e[6], e[7]) for e in rsgi_events)
    assert kinds == sorted([
        ("click", "127.0.0.0", False, True),  # a first click
        ("click", "127.0.0.0", False, False),  # the same visitor again
        ("click", "203.0.113.0", False, True),  # a client forwarded by the trusted proxy
        ("click", "127.0.0.0", True, False),  # a previewer
        ("click", "127.0.0.0", True, False),  # no User-Agent: a bot
        ("orphan", "127.0.0.0", False, False),
        ("orphan", "127.0.0.0", False, False),
    ])  # fmt: skip
    assert app.metrics.redirects == 6 and app.metrics.head_redirects == 1  # 5 GET, 1 HEAD


async def test_native_path_answers_cached_codes_and_the_asgi_side_the_rest(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    app = create_app(make_settings())
    calls: list[str] = []
    handle = app.handle

    def spy(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        calls.append(scope["path"])
        return handle(scope, receive, send)

    app.handle = spy  # type: ignore[method-assign]
    async with served(app) as base, httpx.AsyncClient(base_url=base) as client:
        first = await client.get("/c/spring24", headers={"user-agent": BROWSER_UA})
        second = await client.get("/c/spring24", headers={"user-agent": BROWSER_UA})
        await client.get("/healthz")
    assert first.status_code == second.status_code == 302
    # the first GET looked the code up through the ASGI side, which cached it
    assert calls == ["/c/spring24", "/healthz"]


def _raw_get(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /c/spring24 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + head + b"\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


async def test_header_values_granian_cannot_read_and_repeated_forwarded_for(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    """granian's RSGI hides a header value that is not visible ASCII: such a User-Agent is
    logged as unreadable and counted (no bot pattern matches it), on the native path and on the
    ASGI side alike. Two X-Forwarded-For lines are one list, read from the right, as over
    ASGI."""
    publish(sync_redis, prefix, link("spring24"))
    app = create_app(make_settings(trusted_proxies=("127.0.0.1/32", "10.0.0.0/8")))
    async with served(app) as base:
        port = int(base.rsplit(":", 1)[1])
        loop = asyncio.get_running_loop()
        # uncached: the ASGI side answers (and caches the link)
        first = await loop.run_in_executor(
            None, _raw_get, port, "User-Agent: \u0421\u044f\u043e\u043c\u0438/2.0\r\n".encode()
        )
        assert first.startswith(b"HTTP/1.1 302")
        odd = await loop.run_in_executor(
            None, _raw_get, port, "User-Agent: Caf\u00e9Browser/1.0\r\n".encode()
        )
        forwarded = await loop.run_in_executor(
            None,
            _raw_get,
            port,
            f"User-Agent: {BROWSER_UA}\r\nX-Forwarded-For: 6.6.6.6\r\n"
            "X-Forwarded-For: 198.51.100.7, 10.1.2.3\r\n".encode(),
        )
        await wait_for(lambda: sync_redis.xlen(keys.clicks_stream(prefix)) >= 3)
    assert odd.startswith(b"HTTP/1.1 302") and forwarded.startswith(b"HTTP/1.1 302")
    events = read_events(sync_redis, prefix)
    unreadable = [e for e in events if e.user_agent == UNREADABLE_USER_AGENT]
    assert len(unreadable) == 2 and not any(e.bot for e in unreadable)
    assert app.metrics.bot_hits == 0 and app.metrics.clicks == 3
    by_agent = {e.user_agent: e for e in events}
    # 10.1.2.3 is a trusted proxy, 198.51.100.7 is not: it is the client; 6.6.6.6 is ignored
    assert by_agent[BROWSER_UA].ip == "198.51.100.0" and not by_agent[BROWSER_UA].bot


async def test_shutdown_flushes_what_the_native_path_buffered(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    # a flush only when the buffer is full or after a minute: only the shutdown writes
    app = create_app(make_settings(flush_delay_ms=60_000.0, batch_size=10_000))
    async with served(app) as base, httpx.AsyncClient(base_url=base) as client:
        for n in range(30):
            response = await client.get("/c/spring24", headers={"user-agent": f"{BROWSER_UA} n{n}"})
            assert response.status_code == 302
        assert sync_redis.xlen(keys.clicks_stream(prefix)) == 0
    assert app.lifecycle is not None and app.lifecycle.done()
    events = read_events(sync_redis, prefix)
    assert len(events) == 30 == app.metrics.redirects


# --- the adapter on its own -------------------------------------------------------------


class _Headers:
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def items(self) -> list[tuple[str, str]]:
        return self._items

    def __contains__(self, name: str) -> bool:
        return any(n == name for n, _ in self._items)

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((v for n, v in self._items if n == name), default)


class _Scope:
    proto = "http"
    http_version = "1.1"
    scheme = "http"
    method = "POST"
    path = "/v1/conversions"
    query_string = "a=1&b=%20"
    client = "[2001:db8::1]:51000"
    server = "127.0.0.1:8001"
    headers = _Headers([("content-type", "application/json"), ("x-two", "a"), ("x-two", "b")])


class _Proto:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.responses: list[tuple[int, list[tuple[str, str]], bytes]] = []
        self.disconnected = False

    def __aiter__(self) -> Any:
        async def gen() -> Any:
            for chunk in self.chunks:
                yield chunk

        return gen()

    async def client_disconnect(self) -> None:
        self.disconnected = True

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.responses.append((status, headers, body))


def test_peer_host_of_rsgi_clients() -> None:
    assert peer_host("127.0.0.1:5000") == "127.0.0.1"
    assert peer_host("[2001:db8::1]:5000") == "2001:db8::1"
    assert peer_host("[::ffff:127.0.0.1]:5000") == "::ffff:127.0.0.1"


def test_asgi_scope_of_an_rsgi_one() -> None:
    scope = asgi_scope(_Scope())
    assert scope["type"] == "http" and scope["method"] == "POST"
    assert scope["path"] == "/v1/conversions" and scope["query_string"] == b"a=1&b=%20"
    assert scope["client"] == ("2001:db8::1", 51000)
    assert scope["server"] == ("127.0.0.1", 8001)
    assert scope["headers"] == [
        (b"content-type", b"application/json"), (b"x-two", b"a"), (b"x-two", b"b"),
    ]  # fmt: skip


async def test_call_asgi_streams_the_body_in_and_sends_one_response() -> None:
    received: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(message)
            if not message.get("more_body"):
                break
        received.append(await receive())  # after the body: the client is gone
        await send({
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": b"he", "more_body": True})
        await send({"type": "http.response.body", "body": b"llo"})

    proto = _Proto([b'{"a":', b"1}"])
    await call_asgi(app, _Scope(), proto)
    assert [m.get("body") for m in received[:3]] == [b'{"a":', b"1}", b""]
    assert [m.get("more_body") for m in received[:3]] == [True, True, False]
    assert received[3] == {"type": "http.disconnect"} and proto.disconnected
    # granian writes the content length of the body it is given
    assert proto.responses == [(201, [("content-type", "text/plain")], b"hello")]


async def test_call_asgi_answers_500_when_the_app_sends_no_response() -> None:
    async def silent(scope: dict[str, Any], receive: Any, send: Any) -> None:
        return None

    proto = _Proto([])
    await call_asgi(silent, _Scope(), proto)
    assert [status for status, _, _ in proto.responses] == [500]


async def test_a_trusted_proxys_country_header_is_logged_over_asgi_and_rsgi(
    make_settings: MakeSettings, sync_redis: redis.Redis, prefix: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    stream = keys.clicks_stream(prefix)
    requests = [
        {"user-agent": BROWSER_UA, "cf-ipcountry": "de"},
        {"user-agent": BROWSER_UA + " 2", "CF-IPCountry": "XX"},  # Cloudflare's "unknown"
        {"user-agent": BROWSER_UA + " 3", "cf-ipcountry": "T1"},  # Tor: not a country
        {"user-agent": BROWSER_UA + " 4"},
    ]

    async def send(client: httpx.AsyncClient) -> None:
        for headers in requests:
            assert (await client.get("/c/spring24", headers=headers)).status_code == 302

    def countries() -> list[str]:  # once the app has stopped: its buffer is flushed
        found = sorted(e.country for e in read_events(sync_redis, prefix))
        sync_redis.delete(stream)
        return found

    trusted = make_settings(trusted_proxies=("127.0.0.1/32",), country_header="cf-ipcountry")
    # From a peer that is not a trusted proxy, anyone could have set the header: not believed.
    untrusted = make_settings(trusted_proxies=("10.0.0.0/8",), country_header="cf-ipcountry")
    for settings, expected in ((trusted, ["", "", "", "DE"]), (untrusted, ["", "", "", ""])):
        async with asgi_client(settings, peer="127.0.0.1") as (_, client):
            await send(client)
        assert countries() == expected
        app = create_app(settings)
        async with served(app) as base, httpx.AsyncClient(base_url=base) as client:
            await send(client)
        assert countries() == expected
