"""Money in GraphQL: `Money { amount: Decimal! currency: String! }`, Decimal a string ("12.50").

The Decimal scalar keeps the text the client sent (`DecimalText`): Python's Decimal reads
"1_000", "+5", "١٢", "NaN" and "1e999999999" too, so the inputs check that text against the
money grammar of the tracker (`tracker.decimals`) and answer a userError naming the field.
"""

from __future__ import annotations

from decimal import Decimal, DecimalException

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

from api.graphql.errors import problem
from api.money import MoneyError, format_amount, normalize_currency, parse_amount
from tracker import decimals


class DecimalText(Decimal):
    """A Decimal input and the value it was read from (a string, or a JSON number)."""

    __slots__ = ("raw",)
    raw: object

    def __new__(cls, value: Decimal, raw: object) -> DecimalText:
        obj = super().__new__(cls, value)
        obj.raw = raw
        return obj


def _parse_decimal(value: object) -> DecimalText:
    # As lenient as strawberry's own Decimal (a value Python cannot read at all is a coercion
    # error, as before): what is not money is refused where the input is used, as a userError.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise StrawberryInputCoercionError(f'Value cannot represent a Decimal: "{value}".')
    try:
        parsed = Decimal(str(value))
    except DecimalException:
        raise StrawberryInputCoercionError(
            f'Value cannot represent a Decimal: "{value}".'
        ) from None
    return DecimalText(parsed, str(value) if isinstance(value, int) else value)


DECIMAL_SCALAR = ScalarDefinition(
    name="Decimal",
    description="Decimal (fixed-point), as a string of ASCII digits with an optional fraction: "
    '"12.50" ("-12.50" where an amount may be negative).',
    specified_by_url=None,
    serialize=str,
    parse_value=_parse_decimal,
    parse_literal=None,
    origin=Decimal,
)


def raw_decimal(value: Decimal) -> object:
    """What the client sent for a Decimal input (a default value is its own text)."""
    return value.raw if isinstance(value, DecimalText) else str(value)


def decimal_or_error(value: Decimal, field: str, *, negative: bool = False) -> Decimal:
    """A Decimal input of the money grammar (see `tracker.decimals`), or a user error."""
    try:
        return decimals.parse_decimal(raw_decimal(value), negative=negative)
    except decimals.DecimalError as exc:
        raise problem(field, f"{field} {exc}", "INVALID") from None


def amount_or_error(
    value: Decimal, currency: str, field: str, *, allow_negative: bool = False
) -> int:
    """Minor units of a Decimal input in `currency`; an error under `field` otherwise."""
    try:
        return parse_amount(raw_decimal(value), currency, allow_negative=allow_negative)
    except MoneyError as exc:
        raise problem(field, str(exc), "INVALID_AMOUNT") from None


@strawberry.type(description="An amount of money: a decimal string in the currency's major unit.")
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, minor: int | None, currency: str) -> Money | None:
        if minor is None:
            return None
        return cls(amount=Decimal(format_amount(minor, currency)), currency=currency)


@strawberry.input(description='An amount such as {amount: "12.50", currency: "EUR"}.')
class MoneyInput:
    amount: Decimal
    currency: str


def currency_or_error(code: str, field: str) -> str:
    try:
        return normalize_currency(code)
    except MoneyError as exc:
        raise problem(field, str(exc), "INVALID_CURRENCY") from None


def minor_or_error(value: MoneyInput, field: str, *, expected_currency: str | None = None) -> int:
    """Minor units of a MoneyInput; negative, over-precise or mismatched amounts are user errors."""
    currency = currency_or_error(value.currency, f"{field}.currency")
    if expected_currency is not None and currency != expected_currency:
        raise problem(
            f"{field}.currency",
            f"{field} must be in {expected_currency}, not {currency}",
            "INVALID_CURRENCY",
        )
    return amount_or_error(value.amount, currency, f"{field}.amount")
