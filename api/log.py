"""Logging of the API, the worker and the CLI: the tracker's formatters (`tracker.log`), in the
format LOG_FORMAT names, at LOG_LEVEL."""

from __future__ import annotations

import logging
from typing import Any

from api.settings import get_settings
from tracker.log import configure_logging as _configure
from tracker.log import dict_config as _dict_config

# Chatter below WARNING unless LOG_LEVEL=DEBUG: alembic names every plugin it loads and every step
# it runs (`vouch migrate` sums them up in one line, see `api.migrations.Upgrade`).
QUIET = ("alembic",)


def configure_logging() -> None:
    settings = get_settings()
    _configure(level=settings.log_level, fmt=settings.log_format)
    _quiet_chatter()


def dict_config() -> dict[str, Any]:
    """The same, for uvicorn to apply in each of its worker processes (API_WORKERS > 1)."""
    settings = get_settings()
    return _dict_config(settings.log_level, settings.log_format)


def _quiet_chatter() -> None:
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)
