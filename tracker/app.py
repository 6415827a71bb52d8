"""The tracker's app: an ASGI app, which granian serves through its RSGI interface.

`/c/{code}` is a plain ASGI handler (Starlette's Request and Response objects would cost about
40% of a redirect); `/healthz`, `/metrics` and the postbacks are Starlette routes. Under granian
(`vouch tracker serve`), a GET of a cached code is answered by `__rsgi__` without building an
ASGI scope or send messages; every other request goes to the ASGI side (`tracker.rsgi`). Both
paths log a click with the one `record_click`. The hot path never waits on Redis for a cached
link: it builds the Location from pieces prepared per link, appends the click event to the
sink's buffer and answers.

What each request gets:
- GET of an active link: 302 with `vclid`, one click event (bot=1 for crawlers and previewers,
  unique=0 with the first click id for a repeat within the dedupe window).
- HEAD of an active link: the same 302, never logged.
- Unknown or deactivated code: 404 page; a GET is logged as an orphan event.
- Malformed code: 404 page, no lookup, not logged.
- Uncached code while Redis is unreachable: 503 with Retry-After.
- `/metrics`: Prometheus text with `Authorization: Bearer <TRACKER_METRICS_TOKEN>`, 401 without
  it; 404 when no token is set.
"""

from __future__ import annotations

import asyncio
import enum
import hmac
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Coroutine
from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tracker import keys, sealing
from tracker.bots import is_bot
from tracker.cache import DedupeWindow
from tracker.clientip import ClientIp, IpHasher, truncate_ip
from tracker.events import (
    SEP,
    clean,
    country_of_header,
    orphan_head,
    referer_origin_path,
    valid_code,
)
from tracker.events import new_id as _new_id
from tracker.links import LinkResolver, Unavailable
from tracker.metrics import Metrics
from tracker.postbacks import Postbacks
from tracker.redirect import Target
from tracker.redis_client import async_client
from tracker.rsgi import UNREADABLE_USER_AGENT, call_asgi, peer_host
from tracker.settings import TrackerSettings, load
from tracker.shops import Shops
from tracker.sink import REDIS_ERRORS, ClickSink, RedisHealth
from tracker.spool import Spool

log = logging.getLogger("tracker.app")

Scope = dict[str, Any]
# A click event as the hot path buffers it: the link's packed head fields, event id, click id,
# ts (ms), full client IP, user agent, referer, and the packed bot and unique flags.
RawEvent = tuple[str, str, str, int, str, str, str, str]

USER_AGENT_LIMIT = 512
USER_AGENT_CACHE_SIZE = 10_000
REFERER_LIMIT = 1024
REFERER_CACHE_SIZE = 10_000

_NOT_FOUND_PAGE = (
    b'<!doctype html><html lang="en"><head><meta charset="utf-8">'
    b'<meta name="robots" content="noindex"><title>Link not found</title></head>'
    b"<body><h1>Link not found</h1>"
    b"<p>This link does not exist or is no longer active.</p></body></html>"
)
_UNAVAILABLE_PAGE = (
    b'<!doctype html><html lang="en"><head><meta charset="utf-8">'
    b'<meta name="robots" content="noindex"><title>Try again</title></head>'
    b"<body><h1>Temporarily unavailable</h1>"
    b"<p>This link can't be opened right now. Please try again in a moment.</p></body></html>"
)
_NO_STORE = (b"cache-control", b"private, no-store")
_REDIRECT_HEADERS = [
    _NO_STORE,
    (b"referrer-policy", b"no-referrer-when-downgrade"),
    (b"content-length", b"0"),
]
_EMPTY_BODY = {"type": "http.response.body", "body": b""}
# RSGI's response_empty writes content-length itself
_RSGI_REDIRECT_HEADERS = [
    (k.decode(), v.decode()) for k, v in _REDIRECT_HEADERS if k != b"content-length"
]
# the last two packed fields of an event, `bot` and `unique`
# bot, unique and the separator before the country (`country` is appended, "" when none)
_BOT_FLAGS = SEP.join(("1", "0", ""))
_UNIQUE_FLAGS = SEP.join(("0", "1", ""))
_REPEAT_FLAGS = SEP.join(("0", "0", ""))


