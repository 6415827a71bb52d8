"""Runs the tracker under granian (ASGI, HTTP/1.1, uvloop): `python -m tracker`.

granian parses HTTP and writes responses in Rust and calls the ASGI app from one Python thread
per worker process; for a redirect that is about a third less CPU than uvicorn with httptools
(`make bench-tracker`). The ASGI lifespan runs in each worker, so SIGTERM/SIGINT flush its
buffered clicks before it exits.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from typing import Any

from tracker.app import create_app
from tracker.log import configure_logging
from tracker.settings import TrackerSettings, load

# The settings given to `serve`, for the app factory that runs in each (forked) worker.
_settings: TrackerSettings | None = None


def _logging_config(level: str) -> dict[str, Any]:
    """granian's own loggers, as JSON lines on stderr like ours."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "tracker.log.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {"_granian": {"propagate": True}, "granian.access": {"propagate": True}},
    }


def worker_app() -> Callable[[Any, Any, Any], Awaitable[None]]:
    """The ASGI callable of one worker process (granian calls this factory in the worker)."""
    settings = _settings or load()
    configure_logging(settings.log_level)
    app = create_app(settings)
    # Fewer, cheaper collections: what exists at start-up (the app included) is never
    # collected, and a redirect allocates a few dozen short-lived objects, so young collections
    # need not run every 700.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    return app.handle


def server_options() -> dict[str, Any]:
    """granian options of the tracker, also used by the tests' embedded server."""
    from granian.constants import HTTPModes, Interfaces, TaskImpl

    return {
        "interface": Interfaces.ASGI,  # with the lifespan protocol: startup and shutdown flush
        "http": HTTPModes.http1,
        "websockets": False,
        # asyncio tasks: granian's Rust ones are a little cheaper, but asyncio.shield and
        # timeouts (Redis calls off the hot path) don't work in them
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
    configure_logging(settings.log_level)
    level = settings.log_level.lower()
    Granian(
        "tracker.server:worker_app",
        factory=True,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop=Loops.uvloop,
        # One single-threaded Rust runtime per worker (granian picks a multi-threaded one for
        # ASGI): fewer thread hand-offs per request, about 6% more redirects/s on this machine.
        runtime_mode=RuntimeModes.st,
        backlog=2048,
        log_level=LogLevels(level) if level in LogLevels.__members__ else LogLevels.info,
        log_dictconfig=_logging_config(settings.log_level),
        **server_options(),
    ).serve()
