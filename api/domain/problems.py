"""Problems with an input, shaped for GraphQL `userErrors`: the one `Problem` type of Vouch.

Domain validators return a list of `Problem(field, message, code)` instead of raising, so the API
can report every problem of an input at once. There `field` is the snake_case path of the domain
object ("tiers[1].bps"), which the GraphQL layer maps to its input names (`from_domain`); the
GraphQL layer's own problems name the camelCase input field, or None for the input as a whole.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class ProblemCode(StrEnum):
    REQUIRED = "REQUIRED"  # a value the rest of the input needs is missing
    NOT_ALLOWED = "NOT_ALLOWED"  # a value that does not belong with the rest (kind/params mismatch)
    INVALID = "INVALID"  # wrong type or shape
    NEGATIVE = "NEGATIVE"  # money or counts below zero
    OUT_OF_RANGE = "OUT_OF_RANGE"  # e.g. basis points outside 0..10,000
    NOT_ASCENDING = "NOT_ASCENDING"  # thresholds out of order
    DUPLICATE = "DUPLICATE"  # the same threshold twice
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"  # not an ISO 4217 code


class Problem(NamedTuple):
    field: str | None
    message: str
    code: str  # a ProblemCode here; a domain's GraphQL error code in the API layer
