"""Requests to brands' webhook URLs, made safely (server-side request forgery guards).

- An endpoint URL is https (http too with ALLOW_PRIVATE_URLS, for a receiver on the developer's
  machine), passes `api.domain.validation.public_url`, and its host resolves, to public
  addresses only: every address it resolves to is checked (`address_problem`), since a client
  may connect to any of them.
- At delivery time the name is resolved and checked again (its records may have changed since:
  DNS rebinding) and the request goes to the address checked, not to a second lookup: the URL's
  host is replaced by that address, with the name kept in the Host header and as the TLS server
  name (SNI), so the certificate is still verified against the name.
- Redirects are not followed (a 3xx is a failed attempt), the timeout is TIMEOUT, and no more
  than MAX_ANSWER bytes of an answer are read: the body is streamed and the connection closed
  there.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import httpx

from api.domain import validation

log = logging.getLogger("vouch.webhooks")

TIMEOUT: Final = 10.0  # seconds
MAX_ANSWER: Final = 1024  # bytes of an answer kept (and read)

Resolver = Callable[[str, int], list[str]]


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# Replaced in tests (no DNS there): host, port -> the addresses, in the resolver's order.
resolver: Resolver = _getaddrinfo


class Refused(ValueError):
    """Why a URL may not be sent to; `reason` reads after the field name ("url must be ...")."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # the URL with its host replaced by the address to connect to
    host: str  # the name, for the Host header and SNI
    host_header: str
    address: str


def check_url(value: str, *, allow_private: bool) -> str:
    """The URL if an endpoint may have it (see the module's docstring), else `Refused`."""
    try:
        url = validation.public_url(value, allow_private=allow_private)
    except validation.UrlRefused as exc:
        raise Refused(exc.reason) from None
    if urlsplit(url).scheme != "https" and not allow_private:
        raise Refused("must be an https URL")
    target(url, allow_private=allow_private)
    return url


def target(url: str, *, allow_private: bool) -> Target:
    """Where to connect for `url`: its host resolved now, every address checked. `Refused`
    when it does not resolve or resolves to an address a URL may not point at."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal: Any = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError):
            addresses = []
        if not addresses:
            raise Refused(f"has a host that does not resolve ({host})")
    for address in addresses:
        problem = validation.address_problem(
            ipaddress.ip_address(address.partition("%")[0]), allow_private=allow_private
        )
        if problem is not None:
            raise Refused(f"{problem.removesuffix(')')} for {host})")
    address = addresses[0].partition("%")[0]
    netloc_host = f"[{address}]" if ":" in address else address
    netloc = netloc_host if parts.port is None else f"{netloc_host}:{parts.port}"
    ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
    host_header = ascii_host if parts.port is None else f"{ascii_host}:{parts.port}"
    if ":" in ascii_host:  # an IPv6 literal
        host_header = f"[{ascii_host}]" + (f":{parts.port}" if parts.port else "")
    return Target(
        url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host=ascii_host,
        host_header=host_header,
        address=address,
    )


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int | None
    body: str | None  # the first MAX_ANSWER bytes, decoded
    error: str | None
    duration_ms: int
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def client() -> httpx.Client:
    """The dispatcher's client: no redirects, TIMEOUT, no proxies from the environment (the
    request must go to the address checked), TLS verified."""
    return httpx.Client(
        follow_redirects=False,
        timeout=httpx.Timeout(TIMEOUT),
        trust_env=False,
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=0),
    )


def post(
    http: httpx.Client, url: str, body: bytes, headers: dict[str, str], *, allow_private: bool
) -> Answer:
    """POSTs `body` to `url` (checked again first) and reads at most MAX_ANSWER bytes of the
    answer. Never raises for the receiver's faults: they are the answer's `error`."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        where = target(url, allow_private=allow_private)
    except Refused as exc:
        return Answer(None, None, f"refused: the URL {exc.reason}", elapsed())
    request_headers = {
        **headers,
        "content-type": "application/json",
        "user-agent": "Vouch-Webhooks/1",
        "accept-encoding": "identity",
        "host": where.host_header,
    }
    extensions = {"sni_hostname": where.host} if url.startswith("https:") else {}
    deadline = started + TIMEOUT
    try:
        with http.stream(
            "POST", where.url, content=body, headers=request_headers, extensions=extensions
        ) as response:
            kept = b""
            for chunk in response.iter_raw():
                kept += chunk
                if len(kept) >= MAX_ANSWER or time.monotonic() > deadline:
                    break
            text = kept[:MAX_ANSWER].decode("utf-8", errors="replace").replace("\x00", "")
            return Answer(
                response.status_code,
                text or None,
                None,
                elapsed(),
                response.headers.get("retry-after"),
            )
    except httpx.TimeoutException:
        return Answer(None, None, f"timed out after {TIMEOUT:g} s", elapsed())
    except httpx.HTTPError as exc:
        return Answer(None, None, f"{type(exc).__name__}: {exc}"[:1000], elapsed())
    except Exception as exc:  # a bug of ours or of a library: an attempt that failed, logged
        log.exception("sending a webhook to %s failed", url)
        return Answer(None, None, f"{type(exc).__name__}: {exc}"[:1000], elapsed())
