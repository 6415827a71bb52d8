"""Relay global ids: base64 of "<Type>:<pk>". The one codec of the API, its exports and the
tracker (which reads a brand's id from the `Vouch-Brand` header and never imports `api`).

The encoding is strawberry's (`relay.GlobalID`), so an id made here resolves with `node(id:)`.
Decoding is lenient where a client may be: missing `=` padding and the URL-safe alphabet.
"""

from __future__ import annotations

import base64
import binascii

MAX_PK = 2**63  # BIGINT


def encode(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def decode(value: object, *expected: str) -> tuple[str, int] | None:
    """(type name, primary key) of a global id, or None when it is not one (or not of one of
    the `expected` types, when given). The key is a positive 64-bit integer."""
    if not isinstance(value, str):
        value = str(value)
    text = value.strip()
    if not text or len(text) > 200:
        return None
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=False)
        decoded = raw.decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, pk = decoded.partition(":")
    if not sep or not type_name or (expected and type_name not in expected):
        return None
    if not pk.isascii() or not pk.isdigit() or not 0 < int(pk) < MAX_PK:
        return None
    return type_name, int(pk)


def decode_pk(value: object, *expected: str) -> int | None:
    """The primary key of a global id of one of the `expected` types, or None."""
    found = decode(value, *expected)
    return found[1] if found else None
