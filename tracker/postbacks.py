"""Signed server-to-server postbacks: `POST /v1/conversions` and `POST /v1/refunds`.

A brand signs each request with its postback secret:

    Vouch-Brand: <the brand's global id, base64 of "Brand:<pk>">
    Vouch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">

A timestamp more than 5 minutes away from the tracker's clock, an unknown brand or a signature
that no valid secret of the brand produces is 401. The API publishes every brand's valid
secrets (`api.tracking.postback_secrets`) at `tracker.keys.brand_secrets`, sealed: the tracker
unseals them with `VOUCH_SECRET_KEYS` (`tracker.sealing`), and a secret it cannot unseal (keys
that differ from the API's, a record not sealed by Vouch) is no secret: 401, and an error in the
log. After a rotation the previous one keeps working for 24 hours. Several `v1=` values may be
sent (a brand rolling its own key).

Answers (JSON): 202 `{"status": "accepted"}` once the event is in the stream; 200
`{"status": "duplicate"}` for an order (refund) already accepted with the same amount; 409 when it
was accepted with another amount or currency; 422 `{"error", "field"}` for bad input, including a
refund larger than what is left of the order when the tracker knows the order; 503 when Redis is
unreachable (the brand retries: nothing was recorded).

Exactly once, crash-safe: a Lua script checks the order's dedupe record, appends the event and
writes the record in one atomic step, so there is no window where one exists without the other.
The dedupe record and the stream share the `{ev}` hash tag, hence one slot on a Redis Cluster.
The record expires after `DEDUPE_TTL_SECONDS`; later repeats are caught by the database's unique
(brand, order) constraint in the worker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tracker import globalid, keys, ratelimit
from tracker.conversions import (
    ConversionEvent,
    FieldError,
    RefundEvent,
    parse_json_object,
)
from tracker.currencies import CURRENCIES
from tracker.events import new_id
from tracker.sealing import VARIABLE, Sealer, Unsealable

log = logging.getLogger("vouch.tracker.postbacks")

SIGNATURE_HEADER: Final = "vouch-signature"
BRAND_HEADER: Final = "vouch-brand"
SIGNATURE_TOLERANCE_SECONDS: Final = 300
DEDUPE_TTL_SECONDS: Final = 90 * 24 * 3600
MAX_BODY_BYTES: Final = 64 * 1024


def order_key(prefix: str, brand_id: int, order_id: str) -> str:
    """Hash of an accepted order: `fp` (amount:currency), `amount`, `currency`, `refunded`."""
    return f"{prefix}:{{ev}}:order:{brand_id}:{order_id}"


def refund_key(prefix: str, brand_id: int, refund_id: str) -> str:
    return f"{prefix}:{{ev}}:refund:{brand_id}:{refund_id}"


# KEYS: order record, stream. ARGV: fingerprint, amount, currency, ttl, then field/value pairs.
_CONVERSION_LUA = """
local fp = redis.call('HGET', KEYS[1], 'fp')
if fp then
  if fp == ARGV[1] then return 'duplicate' end
  return 'conflict:' .. fp
end
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'amount', ARGV[2], 'currency', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 'accepted'
"""

# KEYS: refund record, order record, stream. ARGV: fingerprint, minor amount ('' if unknown),
# currency it is in, ttl, then field/value pairs. The order's remaining amount is re-read here,
# atomically, so two refunds racing each other cannot both pass.
_REFUND_LUA = """
local fp = redis.call('GET', KEYS[1])
if fp then
  if fp == ARGV[1] then return 'duplicate' end
  return 'conflict:' .. fp
end
if ARGV[2] ~= '' then
  local order = redis.call('HMGET', KEYS[2], 'amount', 'currency', 'refunded')
  if order[1] and order[2] == ARGV[3] then
    local remaining = tonumber(order[1]) - tonumber(order[3] or '0')
    if tonumber(ARGV[2]) > remaining then return 'exceeds:' .. remaining end
    redis.call('HINCRBY', KEYS[2], 'refunded', ARGV[2])
  end
