"""Checks of plain input values that every domain's mutations share: text and times.

Each raises `UserErrors` naming the input field (camelCase), so a mutation reports the problem
and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from graphql import GraphQLError

from api.graphql.errors import problem


def text(value: str | None, field: str, limit: int, *, required: bool = False) -> str | None:
    """The value without surrounding blanks; None for a blank optional value."""
    stripped = (value or "").strip()
    if not stripped and required:
        raise problem(field, f"{field} is required", "REQUIRED")
    if len(stripped) > limit:
        raise problem(field, f"{field} must be at most {limit} characters", "TOO_LONG")
    return stripped or None


def required_text(value: str | None, field: str, limit: int) -> str:
    result = text(value, field, limit, required=True)
    assert result is not None  # text() raised for a blank value
    return result


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
