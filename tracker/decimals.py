"""The one grammar of decimal amounts, shared by the tracker's postbacks and the API's inputs.

An amount is a string of ASCII digits with an optional fraction and, where a signed amount is
allowed, a leading "-": "49.90", "0.5", "-3". Surrounding blanks are ignored. Nothing else: no
exponent ("1e3", which also lets "1e999999999" overflow and "1e-999999999" round to 0), no "+",
no "_" separators, no other scripts' digits ("١٢"), no NaN or Infinity, no JSON numbers (floats).
Conversion to minor units is exact integer arithmetic on the digits, with no decimal context
that could round a long fraction away.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from tracker.currencies import CURRENCIES

# The ceiling of any amount in minor units: larger is an input mistake.
MAX_MINOR: Final = 10**15 - 1
# [0-9], not \d: \d matches every script's digits.
DECIMAL_RE: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_MAX_INTEGER_DIGITS: Final = len(str(MAX_MINOR))


class DecimalError(ValueError):
    """A value outside the grammar or the range; the message names the value, not the field."""


def shown(value: object) -> str:
    """A value as quoted in a message, cut short: a message must not echo a megabyte."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_decimal(value: object, *, negative: bool = False) -> Decimal:
    """The Decimal of a string of the grammar; DecimalError for anything else."""
    if not isinstance(value, str):
        raise DecimalError('must be a decimal string in major units such as "49.90"')
    text = value.strip()
    if not DECIMAL_RE.fullmatch(text):
        raise DecimalError(f'{shown(value)} is not a decimal amount such as "49.90"')
    if text.startswith("-") and not negative:
        raise DecimalError(f"{shown(value)} must not be negative")
    return Decimal(text)  # exact: constructing a Decimal from a string never rounds


def decimal_places(amount: Decimal) -> int:
    """How many decimals the value needs: 12.50 -> 1, 12 -> 0, 0.0 -> 0."""
    _, digits, exp = amount.as_tuple()
    assert isinstance(exp, int), "only finite amounts come from parse_decimal"
    coefficient = "".join(map(str, digits)).rstrip("0")
    if not coefficient:
        return 0
    trailing_zeros = len(digits) - len(coefficient)
    return max(0, -(exp + trailing_zeros))


def to_minor(amount: Decimal, currency: str) -> int:
    """Major units to minor units of `currency` (its ISO 4217 exponent), exactly; DecimalError
    for more decimals than it has or more than `MAX_MINOR` either side of zero."""
    places = CURRENCIES[currency]
    if decimal_places(amount) > places:
        raise DecimalError(
            f"{shown(str(amount))} has more than {places} decimal places for {currency}"
        )
    if amount.is_zero():
        return 0
    # adjusted(): the power of ten of the first digit, checked before any big integer is made.
    if amount.adjusted() + places >= _MAX_INTEGER_DIGITS:
        raise DecimalError(f"{shown(str(amount))} {currency} is too large")
    sign, digits, exp = amount.as_tuple()
    assert isinstance(exp, int)
    coefficient = "".join(map(str, digits)).rstrip("0")  # "12.500" -> 125 x 10^-1
    shift = exp + len(digits) - len(coefficient) + places  # >= 0: checked above
    minor = int(coefficient) * 10**shift
    if minor > MAX_MINOR:
        raise DecimalError(f"{shown(str(amount))} {currency} is too large")
    return -minor if sign else minor