end
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[3], '*', unpack(fields))
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[4]))
return 'accepted'
"""


# --- signing ----------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `Vouch-Signature` value a brand sends (for clients and tests)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={sign(secret, t, body)}"


def brand_global_id(brand_id: int) -> str:
    return globalid.encode("Brand", brand_id)


def decode_brand_id(value: str) -> int:
    """The pk inside a Relay global id of a Brand; ValueError for anything else."""
    pk = globalid.decode_pk(value, "Brand")
    if pk is None:
        raise ValueError("not the global id of a Brand")
    return pk


# Unix seconds as a brand's server writes them: ASCII digits, no sign, at most 12 of them (the
# year 33658). `str.isdigit` also takes other scripts' digits, and 400 digits make a number the
# clock comparison cannot turn into a float: both were a 503 with a traceback, not a 401.
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
# A hex HMAC-SHA256; anything else (non-ASCII text included) cannot match and must not reach
# `hmac.compare_digest`, which raises on non-ASCII str.
_SIGNATURE = re.compile(r"[0-9a-f]{64}", re.ASCII)
_MAX_SIGNATURES = 8  # one per secret a brand may be rotating through, with room to spare


def parse_signature(header: str) -> tuple[int, list[str]]:
    """(t, [v1, ...]) of a `Vouch-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]` header;
    ValueError (a 401) for anything else."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        value = value.strip()
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            signatures.append(value.lower())
    if (
        len(timestamps) != 1
        or not _TIMESTAMP.fullmatch(timestamps[0])
        or not signatures
        or len(signatures) > _MAX_SIGNATURES
        or not all(_SIGNATURE.fullmatch(s) for s in signatures)
    ):
        raise ValueError("expected t=<unix seconds>,v1=<hex HMAC-SHA256>")
    return int(timestamps[0]), signatures


def valid_secrets(raw: bytes | str | None, now: float, sealer: Sealer) -> list[str]:
    """The unexpired secrets of a published list (`api.tracking.postback_secrets.record`),
    unsealed with `sealer`; one that does not unseal is left out (and logged)."""
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except ValueError:
        log.error("malformed brand secrets record")
        return []
    secrets = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("sealed"), str):
            continue
        expires = item.get("expires_at")
        if expires is not None:
            try:
                if datetime.fromisoformat(str(expires)).timestamp() <= now:
                    continue
            except ValueError:
                continue
        try:
            secrets.append(sealer.unseal(item["sealed"]))
        except Unsealable:
            log.error(
                "a published postback secret does not unseal with %s: is it set as for the "
                "API (same keys, the newest first)?",
                VARIABLE,
            )
    return secrets


def _matches(secrets: Sequence[str], timestamp: int, body: bytes, given: Sequence[str]) -> bool:
    ok = False
    for secret in secrets:
        expected = sign(secret, timestamp, body)
        for candidate in given:
            # Constant time; evaluate every pair so timing says nothing about which matched.
            ok |= hmac.compare_digest(expected, candidate)
    return ok


# --- handlers ---------------------------------------------------------------------------------


def _error(status: int, message: str, field: str | None) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


class _Refused(Exception):
    def __init__(self, response: JSONResponse):
        self.response = response


def _fmt(minor: int, currency: str) -> str:
    places = CURRENCIES.get(currency, 2)
    return f"{Decimal(minor).scaleb(-places):f} {currency}"