class _Answered(enum.Enum):
    """What `_uncached` returns when it has answered the request itself."""

    ANSWERED = enum.auto()


_ANSWERED = _Answered.ANSWERED

_monotonic = time.monotonic
_time_ns = time.time_ns


def _redirect_start(location: bytes) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": 302,
        "headers": [(b"location", location), *_REDIRECT_HEADERS],
    }


def _header_text_raw(raw: bytes | str, limit: int) -> str:
    return raw[:limit] if isinstance(raw, str) else raw[:limit].decode("utf-8", "replace")


def _header_text(raw: bytes | str, limit: int) -> str:
    text = _header_text_raw(raw, limit)
    return text if text.isprintable() else clean(text)


def _page_headers(body: bytes, *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        _NO_STORE,
        *extra,
    ]


class TrackerApp:
    def __init__(self, settings: TrackerSettings, redis: Any | None = None) -> None:
        self.settings = settings
        self._owns_redis = redis is None
        if redis is None:
            timeout = settings.redis_timeout_seconds
            redis = async_client(
                settings.redis,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 1),
            )
        self.redis = redis
        self.metrics = Metrics()
        self.health = RedisHealth()
        self.spool = Spool(settings.spool_dir)
        self.sink = ClickSink(
            redis,
            keys.clicks_stream(settings.redis.prefix),
            self.spool,
            self.metrics,
            self.health,
            batch_size=settings.batch_size,
            buffer_size=settings.buffer_size,
            flush_delay=settings.flush_delay_ms / 1000,
            max_flushes=settings.max_flushes,
            replay_interval=settings.replay_interval_seconds,
            marker_ttl=settings.batch_marker_ttl_seconds,
            encode=self._encode,
            dedupe_window=settings.dedupe_window_seconds,
            trackers_key=keys.trackers(settings.redis.prefix),
            instance=f"{socket.gethostname()}:{os.getpid()}:{_new_id()}",
        )
        self.links = LinkResolver(
            redis,
            settings.redis.prefix,
            self.metrics,
            self.health,
            size=settings.cache_size,
            ttl=settings.cache_ttl_seconds,
            negative_ttl=settings.negative_cache_ttl_seconds,
        )
        self.client_ip = ClientIp(settings.trusted_proxies)
        self.dedupe = DedupeWindow(settings.dedupe_window_seconds, settings.dedupe_size)
        self._hash_ip = IpHasher(settings.ip_hash_key.encode())
        # bound once: the hot path runs them on every click
        self._cached_link = self.links.cache.get
        self._resolve_ip = self.client_ip.resolve
        self._country_header = settings.country_header
        self._country_header_bytes = settings.country_header.encode()
        self._first_visit = self.dedupe.seen
        self._remember = self.dedupe.remember
        self._dedupe_window = settings.dedupe_window_seconds
        self._add_event = self.sink.add
        # keyed by the raw header: bytes over ASGI, str over RSGI
        self._user_agents: dict[bytes | str, tuple[str, bool]] = {}
        self._referers: dict[bytes | str, str] = {}
        self._page_404 = _page_headers(_NOT_FOUND_PAGE)
        self._rsgi_page_404 = [(k.decode(), v.decode()) for k, v in self._page_404]
        self._page_503 = _page_headers(_UNAVAILABLE_PAGE, (b"retry-after", b"5"))

        m = self.metrics
        m.gauge("buffer_depth", "Events buffered in memory", lambda: self.sink.depth)
        m.gauge("spool_depth", "Events in the local spool", lambda: self.spool.depth)
        m.gauge("redis_up", "1 if the last Redis call succeeded", lambda: int(self.health.up))
        m.gauge("link_cache_entries", "Codes in the link cache", lambda: len(self.links.cache))
        m.gauge("dedupe_entries", "Visitors in the dedupe window", lambda: len(self.dedupe))

        # the last start or stop granian's embedded server scheduled (see `__rsgi_init__`)
        self.lifecycle: asyncio.Task[None] | None = None

        postbacks = Postbacks(
            redis, settings.redis.prefix, sealer=sealing.sealer(settings.secret_keys)
        )
        self._web = Starlette(
            routes=[
                Route("/healthz", self._healthz, methods=["GET"]),
                Route("/metrics", self._metrics, methods=["GET"]),
                # POST /v1/conversions, refunds; POST /shops/{connection}/{platform}
                *postbacks.routes(),
                *Shops(postbacks, customer_hash_key=settings.customer_hash_key).routes(),
            ],
            exception_handlers={HTTPException: self._http_error},  # type: ignore[dict-item]
        )

    # --- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.handle(scope, receive, send)

    def handle(self, scope: Scope, receive: Any, send: Any) -> Awaitable[None]:
        """The ASGI entry point the server calls: a plain function returning the handler's
        coroutine, one coroutine less per redirect than `__call__` (which ASGI servers and
        test clients that sniff for a coroutine function get)."""
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith("/c/"):
                return self.click(scope, send, path[3:])
        elif scope["type"] == "lifespan":
            return self._lifespan(receive, send)
        return self._web(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("tracker startup failed")
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        await self.sink.start()
        log.info(
            "tracker started",
            extra={"prefix": self.settings.redis.prefix, "spool": self.spool.depth},
        )

    async def shutdown(self) -> None:
        await self.sink.close()
        if self._owns_redis:
            await self.redis.aclose()
        log.info("tracker stopped", extra={"spool": self.spool.depth})

    # --- RSGI (granian) ------------------------------------------------------------------

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        """granian's RSGI entry point: a GET of a cached code is answered here; anything else
        goes to the ASGI app (`tracker.rsgi`). Same rules, same events, less server work."""
        if scope.proto == "http" and scope.method == "GET":
            path: str = scope.path
            if path.startswith("/c/"):
                code = path[3:]
                now = _monotonic()
                entry = self._cached_link(code)
                if entry is not None and entry[0] > now:
                    target = entry[1]
                    headers = scope.headers
                    user_agent = headers.get("user-agent")
                    if user_agent is None:
                        user_agent = UNREADABLE_USER_AGENT if "user-agent" in headers else ""
                    ip = peer_host(scope.client)
                    country = ""
                    if self._country_header:
                        country = self._country(ip, headers.get(self._country_header))
                    forwarded = headers.get_all("x-forwarded-for")
                    if forwarded:
                        ip = self._resolve_ip(ip, ",".join(forwarded))
                    click_id = self.record_click(
                        target, code, user_agent, headers.get("referer", ""), ip, now, country
                    )
                    if target is None:
                        proto.response_bytes(404, self._rsgi_page_404, _NOT_FOUND_PAGE)
                    else:
                        location = target.location_head_text + click_id + target.location_tail_text
                        proto.response_empty(302, [("location", location), *_RSGI_REDIRECT_HEADERS])
                    return
        await call_asgi(self.handle, scope, proto)

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Starts the sink (RSGI has no lifespan: granian calls this in the worker). In granian's
        embedded server the loop is already running: the start is a task (`lifecycle`)."""
        self._run_in(loop, self.startup())

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Flushes the buffer and stops, when granian stops the worker (see `__rsgi_init__`)."""
        self._run_in(loop, self.shutdown())

    def _run_in(self, loop: asyncio.AbstractEventLoop, step: Coroutine[Any, Any, None]) -> None:
        if loop.is_running():
            self.lifecycle = loop.create_task(step)
        else:
            loop.run_until_complete(step)

    # --- /c/{code} -----------------------------------------------------------------------

    async def click(self, scope: Scope, send: Any, code: str) -> None:
        if scope["method"] != "GET":
            await self._not_get(scope, send, code)
            return
        now = _monotonic()
        entry = self._cached_link(code)
        if entry is not None and entry[0] > now:
            target = entry[1]
        else:
            resolved = await self._uncached(send, code, False)
            if resolved is _ANSWERED:
                return
            target = resolved

        user_agent = referer = forwarded = b""
        country_header = self._country_header_bytes
        country_value: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value
            elif name == b"referer":
                referer = value
            elif name == b"x-forwarded-for":
                forwarded = forwarded + b"," + value if forwarded else value
            elif country_header and name == country_header:
                country_value = value
        client = scope.get("client")
        ip = client[0] if client else ""
        country = ""
        if country_value is not None:
            country = self._country(ip, country_value.decode("latin-1"))
        if forwarded:
            ip = self._resolve_ip(ip, forwarded.decode("latin-1"))
        click_id = self.record_click(target, code, user_agent, referer, ip, now, country)
        if target is None:
            await self._page(send, 404, self._page_404, _NOT_FOUND_PAGE, False)
            return
        await send({
            "type": "http.response.start",
            "status": 302,
            "headers": [
                (b"location", target.location_head + click_id.encode() + target.location_tail),
                *_REDIRECT_HEADERS,
            ],
        })  # fmt: skip
        await send(_EMPTY_BODY)

    def record_click(
        self,
        target: Target | None,
        code: str,
        user_agent: bytes | str,
        referer: bytes | str,
        ip: str,
        now: float,
        country: str = "",
    ) -> str:
        """Logs a GET of `/c/{code}` (`target` None: an unknown or inactive code, answered 404)
        by a client at `ip`, with these raw headers (bytes over ASGI, str over RSGI) and the
        country a trusted proxy gave ("" when none). Returns the click id for the redirect's
        `vclid` ("" for an orphan)."""
        known = self._user_agents.get(user_agent)
        if known is None:
            known = self._learn_user_agent(user_agent)
        ua, bot = known
        ref = self._referers.get(referer)
        if ref is None:
            ref = self._learn_referer(referer)
        ms = _time_ns() // 1_000_000
        event_id = _new_id(ms)
        metrics = self.metrics

        # The event as a tuple: `_encode` packs it, truncating and hashing the IP, when it
        # leaves the buffer with its batch.
        if target is None:
            metrics.orphans += 1
            flags = _BOT_FLAGS if bot else _REPEAT_FLAGS  # an orphan is never a unique click
            if country:
                flags += country
            self._add_event((orphan_head(code), event_id, "", ms, ip, ua, ref, flags))
            return ""

        if bot:
            metrics.bot_hits += 1
            click_id = event_id
            flags = _BOT_FLAGS
        else:
            metrics.clicks += 1
            key = hash((ip, ua, code))
            first = self._first_visit(key, now)
            if first is None:
                metrics.unique_clicks += 1
                click_id = event_id
                flags = _UNIQUE_FLAGS
                self._remember(key, (now + self._dedupe_window, event_id))
            else:
                click_id = first[1]
                flags = _REPEAT_FLAGS
        if country:
            flags += country
        self._add_event((target.event_head, event_id, click_id, ms, ip, ua, ref, flags))
        return click_id

    def _country(self, peer: str, value: str | None) -> str:
        """The country in a proxy's country header, believed from a trusted peer only (anyone
        else could send any country)."""
        if value is None or not self.client_ip.trusted_peer(peer):
            return ""
        return country_of_header(value)

    async def _uncached(self, send: Any, code: str, head: bool) -> Target | _Answered | None:
        """The target of a code the cache has no fresh entry for; `_ANSWERED` when it has
        answered the request itself (a malformed code, or Redis unreachable)."""
        if not valid_code(code):
            self.metrics.invalid_codes += 1
            await self._page(send, 404, self._page_404, _NOT_FOUND_PAGE, head)
            return _ANSWERED
        try:
            return await self.links.resolve(code)
        except Unavailable:
            self.metrics.unavailable += 1
            await self._page(send, 503, self._page_503, _UNAVAILABLE_PAGE, head)
            return _ANSWERED

    async def _not_get(self, scope: Scope, send: Any, code: str) -> None:
        """HEAD gets the same answer as GET and is never logged; other methods get 405."""
        if scope["method"] != "HEAD":
            await self._method_not_allowed(send)
            return
        entry = self._cached_link(code)
        fresh = entry is not None and entry[0] > _monotonic()
        target = entry[1] if entry and fresh else await self._uncached(send, code, True)
        if target is _ANSWERED:
            return
        self.metrics.head_requests += 1
        if target is None:
            await self._page(send, 404, self._page_404, _NOT_FOUND_PAGE, True)
            return
        self.metrics.head_redirects += 1
        location = target.location_head + _new_id().encode() + target.location_tail
        await send(_redirect_start(location))
        await send(_EMPTY_BODY)

    def _encode(self, events: list[RawEvent]) -> list[str]:
        """Packs buffered events (see `tracker.events.FIELDS`), a batch at a time: the IP is
        truncated and hashed here, once per distinct address in the batch, off the request path
        and before anything can reach the spool (the full IP is never stored)."""
        hash_ip = self._hash_ip
        ips: dict[str, str] = {}
        known_ip = ips.get
        join = SEP.join
        packed: list[str] = []
        append = packed.append
        for head, event_id, click_id, ms, ip, ua, ref, flags in events:
            ip_fields = known_ip(ip)
            if ip_fields is None:
                ip_fields = ips[ip] = truncate_ip(ip) + SEP + hash_ip(ip)
            append(join((head, event_id, click_id, str(ms), ip_fields, ua, ref, flags)))
        return packed

    def _learn_referer(self, raw: bytes | str) -> str:
        """The text of a Referer header, remembered like User-Agents: most clicks come from a
        few pages (a bio link, a video description)."""
        text = clean(referer_origin_path(_header_text_raw(raw, REFERER_LIMIT)))
        if len(self._referers) >= REFERER_CACHE_SIZE:
            self._referers.clear()
        self._referers[raw] = text
        return text

    def _learn_user_agent(self, raw: bytes | str) -> tuple[str, bool]:
        """The text and bot verdict of a User-Agent header, remembered: the same few hundred
        values make most of the traffic."""
        ua = _header_text(raw, USER_AGENT_LIMIT)
        # By the known patterns only: a User-Agent that is not ASCII (a phone model, an app's
        # name in its own script) is a shopper as often as any, and one granian cannot read
        # (UNREADABLE_USER_AGENT) matches no pattern either.
        known = (ua, is_bot(ua))
        if len(self._user_agents) >= USER_AGENT_CACHE_SIZE:
            self._user_agents.clear()
        self._user_agents[raw] = known
        return known

    @staticmethod
    async def _page(
        send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool
    ) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})

    @staticmethod
    async def _method_not_allowed(send: Any) -> None:
        body = json.dumps(
            {"error": "method_not_allowed", "message": "tracked links accept GET and HEAD"}
        ).encode()
        await send({
            "type": "http.response.start",
            "status": 405,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"allow", b"GET, HEAD"),
            ],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    # --- /healthz, /metrics ----------------------------------------------------------------

    async def _healthz(self, request: Request) -> Response:
        try:
            await self.redis.ping()
        except REDIS_ERRORS as exc:
            self.metrics.redis_errors += 1
            self.health.mark_down(exc, "health check")
        else:
            self.health.mark_up()
        return JSONResponse(
            {
                "status": "ok" if self.health.up else "degraded",
                "redis": self.health.up,
                "buffer": self.sink.depth,
                "spool": self.spool.depth,
            },
            headers={"cache-control": "no-store"},
        )

    async def _metrics(self, request: Request) -> Response:
        token = self.settings.metrics_token
        if not token:
            raise HTTPException(404)  # off: as for any other unknown path
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("latin-1"), token.encode()
        ):
            return JSONResponse(
                {"error": "unauthorized", "message": "send 'Authorization: Bearer <token>'"},
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="metrics"', "cache-control": "no-store"},
            )
        return PlainTextResponse(
            self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def _http_error(self, request: Request, exc: HTTPException) -> Response:
        error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": error, "message": exc.detail},
            status_code=exc.status_code,
            headers=exc.headers,
        )


def create_app(settings: TrackerSettings | None = None, redis: Any | None = None) -> TrackerApp:
    """The tracker app; `redis` (an asyncio client) is used as is, else one is made from
    the settings and closed at shutdown."""
    return TrackerApp(settings or load(), redis)
