"""Order webhooks of connected shops: `POST /shops/{connection}/shopify|stripe|woocommerce`.

The API publishes each connection (`api.tracking.shop_connections`) at
`tracker.keys.shop_connection(prefix, public_id)`: its brand, platform, domain and sealed
secrets. A webhook is checked exactly as its platform signs it, with any unexpired secret:

- Shopify: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the raw body; `X-Shopify-Shop-Domain`
  must be the connected shop; `X-Shopify-Topic` names the topic; `X-Shopify-Event-Id` (else
  `X-Shopify-Webhook-Id`) is the delivery's id.
- Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`, HMAC-SHA256 hex of `<t>.<raw body>`
  keyed with the whole `whsec_...` text, `t` within 5 minutes; the event's `id` is its id.
- WooCommerce: `X-WC-Webhook-Signature` = base64 HMAC-SHA256 of the body; `X-WC-Webhook-Topic`.
  Its unsigned creation ping (a form body `webhook_id=<n>`) is answered 200 and ignored.

An unknown or disconnected connection, a bad or missing signature, another shop's domain: 401
JSON, nothing written to the streams (bad signatures count against the brand's limit, as for
postbacks: `tracker.ratelimit.postback_refusal`). A topic Vouch does not use: 200, ignored.
Otherwise the orders and refunds of the webhook (`tracker.shop_orders`) become the conversion
and refund events a postback makes, through the postbacks' own atomic dedupe
(`tracker.postbacks.Postbacks.record_conversion` / `record_refund`): a retried webhook, or another
webhook of the same order, counts once. The answer is 200 with what became of each: "accepted",
"duplicate", "conflict" (the order was taken with another amount) or "refused" (a refund the
order cannot take); retrying those would not change them. 503 when Redis fails: the platform
retries, nothing was recorded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets as tokens
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tracker import keys, ratelimit, shop_orders
from tracker.conversions import (
    MAX_FUTURE_MS,
    MIN_OCCURRED_MS,
    ConversionEvent,
    FieldError,
    RefundEvent,
    decimal_text,
    parse_json_object,
)
from tracker.currencies import CURRENCIES
from tracker.events import new_id
from tracker.postbacks import (
    SIGNATURE_TOLERANCE_SECONDS,
    Postbacks,
    order_key,
    parse_signature,
    sign,
)
from tracker.sealing import Unsealable
from tracker.shop_record import SHOPIFY, STRIPE, WOOCOMMERCE, ShopRecord

log = logging.getLogger("vouch.tracker.shops")

PATHS: Final = {"shopify": SHOPIFY, "stripe": STRIPE, "woocommerce": WOOCOMMERCE}
# Shopify orders with many lines run to hundreds of KB.
MAX_BODY_BYTES: Final = 1024 * 1024
_BASE64_SHA256 = re.compile(r"[A-Za-z0-9+/]{43}=", re.ASCII)
_WOO_PING = re.compile(rb"webhook_id=[0-9]{1,20}")
_DELIVERY_ID = re.compile(r"[\x21-\x7e]{1,128}", re.ASCII)
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)  # `secrets.token_urlsafe` text

# KEYS: a charge's refunded high-water mark. ARGV: the new cumulative net refund, ttl. Never
# lowers it: an older charge.refunded arriving late refunds nothing more.
_HIGH_WATER_LUA = """
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > old then redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2])) end
return old
"""


# KEYS: a charge's lock. ARGV: the holder's token. Frees the lock only for its holder (one whose
# lock expired must not free the next holder's).
_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Refunds of one charge are taken one at a time: the lock outlives any sane handling (so a
# crashed holder frees it), and a delivery waits for it this long before a 503 (Stripe retries).
CHARGE_LOCK_MS: Final = 10_000
CHARGE_LOCK_WAIT_S: Final = 2.0


class ChargeBusy(Exception):
    """Another delivery held the charge's lock for longer than `CHARGE_LOCK_WAIT_S`."""


def delivery_key(prefix: str, public_id: str, delivery_id: str) -> str:
    """Set once a webhook was handled: its retries are answered "duplicate" straight away."""
    return f"{prefix}:{{ev}}:shopwh:{public_id}:{delivery_id}"


def charge_key(prefix: str, brand_id: int, charge_id: str) -> str:
    """The net amount of a Stripe charge's refunds already turned into refund events."""
    return f"{prefix}:{{ev}}:charge_refunded:{brand_id}:{charge_id}"


