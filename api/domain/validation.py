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
    if not re.fullmatch(
        r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", value
    ):
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


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")


def redirect_url(value: str, allowed: list[str]) -> str | None:
    """The URL if it is safe to redirect a shopper to, else None: an absolute http(s) URL (see
    `http_url`) with no control or whitespace characters anywhere, no userinfo at all (not even
    an empty "@"), a valid port, and a plain ASCII host name equal to or under one of `allowed`.

    A strict host name rules out the parser differentials behind open redirects: percent-encoded
    or Unicode hosts (which browsers decode or IDNA-map differently), IPv6 literals, and the like.
    """
    url = http_url(value)
    if url is None or any(c.isspace() or not c.isprintable() for c in url):
        return None
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return None
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if not host.isascii() or not _HOSTNAME.fullmatch(host):
        return None
    return url if host_allowed(host, allowed) else None
