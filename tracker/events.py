"""What the API publishes for the tracker (`LinkRecord`) and what the tracker writes (`ClickEvent`).

Both sides import these classes, so the formats are defined once.

A link lives at `tracker.keys.link(prefix, code)` as the JSON of a `LinkRecord`.

Click events go to the stream `tracker.keys.clicks_stream(prefix)`, one entry per GET of
`/c/{code}` (HEAD requests are never logged). Every entry has all the fields of `FIELDS`, as
strings:

- `v`: format version ("1").
- `kind`: "click" for a known, active link; "orphan" for an unknown or deactivated code (the
  link id fields are then empty, and no redirect was made).
- `event_id`: unique per entry and time-sortable (see `new_id`). The consumer dedupes on it: a
  replay after a Redis outage may, in rare cases, write an entry twice with the same id.
- `click_id`: the id appended to the destination as `vclid`. For a first click it equals
  `event_id`; a repeat of the same visitor (same IP and user agent) on the same code within the
  dedupe window reuses the first click's id and has `unique` = "0". Empty for orphans.
- `code`, `link_id`, `partnership_id`, `campaign_id`, `brand_id`, `organization_id`.
- `ts`: milliseconds since the epoch, when the tracker answered.
- `ip`: the client IP truncated to /24 (IPv4) or /48 (IPv6); `ip_hash`: hex HMAC-SHA256 of
  the full IP with the tracker's `ip_hash_key`. The full IP is never stored.
- `ua`: the request's User-Agent (truncated), "" when absent.
- `referer`: the Referer's origin and path only (`referer_origin_path`), "" when absent or not
  a URL: its query and fragment can carry tokens, session ids and e-mail addresses.
- `bot`: "1" for crawlers, link previewers and HTTP libraries (never counted as clicks).
- `unique`: "1" for the first click of a visitor on a code within the dedupe window.
- `country`: the ISO 3166-1 alpha-2 country a trusted proxy gave in `TRACKER_COUNTRY_HEADER`
  (e.g. Cloudflare's `CF-IPCountry`), "" when none did: ingest then looks the truncated IP up.
  Optional (`OPTIONAL_FIELDS`): entries and spooled events written before it read as "".
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

VERSION = "1"

# A tracked-link code: what may follow `/c/`. Anything else is answered 404 without a lookup.
CODE_MAX_LENGTH = 64
_CODE_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{CODE_MAX_LENGTH}}}")

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def valid_code(code: str) -> bool:
    return _CODE_RE.fullmatch(code) is not None


@dataclass(frozen=True, slots=True)
class Utm:
    """UTM parameters a link adds to its destination; None leaves the destination's own."""

    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    content: str | None = None

    def params(self) -> list[tuple[str, str]]:
        """The `utm_*` query parameters this link sets, in a fixed order."""
        pairs = (
            ("utm_source", self.source),
            ("utm_medium", self.medium),
            ("utm_campaign", self.campaign),
            ("utm_content", self.content),
        )
        return [(name, value) for name, value in pairs if value is not None]


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """A tracked link as the API publishes it to Redis (and deactivates it: active=False)."""

    link_id: int
    partnership_id: int
    campaign_id: int
    brand_id: int
    organization_id: int
    code: str
    destination: str  # absolute http(s) URL
    utm: Utm = field(default_factory=Utm)
    active: bool = True

    def __post_init__(self) -> None:
        for name in ("link_id", "partnership_id", "campaign_id", "brand_id", "organization_id"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer")
        if not isinstance(self.code, str) or not valid_code(self.code):
            raise ValueError("code must be 1-64 characters of A-Z a-z 0-9 _ -")
        if not isinstance(self.destination, str) or not _absolute_http_url(self.destination):
            raise ValueError("destination must be an absolute http(s) URL")
        if not isinstance(self.utm, Utm):
            raise ValueError("utm must be a Utm")
        for name, value in self.utm.params():
            if not isinstance(value, str) or _CONTROL_RE.search(value):
                raise ValueError(f"{name} must be a string without control characters")
        if not isinstance(self.active, bool):
            raise ValueError("active must be a boolean")

    def to_json(self) -> str:
        return json.dumps(
            {
                "link_id": self.link_id,
                "partnership_id": self.partnership_id,
                "campaign_id": self.campaign_id,
                "brand_id": self.brand_id,
                "organization_id": self.organization_id,
                "code": self.code,
                "destination": self.destination,
                "utm": {
                    "source": self.utm.source,
                    "medium": self.utm.medium,
                    "campaign": self.utm.campaign,
                    "content": self.utm.content,
                },
                "active": self.active,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> LinkRecord:
        """Parses and validates; raises ValueError on anything malformed."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("a link record must be a JSON object")
        utm = data.get("utm") or {}
        if not isinstance(utm, dict):
            raise ValueError("utm must be an object")
        try:
            return cls(
                link_id=data["link_id"],
                partnership_id=data["partnership_id"],
                campaign_id=data["campaign_id"],
                brand_id=data["brand_id"],
                organization_id=data["organization_id"],
                code=data["code"],
                destination=data["destination"],
                utm=Utm(
                    source=utm.get("source"),
                    medium=utm.get("medium"),
                    campaign=utm.get("campaign"),
                    content=utm.get("content"),
                ),
                active=data.get("active", True),
            )
        except KeyError as exc:
            raise ValueError(f"missing field {exc.args[0]}") from None


def _absolute_http_url(url: str) -> bool:
    if _CONTROL_RE.search(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# Stream field names, in the order entries are written. The first eight are the same for every
# click on a link, so the tracker prepares them once per link (`link_head`).
FIELDS: tuple[str, ...] = (
    "v",
    "kind",
    "code",
    "link_id",
    "partnership_id",
    "campaign_id",
    "brand_id",
    "organization_id",
    "event_id",
    "click_id",
    "ts",
    "ip",
    "ip_hash",
    "ua",
    "referer",
    "bot",
    "unique",
    "country",
)
# Fields added after version 1 was first written, and their value in an entry that lacks them.
OPTIONAL_FIELDS = {"country": ""}
_COUNTRY_RE = re.compile(r"[A-Z]{2}")


def country_of_header(value: str | None) -> str:
    """The 2-letter country of a proxy's country header, "" unless it is one: XX (Cloudflare's
    "unknown"), T1 (Tor) and anything else that is not two letters are not countries."""
    code = (value or "").strip().upper()
    return code if code != "XX" and _COUNTRY_RE.fullmatch(code) else ""


# Between the tracker and its Redis script an event travels packed: its values joined with SEP,
# and the events of a batch joined with RS, in one argument (redis-py encodes each argument in
# Python: one per batch costs next to nothing, 34 per event would cost more than a redirect).
# The script writes them as named fields. No value may contain a control character: HTTP forbids
# them in header values, and `clean` removes them from what comes from a request anyway.
SEP = "\x1f"
RS = "\x1e"

_CONTROL_CHARS_RE = re.compile(r"[\x00-\x1f\x7f]")


def clean(text: str) -> str:
    """The text without control characters (each becomes a space)."""
    return text if text.isprintable() else _CONTROL_CHARS_RE.sub(" ", text)


def referer_origin_path(text: str) -> str:
    """`scheme://host[:port]/path` of a Referer header: what a click's source is. Its query and
    fragment (`?token=...`, `#access_token=...`) and any `user:password@` are dropped, and what
    is not an absolute URL is "" (nothing in it can be told apart from a secret)."""
    try:
        parts = urlsplit(text)
        port = parts.port  # ValueError when it is not a number in range
    except ValueError:
        return ""
    host = parts.hostname
    if not parts.scheme or not host:
        return ""
    if ":" in host:  # IPv6: urlsplit took off the brackets
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{'' if port is None else f':{port}'}{parts.path}"


KIND_CLICK = "click"
KIND_ORPHAN = "orphan"


@dataclass(frozen=True, slots=True)
class ClickEvent:
    kind: str
    event_id: str
    click_id: str
    code: str
    ts: int
    ip: str
    ip_hash: str
    user_agent: str = ""
    referer: str = ""
    bot: bool = False
    unique: bool = True
    link_id: int | None = None
    partnership_id: int | None = None
    campaign_id: int | None = None
    brand_id: int | None = None
    organization_id: int | None = None
    country: str = ""

    def values(self) -> tuple[str, ...]:
        """The field values in `FIELDS` order."""
        return (
            VERSION,
            self.kind,
            self.code,
            _opt_int(self.link_id),
            _opt_int(self.partnership_id),
            _opt_int(self.campaign_id),
            _opt_int(self.brand_id),
            _opt_int(self.organization_id),
            self.event_id,
            self.click_id,
            str(self.ts),
            self.ip,
            self.ip_hash,
            self.user_agent,
            self.referer,
            "1" if self.bot else "0",
            "1" if self.unique else "0",
            self.country,
        )

    def to_fields(self) -> dict[str, str]:
        return dict(zip(FIELDS, self.values(), strict=True))

    @classmethod
    def from_fields(cls, fields: Mapping[Any, Any]) -> ClickEvent:
        """Decodes a stream entry (bytes or str keys and values); raises ValueError if invalid."""
        data = {_text(k): _text(v) for k, v in fields.items()}
        try:
            if data["v"] != VERSION:
                raise ValueError(f"unknown click event version {data['v']!r}")
            kind = data["kind"]
            if kind not in (KIND_CLICK, KIND_ORPHAN):
                raise ValueError(f"unknown click event kind {kind!r}")
            return cls(
                kind=kind,
                event_id=data["event_id"],
                click_id=data["click_id"],
                code=data["code"],
                ts=int(data["ts"]),
                ip=data["ip"],
                ip_hash=data["ip_hash"],
                user_agent=data["ua"],
                referer=data["referer"],
                bot=data["bot"] == "1",
                unique=data["unique"] == "1",
                link_id=_parse_opt_int(data["link_id"]),
                partnership_id=_parse_opt_int(data["partnership_id"]),
                campaign_id=_parse_opt_int(data["campaign_id"]),
                brand_id=_parse_opt_int(data["brand_id"]),
                organization_id=_parse_opt_int(data["organization_id"]),
                country=data.get("country", OPTIONAL_FIELDS["country"]),
            )
        except KeyError as exc:
            raise ValueError(f"click event lacks field {exc.args[0]}") from None

    def pack(self) -> str:
        return pack(self.values())

    @classmethod
    def unpack(cls, packed: str) -> ClickEvent:
        return cls.from_fields(dict(zip(FIELDS, unpack(packed), strict=True)))


def pack(values: tuple[str, ...] | list[str]) -> str:
    return SEP.join(values)


def unpack(packed: str) -> list[str]:
    values = packed.split(SEP)
    if len(values) != len(FIELDS) or RS in packed:
        raise ValueError("a packed click event has the wrong number of fields")
    return values


def link_head(record: LinkRecord) -> str:
    """The packed values shared by every click on this link (the first eight fields)."""
    return pack(
        (
            VERSION,
            KIND_CLICK,
            record.code,
            str(record.link_id),
            str(record.partnership_id),
            str(record.campaign_id),
            str(record.brand_id),
            str(record.organization_id),
        )
    )


def orphan_head(code: str) -> str:
    return pack((VERSION, KIND_ORPHAN, code, "", "", "", "", ""))


def _opt_int(value: int | None) -> str:
    return "" if value is None else str(value)


def _parse_opt_int(value: str) -> int | None:
    return int(value) if value else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# Ids: a 48-bit millisecond timestamp then 80 random bits, as 26 Crockford base32 characters
# (the ULID layout), so they sort by time. The 10 time characters are kept for the current
# millisecond; each of the 16 random ones is a random byte's low 5 bits (256 is a multiple of
# 32: uniform), mapped by `bytes.translate` from a 4 KiB draw of os.urandom, which is cut into
# the random parts of 256 ids at once; `new_id` pops one (list.pop is atomic: thread-safe).
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_BYTE_TO_CROCKFORD = bytes(_CROCKFORD[b & 31].encode()[0] for b in range(256))
_last_time_part: tuple[int, str] = (-1, "")
_random_parts: list[str] = []
_pop_random_part = _random_parts.pop
# A forked child must not reuse its parent's unused random parts.
os.register_at_fork(after_in_child=_random_parts.clear)


def _draw_random_parts() -> None:
    text = os.urandom(4096).translate(_BYTE_TO_CROCKFORD).decode()
    _random_parts.extend([text[i : i + 16] for i in range(0, 4096, 16)])


def new_id(ms: int | None = None) -> str:
    global _last_time_part
    if ms is None:
        ms = time.time_ns() // 1_000_000
    last_ms, time_part = _last_time_part
    if ms != last_ms:
        p = _PAIRS
        t = ms & 0xFFFFFFFFFFFF
        time_part = "".join(
            (p[t >> 40], p[t >> 30 & 1023], p[t >> 20 & 1023], p[t >> 10 & 1023], p[t & 1023])
        )
        _last_time_part = (ms, time_part)
    try:
        return time_part + _pop_random_part()
    except IndexError:
        _draw_random_parts()
        return time_part + _pop_random_part()


def id_timestamp_ms(id_: str) -> int:
    """The millisecond timestamp inside an id made by `new_id`."""
    value = 0
    for char in id_[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value