def taxes_key(prefix: str, public_id: str) -> str:
    """ "1" when the connected Shopify shop's latest order had `taxes_included`, else "0": its
    refunds' bodies do not say, and their line subtotals then include the tax."""
    return f"{prefix}:{{ev}}:shop_taxes_included:{public_id}"


def hmac_base64(secret: str, body: bytes) -> str:
    """Shopify's and WooCommerce's signature of a body (for clients and tests)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def stripe_signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={sign(secret, t, body)}"


def _base64_matches(secrets: Sequence[str], body: bytes, given: str | None) -> bool:
    if given is None or not _BASE64_SHA256.fullmatch(given.strip()):
        return False
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(hmac_base64(secret, body).encode(), given.strip().encode())
    return ok


def verify(
    kind: str, headers: Mapping[str, str], body: bytes, secrets: Sequence[str], now: float
) -> str | None:
    """None when the webhook is signed with one of `secrets` as `kind` signs, else why not."""
    if kind == STRIPE:
        try:
            timestamp, given = parse_signature(headers.get("stripe-signature", ""))
        except ValueError:
            return "Stripe-Signature: expected t=<unix seconds>,v1=<hex HMAC-SHA256>"
        if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            return "Stripe-Signature: the timestamp is more than 5 minutes from the clock"
        ok = False
        for secret in secrets:
            expected = sign(secret, timestamp, body)
            for candidate in given:
                ok |= hmac.compare_digest(expected, candidate)
        return None if ok else "Stripe-Signature: the signature does not match"
    header = "x-shopify-hmac-sha256" if kind == SHOPIFY else "x-wc-webhook-signature"
    if not _base64_matches(secrets, body, headers.get(header)):
        return f"{header}: missing, or the signature does not match"
    return None


def valid_secrets(record: ShopRecord, now: float, unseal: Callable[[str], str]) -> list[str]:
    found = []
    for sealed, expires in record.secrets:
        if expires is not None:
            try:
                if datetime.fromisoformat(expires).timestamp() <= now:
                    continue
            except ValueError:
                continue
        try:
            found.append(unseal(sealed))
        except Unsealable:
            log.error("a published shop secret does not unseal: are VOUCH_SECRET_KEYS the API's?")
    return found


def _error(status: int, message: str, field: str | None) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


def _occurred(ms: int | None, now_ms: int) -> int:
    """The platform's time of the order, or now when it has none that makes sense."""
    if ms is None or ms > now_ms + MAX_FUTURE_MS or ms < MIN_OCCURRED_MS:
        return now_ms
    return ms


def _decimal(minor: int, currency: str) -> str:
    return decimal_text(Decimal(minor).scaleb(-CURRENCIES[currency]))


