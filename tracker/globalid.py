"""Relay global ids: base64 of "<Type>:<pk>". The one codec of the API, its exports and the
tracker (which reads a brand's id from the `Vouch-Brand` header and never imports `api`).

The encoding is strawberry's (`relay.GlobalID`), so an id made here resolves with `node(id:)`.
Decoding is canonical: only the exact text `encode` makes is an id. Lenient forms (no padding,
the URL-safe alphabet, spaces, `Brand: 1`, `Brand:01`, `Brand:+1`, other scripts' digits, which
`int()` takes) would give one row many ids, and a cache or a rate limit keyed by the id text
would count the same row under each of them.
"""

from __future__ import annotations

import base64
import binascii
import re

MAX_PK = 2**63  # BIGINT

# A positive decimal without a leading zero, ASCII only; a global id is a GraphQL type name, a
# colon and one of these.
_PK = re.compile(r"[1-9][0-9]{0,18}", re.ASCII)
_DECODED = re.compile(rf"([A-Za-z_][A-Za-z0-9_]*):({_PK.pattern})", re.ASCII)


def encode(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def parse_pk(text: object) -> int | None:
    """A primary key written as `encode` writes it (a positive 64-bit decimal, no sign, no
    leading zero, no spaces, ASCII digits), or None."""
    if not isinstance(text, str) or not _PK.fullmatch(text):
        return None
    pk = int(text)
    return pk if pk < MAX_PK else None


def decode(value: object, *expected: str) -> tuple[str, int] | None:
    """(type name, primary key) of a global id, or None when it is not one (or not of one of
    the `expected` types, when given). The key is a positive 64-bit integer."""
    if not isinstance(value, str) or not value or len(value) > 200:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    match = _DECODED.fullmatch(decoded)
    if match is None or (expected and match.group(1) not in expected):
        return None
    type_name, pk = match.group(1), parse_pk(match.group(2))
    # b64decode ignores the unused low bits of the last character ("MR==" reads as "MQ=="):
    # only the one spelling is the id.
    if pk is None or encode(type_name, pk) != value:
        return None
    return type_name, pk


def decode_pk(value: object, *expected: str) -> int | None:
    """The primary key of a global id of one of the `expected` types, or None."""
    found = decode(value, *expected)
    return found[1] if found else None
