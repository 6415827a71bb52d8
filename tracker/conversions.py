"""Conversion and refund events: validation of postback bodies and the stream entry format.

The tracker's postback handlers (`tracker.postbacks`) turn a brand's JSON into one of these events
and append it to `tracker.keys.conversions_stream(prefix)`; the ingest worker (`api.ingest`)
decodes the entries with the same classes. Conversions and refunds share one stream so a refund
is never read before the order it refunds was written.

Stream entry fields (all strings):

- `v`: "1"; `type`: "conversion" or "refund"; `event_id`: unique per accepted postback
  (`tracker.events.new_id`); `brand_id`; `order_id`;
- `occurred_at` / `received_at`: milliseconds since the epoch (the merchant's order/refund time,
  and when the tracker accepted it);
- conversion: `amount` (integer minor units), `currency` (ISO 4217), `click_id`,
  `discount_code` (upper-cased), `customer_id` ("" when absent), `referrer` (the page the
  shopper came from, as the shop saw it: "" when absent; what coupon-leakage checks read);
- refund: `refund_id`, `amount` (the decimal string as sent, normalised: "12.5"), `currency`
  ("" when neither the postback nor the tracker's record of the order said it: the worker uses
  the order's currency once the order is known).

Money is never a float: amounts arrive as decimal strings in major units ("49.90") and become
integer minor units of the currency (4990) exactly, or are refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from tracker import decimals
from tracker.currencies import CURRENCIES
from tracker.decimals import MAX_MINOR

VERSION: Final = "1"
TYPE_CONVERSION: Final = "conversion"
TYPE_REFUND: Final = "refund"

MAX_EXPONENT: Final = max(CURRENCIES.values())
ID_MAX_LENGTH: Final = 128
CLICK_ID_MAX_LENGTH: Final = 32
DISCOUNT_CODE_MAX_LENGTH: Final = 64
REFERRER_MAX_LENGTH: Final = 1024
# Order times from another clock: a little in the future is skew, more is a mistake.
MAX_FUTURE_MS: Final = 3600 * 1000
MIN_OCCURRED_MS: Final = 946_684_800_000  # 2000-01-01

_CLICK_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class FieldError(ValueError):
    """Input that cannot become an event; `field` names the offending JSON field."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


# --- amounts ----------------------------------------------------------------------------------


def normalize_currency(value: Any, field: str = "currency") -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError(field, "required: an ISO 4217 currency code such as EUR")
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise FieldError(
            field, f"unknown currency {value!r}: expected an ISO 4217 code such as EUR"
        )
    return code


def parse_decimal(value: Any, field: str = "amount", *, positive: bool = False) -> Decimal:
    """A non-negative decimal string in major units ("49.90") of the grammar of
    `tracker.decimals`, with at most `MAX_EXPONENT` decimals; refuses floats (JSON numbers),
    exponents, signs and NaN."""
    try:
        dec = decimals.parse_decimal(value)
    except decimals.DecimalError as exc:
        raise FieldError(field, str(exc)) from None
    if positive and dec == 0:
        raise FieldError(field, "must be greater than zero")
    if dec > MAX_MINOR:  # exact check per currency in `to_minor`
        raise FieldError(field, f"{decimals.shown(value)} is too large")
    if decimals.decimal_places(dec) > MAX_EXPONENT:
        raise FieldError(
            field, f"{decimals.shown(value)} has more decimal places than any currency has"
        )
    return dec


def to_minor(amount: Decimal, currency: str, field: str = "amount") -> int:
    """Major units to minor units of `currency`, exactly; refuses more decimals than it has."""
    try:
        return decimals.to_minor(amount, currency)
    except decimals.DecimalError as exc:
        raise FieldError(field, str(exc)) from None


def decimal_text(amount: Decimal) -> str:
    """A canonical text of a decimal amount: "12.50" and "12.5" are both "12.5"."""
    text = format(amount.normalize(), "f")
    return text if text != "-0" else "0"


# --- fields -----------------------------------------------------------------------------------


