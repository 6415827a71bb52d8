"""What a shop's webhook says, as the orders and refunds Vouch counts.

One function per platform turns a verified webhook (its topic and JSON body) into `Paid`
orders, `Refunded` amounts and `StripeRefund`s (pro-rated by the handler, which knows the order),
or nothing (`Ignored`, with why). The handler (`tracker.shops`) makes them the same conversion
and refund events a postback makes (`tracker.conversions`), so ingest, attribution, commission
and the ledger do not change.

What counts (the subtotal after discounts, net of tax and shipping, in the order's currency):
- Shopify: `subtotal_price` ("after discounts, before shipping, duties, taxes and tips"), less the
  line items' tax when `taxes_included`, in the shop's `currency`. A refund counts the subtotal
  of its `refund_line_items`, less their `total_tax` in a shop whose prices include tax (the
  refund's body does not say so: the handler remembers `taxes_included` from the shop's orders,
  `Paid.taxes_included`), so a full refund takes back exactly the net amount counted; one with
  no line items (shipping, an adjustment) leaves the subtotal as it was. A cancelled paid order
  refunds what its earlier refunds left.
- Stripe: integers in minor units already (`tracker.currencies`: Stripe's zero-decimal list is
  not scaled). A Checkout Session counts `amount_total - amount_tax - amount_shipping`; a renewal
  invoice (`billing_reason=subscription_cycle`) `total_excluding_tax`. The order id is the
  payment intent when there is one (what a charge's refund names), else the invoice or session.
- WooCommerce: `total - total_tax - shipping_total` (the discounts are off `total` already);
  each of `refunds[]` (amounts of the gross total) refunds its share of that net amount; status
  `refunded` or `cancelled` of a paid order refunds what is left.

Attribution: the first discount code of the order, the `vclid` of the landing URL (Shopify
`landing_site`, the `vclid` note attribute (cart attribute), Stripe `client_reference_id` or
`metadata.vclid`, WooCommerce meta `_vclid` / `vclid`, else the vclid of the landing page its
order attribution kept, `_wc_order_attribution_session_entry`), and the customer: the shop's
customer id, else a keyed hash of the e-mail (`customer_key`): the e-mail itself never leaves the
tracker.

The page the shopper came from (`Paid.referrer`, for the coupon-site check of
`api.domain.coupon_sites`), as each platform knows it:
- Shopify: the order's `referring_site` (the referrer of the visit that led to the order).
- WooCommerce (8.5+ order attribution, on by default): the order meta
  `_wc_order_attribution_referrer` (the referring URL) unless `_wc_order_attribution_source_type`
  says the visit was direct (`typein`: the "referrer" is then the shop's own page, or none), a
  web-admin or a mobile-app order; a `referral` without a referrer URL falls back to
  `_wc_order_attribution_utm_source`, which WooCommerce fills with the referring host then.
  "(none)" is WooCommerce's "unknown".
- Stripe: Checkout knows no referrer, so the merchant's server passes the one the landing
  snippet kept (`window.vouch.referrer`) as `metadata.referrer`, as it passes `metadata.vclid`
  (a renewal invoice reads its subscription's metadata, as for the click id).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from tracker import decimals
from tracker.conversions import (
    CLICK_ID_MAX_LENGTH,
    DISCOUNT_CODE_MAX_LENGTH,
    ID_MAX_LENGTH,
    REFERRER_MAX_LENGTH,
    FieldError,
    normalize_currency,
    to_minor,
)

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
CLICK_PARAMETER: Final = "vclid"
# Stripe's currencies whose amounts are whole units (docs.stripe.com/currencies#zero-decimal).
STRIPE_ZERO_DECIMAL: Final = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
# Stripe's three-decimal currencies: amounts in thousandths, as ISO 4217 has them.
STRIPE_THREE_DECIMAL: Final = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
_CLICK_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{CLICK_ID_MAX_LENGTH}}}")
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]+")


@dataclass(frozen=True, slots=True)
class Paid:
    """A paid order, `amount` in minor units of `currency`."""

    order_id: str
    amount: int
    currency: str
    occurred_at_ms: int | None
    click_id: str | None
    discount_code: str | None
    customer_id: str | None
    # Shopify: whether the shop's prices include tax (None: another platform).
    taxes_included: bool | None = None
    # The page the shopper came from (Shopify's `referring_site`, WooCommerce's attribution
    # referrer, Stripe's `metadata.referrer`), for the coupon-leakage checks.
    referrer: str | None = None


@dataclass(frozen=True, slots=True)
class Refunded:
    """A refund of `amount` minor units of the order's `currency`."""

    refund_id: str
    order_id: str
    amount: int
    currency: str
    occurred_at_ms: int | None
    # Shopify: the refunded lines' tax, part of `amount` when the shop's prices include tax (the
    # handler takes it off then); 0 elsewhere.
    tax: int = 0