class Postbacks:
    """The two postback endpoints. `redis` is an asyncio Redis client, or a zero-argument
    callable returning one (the tracker app creates its client at startup). `sealer` unseals the
    brands' published secrets."""

    def __init__(
        self,
        redis: Any,
        prefix: str,
        *,
        sealer: Sealer,
        clock: Callable[[], float] = time.time,
        dedupe_ttl_seconds: int = DEDUPE_TTL_SECONDS,
    ) -> None:
        self._redis = redis
        self.prefix = prefix
        self.sealer = sealer  # unseals the published secrets
        self.clock = clock
        self.dedupe_ttl_seconds = dedupe_ttl_seconds
        self._scripts: dict[int, tuple[Any, Any]] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/v1/conversions", self.conversion, methods=["POST"]),
            Route("/v1/refunds", self.refund, methods=["POST"]),
        ]

    def redis(self) -> Any:
        if hasattr(self._redis, "xadd"):
            return self._redis
        return self._redis()

    def _script(self, client: Any) -> tuple[Any, Any]:
        scripts = self._scripts.get(id(client))
        if scripts is None:
            scripts = (
                client.register_script(_CONVERSION_LUA),
                client.register_script(_REFUND_LUA),
            )
            self._scripts = {id(client): scripts}
        return scripts

    async def record_conversion(self, event: ConversionEvent) -> str:
        """Appends the order's event unless it was accepted before: "accepted", "duplicate"
        (the same amount and currency) or "conflict:<amount>:<currency>" (another one)."""
        client = self.redis()
        fields = event.to_fields()
        result = await self._script(client)[0](
            keys=[
                order_key(self.prefix, event.brand_id, event.order_id),
                keys.conversions_stream(self.prefix),
            ],
            args=[
                event.fingerprint(),
                str(event.amount),
                event.currency,
                str(self.dedupe_ttl_seconds),
                *[x for pair in fields.items() for x in pair],
            ],
        )
        return _text(result)

    async def record_refund(self, event: RefundEvent) -> tuple[str, str, str | None]:
        """Appends the refund's event unless it was accepted before; (outcome, its minor amount
        ("" while its order is unknown here), its currency). The outcome is "accepted",
        "duplicate", "exceeds:<left>" or "conflict:<order>\x1f<amount>". FieldError when the
        tracker knows the order and the refund cannot be one of it."""
        client = self.redis()
        okey = order_key(self.prefix, event.brand_id, event.order_id)
        order_amount, order_currency = await client.hmget(okey, ["amount", "currency"])
        minor = ""
        currency = event.currency
        if order_currency is not None and order_amount is not None:
            currency = _text(order_currency)
            minor = str(event.minor(currency))  # 422 for decimals the currency lacks
            if int(minor) > int(order_amount):
                raise FieldError(
                    "amount",
                    f"{_fmt(int(minor), currency)} is more than the order's "
                    f"{_fmt(int(order_amount), currency)}",
                )
        fields = event.to_fields()
        if currency is not None:
            fields["currency"] = currency
        result = await self._script(client)[1](
            keys=[
                refund_key(self.prefix, event.brand_id, event.refund_id),
                okey,
                keys.conversions_stream(self.prefix),
            ],
            args=[
                event.fingerprint(),
                minor,
                currency or "",
                str(self.dedupe_ttl_seconds),
                *[x for pair in fields.items() for x in pair],
            ],
        )
        return _text(result), minor, currency

    async def conversion(self, request: Request) -> JSONResponse:
        try:
            brand_id, body = await self._authenticate(request)
            now_ms = int(self.clock() * 1000)
            event = ConversionEvent.from_body(
                parse_json_object(body), brand_id=brand_id, event_id=new_id(now_ms), now_ms=now_ms
            )
            outcome = await self.record_conversion(event)
        except _Refused as refused:
            return refused.response
        except FieldError as exc:
            return _error(422, f"{exc.field} {exc.message}", exc.field)
        except Exception:  # Redis down or failing: nothing was recorded, the brand retries
            log.exception("conversion postback could not be recorded")
            return _error(503, "temporarily unavailable: nothing was recorded, retry", None)
        if outcome == "accepted":
            return JSONResponse({"status": "accepted"}, status_code=202)
        if outcome == "duplicate":
            return JSONResponse({"status": "duplicate"}, status_code=200)
        amount, _, currency = outcome.removeprefix("conflict:").partition(":")
        return _error(
            409,
            f"order {event.order_id!r} was already reported with amount "
            f"{_fmt(int(amount), currency)}; this one says {_fmt(event.amount, event.currency)}",
            "amount" if currency == event.currency else "currency",
        )

    async def refund(self, request: Request) -> JSONResponse:
        try:
            brand_id, body = await self._authenticate(request)
            now_ms = int(self.clock() * 1000)
            event = RefundEvent.from_body(
                parse_json_object(body), brand_id=brand_id, event_id=new_id(now_ms), now_ms=now_ms
            )
            outcome, minor, currency = await self.record_refund(event)
        except _Refused as refused:
            return refused.response
        except FieldError as exc:
            return _error(422, f"{exc.field} {exc.message}", exc.field)
        except Exception:
            log.exception("refund postback could not be recorded")
            return _error(503, "temporarily unavailable: nothing was recorded, retry", None)
        if outcome == "accepted":
            return JSONResponse({"status": "accepted"}, status_code=202)
        if outcome == "duplicate":
            return JSONResponse({"status": "duplicate"}, status_code=200)
        if outcome.startswith("exceeds:"):
            assert currency is not None
            remaining = int(float(outcome.removeprefix("exceeds:")))
            return _error(
                422,
                f"amount {_fmt(int(minor), currency)} exceeds the {_fmt(remaining, currency)} "
                f"left to refund of order {event.order_id!r}",
                "amount",
            )
        order_id, _, amount = outcome.removeprefix("conflict:").partition("\x1f")
        return _error(
            409,
            f"refund {event.refund_id!r} was already reported for order {order_id!r} with "
            f"amount {amount}",
            "amount" if order_id == event.order_id else "order_id",
        )

    async def _authenticate(self, request: Request) -> tuple[int, bytes]:
        """(brand id, raw body) of a correctly signed, fresh request; raises _Refused."""
        brand_header = request.headers.get(BRAND_HEADER)
        if not brand_header:
            raise _Refused(_error(401, "missing Vouch-Brand header", "Vouch-Brand"))
        try:
            brand_id = decode_brand_id(brand_header)
        except ValueError as exc:
            raise _Refused(_error(401, f"Vouch-Brand: {exc}", "Vouch-Brand")) from None
        try:
            timestamp, given = parse_signature(request.headers.get(SIGNATURE_HEADER, ""))
        except ValueError as exc:
            raise _Refused(_error(401, f"Vouch-Signature: {exc}", "Vouch-Signature")) from None
        now = self.clock()
        if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            raise _Refused(
                _error(
                    401,
                    "Vouch-Signature: the timestamp is more than 5 minutes from the server's "
                    "clock (stale or replayed request, or a wrong clock)",
                    "Vouch-Signature",
                )
            )
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise _Refused(_error(413, f"body larger than {MAX_BODY_BYTES} bytes", "body"))
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise _Refused(_error(413, f"body larger than {MAX_BODY_BYTES} bytes", "body"))
        try:
            raw = await self.redis().get(keys.brand_secrets(self.prefix, brand_id))
        except Exception:
            log.exception("brand secrets unavailable")
            raise _Refused(
                _error(503, "temporarily unavailable: nothing was recorded, retry", None)
            ) from None
        secrets = valid_secrets(raw, now, self.sealer)
        if not secrets:
            raise _Refused(_error(401, "no valid postback secret for this brand", "Vouch-Brand"))
        if not _matches(secrets, timestamp, body, given):
            # counted per brand: 429 past its limit (`tracker.ratelimit.postback_refusal`)
            limited = await ratelimit.postback_refusal(self.redis(), self.prefix, brand_id)
            raise _Refused(
                limited
                or _error(401, "Vouch-Signature: the signature does not match", "Vouch-Signature")
            )
        return brand_id, body


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
