"""Logging of the API, the worker and the CLI: the tracker's formatters (`tracker.log`), in the
format LOG_FORMAT names, at LOG_LEVEL."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import ClientDisconnect

from api.settings import get_settings
from tracker.log import configure_logging as _configure
from tracker.log import dict_config as _dict_config
from tracker.log import extras

# Chatter below WARNING unless LOG_LEVEL=DEBUG: alembic names every plugin it loads and every step
# it runs (`vouch migrate` sums them up in one line, see `api.migrations.Upgrade`).
QUIET = ("alembic",)

request_log = logging.getLogger("vouch.api.requests")


class IdleProgress(logging.Filter):
    """Drops the ingest worker's periodic "ingest progress" record while it has nothing new to
    say (every counter zero, or all as in the last one shown): an idle worker is silent."""

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, Any] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != "ingest progress":
            return True
        counters = extras(record)
        if counters == self._last or not any(counters.values()):
            return False
        self._last = counters
        return True


def configure_logging() -> None:
    settings = get_settings()
    _configure(level=settings.log_level, fmt=settings.log_format)
    _quiet_chatter()
    ingest = logging.getLogger("vouch.ingest")
    if not any(isinstance(f, IdleProgress) for f in ingest.filters):
        ingest.addFilter(IdleProgress())


def dict_config() -> dict[str, Any]:
    """The same, for uvicorn to apply in each of its worker processes (API_WORKERS > 1)."""
    settings = get_settings()
    return _dict_config(settings.log_level, settings.log_format)


def _quiet_chatter() -> None:
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)


class RequestLog:
    """ASGI middleware: a client's mistakes as INFO lines, not server errors. A response of
    4xx says its method, path and status; a client that goes away before its request is read
    (Starlette raises `ClientDisconnect`, which uvicorn would log as an ERROR with a traceback)
    is one line too. Server faults stay with whoever catches them: uvicorn, at ERROR."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except ClientDisconnect:
            request_log.info("%s %s: the client disconnected", scope["method"], scope["path"])
            return
        if 400 <= status < 500:
            request_log.info("%s %s %d", scope["method"], scope["path"], status)
