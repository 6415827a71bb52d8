"""Structured logging for the API, the worker and the CLI: the tracker's JSON formatter."""

from __future__ import annotations

from api.settings import get_settings
from tracker.log import configure_logging as _configure


def configure_logging() -> None:
    _configure(level=get_settings().log_level)
