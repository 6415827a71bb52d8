"""Validation of plain values that arrive from users: URLs, country and language codes, handles."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_HANDLE = re.compile(r"^[A-Za-z0-9._\-]{1,100}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def http_url(value: str) -> str | None:
    """The URL if it is an absolute http(s) URL with a host and no credentials, else None."""
    value = (value or "").strip()
    if len(value) > 2048 or any(c in value for c in "\r\n\t ") or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password:
        return None
    return value


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Exact host or a subdomain of an allowed domain ("shop.example.com" under "example.com")."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (a.lower().strip(".") for a in allowed))


def domain(value: str) -> str | None:
    value = value.strip().lower().rstrip(".")
    if not re.fullmatch(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", value):
        return None
    return value


def country(value: str) -> str | None:
    value = value.strip().upper()
    return value if _COUNTRY.match(value) else None


def language(value: str) -> str | None:
    value = value.strip().lower()
    return value if _LANGUAGE.match(value) else None


def email(value: str) -> str | None:
    value = value.strip()
    return value.lower() if _EMAIL.match(value) and len(value) <= 320 else None


def handle_key(handle: str) -> str | None:
    """The comparable form of a social handle: no leading '@', lower-cased; None if invalid."""
    bare = handle.strip().lstrip("@")
    return bare.lower() if _HANDLE.match(bare) else None
