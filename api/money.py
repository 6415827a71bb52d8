"""Money: an integer amount in minor units plus an ISO 4217 currency code.

Never a float. Decimal strings ("49.90") are the wire format; `parse_amount` refuses anything that
is not exactly representable in the currency's minor unit rather than rounding it silently.
Rounding happens once, half-even, where a ledger entry is computed (`round_half_even`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from tracker import decimals

# ISO 4217 codes and their minor-unit exponents, shared with the tracker.
from tracker.currencies import CURRENCIES


class MoneyError(ValueError):
    """A currency or amount that cannot be money. The message is meant for the caller."""


def normalize_currency(code: str) -> str:
    """Upper-cases and validates an ISO 4217 code; raises MoneyError for anything else."""
    upper = (code or "").strip().upper()
    if upper not in CURRENCIES:
        raise MoneyError(f"unknown currency {code!r}: expected an ISO 4217 code such as EUR")
    return upper


def exponent(currency: str) -> int:
    return CURRENCIES[normalize_currency(currency)]


def parse_amount(value: object, currency: str, *, allow_negative: bool = False) -> int:
    """Turns a major-unit decimal ("49.90") into minor units (4990), exactly.

    The grammar is the tracker's (`tracker.decimals`), so an amount the API takes the tracker
    takes too: ASCII digits, an optional fraction, a "-" only when negatives are allowed; no
    floats, exponents, "+", "_", other scripts' digits, NaN or Infinity. More decimals than the
    currency has, or more than `MAX_MINOR`, is an error for the caller, never a silent rounding.
    """
    currency = normalize_currency(currency)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif isinstance(value, Decimal):
        # str(), not format(): an exponent stays an exponent ("1E+999999999"), which the grammar
        # refuses, where the plain digits of a huge exponent would take gigabytes.
        value = str(value)
    try:
        return decimals.to_minor(decimals.parse_decimal(value, negative=allow_negative), currency)
    except decimals.DecimalError as exc:
        raise MoneyError(f"amount {exc}") from None


def format_amount(minor: int, currency: str) -> str:
    """Minor units back to the decimal string of the wire format: 4990 EUR -> "49.90"."""
    places = exponent(currency)
    return str(Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places)))


def format_money(minor: int, currency: str) -> str:
    """An amount for people, in the currency's own minor unit: 1999 EUR -> "19.99 EUR",
    1999 JPY -> "1999 JPY", 1999 KWD -> "1.999 KWD", -625 EUR -> "-6.25 EUR"."""
    return f"{format_amount(minor, currency)} {normalize_currency(currency)}"


def round_half_even(value: Decimal) -> int:
    """The single rounding step of the ledger: a Decimal of minor units to an int, half-even."""
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def apply_basis_points(minor: int, bps: int) -> int:
    """minor x bps / 10,000 rounded half-even once (1 bp = 0.01 %)."""
    return round_half_even(Decimal(minor) * Decimal(bps) / Decimal(10_000))


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise MoneyError("money amounts are integers in minor units")

    @classmethod
    def parse(cls, value: str | Decimal, currency: str, *, allow_negative: bool = False) -> Money:
        return cls(parse_amount(value, currency, allow_negative=allow_negative), currency)

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)

    def decimal_string(self) -> str:
        return format_amount(self.amount, self.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency}")
