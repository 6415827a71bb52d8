"""Where a tracked link sends the shopper: its destination plus UTM parameters and `vclid`.

Rules (the ones of Dub's UTM builder, which `set`s each parameter on the destination URL):
- A UTM parameter set on the link replaces every parameter of the same name in the destination;
  one the link leaves unset (None) keeps the destination's own.
- `vclid` is always the tracker's: a `vclid` already in the destination is replaced.
- The destination's other parameters keep their order and their encoding byte for byte, and the
  fragment stays at the end. The request's own query string is ignored: only what the API
  published decides where a shopper goes.
- Characters that may not appear raw in a URL (controls, space, quotes, angle brackets,
  backslash, backtick, non-ASCII) are percent-encoded as UTF-8, and a non-ASCII host is
  IDNA-encoded, so the Location header can't be split and a browser reads the URL the way the
  API validated it. Existing %XX escapes are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus, urlsplit

from tracker.events import LinkRecord, Utm, link_head

CLICK_ID_PARAM = "vclid"

_UNSAFE_RE = re.compile(r'[\x00-\x20\x7f-\U0010ffff"<>\\`]')


def _escape(text: str) -> str:
    return _UNSAFE_RE.sub(lambda m: quote(m.group(), safe=""), text)


def _ascii_host(url: str) -> str:
    """The URL with a non-ASCII host IDNA-encoded (other parts are escaped by `_escape`)."""
    parts = urlsplit(url)
    if parts.netloc.isascii() or not parts.hostname:
        return url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host, colon, port = hostport.partition(":")
    netloc = userinfo + at + host.encode("idna").decode("ascii") + colon + port
    return url.replace(parts.netloc, netloc, 1)


def _param_name(part: str) -> str:
    return unquote_plus(part.partition("=")[0])


def location_parts(destination: str, utm: Utm) -> tuple[str, str]:
    """(head, tail): the Location of a click is head + click id + tail."""
    url = _escape(_ascii_host(destination))
    rest, hash_, fragment = url.partition("#")
    base, _, query = rest.partition("?")
    params = utm.params()
    replaced = {name for name, _ in params} | {CLICK_ID_PARAM}
    kept = [part for part in query.split("&") if part and _param_name(part) not in replaced]
    added = [f"{name}={quote(value, safe='')}" for name, value in params]
    head = base + "?" + "&".join([*kept, *added, CLICK_ID_PARAM + "="])
    return head, hash_ + fragment


def location(destination: str, utm: Utm, click_id: str) -> str:
    head, tail = location_parts(destination, utm)
    return head + click_id + tail


@dataclass(frozen=True, slots=True)
class Target:
    """A link prepared for the hot path: its Location pieces and its event fields."""

    record: LinkRecord
    location_head: bytes
    location_tail: bytes
    event_head: str
    # the Location pieces as text, for granian's RSGI (ASCII: `_escape` leaves nothing else)
    location_head_text: str
    location_tail_text: str

    @classmethod
    def of(cls, record: LinkRecord) -> Target:
        head, tail = location_parts(record.destination, record.utm)
        return cls(
            record, head.encode("ascii"), tail.encode("ascii"), link_head(record), head, tail
        )
