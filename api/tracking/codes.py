"""Tracked-link codes (hashids of the link's id) and the rules of discount codes.

Plain functions, no database: the GraphQL mutations call them and the tests check them directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from hashids import Hashids

# --- tracked-link codes --------------------------------------------------------------------
# A hashid is URL-safe (letters and digits), at least `min_length` long and, with a secret salt,
# does not reveal the id or how many links exist; it decodes back to the id.


@lru_cache(maxsize=8)
def _hashids(salt: str, min_length: int) -> Hashids:
    return Hashids(salt=salt, min_length=min_length)


def link_code(link_id: int, salt: str, min_length: int) -> str:
    code: str = _hashids(salt, min_length).encode(link_id)
    if not code:
        raise ValueError(f"cannot encode link id {link_id!r}")
    return code


def link_id_of(code: str, salt: str, min_length: int) -> int | None:
    """The link id a code encodes, or None if it is not one of ours."""
    try:
        decoded = _hashids(salt, min_length).decode(code)
    except Exception:
        return None
    return decoded[0] if len(decoded) == 1 else None


# --- discount codes ------------------------------------------------------------------------

CODE_MIN_LENGTH = 4
CODE_MAX_LENGTH = 24
_CODE = re.compile(rf"[A-Z0-9]{{{CODE_MIN_LENGTH},{CODE_MAX_LENGTH}}}")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
# What a default code starts with when the influencer's handle has no usable letters or digits.
FALLBACK_STEM = "VOUCH"
# Most numeric suffixes tried before giving up on a default code.
MAX_SUFFIX = 999


def normalize_code(value: str) -> str | None:
    """The stored form of a discount code (codes are case-insensitive: upper-cased), or None if
    it is not 4-24 characters of A-Z and 0-9."""
    code = (value or "").strip().upper()
    return code if _CODE.fullmatch(code) else None


def percent_to_bps(value: Decimal) -> int | None:
    """A percentage (0 < p <= 100, at most 2 decimals) in basis points, or None if invalid."""
    try:
        if not value.is_finite() or value <= 0 or value > 100:
            return None
        bps = value * 100
        if bps != bps.to_integral_value():
            return None
        return int(bps)
    except (InvalidOperation, TypeError, AttributeError):
        return None


def bps_to_percent(bps: int) -> Decimal:
    """1500 -> Decimal("15"), 1250 -> Decimal("12.5")."""
    percent = Decimal(bps) / 100
    if percent == percent.to_integral_value():
        return percent.quantize(Decimal(1))  # not normalize(): that makes 100 into 1E+2
    return percent.normalize()


def percent_label(bps: int) -> str:
    """The percentage as it appears in a default code: 1500 -> "15", 1250 -> "125"."""
    return _NOT_ALNUM.sub("", format(bps_to_percent(bps), "f"))


def _stem(handle: str | None, label: str) -> str:
    stem = _NOT_ALNUM.sub("", (handle or "").upper()) or FALLBACK_STEM
    if len(stem) + len(label) < CODE_MIN_LENGTH:  # a very short handle
        stem += FALLBACK_STEM
    return stem


def default_code_candidates(handle: str | None, bps: int) -> Iterator[str]:
    """Default codes for an influencer, best first: the handle's letters and digits upper-cased
    and truncated, then the percentage ("MAYA15"); then the same with 2, 3, ... appended."""
    label = percent_label(bps)
    stem = _stem(handle, label)
    for n in range(1, MAX_SUFFIX + 1):
        suffix = "" if n == 1 else str(n)
        yield stem[: CODE_MAX_LENGTH - len(label) - len(suffix)] + label + suffix


def default_code_prefix(handle: str | None, bps: int) -> str:
    """What every default candidate starts with, to find the taken ones in one query."""
    label = percent_label(bps)
    return _stem(handle, label)[: CODE_MAX_LENGTH - len(label) - len(str(MAX_SUFFIX))]
