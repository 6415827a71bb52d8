"""Runs the tracker under granian (RSGI, HTTP/1.1, uvloop): `python -m tracker`.

granian parses HTTP and writes responses in Rust and calls the app from one Python thread per
worker process. Over its RSGI interface the app answers a cached redirect without an ASGI scope
or send messages, and calls its ASGI side for everything else (`tracker.rsgi`): 5-17% more
redirects/s than the same app over granian's ASGI (`make bench-tracker BENCH_ARGS=--asgi`),
which was itself 15-20% ahead of uvicorn. Each worker starts the app's sink when it starts, and
flushes its buffered clicks when SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from typing import Any

from tracker.app import TrackerApp, create_app
from tracker.log import configure_logging, dict_config
from tracker.ports import ensure_free
from tracker.settings import TrackerSettings, load

# The settings given to `serve`, for the app factory that runs in each (forked) worker.
_settings: TrackerSettings | None = None


def worker_app() -> TrackerApp | Callable[[Any, Any, Any], Awaitable[None]]:
    """The app of one worker process (granian calls this factory in the worker): the app for
    RSGI, its ASGI entry point for ASGI."""
    settings = _settings or load()
    configure_logging(settings.log_level, fmt=settings.log_format)
    app = create_app(settings)
    # Fewer, cheaper collections: what exists at start-up (the app included) is never
    # collected, and a redirect allocates a few dozen short-lived objects, so young collections
    # need not run every 700.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    return app if settings.interface == "rsgi" else app.handle


def server_options(interface: str = "rsgi") -> dict[str, Any]:
    """granian options of the tracker, also used by the tests' embedded server."""
    from granian.constants import HTTPModes, Interfaces, TaskImpl

    return {
        # RSGI: __rsgi_init__ starts the sink, __rsgi_del__ flushes it; ASGI: the lifespan
        "interface": Interfaces.RSGI if interface == "rsgi" else Interfaces.ASGI,
        "http": HTTPModes.http1,
        "websockets": False,
        # asyncio tasks: granian's Rust ones showed no gain over RSGI here, and asyncio.shield
        # and timeouts (Redis calls off the hot path) don't work in them
        "task_impl": TaskImpl.asyncio,
        "log_access": False,  # no per-request logging: /metrics counts them
        # X-Forwarded-For is ours to judge (trusted_proxies): granian never rewrites the client.
    }


def serve(settings: TrackerSettings | None = None) -> None:
    """Serves until SIGINT/SIGTERM; each worker's lifespan shutdown then writes out its buffered
    clicks. Workers are forked, so they build their app from `settings` (else the environment)."""
    global _settings
    from granian import Granian
    from granian.constants import Loops, RuntimeModes
    from granian.log import LogLevels

    settings = _settings = settings or load()
    ensure_free(settings.host, settings.port, "TRACKER_PORT", "TRACKER_HOST")
    configure_logging(settings.log_level, fmt=settings.log_format)
    level = settings.log_level.lower()
    Granian(
        "tracker.server:worker_app",
        factory=True,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop=Loops.uvloop,
        # One single-threaded Rust runtime per worker (granian's default is multi-threaded):
        # fewer thread hand-offs per request, about 6% more redirects/s on this machine.
        runtime_mode=RuntimeModes.st,
        backlog=2048,
        log_level=LogLevels(level) if level in LogLevels.__members__ else LogLevels.info,
        log_dictconfig=dict_config(settings.log_level, settings.log_format),
        **server_options(settings.interface),
    ).serve()
