"""API, worker and CLI settings, read from the environment in this one place.

Redis settings are the tracker's (`tracker.settings.RedisSettings`) so both services agree on
where Redis is and what its keys are called.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from tracker.sealing import DEV_KEY
from tracker.settings import (
    LOG_FORMATS,
    RedisSettings,
    SettingError,
    TrackerSettings,
    env_choice,
    env_count,
    env_int,
    secret_keys,
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
    # Seal the secrets kept in the database and Redis (`tracker.sealing`): newest first.
    secret_keys: tuple[str, ...] = field(default_factory=secret_keys, repr=False)
    # GraphQL limits.
    max_query_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 5000
    max_page_size: int = 100
    default_page_size: int = 20
    # URL inputs may point at loopback, private and link-local addresses and internal host
    # names (`api.domain.validation.public_url`): for local development only.
    allow_private_urls: bool = field(
        default_factory=lambda: env_choice("ALLOW_PRIVATE_URLS", "0", ("0", "1")) == "1"
    )
    # Failed authentications allowed per window, per client and per key prefix, before 429
    # (`api.accounts.lockout`). 0: no limit.
    auth_failures_per_client: int = field(
        default_factory=lambda: env_count("AUTH_FAILURES_PER_CLIENT", 20)
    )
    auth_failures_per_key: int = field(
        default_factory=lambda: env_count("AUTH_FAILURES_PER_KEY", 20)
    )
    auth_failure_window_seconds: int = field(
        default_factory=lambda: env_count("AUTH_FAILURE_WINDOW", 60, minimum=1)
    )
    # The largest request body the API reads (413 above it); a GraphQL document is a few KB.
    max_body_bytes: int = field(
        default_factory=lambda: env_count("API_MAX_BODY_BYTES", 1 << 20, minimum=1)
    )
    # The largest CSV an import reads (`vouch import ...`, `importPostMetrics`); over GraphQL
    # the request body limit above applies first.
    import_max_bytes: int = field(
        default_factory=lambda: env_count("IMPORT_MAX_BYTES", 10 << 20, minimum=1)
    )
    # How many days before usage rights end they are EXPIRING and `usage_rights.expiring` fires.
    usage_rights_notice_days: int = field(
        default_factory=lambda: env_count("USAGE_RIGHTS_NOTICE_DAYS", 14, minimum=1)
    )
    redis: RedisSettings = field(default_factory=RedisSettings)
    tracker: TrackerSettings = field(default_factory=TrackerSettings)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def dev_secret_key(self) -> bool:
        """Whether secrets are sealed with the development key (`tracker.sealing.DEV_KEY`)."""
        return self.secret_keys[0] == DEV_KEY


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Re-reads the environment (tests change it)."""
    get_settings.cache_clear()
