"""Runs the tracker under uvicorn (uvloop, httptools): `python -m tracker`."""

from __future__ import annotations

import gc
from typing import Any

import uvicorn

from tracker.app import create_app
from tracker.log import configure_logging
from tracker.settings import TrackerSettings, load


def serve(settings: TrackerSettings | None = None) -> None:
    """Serves until SIGINT/SIGTERM; the lifespan shutdown then writes out buffered clicks.

    With `settings.workers` > 1 every worker builds its app from the environment (uvicorn
    imports `create_app` in each process), so `settings` must be the environment's.
    """
    settings = settings or load()
    configure_logging(settings.log_level)
    # Fewer, cheaper collections: what exists at start-up is never collected, and a redirect
    # allocates a few dozen short-lived objects, so young collections need not run every 700.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        "access_log": False,  # no per-request logging: /metrics counts them
        "log_config": None,  # keep our JSON logging
        "server_header": False,
        # X-Forwarded-For is ours to judge (trusted_proxies), never uvicorn's.
        "proxy_headers": False,
    }
    if settings.workers > 1:
        uvicorn.run("tracker.app:create_app", factory=True, workers=settings.workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