class Shops:
    """The webhook endpoint of connected shops, recording through `postbacks`."""

    def __init__(
        self,
        postbacks: Postbacks,
        *,
        customer_hash_key: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.postbacks = postbacks
        self.prefix = postbacks.prefix
        self.customer_key = shop_orders.CustomerKey(customer_hash_key)
        self.clock = clock

    def routes(self) -> list[Route]:
        return [Route("/shops/{connection}/{platform}", self.webhook, methods=["POST"])]

    async def webhook(self, request: Request) -> JSONResponse:
        kind = PATHS.get(request.path_params["platform"])
        if kind is None:
            return _error(404, "expected /shops/<connection>/shopify|stripe|woocommerce", None)
        public_id = str(request.path_params["connection"])
        if not _PUBLIC_ID.fullmatch(public_id):
            return _error(401, "unknown or disconnected shop connection", "connection")
        client = self.postbacks.redis()
        try:
            raw = await client.get(keys.shop_connection(self.prefix, public_id))
        except Exception:
            log.exception("shop connection unavailable")
            return _error(503, "temporarily unavailable: nothing was recorded, retry", None)
        record = None
        if raw is not None:
            try:
                record = ShopRecord.from_json(raw)
            except (ValueError, KeyError, TypeError):
                log.error("malformed shop connection record %s", public_id)
        if record is None or record.kind != kind:
            return _error(401, "unknown or disconnected shop connection", "connection")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _error(413, f"body larger than {MAX_BODY_BYTES} bytes", "body")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _error(413, f"body larger than {MAX_BODY_BYTES} bytes", "body")
        headers = request.headers
        if (
            kind == WOOCOMMERCE
            and "x-wc-webhook-signature" not in headers
            and _WOO_PING.fullmatch(body.strip())
        ):
            return JSONResponse({"status": "ignored", "reason": "WooCommerce's creation ping"})
        now = self.clock()
        secrets = valid_secrets(record, now, self.postbacks.sealer.unseal)
        problem = verify(kind, headers, body, secrets, now) if secrets else "no valid secret"
        if problem is not None:
            limited = await ratelimit.postback_refusal(client, self.prefix, record.brand_id)
            return limited or _error(401, problem, "signature")
        if kind == SHOPIFY:
            domain = headers.get("x-shopify-shop-domain", "").strip().lower()
            if domain != record.shop_domain:
                return _error(401, "X-Shopify-Shop-Domain is not the connected shop", "domain")
        try:
            data = parse_json_object(body)
            delivery = self._delivery_id(kind, headers, data)
            seen = delivery_key(self.prefix, public_id, delivery) if delivery else None
            if seen is not None and await client.exists(seen):
                return JSONResponse({"status": "duplicate"})
            outcome = self._read(kind, headers, data)
            answer: dict[str, Any]
            if isinstance(outcome, shop_orders.Ignored):
                answer = {"status": "ignored", "reason": outcome.reason}
            else:
                results = [
                    await self._record(record.brand_id, item, now, public_id) for item in outcome
                ]
                answer = {"status": _overall(results), "results": results}
            if seen is not None:
                await client.set(seen, "1", ex=self.postbacks.dedupe_ttl_seconds)
        except FieldError as exc:
            return _error(422, f"{exc.field} {exc.message}", exc.field)
        except ChargeBusy:
            return _error(
                503, "the charge's refunds are being taken: nothing recorded, retry", None
            )
        except Exception:
            log.exception("shop webhook could not be recorded")
            return _error(503, "temporarily unavailable: nothing was recorded, retry", None)
        return JSONResponse(answer)

    @staticmethod
    def _delivery_id(kind: str, headers: Mapping[str, str], data: Mapping[str, Any]) -> str | None:
        """The id that repeats on a platform's retry of one webhook (none for WooCommerce)."""
        if kind == SHOPIFY:
            topic = headers.get("x-shopify-topic", "")
            value = headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id")
            value = f"{topic}:{value}" if value else None
        elif kind == STRIPE:
            value = data.get("id") if isinstance(data.get("id"), str) else None
        else:
            value = None
        return value if value and _DELIVERY_ID.fullmatch(value) else None

    def _read(
        self, kind: str, headers: Mapping[str, str], data: Mapping[str, Any]
    ) -> shop_orders.Outcome:
        if kind == SHOPIFY:
            topic = headers.get("x-shopify-topic", "").strip()
            return shop_orders.shopify(topic, data, self.customer_key)
        if kind == STRIPE:
            return shop_orders.stripe(data, self.customer_key)
        topic = headers.get("x-wc-webhook-topic", "").strip()
        return shop_orders.woocommerce(topic, data, self.customer_key)

    async def _record(
        self,
        brand_id: int,
        item: shop_orders.Paid | shop_orders.Refunded | shop_orders.StripeRefund,
        now: float,
        public_id: str,
    ) -> dict[str, str]:
        now_ms = int(now * 1000)
        if isinstance(item, shop_orders.Paid):
            if item.taxes_included is not None:
                await self.postbacks.redis().set(
                    taxes_key(self.prefix, public_id), "1" if item.taxes_included else "0"
                )
            event = ConversionEvent(
                event_id=new_id(now_ms),
                brand_id=brand_id,
                order_id=item.order_id,
                amount=item.amount,
                currency=item.currency,
                occurred_at_ms=_occurred(item.occurred_at_ms, now_ms),
                received_at_ms=now_ms,
                click_id=item.click_id,
                discount_code=item.discount_code,
                customer_id=item.customer_id,
                referrer=item.referrer,
            )
            outcome = await self.postbacks.record_conversion(event)
            status = outcome.partition(":")[0]
            result = {"order_id": item.order_id, "status": status}
            if status == "conflict":
                result["reason"] = "the order was already taken with another amount or currency"
            return result
        if isinstance(item, shop_orders.StripeRefund):
            return await self._stripe_refund(brand_id, item, now_ms)
        if item.tax:
            included = await self.postbacks.redis().get(taxes_key(self.prefix, public_id))
            if included is not None and _text(included) == "1":
                net = item.amount - item.tax
                if net <= 0:
                    result = {"order_id": item.order_id, "refund_id": item.refund_id}
                    return result | {"status": "ignored", "reason": "the refund is only tax"}
                item = replace(item, amount=net, tax=0)
        return await self._refund(brand_id, item, now_ms)

    async def _refund(
        self, brand_id: int, item: shop_orders.Refunded, now_ms: int
    ) -> dict[str, str]:
        event = RefundEvent(
            event_id=new_id(now_ms),
            brand_id=brand_id,
            refund_id=item.refund_id,
            order_id=item.order_id,
            amount_decimal=_decimal(item.amount, item.currency),
            currency=item.currency,
            occurred_at_ms=_occurred(item.occurred_at_ms, now_ms),
            received_at_ms=now_ms,
        )
        result = {"order_id": item.order_id, "refund_id": item.refund_id}
        try:
            outcome, _minor, _currency = await self.postbacks.record_refund(event)
        except FieldError as exc:
            return result | {"status": "refused", "reason": f"{exc.field} {exc.message}"}
        status = outcome.partition(":")[0]
        if status == "exceeds":
            return result | {"status": "refused", "reason": "more than is left of the order"}
        return result | {"status": status}

    @asynccontextmanager
    async def _charge_lock(self, brand_id: int, charge_id: str) -> AsyncIterator[None]:
        """One delivery at a time per charge: two concurrent `charge.refunded` (a duplicate under
        another event id, or two cumulative totals) would otherwise both read the same
        high-water mark and both refund from it."""
        client = self.postbacks.redis()
        lock = charge_key(self.prefix, brand_id, charge_id) + ":lock"
        token = tokens.token_hex(8)
        deadline = time.monotonic() + CHARGE_LOCK_WAIT_S
        while not await client.set(lock, token, nx=True, px=CHARGE_LOCK_MS):
            if time.monotonic() >= deadline:
                raise ChargeBusy(charge_id)
            await asyncio.sleep(0.01)
        try:
            yield
        finally:
            await client.eval(_UNLOCK_LUA, 1, lock, token)

    async def _stripe_refund(
        self, brand_id: int, item: shop_orders.StripeRefund, now_ms: int
    ) -> dict[str, str]:
        async with self._charge_lock(brand_id, item.charge_id):
            return await self._stripe_refund_locked(brand_id, item, now_ms)

    async def _stripe_refund_locked(
        self, brand_id: int, item: shop_orders.StripeRefund, now_ms: int
    ) -> dict[str, str]:
        """A charge's refunds as the net share of the order they take back: cumulative refunds
        pro rata of the charge (so refunding the whole charge refunds exactly the order's net
        amount), a dispute up to what is left. Needs the order as the tracker took it. The
        refund event's id is the charge and its cumulative total (`ch_…:6000`), and only the
        delta above the charge's high-water mark is refunded, under the charge's lock."""
        client = self.postbacks.redis()
        okey = order_key(self.prefix, brand_id, item.order_id)
        amount, currency, refunded = await client.hmget(okey, ["amount", "currency", "refunded"])
        result = {"order_id": item.order_id, "refund_id": item.refund_id}
        if amount is None or currency is None:
            return result | {"status": "ignored", "reason": "the order is not known here"}
        net, left = int(amount), int(amount) - int(refunded or 0)
        if _text(currency) != item.currency:
            return result | {"status": "refused", "reason": "the order is in another currency"}
        if not item.cumulative:
            share = min(item.gross, left)
            if share <= 0:
                return result | {"status": "duplicate"}
            return await self._refund(
                brand_id,
                shop_orders.Refunded(
                    item.refund_id, item.order_id, share, item.currency, item.occurred_at_ms
                ),
                now_ms,
            )
        charged = item.charge_amount or 0
        target = net if item.gross >= charged else shop_orders.share(net, item.gross, charged)
        hkey = charge_key(self.prefix, brand_id, item.charge_id)
        before = int(await client.get(hkey) or 0)
        if target <= before:
            return result | {"status": "duplicate"}
        refund = shop_orders.Refunded(
            item.refund_id, item.order_id, target - before, item.currency, item.occurred_at_ms
        )
        answer = await self._refund(brand_id, refund, now_ms)
        if answer["status"] in ("accepted", "duplicate"):
            ttl = self.postbacks.dedupe_ttl_seconds
            await client.eval(_HIGH_WATER_LUA, 1, hkey, str(target), str(ttl))
        return answer


def _overall(results: list[dict[str, str]]) -> str:
    statuses = {r["status"] for r in results}
    if "accepted" in statuses:
        return "accepted"
    return statuses.pop() if len(statuses) == 1 else "mixed"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


__all__ = ["PATHS", "Shops", "hmac_base64", "stripe_signature_header", "verify"]
