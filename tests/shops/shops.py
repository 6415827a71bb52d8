"""Connected shops for the tests: recorded webhook bodies, signed as each platform signs them."""

from __future__ import annotations

import copy
import json
import secrets
from pathlib import Path
from typing import Any

import redis.asyncio as aredis
from starlette.applications import Starlette

from tracker import keys
from tracker.postbacks import Postbacks
from tracker.sealing import sealer
from tracker.settings import secret_keys
from tracker.shop_record import ShopRecord
from tracker.shops import Shops, hmac_base64, stripe_signature_header

FIXTURES = Path(__file__).parent / "fixtures"
SEALER = sealer(secret_keys())
SHOPIFY_SECRET = "shpss_0123456789abcdef0123456789abcdef"
STRIPE_SECRET = "whsec_test_0123456789abcdefghijklmnop"
WOO_SECRET = "woo-secret-0123456789abcdef"
SHOP_DOMAIN = "vouch-test.myshopify.com"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return copy.deepcopy(data)


def publish(
    rds: Any, prefix: str, brand_id: int, kind: str, domain: str, *items: tuple[str, Any]
) -> str:
    """Writes a connection's record as the API publishes it; returns its public id."""
    public_id = secrets.token_urlsafe(16)
    record = ShopRecord(brand_id, kind, domain, tuple((SEALER.seal(s), e) for s, e in items))
    rds.set(keys.shop_connection(prefix, public_id), record.to_json())
    return public_id


def app_for(redis_url: str, prefix: str, **kw: Any) -> Starlette:
    clients: list[Any] = []

    def client() -> Any:
        if not clients:
            clients.append(aredis.Redis.from_url(redis_url))
        return clients[0]

    postbacks = Postbacks(client, prefix, sealer=SEALER)
    routes = [*postbacks.routes(), *Shops(postbacks, customer_hash_key="test-key", **kw).routes()]
    return Starlette(routes=routes)


def raw(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


class Shop:
    """Posts webhooks like a platform does, to `/shops/<public_id>/<path>`."""

    def __init__(self, client: Any, public_id: str, path: str, secret: str) -> None:
        self.client = client
        self.url = f"/shops/{public_id}/{path}"
        self.secret = secret

    def shopify(
        self,
        topic: str,
        body: Any,
        *,
        webhook_id: str | None = None,
        secret: str | None = None,
        signed: bool = True,
        domain: str = SHOP_DOMAIN,
    ) -> Any:
        data = raw(body)
        headers = {
            "content-type": "application/json",
            "x-shopify-topic": topic,
            "x-shopify-shop-domain": domain,
            "x-shopify-api-version": "2026-10",
            "x-shopify-webhook-id": webhook_id or secrets.token_hex(8),
        }
        if signed:
            headers["x-shopify-hmac-sha256"] = hmac_base64(secret or self.secret, data)
        return self.client.post(self.url, content=data, headers=headers)

    def stripe(
        self, body: Any, *, secret: str | None = None, signed: bool = True, t: int | None = None
    ) -> Any:
        data = raw(body)
        headers = {"content-type": "application/json; charset=utf-8"}
        if signed:
            headers["stripe-signature"] = stripe_signature_header(secret or self.secret, data, t)
        return self.client.post(self.url, content=data, headers=headers)

    def woocommerce(
        self, topic: str, body: Any, *, secret: str | None = None, signed: bool = True
    ) -> Any:
        data = raw(body)
        headers = {
            "content-type": "application/json",
            "x-wc-webhook-topic": topic,
            "x-wc-webhook-source": "https://shop.example.com/",
            "x-wc-webhook-resource": "order",
            "x-wc-webhook-event": topic.partition(".")[2],
            "x-wc-webhook-id": "17",
            "x-wc-webhook-delivery-id": secrets.token_hex(16),
        }
        if signed:
            headers["x-wc-webhook-signature"] = hmac_base64(secret or self.secret, data)
        return self.client.post(self.url, content=data, headers=headers)