def _identifier(data: Mapping[str, Any], field: str, *, required: bool) -> str | None:
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise FieldError(field, "required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldError(field, "must be a string")
    text = str(value).strip()
    if not text:
        raise FieldError(field, "must not be empty")
    if len(text) > ID_MAX_LENGTH:
        raise FieldError(field, f"must be at most {ID_MAX_LENGTH} characters")
    if _CONTROL_RE.search(text):
        raise FieldError(field, "must not contain control characters")
    return text


def _click_id(data: Mapping[str, Any]) -> str | None:
    value = data.get("click_id")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FieldError("click_id", "must be a string")
    text = value.strip()
    if len(text) > CLICK_ID_MAX_LENGTH or not _CLICK_ID_RE.fullmatch(text):
        raise FieldError(
            "click_id",
            f"must be the vclid of the landing URL: 1-{CLICK_ID_MAX_LENGTH} of A-Z a-z 0-9 _ -",
        )
    return text


def _discount_code(data: Mapping[str, Any]) -> str | None:
    value = data.get("discount_code")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FieldError("discount_code", "must be a string")
    text = value.strip().upper()
    if not text or len(text) > DISCOUNT_CODE_MAX_LENGTH or _CONTROL_RE.search(text):
        raise FieldError(
            "discount_code", f"must be 1-{DISCOUNT_CODE_MAX_LENGTH} printable characters"
        )
    return text


def _referrer(data: Mapping[str, Any]) -> str | None:
    """The shopper's referring page (a URL or a bare host), kept as given, or None."""
    value = data.get("referrer")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FieldError("referrer", "must be a string")
    text = value.strip()
    if len(text) > REFERRER_MAX_LENGTH or _CONTROL_RE.search(text):
        raise FieldError("referrer", f"must be at most {REFERRER_MAX_LENGTH} printable characters")
    return text or None


def parse_time_ms(value: Any, field: str, now_ms: int) -> int:
    """ISO 8601 with a timezone ("2026-11-21T10:00:00Z") or integer unix seconds; absent: now."""
    if value is None or value == "":
        return now_ms
    if isinstance(value, bool):
        raise FieldError(field, "must be an ISO 8601 date-time or unix seconds")
    if isinstance(value, int):
        ms = value * 1000
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FieldError(
                field, f"{value!r} is not an ISO 8601 date-time such as 2026-11-21T10:00:00Z"
            ) from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise FieldError(field, "must include a timezone (Z or +hh:mm)")
        ms = int(parsed.timestamp() * 1000)
    else:
        raise FieldError(field, "must be an ISO 8601 date-time or unix seconds")
    if ms > now_ms + MAX_FUTURE_MS:
        raise FieldError(field, "is more than an hour in the future")
    if ms < MIN_OCCURRED_MS:
        raise FieldError(field, "is before the year 2000")
    return ms


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise FieldError("body", "is not valid JSON") from None
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    return data


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversionEvent:
    event_id: str
    brand_id: int
    order_id: str
    amount: int  # minor units
    currency: str
    occurred_at_ms: int
    received_at_ms: int
    click_id: str | None = None
    discount_code: str | None = None
    customer_id: str | None = None
    referrer: str | None = None

    @classmethod
    def from_body(
        cls, data: Mapping[str, Any], *, brand_id: int, event_id: str, now_ms: int
    ) -> ConversionEvent:
        """Validates a postback body; raises FieldError naming the first bad field."""
        order_id = _identifier(data, "order_id", required=True)
        assert order_id is not None
        currency = normalize_currency(data.get("currency"))
        amount = to_minor(parse_decimal(data.get("amount")), currency)
        click_id = _click_id(data)
        code = _discount_code(data)
        if click_id is None and code is None:
            raise FieldError("click_id", "give a click_id or a discount_code (or both)")
        return cls(
            event_id=event_id,
            brand_id=brand_id,
            order_id=order_id,
            amount=amount,
            currency=currency,
            occurred_at_ms=parse_time_ms(data.get("occurred_at"), "occurred_at", now_ms),
            received_at_ms=now_ms,
            click_id=click_id,
            discount_code=code,
            customer_id=_identifier(data, "customer_id", required=False),
            referrer=_referrer(data),
        )

    def fingerprint(self) -> str:
        """What makes a repeat of the order a duplicate rather than a conflict."""
        return f"{self.amount}:{self.currency}"

    def to_fields(self) -> dict[str, str]:
        return {
            "v": VERSION,
            "type": TYPE_CONVERSION,
            "event_id": self.event_id,
            "brand_id": str(self.brand_id),
            "order_id": self.order_id,
            "amount": str(self.amount),
            "currency": self.currency,
            "occurred_at": str(self.occurred_at_ms),
            "received_at": str(self.received_at_ms),
            "click_id": self.click_id or "",
            "discount_code": self.discount_code or "",
            "customer_id": self.customer_id or "",
            "referrer": self.referrer or "",
        }


@dataclass(frozen=True, slots=True)
class RefundEvent:
    event_id: str
    brand_id: int
    refund_id: str
    order_id: str
    amount_decimal: str  # canonical decimal text in major units
    currency: str | None  # None until known (from the postback or the order)
    occurred_at_ms: int
    received_at_ms: int

    @classmethod
    def from_body(
        cls, data: Mapping[str, Any], *, brand_id: int, event_id: str, now_ms: int
    ) -> RefundEvent:
        refund_id = _identifier(data, "refund_id", required=True)
        order_id = _identifier(data, "order_id", required=True)
        assert refund_id is not None and order_id is not None
        amount = parse_decimal(data.get("amount"), positive=True)
        currency = None
        if data.get("currency") not in (None, ""):
            currency = normalize_currency(data.get("currency"))
            to_minor(amount, currency)
        return cls(
            event_id=event_id,
            brand_id=brand_id,
            refund_id=refund_id,
            order_id=order_id,
            amount_decimal=decimal_text(amount),
            currency=currency,
            occurred_at_ms=parse_time_ms(data.get("occurred_at"), "occurred_at", now_ms),
            received_at_ms=now_ms,
        )

    def minor(self, currency: str) -> int:
        """The amount in minor units of `currency` (the order's); FieldError when it has more
        decimals than that currency or the refund names another currency."""
        if self.currency is not None and self.currency != currency:
            raise FieldError(
                "currency", f"the refund is in {self.currency} but the order is in {currency}"
            )
        return to_minor(Decimal(self.amount_decimal), currency)

    def fingerprint(self) -> str:
        return f"{self.order_id}\x1f{self.amount_decimal}"

    def to_fields(self) -> dict[str, str]:
        return {
            "v": VERSION,
            "type": TYPE_REFUND,
            "event_id": self.event_id,
            "brand_id": str(self.brand_id),
            "refund_id": self.refund_id,
            "order_id": self.order_id,
            "amount": self.amount_decimal,
            "currency": self.currency or "",
            "occurred_at": str(self.occurred_at_ms),
            "received_at": str(self.received_at_ms),
        }


def from_fields(fields: Mapping[Any, Any]) -> ConversionEvent | RefundEvent:
    """Decodes a stream entry (bytes or str) and validates it again: the worker trusts nothing.
    Raises ValueError (FieldError included) for anything that is not a valid event."""
    data = {_text(k): _text(v) for k, v in fields.items()}
    if data.get("v") != VERSION:
        raise ValueError(f"unknown conversion event version {data.get('v')!r}")
    kind = data.get("type")
    try:
        brand_id = int(data["brand_id"])
        event_id = data["event_id"]
        occurred = int(data["occurred_at"])
        received = int(data["received_at"])
        if kind == TYPE_CONVERSION:
            order_id = _identifier(data, "order_id", required=True)
            currency = normalize_currency(data["currency"])
            amount = int(data["amount"])
            if not 0 <= amount <= MAX_MINOR:
                raise FieldError("amount", f"{amount} is out of range")
            assert order_id is not None
            return ConversionEvent(
                event_id=event_id,
                brand_id=brand_id,
                order_id=order_id,
                amount=amount,
                currency=currency,
                occurred_at_ms=occurred,
                received_at_ms=received,
                click_id=_click_id(data),
                discount_code=_discount_code(data),
                customer_id=_identifier(data, "customer_id", required=False),
                referrer=_referrer(data),
            )
        if kind == TYPE_REFUND:
            refund_id = _identifier(data, "refund_id", required=True)
            order_id = _identifier(data, "order_id", required=True)
            assert refund_id is not None and order_id is not None
            dec = parse_decimal(data["amount"], positive=True)
            currency_text = data.get("currency") or ""
            return RefundEvent(
                event_id=event_id,
                brand_id=brand_id,
                refund_id=refund_id,
                order_id=order_id,
                amount_decimal=decimal_text(dec),
                currency=normalize_currency(currency_text) if currency_text else None,
                occurred_at_ms=occurred,
                received_at_ms=received,
            )
    except KeyError as exc:
        raise ValueError(f"conversion event lacks field {exc.args[0]}") from None
    raise ValueError(f"unknown conversion event type {kind!r}")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
