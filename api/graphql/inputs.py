"""Checks of plain input values that every domain's mutations share: text, times and URLs.

Each raises `UserErrors` naming the input field (camelCase), so a mutation reports the problem
and changes nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from graphql import GraphQLError

from api.domain import validation
from api.graphql.errors import problem
from api.settings import get_settings
from tracker import decimals

# C0 and C1 controls and DEL (PostgreSQL refuses NUL in text; the others corrupt CSVs, logs and
# screens), and the bidi embeddings, overrides and isolates that make text read otherwise than
# it is stored (U+202A-U+202E, U+2066-U+2069, "Trojan Source").
_CONTROLS = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}]")
# Multi-line text (briefs, notes, captions, memos, reasons) keeps its tabs and line breaks.
_MULTILINE_CONTROL = re.compile(f"(?![\t\n\r])[{_CONTROLS}]")


def no_controls(value: str, field: str, *, multiline: bool = False, code: str = "INVALID") -> str:
    """The value, or a user error naming the field and the first control character in it
    (`code` INVALID_URL for a URL, as every other bad URL)."""
    found = (_MULTILINE_CONTROL if multiline else _CONTROL).search(value)
    if found:
        raise problem(
            field,
            f"{field} contains a control character (U+{ord(found.group()):04X})",
            code,
        )
    return value


def text(
    value: str | None, field: str, limit: int, *, required: bool = False, multiline: bool = False
) -> str | None:
    """The value without surrounding blanks; None for a blank optional value. Control
    characters are refused (tabs and line breaks are kept in `multiline` text)."""
    stripped = no_controls((value or "").strip(), field, multiline=multiline)
    if not stripped and required:
        raise problem(field, f"{field} is required", "REQUIRED")
    if len(stripped) > limit:
        raise problem(field, f"{field} must be at most {limit} characters", "TOO_LONG")
    return stripped or None


def required_text(value: str | None, field: str, limit: int) -> str:
    result = text(value, field, limit, required=True)
    assert result is not None  # text() raised for a blank value
    return result


def text_argument(value: str | None, name: str) -> str | None:
    """A query's text argument or filter without control characters: a GraphQL error (a NUL
    would otherwise reach PostgreSQL, which refuses it)."""
    if value is not None and (found := _CONTROL.search(value)):
        raise GraphQLError(f"{name} contains a control character (U+{ord(found.group()):04X})")
    return value


def decimal_argument(value: Decimal | None, name: str) -> Decimal | None:
    """A query's Decimal argument in the one decimal grammar (`tracker.decimals`)."""
    if value is None:
        return None
    from api.graphql.money import raw_decimal

    try:
        return decimals.parse_decimal(raw_decimal(value), negative=True)
    except decimals.DecimalError as exc:
        raise GraphQLError(f"{name} {exc}") from None


def aware_argument(value: datetime | None, name: str) -> datetime | None:
    """`aware` for a query's argument or filter: a GraphQL error, since a query has no
    userErrors."""
    if value is not None and value.tzinfo is None:
        raise GraphQLError(f"{name} needs a time zone, e.g. 2026-12-01T00:00:00Z")
    return value


def aware(value: datetime | None, field: str) -> datetime | None:
    """A time with its zone: a naive one would be read in the server's zone."""
    if value is not None and value.tzinfo is None:
        raise problem(field, f"{field} needs a time zone, e.g. 2026-12-01T00:00:00Z")
    return value


def url(value: str, field: str, name: str | None = None) -> str:
    """`value` if it is a public http(s) URL (private ones too with ALLOW_PRIVATE_URLS), else
    an INVALID_URL user error on `field` saying why: "landingUrl points at a private address
    (10.0.0.1)". `name` is what the message calls the value (default: the field's last part)."""
    no_controls(value, field, code="INVALID_URL")
    try:
        return validation.public_url(value, allow_private=get_settings().allow_private_urls)
    except validation.UrlRefused as exc:
        name = name or field.rpartition(".")[2]
        raise problem(field, f"{name} {exc.reason}", "INVALID_URL") from None


def names(
    values: list[str] | None, field: str, *, limit: int = 50, each: int = 50, fold: bool = True
) -> list[str]:
    """A list of short names (categories, brands): trimmed, inner spaces collapsed, lower-cased
    if `fold`, duplicates dropped; the first problem (blank, too long, too many) raised."""
    if values is None:
        return []
    if len(values) > limit:
        raise problem(field, f"at most {limit} values", "TOO_LONG")
    out = []
    for i, value in enumerate(values):
        name = " ".join(no_controls(value, f"{field}[{i}]").split())
        name = name.lower() if fold else name
        if not name:
            raise problem(f"{field}[{i}]", "a value must not be blank", "REQUIRED")
        if len(name) > each:
            raise problem(f"{field}[{i}]", f"at most {each} characters", "TOO_LONG")
        out.append(name)
    return list(dict.fromkeys(out))