@dataclass(frozen=True, slots=True)
class StripeRefund:
    """A Stripe charge's refunds or dispute: `gross` of the charge's `charge_amount` (both in
    Stripe's units of `currency`) taken back, cumulatively (`cumulative`: a charge's
    `amount_refunded`) or once (a dispute). The handler turns it into the order's net share."""

    refund_id: str
    order_id: str
    charge_id: str
    gross: int
    charge_amount: int | None  # None: a dispute, which takes back at most what is left
    currency: str
    occurred_at_ms: int | None
    cumulative: bool


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


Outcome = Sequence[Paid | Refunded | StripeRefund] | Ignored


class CustomerKey:
    """The customer of an order as Vouch keeps it: `<kind>:<the shop's customer id>`, else
    `email:` and an HMAC-SHA256 of the normalised e-mail under CUSTOMER_HASH_KEY."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def __call__(self, kind: str, customer_id: Any, email: Any) -> str | None:
        if isinstance(customer_id, int | str) and not isinstance(customer_id, bool):
            text = str(customer_id).strip()
            if text not in ("", "0") and len(text) <= 100 and _PRINTABLE.fullmatch(text):
                return f"{kind}:{text}"
        if isinstance(email, str) and "@" in email:
            digest = hmac.new(self._key, email.strip().casefold().encode(), hashlib.sha256)
            return "email:" + digest.hexdigest()[:40]
        return None


# --- shared pieces ----------------------------------------------------------------------------


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _id(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise FieldError(field, "required: the platform's id")
    text = str(value).strip()
    if len(text) > ID_MAX_LENGTH or not _PRINTABLE.fullmatch(text):
        raise FieldError(field, f"must be at most {ID_MAX_LENGTH} printable characters")
    return text


def _money(value: Any, currency: str, field: str, *, negative: bool = False) -> int:
    """A decimal string of major units (Shopify, WooCommerce) as minor units of `currency`."""
    if value is None or value == "":
        return 0
    try:
        amount = decimals.parse_decimal(value, negative=negative)
    except decimals.DecimalError as exc:
        raise FieldError(field, str(exc)) from None
    return abs(to_minor(amount, currency, field))


def _time_ms(value: Any, *, gmt: bool = False) -> int | None:
    """ISO 8601 (`gmt`: WooCommerce's `*_gmt` fields, which have no offset) or unix seconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 1000
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text + ("+00:00" if gmt and "+" not in text else ""))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)


def click_id(value: Any) -> str | None:
    """A vclid as the tracker issues them, else None (a mangled one attributes nothing)."""
    if not isinstance(value, str):
        return None
    text = value.strip().removeprefix("vclid_")
    return text if _CLICK_ID.fullmatch(text) else None


def click_id_of_url(url: Any) -> str | None:
    """The `vclid` query parameter of a landing URL or path ("/p/x?vclid=..&utm_source=..")."""
    if not isinstance(url, str) or CLICK_PARAMETER not in url:
        return None
    values = parse_qs(urlsplit(url.strip()).query).get(CLICK_PARAMETER) or []
    return next((c for c in map(click_id, values) if c), None)


