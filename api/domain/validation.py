"""Validation of plain values that arrive from users: URLs, country and language codes, handles."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from api.domain.countries import ISO_3166_ALPHA2

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
    """An assigned ISO 3166-1 alpha-2 code, upper-cased ("fr" -> "FR"; "XX" -> None)."""
    value = value.strip().upper()
    return value if value in ISO_3166_ALPHA2 else None


def region(value: str) -> str | None:
    """A country code, or EU: the regions a contract's usage rights name."""
    code = value.strip().upper()
    return "EU" if code == "EU" else country(code)


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


# --- URLs that Vouch (or a shopper's browser, sent by Vouch) will open ---------------------------

MAX_URL = 2048

# Special-use names that resolve inside the caller's own network, never on the internet:
# localhost (RFC 6761), mDNS's .local (RFC 6762), .home.arpa (RFC 8375), ICANN's private-use
# .internal (also the clouds' metadata hosts, metadata.google.internal), the de facto
# .localdomain, and .invalid (RFC 6761: never resolves).
INTERNAL_SUFFIXES = ("localhost", "local", "home.arpa", "internal", "localdomain", "invalid")

_PRIVATE_V4 = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_SHARED_V4 = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_ULA = ipaddress.ip_network("fc00::/7")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_V4_NUMBER = re.compile(r"(?:0[xX][0-9A-Fa-f]*|[0-9]+)")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(ValueError):
    """Why a URL is refused; `reason` is worded to follow the name of the field that held it:
    f"landingUrl {reason}" reads "landingUrl points at a private address (10.0.0.1)"."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def public_url(value: str, *, allow_private: bool = False) -> str:
    """The URL (stripped) if it is an absolute http(s) URL that may be sent to a browser or
    fetched by a server: a well-formed host and port, no userinfo, and a host that is not on the
    local network. Raises `UrlRefused` saying why not. Every URL input goes through here:
    campaigns' landing pages, brands' websites, tracked links' destinations, social accounts,
    content, and the webhook endpoints to come (a server-side request forgery guard).

    Refused:
    - anything but http(s); spaces, control characters, backslashes (browsers read `\\` as
      `/`); more than MAX_URL characters; userinfo of any kind (`http://evil@10.0.0.1`, even an
      empty `@`), which hides the real host from a reader;
    - a port that is not 1-65535 in plain ASCII digits;
    - a host that is not a valid DNS name or IP literal (percent-encoded, `_`, empty labels);
      Unicode names are checked in their IDNA form, which is what is resolved (fullwidth
      digits are 127.0.0.1's);
    - IPv4 in any spelling but the dotted quad (`2130706433`, `0x7f000001`, `0177.0.0.1`,
      `127.1`): browsers and resolvers (inet_aton) accept these, and a filter that does not
      would be bypassed by them. A host whose last label is a number is an IPv4 address, as the
      WHATWG URL standard reads it, so `example.123` is malformed, not a name;
    - unless `allow_private` (ALLOW_PRIVATE_URLS, for local development): loopback, private
      (RFC 1918, IPv6 ULA and site-local), link-local (169.254.169.254, the clouds' metadata
      service), shared (100.64/10), reserved, documentation and other non-global addresses,
      also inside IPv6 (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo); the internal names
      of INTERNAL_SUFFIXES; single-label names (`http://intranet/`), which resolve through the
      local search domain. Multicast and unspecified addresses are refused even then.

    No DNS resolution here: a name may resolve to a private address (`127.0.0.1.nip.io`), and
    its records may change after this check (DNS rebinding). Whatever sends requests to these
    URLs server-side (the webhook sender) must check the address it actually connects to
    against the same rules (`address_problem`), and not follow redirects unchecked.
    """
    url = (value or "").strip()
    if len(url) > MAX_URL:
        raise UrlRefused(f"is longer than {MAX_URL} characters")
    if not url.isprintable() or any(c.isspace() for c in url) or "\\" in url:
        raise UrlRefused("must not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError:  # unbalanced brackets, an invalid bracketed IPv6 host
        raise UrlRefused("has a malformed host") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("must be an absolute http(s) URL")
    if "@" in parts.netloc:
        raise UrlRefused("must not carry credentials or a user name (user@host)")
    host, port = _split_host_port(parts.netloc)
    if port is not None and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise UrlRefused(f"has an invalid port ({port}): a port is 1-65535")
    problem = host_problem(host, allow_private=allow_private)
    if problem is not None:
        raise UrlRefused(problem)
    return url


def _split_host_port(netloc: str) -> tuple[str, str | None]:
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        return f"[{host}]", (rest[1:] if rest.startswith(":") else rest or None)
    host, colon, port = netloc.partition(":")
    return host, port if colon else None


def host_problem(host: str, *, allow_private: bool = False) -> str | None:
    """Why a URL's host (as written in the URL, IPv6 in brackets) is refused, or None: see
    `public_url`."""
    if host.startswith("["):
        try:
            addr: IPAddress = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"has a malformed host ({host})"
        if "%" in host:  # a zone id names an interface of the machine that opens the URL
            return f"has a malformed host ({host}): no zone id"
        return address_problem(addr, allow_private=allow_private)
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return f"has a malformed host ({host})"
    name = host.lower().removesuffix(".")
    labels = name.split(".")
    if _V4_NUMBER.fullmatch(labels[-1]):
        return _ipv4_problem(name, allow_private=allow_private)
    if not _HOSTNAME.fullmatch(name):
        return f"has a malformed host ({host})"
    if allow_private:
        return None
    if any(name == s or name.endswith("." + s) for s in INTERNAL_SUFFIXES):
        return f"points at a local host name ({host})"
    if len(labels) == 1:
        return f"has a host without a domain ({host}): use a public domain name"
    return None


def _ipv4_problem(host: str, *, allow_private: bool) -> str | None:
    """A host that is an IPv4 address (its last label is a number): the address must be written
    as a canonical dotted quad, and be public."""
    addr = parse_ipv4(host)
    if addr is None:
        return f"has a malformed host ({host})"
    problem = address_problem(addr, allow_private=allow_private)
    if str(addr) == host:
        return problem
    if problem is not None:
        return problem.removesuffix(")") + f" written as {host})"
    return f"writes the IPv4 address {addr} as {host}: write {addr}"


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 host the way browsers read it (WHATWG URL, like inet_aton): one to four parts,
    each decimal, 0x hex or 0-leading octal, the last filling the remaining bytes; None if it
    is none."""
    parts = host.split(".")
    if len(parts) > 4 or not all(_V4_NUMBER.fullmatch(p) for p in parts):
        return None
    numbers = []
    for part in parts:
        if part[:2].lower() == "0x":
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not part.isdigit() or any(c in "89" for c in part):
                return None
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def address_problem(addr: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why an IP address is not one a URL may point at, or None (see `public_url`); for the
    webhook sender too, on the address a name resolved to."""
    if addr.is_unspecified:
        return f"points at the unspecified address ({addr})"
    if addr.is_multicast:
        return f"points at a multicast address ({addr})"
    if allow_private:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(addr)
        if embedded is not None:
            problem = address_problem(embedded)
            return problem and f"{problem.removesuffix(')')} inside {addr})"
        if addr.is_site_local:
            return f"points at a private address ({addr})"
    kind = (
        "a loopback"
        if addr.is_loopback
        else "a link-local"
        if addr.is_link_local
        else "a private"
        if (
            any(addr in n for n in _PRIVATE_V4)
            if isinstance(addr, ipaddress.IPv4Address)
            else addr in _ULA
        )
        else "a shared (carrier-grade NAT)"
        if addr in _SHARED_V4
        else "a reserved"
        if addr.is_reserved or not addr.is_global
        else None
    )
    return None if kind is None else f"points at {kind} address ({addr})"


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and that a host would connect to, if any."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]  # the client's address
    if any(addr in n for n in _NAT64) or (addr in _V4_COMPATIBLE and int(addr) > 1):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None
