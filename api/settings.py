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
    env_float,
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


def env_positive(name: str, default: float) -> float:
    value = env_float(name, default)
    if not 0 < value <= 3600:  # also refuses nan and inf
        raise SettingError(name, str(value), "must be a number of seconds, above 0, at most 3600")
    return value


def _clickhouse_url() -> str:
    """CLICKHOUSE_URL: a server (`http(s)://user:pass@host:8123/db`, `clickhouse-connect`) or
    the embedded engine in a directory (`chdb:///path/to/dir`, one process at a time)."""
    from urllib.parse import urlsplit

    url = _env("CLICKHOUSE_URL")
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        if not parts.path or parts.path == "/" or parts.netloc:
            raise SettingError("CLICKHOUSE_URL", url, "chdb:///path/to/dir needs a directory")
    elif parts.scheme in ("http", "https"):
        try:
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError:
            raise SettingError("CLICKHOUSE_URL", url, "the port is not a number") from None
        if not parts.hostname:
            raise SettingError("CLICKHOUSE_URL", url, "needs a host: http://user:pass@host:8123/db")
    else:
        raise SettingError(
            "CLICKHOUSE_URL", url, "must be http(s)://user:pass@host:8123/db or chdb:///path"
        )
    return url


def _analytics_source() -> str:
    source = env_choice("ANALYTICS_SOURCE", "rollups", ("rollups", "clickhouse"))
    if source == "clickhouse" and not _env("CLICKHOUSE_URL"):
        raise SettingError("ANALYTICS_SOURCE", source, "needs CLICKHOUSE_URL")
    return source


def _public_url() -> str:
    url = _env("API_PUBLIC_URL").rstrip("/")
    if url and not url.startswith(("http://", "https://")):
        raise SettingError("API_PUBLIC_URL", url, "must start with http:// or https://")
    return url or f"http://{_env('API_HOST', '127.0.0.1')}:{env_int('API_PORT', 8000)}"


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes (`api.mail`). No SMTP_HOST: messages are written to the local outbox
    (`vouch mail list`), so a laptop with no mail server still signs people in."""

    host: str = field(default_factory=lambda: _env("SMTP_HOST"))
    port: int = field(default_factory=lambda: env_int("SMTP_PORT", 587))
    user: str = field(default_factory=lambda: _env("SMTP_USER"))
    password: str = field(default_factory=lambda: _env("SMTP_PASSWORD"), repr=False)
    sender: str = field(default_factory=lambda: _env("SMTP_FROM", "Vouch <no-reply@localhost>"))
    # starttls on the submission port; ssl for implicit TLS (465); none for a local relay.
    tls: str = field(
        default_factory=lambda: env_choice("SMTP_TLS", "starttls", ("starttls", "ssl", "none"))
    )

    @property
    def enabled(self) -> bool:
        return bool(self.host)


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
    # The 1099-NEC reporting threshold in whole US dollars for `vouch tax report`; unset: the
    # statute's figure for the year ($2,000 for payments from 2026, $600 before).
    tax_1099_threshold_usd: int | None = field(
        default_factory=lambda: (
            env_count("TAX_1099_THRESHOLD", 0, minimum=1) if _env("TAX_1099_THRESHOLD") else None
        )
    )
    # The webhook dispatcher (`api.webhooks.dispatcher`): how long a claimed delivery is held
    # before another round may send it again (a dispatcher killed mid-send), and how often an
    # idle dispatcher looks for due deliveries.
    webhook_claim_seconds: int = field(
        default_factory=lambda: env_count("WEBHOOK_CLAIM_SECONDS", 60, minimum=1)
    )
    webhook_poll_seconds: float = field(
        default_factory=lambda: env_positive("WEBHOOK_POLL_SECONDS", 1.0)
    )
    # People: sessions, sign-in limits and mail (`api.accounts.sessions`, `api.accounts.signin`,
    # `api.mail`). Where the API is reached from a browser: the links mailed to people.
    public_url: str = field(default_factory=lambda: _public_url())
    session_hours: int = field(default_factory=lambda: env_count("SESSION_HOURS", 72, minimum=1))
    # The cookie's Secure flag: "auto" sets it when the request came over https (X-Forwarded-
    # Proto believed only from TRUSTED_PROXIES); "1" always; "0" never (plain-http development).
    cookie_secure: str = field(
        default_factory=lambda: env_choice("SESSION_COOKIE_SECURE", "auto", ("auto", "1", "0"))
    )
    # Wrong passwords per account per window before its password sign-in is refused for the rest
    # of the window (the e-mailed link still works). The per-client limit is
    # AUTH_FAILURES_PER_CLIENT, shared with bad API keys.
    sign_in_failures_per_account: int = field(
        default_factory=lambda: env_count("SIGN_IN_FAILURES_PER_ACCOUNT", 5)
    )
    sign_in_failure_window_seconds: int = field(
        default_factory=lambda: env_count("SIGN_IN_FAILURE_WINDOW", 900, minimum=1)
    )
    # argon2id's cost (`api.accounts.passwords`): RFC 9106's second recommendation by default;
    # tune it to the hardware (a hash should take well under a second). A hash keeps the cost it
    # was made with; a sign-in re-hashes one made with another.
    password_time_cost: int = field(
        default_factory=lambda: env_count("PASSWORD_TIME_COST", 3, minimum=1)
    )
    password_memory_kib: int = field(
        default_factory=lambda: env_count("PASSWORD_MEMORY_KIB", 65536, minimum=64)
    )
    smtp: SmtpSettings = field(default_factory=lambda: SmtpSettings())
    # How many days before usage rights end they are EXPIRING and `usage_rights.expiring` fires.
    usage_rights_notice_days: int = field(
        default_factory=lambda: env_count("USAGE_RIGHTS_NOTICE_DAYS", 14, minimum=1)
    )
    # Months of raw clicks and orphan visits kept on PostgreSQL besides the current one: older
    # monthly partitions are detached by the worker (daily) and `vouch partitions detach`
    # (`api.ingest.partitions`); rollups keep every figure. 0: keep every month.
    click_retention_months: int = field(
        default_factory=lambda: env_count("CLICK_RETENTION_MONTHS", 0)
    )
    # The analytics sink (`api.clickhouse`): with a CLICKHOUSE_URL the worker also writes the
    # clicks, conversions and refunds it committed there; ANALYTICS_SOURCE=clickhouse serves
    # series and breakdowns' clicks, conversions and revenue from it instead of the rollups.
    clickhouse_url: str = field(default_factory=_clickhouse_url, repr=False)
    analytics_source: str = field(default_factory=_analytics_source)
    # Where the worker runs the sink: a process of its own (its reads and encoding never hold
    # the worker's interpreter) or a thread of the worker. chdb opens its directory in one
    # process only: with ANALYTICS_SOURCE=clickhouse on chdb, run everything in one process.
    clickhouse_sink: str = field(
        default_factory=lambda: env_choice("CLICKHOUSE_SINK", "process", ("process", "thread"))
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
