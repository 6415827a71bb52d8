"""Logs through the stdlib `logging` module, in one of two formats (LOG_FORMAT):

- `text` (the default): a line a person reads in a terminal, `12:04:05 WARNING vouch.ingest:
  redis unavailable  error='...' retry_in=0.4`, a traceback under it when there is one;
- `json`: one JSON object per line for a log pipeline.

Fields passed with `extra={...}` become `key=value` pairs, or keys of the object. The API, the
worker and granian's and uvicorn's own loggers use the same formatters (`dict_config`).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of msg
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in extras(record).items():
            payload.setdefault(key, value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record was given with `extra={...}`."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{time.strftime('%H:%M:%S', time.localtime(record.created))} "
            f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        )
        fields = extras(record)
        if fields:
            line += "  " + " ".join(f"{k}={v!r}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


FORMATTERS: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}


def dict_config(level: str, fmt: str = "text") -> dict[str, Any]:
    """The `logging.config.dictConfig` of `configure_logging`, for servers that configure each
    of their worker processes from one (granian's `log_dictconfig`, uvicorn's `log_config`)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": f"{__name__}.{FORMATTERS[fmt].__name__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        # the servers' own loggers propagate to the root, and so share its handler
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("_granian", "granian.access", "uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record is emitted, not the stream it was when
    logging was configured (which a test's capture, or a redirection, may have closed since)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(
    level: str | int = "INFO", stream: TextIO | None = None, fmt: str = "text"
) -> None:
    """Sends every logger's records to `stream` (default: the process's stderr of the moment)
    in the format `fmt` (text or json)."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream else StderrHandler()
    handler.setFormatter(FORMATTERS[fmt]())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
