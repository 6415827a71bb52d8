"""API, worker and CLI settings, read from the environment in this one place.

Redis settings are the tracker's (`tracker.settings.RedisSettings`) so both services agree on
where Redis is and what its keys are called.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from tracker.settings import (
    LOG_FORMATS,
    RedisSettings,
    SettingError,
    TrackerSettings,
    env_choice,
    env_int,
)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _default_database_url() -> str:
    data_dir = _env("VOUCH_DATA_DIR", "var")
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as exc:
        raise SettingError(
            "VOUCH_DATA_DIR", data_dir, f"cannot create it: {exc.strerror}"
        ) from None
    return f"sqlite:///{os.path.abspath(os.path.join(data_dir, 'vouch.db'))}"


def _positive(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 1:
        raise SettingError(name, str(value), "must be at least 1")
    return value


@dataclass(frozen=True)
class Settings:
    # No DATABASE_URL: SQLite in a file under the working directory.
    database_url: str = field(
        default_factory=lambda: _env("DATABASE_URL") or _default_database_url()
    )
    host: str = field(default_factory=lambda: _env("API_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: env_int("API_PORT", 8000))
    workers: int = field(default_factory=lambda: env_int("API_WORKERS", 1))
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))
    log_format: str = field(default_factory=lambda: env_choice("LOG_FORMAT", "text", LOG_FORMATS))
    # Salt of the hashids that turn tracked-link ids into short codes: set it once per deployment.
    hashids_salt: str = field(default_factory=lambda: _env("HASHIDS_SALT", "vouch-dev-salt"))
    hashids_min_length: int = 7
    # GraphQL limits.
    max_query_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 5000
    max_page_size: int = 100
    default_page_size: int = 20
    # The largest request body the API reads (413 above it); a GraphQL document is a few KB.
    max_body_bytes: int = field(default_factory=lambda: _positive("API_MAX_BODY_BYTES", 1 << 20))
    redis: RedisSettings = field(default_factory=RedisSettings)
    tracker: TrackerSettings = field(default_factory=TrackerSettings)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Re-reads the environment (tests change it)."""
    get_settings.cache_clear()
