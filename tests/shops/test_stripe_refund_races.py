"""Stripe's `charge.refunded` carries the charge's cumulative `amount_refunded`: duplicates (the
same refund under another event id), concurrent deliveries and late, smaller totals refund only
the delta, once. The deliveries here run concurrently on one event loop against the real Redis,
so without the per-charge lock both would read the same high-water mark and both refund."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from starlette.testclient import TestClient

from tests.shops.shops import STRIPE_SECRET, Shop, app_for, fixture, publish, raw
from tracker import keys
from tracker.conversions import RefundEvent, from_fields
from tracker.shop_orders import share
from tracker.shops import CHARGE_LOCK_MS, charge_key, stripe_signature_header

BRAND = 12
NET, CHARGE = 11_000, 12_617  # the checkout fixture's net amount and its charge


def _refunds(rds: Any, prefix: str) -> list[Decimal]:
    events = [from_fields(f) for _, f in rds.xrange(keys.conversions_stream(prefix))]
    return [Decimal(e.amount_decimal) for e in events if isinstance(e, RefundEvent)]


def _refunded(event_id: str, cumulative: int) -> dict[str, Any]:
    body = fixture("stripe_charge_refunded")
    body["id"] = event_id
    body["data"]["object"]["amount_refunded"] = cumulative
    return body


def _deliver_at_once(shop: Shop, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Posts the bodies concurrently, through an app of this event loop's own (its Redis client
    belongs to the loop)."""
    url, app = shop.url, app_for(*shop.client)

    async def run() -> list[dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:

            async def post(body: dict[str, Any]) -> dict[str, Any]:
                data = raw(body)
                headers = {"stripe-signature": stripe_signature_header(STRIPE_SECRET, data)}
                response = await http.post(url, content=data, headers=headers)
                assert response.status_code == 200, response.text
                answer: dict[str, Any] = response.json()
                return answer

            return list(await asyncio.gather(*(post(b) for b in bodies)))

    return asyncio.run(run())


def _shop(redis_url: str, rds: Any, prefix: str) -> Shop:
    """A connected Stripe account that took the checkout fixture's order; its `client` is what
    `_deliver_at_once` builds its apps from."""
    public_id = publish(rds, prefix, BRAND, "STRIPE", "acct_1Race", (STRIPE_SECRET, None))
    with TestClient(app_for(redis_url, prefix)) as client:
        shop = Shop(client, public_id, "stripe", STRIPE_SECRET)
        assert shop.stripe(fixture("stripe_checkout_session_completed")).status_code == 200
    return Shop((redis_url, prefix), public_id, "stripe", STRIPE_SECRET)


def test_the_same_refund_twice_under_other_event_ids_refunds_once(redis_url, rds, prefix):
    shop = _shop(redis_url, rds, prefix)
    answers = _deliver_at_once(shop, [_refunded("evt_a", 3_000), _refunded("evt_b", 3_000)])
    assert sorted(a["status"] for a in answers) == ["accepted", "duplicate"]
    assert _refunds(rds, prefix) == [Decimal(share(NET, 3_000, CHARGE)) / 100]
    # A third copy later, under yet another id, is a duplicate too.
    again = _deliver_at_once(shop, [_refunded("evt_c", 3_000)])
    assert again[0]["status"] == "duplicate"
    assert len(_refunds(rds, prefix)) == 1


def test_cumulative_refunds_out_of_order_refund_the_delta_once(redis_url, rds, prefix):
    shop = _shop(redis_url, rds, prefix)
    # 30.00 then 60.00 refunded in all, delivered at the same moment in either order ...
    _deliver_at_once(shop, [_refunded("evt_60", 6_000), _refunded("evt_30", 3_000)])
    total = sum(_refunds(rds, prefix))
    assert total * 100 == share(NET, 6_000, CHARGE)  # ... never 30.00's share on top of 60.00's
    # The older total arriving later still refunds nothing; the full refund takes the rest.
    late = _deliver_at_once(shop, [_refunded("evt_30_late", 3_000)])
    assert late[0]["status"] == "duplicate"
    full = _deliver_at_once(shop, [_refunded("evt_all", CHARGE)])
    assert full[0]["status"] == "accepted"
    assert sum(_refunds(rds, prefix)) * 100 == NET  # exactly the order's net amount, in all


def test_a_charge_held_too_long_is_a_503_and_its_retry_counts(redis_url, rds, prefix, monkeypatch):
    shop = _shop(redis_url, rds, prefix)
    body = _refunded("evt_busy", 3_000)
    lock = charge_key(prefix, BRAND, body["data"]["object"]["id"]) + ":lock"
    rds.set(lock, "another-delivery", px=CHARGE_LOCK_MS)
    monkeypatch.setattr("tracker.shops.CHARGE_LOCK_WAIT_S", 0.05)
    with TestClient(app_for(redis_url, prefix)) as client:
        busy = Shop(client, shop.url.split("/")[2], "stripe", STRIPE_SECRET).stripe(body)
        assert busy.status_code == 503 and _refunds(rds, prefix) == []
        rds.delete(lock)  # the other delivery is done: Stripe's retry (same event id) counts
        retry = Shop(client, shop.url.split("/")[2], "stripe", STRIPE_SECRET).stripe(body)
        assert retry.json()["status"] == "accepted"
    assert len(_refunds(rds, prefix)) == 1 and rds.get(lock) is None