def _code(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    ok = 0 < len(text) <= DISCOUNT_CODE_MAX_LENGTH and _PRINTABLE.fullmatch(text)
    return text if ok else None


def _named(items: Any, names: tuple[str, ...], key: str = "name") -> Any:
    """The value of the first {name, value} (or {key, value}) item named one of `names`."""
    for item in _list(items):
        if isinstance(item, Mapping) and item.get(key) in names:
            return item.get("value")
    return None


def _referrer(value: Any) -> str | None:
    """A shop's referring page as the postback's `referrer` takes it (printable, at most 1024
    characters), or None: a bad one is dropped, never a reason to refuse the order."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > REFERRER_MAX_LENGTH or _CONTROL.search(text):
        return None
    return text


# WooCommerce's order-attribution meta (`Automattic\WooCommerce\Internal\Traits\
# OrderAttributionMeta`: field "type" is stored as `source_type`, "url" as `referrer`).
WOO_ATTRIBUTION: Final = "_wc_order_attribution_"
# Source types whose referrer is not an outside page: direct visits ("typein", whose referrer
# is the shop's own page when there is one), orders made in the web admin or the mobile app.
_WOO_NOT_REFERRED: Final = frozenset({"typein", "admin", "mobile_app"})
_WOO_NONE: Final = "(none)"


def _woo_meta(meta: Any, field: str) -> str | None:
    value = _named(meta, (WOO_ATTRIBUTION + field,), key="key")
    if not isinstance(value, str) or value.strip() in ("", _WOO_NONE):
        return None
    return value.strip()


def woocommerce_referrer(meta: Any) -> str | None:
    """The page the shopper came from, as WooCommerce's order attribution kept it (None when
    the visit was direct, or the order was made in the admin or the app)."""
    if _woo_meta(meta, "source_type") in _WOO_NOT_REFERRED:
        return None
    referrer = _referrer(_woo_meta(meta, "referrer"))
    if referrer is None and _woo_meta(meta, "source_type") == "referral":
        referrer = _referrer(_woo_meta(meta, "utm_source"))  # the referring host, then
    return referrer


def _paid(
    order_id: str,
    amount: int,
    currency: str,
    occurred: int | None,
    click: str | None,
    code: str | None,
    customer: str | None,
    taxes_included: bool | None = None,
    referrer: str | None = None,
) -> Outcome:
    if click is None and code is None and customer is None:
        return Ignored("the order carries no click id, discount code or customer")
    paid = Paid(
        order_id,
        max(amount, 0),
        currency,
        occurred,
        click,
        code,
        customer,
        taxes_included,
        referrer,
    )
    return [paid]


# --- Shopify ----------------------------------------------------------------------------------

SHOPIFY_TOPICS: Final = ("orders/paid", "orders/create", "refunds/create", "orders/cancelled")
_SHOPIFY_PAID: Final = frozenset({"paid", "partially_refunded", "refunded", "partially_paid"})


def _shopify_net(order: Mapping[str, Any], currency: str) -> int:
    net = _money(order.get("subtotal_price"), currency, "subtotal_price")
    if order.get("taxes_included") is True:
        for line in _list(order.get("line_items")):
            for tax in _list(_obj(line).get("tax_lines")):
                net -= _money(_obj(tax).get("price"), currency, "line_items.tax_lines.price")
    return max(net, 0)


def _shopify_refund_lines(refund: Mapping[str, Any], currency: str, name: str = "subtotal") -> int:
    """The refunded lines' `subtotal` (or `total_tax`), from the shop-money text of its `_set`
    (the plain field is a JSON number)."""
    total = 0
    for line in _list(refund.get("refund_line_items")):
        money = _obj(_obj(_obj(line).get(f"{name}_set")).get("shop_money"))
        value = money.get("amount")
        if value is None and isinstance(_obj(line).get(name), int | float):
            value = str(_obj(line)[name])  # the shortest text of the number sent
        if value is None and name == "total_tax":
            continue  # a line without tax
        total += _money(value, currency, f"refund_line_items.{name}_set")
    return total


def _shopify_refund_net(refund: Mapping[str, Any], currency: str, taxes_included: bool) -> int:
    net = _shopify_refund_lines(refund, currency)
    if taxes_included:
        net -= _shopify_refund_lines(refund, currency, "total_tax")
    return net


def shopify(topic: str, body: Mapping[str, Any], customer_key: CustomerKey) -> Outcome:
    if topic not in SHOPIFY_TOPICS:
        return Ignored(f"topic {topic!r} is not one Vouch uses")
    if topic == "refunds/create":
        return _shopify_refund(body)
    order_id = _id(body.get("id"), "id")
    currency = normalize_currency(body.get("currency"))
    status = body.get("financial_status")
    if topic == "orders/create" and status != "paid":
        return Ignored(f"orders/create of an order that is {status!r}, not paid: wait for paid")
    net = _shopify_net(body, currency)
    if topic == "orders/cancelled":
        if status not in _SHOPIFY_PAID:
            return Ignored("a cancelled order that was never paid")
        refunds = _list(body.get("refunds"))
        included = body.get("taxes_included") is True
        left = net - sum(_shopify_refund_net(_obj(r), currency, included) for r in refunds)
        if left <= 0:
            return Ignored("the cancelled order's refunds took back its whole subtotal")
        when = _time_ms(body.get("cancelled_at"))
        return [Refunded(f"cancel:{order_id}", order_id, left, currency, when)]
    customer = _obj(body.get("customer"))
    click = click_id_of_url(body.get("landing_site")) or click_id(
        _named(body.get("note_attributes"), (CLICK_PARAMETER, "_vclid"))
    )
    codes = _list(body.get("discount_codes"))
    code = _code(_obj(codes[0]).get("code")) if codes else None
    return _paid(
        order_id,
        net,
        currency,
        _time_ms(body.get("processed_at") or body.get("created_at")),
        click,
        code,
        customer_key("shopify", customer.get("id"), body.get("email") or customer.get("email")),
        body.get("taxes_included") is True,
        _referrer(body.get("referring_site")),
    )


def _shopify_refund(body: Mapping[str, Any]) -> Outcome:
    refund_id = _id(body.get("id"), "id")
    order_id = _id(body.get("order_id"), "order_id")
    lines = _list(body.get("refund_line_items"))
    if not lines:
        return Ignored("a refund with no line items (shipping, an adjustment): subtotal unchanged")
    money = _obj(_obj(_obj(lines[0]).get("subtotal_set")).get("shop_money"))
    transactions = _list(body.get("transactions"))
    currency_text = money.get("currency_code") or (
        _obj(transactions[0]).get("currency") if transactions else None
    )
    currency = normalize_currency(currency_text, "refund_line_items.subtotal_set")
    amount = _shopify_refund_lines(body, currency)
    if amount <= 0:
        return Ignored("the refund takes back nothing of the subtotal")
    tax = _shopify_refund_lines(body, currency, "total_tax")
    when = _time_ms(body.get("processed_at") or body.get("created_at"))
    return [Refunded(refund_id, order_id, amount, currency, when, tax)]


# --- Stripe -----------------------------------------------------------------------------------

STRIPE_TOPICS: Final = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "invoice.paid",
    "charge.refunded",
    "charge.dispute.created",
)


def stripe_minor(amount: Any, currency: str, field: str) -> int:
    """A Stripe amount (an integer in Stripe's units) as ISO 4217 minor units of `currency`:
    the same number, except where Stripe's decimals differ from ISO's (MGA: whole ariary at
    Stripe, 2 decimals in ISO; ISK: 2 decimals at Stripe, none in ISO)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise FieldError(field, "must be a non-negative integer amount")
    if currency in STRIPE_ZERO_DECIMAL:
        stripe_places = 0
    elif currency in STRIPE_THREE_DECIMAL:
        stripe_places = 3
    else:
        stripe_places = 2
    return to_minor(Decimal(amount).scaleb(-stripe_places), currency, field)


def _stripe_currency(obj: Mapping[str, Any]) -> str:
    return normalize_currency(obj.get("currency"))


def _stripe_order_id(obj: Mapping[str, Any]) -> str:
    for key in ("payment_intent", "invoice", "id"):
        value = obj.get(key)
        if isinstance(value, Mapping):
            value = value.get("id")
        if isinstance(value, str) and value:
            return _id(value, key)
    raise FieldError("id", "required: the object's id")


def stripe(body: Mapping[str, Any], customer_key: CustomerKey) -> Outcome:
    topic = body.get("type")
    if topic not in STRIPE_TOPICS:
        return Ignored(f"event type {topic!r} is not one Vouch uses")
    obj = _obj(_obj(body.get("data")).get("object"))
    when = _time_ms(body.get("created"))
    currency = _stripe_currency(obj)
    if topic == "charge.refunded":
        return [
            StripeRefund(
                f"{_id(obj.get('id'), 'id')}:{int(obj.get('amount_refunded') or 0)}",
                _stripe_order_id(obj),
                _id(obj.get("id"), "id"),
                stripe_minor(obj.get("amount_refunded"), currency, "amount_refunded"),
                stripe_minor(obj.get("amount"), currency, "amount"),
                currency,
                when,
                cumulative=True,
            )
        ]
    if topic == "charge.dispute.created":
        charge = obj.get("charge")
        charge_id = _id(charge.get("id") if isinstance(charge, Mapping) else charge, "charge")
        order = {"payment_intent": obj.get("payment_intent"), "id": charge_id}
        return [
            StripeRefund(
                _id(obj.get("id"), "id"),
                _stripe_order_id(order),
                charge_id,
                stripe_minor(obj.get("amount"), currency, "amount"),
                None,
                currency,
                when,
                cumulative=False,
            )
        ]
    metadata = _obj(obj.get("metadata"))
    if topic == "invoice.paid":
        if obj.get("billing_reason") != "subscription_cycle":
            return Ignored("not a renewal: the first invoice is the Checkout Session's order")
        net = stripe_minor(obj.get("total_excluding_tax"), currency, "total_excluding_tax")
        parent = _obj(_obj(obj.get("parent")).get("subscription_details"))
        details = _obj(obj.get("subscription_details")) or parent
        metadata = _obj(details.get("metadata")) or metadata
        email = obj.get("customer_email")
        click = click_id(metadata.get(CLICK_PARAMETER))
    else:
        if obj.get("payment_status") != "paid":
            return Ignored(f"payment_status {obj.get('payment_status')!r}: wait for payment")
        totals = _obj(obj.get("total_details"))
        net = stripe_minor(obj.get("amount_total"), currency, "amount_total")
        for part in ("amount_tax", "amount_shipping"):
            net -= stripe_minor(totals.get(part) or 0, currency, f"total_details.{part}")
        email = _obj(obj.get("customer_details")).get("email") or obj.get("customer_email")
        click = click_id(obj.get("client_reference_id")) or click_id(metadata.get(CLICK_PARAMETER))
    customer = obj.get("customer")
    if isinstance(customer, Mapping):
        customer = customer.get("id")
    return _paid(
        _stripe_order_id(obj),
        net,
        currency,
        when,
        click,
        _code(metadata.get("discount_code")),
        customer_key("stripe", customer, email),
        referrer=_referrer(metadata.get("referrer")),
    )


def share(net: int, part: int, whole: int) -> int:
    """net x part / whole in minor units, half-even (`whole` 0: all of it)."""
    if whole <= 0:
        return net
    value = Decimal(net) * Decimal(part) / Decimal(whole)
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


# --- WooCommerce ------------------------------------------------------------------------------

WOOCOMMERCE_TOPICS: Final = ("order.created", "order.updated")
_WOO_PAID: Final = frozenset({"processing", "completed"})
_WOO_UNDONE: Final = frozenset({"refunded", "cancelled"})


def woocommerce(topic: str, body: Mapping[str, Any], customer_key: CustomerKey) -> Outcome:
    if topic not in WOOCOMMERCE_TOPICS:
        return Ignored(f"topic {topic!r} is not one Vouch uses")
    status = body.get("status")
    order_id = _id(body.get("id"), "id")
    currency = normalize_currency(body.get("currency"))
    paid_at = _time_ms(body.get("date_paid_gmt"), gmt=True)
    if status not in _WOO_PAID and not (status in _WOO_UNDONE and paid_at is not None):
        return Ignored(f"an order that is {status!r}: neither paid nor undone after payment")
    net = _money(body.get("total"), currency, "total")
    net -= _money(body.get("total_tax"), currency, "total_tax")
    net -= _money(body.get("shipping_total"), currency, "shipping_total")
    meta = body.get("meta_data")
    click = click_id(_named(meta, ("_vclid", CLICK_PARAMETER), key="key")) or click_id_of_url(
        _woo_meta(meta, "session_entry")
    )
    coupons = _list(body.get("coupon_lines"))
    billing = _obj(body.get("billing"))
    outcome: list[Paid | Refunded | StripeRefund] = []
    order = _paid(
        order_id,
        net,
        currency,
        paid_at or _time_ms(body.get("date_created_gmt"), gmt=True),
        click,
        _code(_obj(coupons[0]).get("code")) if coupons else None,
        customer_key("woocommerce", body.get("customer_id"), billing.get("email")),
        referrer=woocommerce_referrer(meta),
    )
    if isinstance(order, Ignored):
        return order
    outcome += order
    # WooCommerce refunds are amounts of the gross total (tax and shipping included): each
    # takes its share of the net amount, cumulatively in id order, so an earlier refund's share
    # never changes when a later one joins it and refunding the whole total refunds the net.
    gross = _money(body.get("total"), currency, "total")
    modified = _time_ms(body.get("date_modified_gmt"), gmt=True)
    refunds = []
    for refund in _list(body.get("refunds")):
        refund = _obj(refund)
        amount = _money(refund.get("total"), currency, "refunds.total", negative=True)
        if amount > 0:
            refunds.append((_id(refund.get("id"), "refunds.id"), amount))
    refunds.sort(key=lambda r: (len(r[0]), r[0]))  # numeric ids in order
    refunded = cumulative = 0
    for refund_id, amount in refunds:
        cumulative += amount
        target = min(net, share(net, cumulative, gross))
        if target > refunded:
            part = target - refunded
            outcome.append(Refunded(f"woo:{refund_id}", order_id, part, currency, modified))
            refunded = target
    if status in _WOO_UNDONE and net - refunded > 0:
        left = net - refunded
        outcome.append(Refunded(f"{status}:{order_id}", order_id, left, currency, modified))
    return outcome
