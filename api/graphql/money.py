"""Money in GraphQL: `Money { amount: Decimal! currency: String! }`, Decimal a string ("12.50")."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from api.graphql.errors import problem
from api.money import MoneyError, format_amount, normalize_currency, parse_amount


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
    try:
        return parse_amount(value.amount, currency)
    except MoneyError as exc:
        raise problem(f"{field}.amount", str(exc), "INVALID_AMOUNT") from None
