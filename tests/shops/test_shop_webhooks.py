"""The shop webhook endpoint: each platform's signature, the connection and domain checks,
ignored topics, retries and duplicates, and the stream events it writes."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from api.db import utcnow
from tests.shops.shops import (
    SHOP_DOMAIN,
    SHOPIFY_SECRET,
    STRIPE_SECRET,
    WOO_SECRET,
    Shop,
    app_for,
    fixture,
    publish,
)
from tracker import keys, ratelimit
from tracker.conversions import ConversionEvent, RefundEvent, from_fields
from tracker.postbacks import sign
from tracker.shops import hmac_base64, stripe_signature_header

BRAND = 11


def events(rds, prefix):
    return [from_fields(f) for _, f in rds.xrange(keys.conversions_stream(prefix))]


@pytest.fixture
def client(redis_url, prefix):
    with TestClient(app_for(redis_url, prefix)) as c:
        yield c


@pytest.fixture
def shopify(client, rds, prefix):
    public_id = publish(rds, prefix, BRAND, "SHOPIFY", SHOP_DOMAIN, (SHOPIFY_SECRET, None))
    return Shop(client, public_id, "shopify", SHOPIFY_SECRET)


@pytest.fixture
def stripe(client, rds, prefix):
    public_id = publish(rds, prefix, BRAND, "STRIPE", "acct_1Test", (STRIPE_SECRET, None))
    return Shop(client, public_id, "stripe", STRIPE_SECRET)


@pytest.fixture
def woo(client, rds, prefix):
    public_id = publish(rds, prefix, BRAND, "WOOCOMMERCE", "shop.example.com", (WOO_SECRET, None))
    return Shop(client, public_id, "woocommerce", WOO_SECRET)


def test_shopify_paid_order_becomes_the_postbacks_conversion_event(shopify, rds, prefix):
    response = shopify.shopify("orders/paid", fixture("shopify_orders_paid"))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    [event] = events(rds, prefix)
    assert isinstance(event, ConversionEvent)
    assert (event.brand_id, event.order_id, event.amount, event.currency) == (
        BRAND,
        "820982911946154508",
        11000,
        "USD",
    )
    assert (event.click_id, event.discount_code) == ("PLACEHOLDER", "SAVE10")


@pytest.mark.parametrize("case", ["unsigned", "wrong secret", "tampered", "garbage header"])
def test_badly_signed_webhooks_are_401_and_record_nothing(shopify, stripe, woo, rds, prefix, case):
    body = fixture("shopify_orders_paid")
    stripe_body = fixture("stripe_checkout_session_completed")
    woo_body = fixture("woocommerce_order_updated")
    if case == "unsigned":
        answers = [
            shopify.shopify("orders/paid", body, signed=False),
            stripe.stripe(stripe_body, signed=False),
            woo.woocommerce("order.updated", woo_body, signed=False),
        ]
    elif case == "wrong secret":
        answers = [
            shopify.shopify("orders/paid", body, secret="shpss_other_secret_000000"),
            stripe.stripe(stripe_body, secret="whsec_other_secret_0000000"),
            woo.woocommerce("order.updated", woo_body, secret="other-secret-00000000"),
        ]
    elif case == "tampered":
        signed_for = b'{"id": 1}'
        url_body = b'{"id": 2}'
        answers = [
            shopify.client.post(
                shopify.url,
                content=url_body,
                headers={
                    "x-shopify-topic": "orders/paid",
                    "x-shopify-shop-domain": SHOP_DOMAIN,
                    "x-shopify-hmac-sha256": hmac_base64(SHOPIFY_SECRET, signed_for),
                },
            ),
            stripe.client.post(
                stripe.url,
                content=url_body,
                headers={"stripe-signature": stripe_signature_header(STRIPE_SECRET, signed_for)},
            ),
        ]
    else:
        answers = [
            shopify.client.post(
                shopify.url,
                content=b"{}",
                headers={
                    "x-shopify-hmac-sha256": "é".encode() * 22,
                    "x-shopify-topic": "orders/paid",
                },
            ),
            stripe.client.post(stripe.url, content=b"{}", headers={"stripe-signature": "t=x,v1=1"}),
        ]
    for answer in answers:
        assert answer.status_code == 401, answer.text
        assert answer.json()["field"] == "signature"
    assert events(rds, prefix) == []


def test_stripe_signature_tolerance_and_several_v1(stripe, rds, prefix):
    body = fixture("stripe_checkout_session_completed")
    stale = stripe.stripe(body, t=int(time.time()) - 301)
    assert stale.status_code == 401
    raw = json.dumps(body).encode()
    t = int(time.time())
    rolled = sign("whsec_rolled_away_0000000", t, raw)
    header = f"t={t},v1={rolled},v1={sign(STRIPE_SECRET, t, raw)},v0=ab"
    answer = stripe.client.post(stripe.url, content=raw, headers={"stripe-signature": header})
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"
    assert len(events(rds, prefix)) == 1


def test_shopify_domain_connection_and_path_are_checked(client, shopify, rds, prefix):
    body = fixture("shopify_orders_paid")
    other = shopify.shopify("orders/paid", body, domain="someone-else.myshopify.com")
    assert other.status_code == 401 and other.json()["field"] == "domain"
    stranger = Shop(client, "no-such-connection", "shopify", SHOPIFY_SECRET)
    assert stranger.shopify("orders/paid", body).status_code == 401
    too_long = Shop(client, "x" * 65, "shopify", SHOPIFY_SECRET)
    assert too_long.shopify("orders/paid", body).status_code == 401
    wrong_platform = Shop(client, shopify.url.split("/")[2], "stripe", SHOPIFY_SECRET)
    assert wrong_platform.stripe(fixture("stripe_checkout_session_completed")).status_code == 401
    assert client.post("/shops/x/magento", content=b"{}").status_code == 404
    assert events(rds, prefix) == []


def test_disconnected_shop_stops_at_once(shopify, rds, prefix):
    rds.delete(keys.shop_connection(prefix, shopify.url.split("/")[2]))
    assert shopify.shopify("orders/paid", fixture("shopify_orders_paid")).status_code == 401
    assert events(rds, prefix) == []


def test_unused_topics_are_200_and_ignored(shopify, stripe, woo, rds, prefix):
    assert shopify.shopify("products/update", {"id": 1}).json()["status"] == "ignored"
    assert stripe.stripe({"id": "evt_x", "type": "customer.created"}).json()["status"] == "ignored"
    assert woo.woocommerce("product.created", {"id": 3}).json()["status"] == "ignored"
    ping = woo.client.post(woo.url, content=b"webhook_id=17")
    assert ping.status_code == 200 and ping.json()["status"] == "ignored"
    assert events(rds, prefix) == []


def test_retried_webhook_and_another_webhook_of_the_same_order_count_once(shopify, rds, prefix):
    body = fixture("shopify_orders_paid")
    first = shopify.shopify("orders/paid", body, webhook_id="wh-1")
    retry = shopify.shopify("orders/paid", body, webhook_id="wh-1")
    create = shopify.shopify("orders/create", body, webhook_id="wh-2")
    assert [r.json()["status"] for r in (first, retry, create)] == [
        "accepted",
        "duplicate",
        "duplicate",
    ]
    refund = fixture("shopify_refunds_create")
    assert shopify.shopify("refunds/create", refund).json()["status"] == "accepted"
    assert shopify.shopify("refunds/create", refund).json()["status"] == "duplicate"
    assert [type(e) for e in events(rds, prefix)] == [ConversionEvent, RefundEvent]


def test_rotated_secrets_overlap_and_expired_ones_do_not(client, rds, prefix):
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    gone = (utcnow() - timedelta(seconds=1)).isoformat()
    public_id = publish(
        rds,
        prefix,
        BRAND,
        "WOOCOMMERCE",
        "shop.example.com",
        ("old-secret-0000000000", soon),
        ("expired-secret-000000", gone),
        (WOO_SECRET, None),
    )
    shop = Shop(client, public_id, "woocommerce", WOO_SECRET)
    body = fixture("woocommerce_order_updated")
    assert shop.woocommerce("order.updated", body).status_code == 200
    assert (
        shop.woocommerce("order.updated", body, secret="old-secret-0000000000").status_code == 200
    )
    assert (
        shop.woocommerce("order.updated", body, secret="expired-secret-000000").status_code == 401
    )


def test_bad_signatures_share_the_brands_postback_limit(shopify, rds, prefix, monkeypatch):
    monkeypatch.setenv("POSTBACK_FAILURES_PER_BRAND", "2")
    ratelimit.postback_limit.cache_clear()
    try:
        body = fixture("shopify_orders_paid")
        codes = [shopify.shopify("orders/paid", body, signed=False).status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        assert shopify.shopify("orders/paid", body).status_code == 200  # the shop itself is not
    finally:
        monkeypatch.delenv("POSTBACK_FAILURES_PER_BRAND")
        ratelimit.postback_limit.cache_clear()


def test_stripe_refunds_are_the_orders_net_share_once_each(stripe, rds, prefix):
    assert stripe.stripe(fixture("stripe_checkout_session_completed")).status_code == 200
    partial = fixture("stripe_charge_refunded")
    assert stripe.stripe(partial).json()["status"] == "accepted"
    assert stripe.stripe(partial).json()["status"] == "duplicate"  # Stripe's retry: same event id
    full = fixture("stripe_charge_refunded")
    full["id"] = "evt_full"
    full["data"]["object"] |= {"amount_refunded": 12617, "refunded": True}
    assert stripe.stripe(full).json()["status"] == "accepted"
    late = fixture("stripe_charge_refunded")
    late["id"] = "evt_late_copy_of_the_partial"
    assert stripe.stripe(late).json()["status"] == "duplicate"
    refunds = [e for e in events(rds, prefix) if isinstance(e, RefundEvent)]
    # 11000 net of a 126.17 charge: 30.00 refunded is 26.16 of it, the rest is 83.84
    assert [(r.amount_decimal, r.currency) for r in refunds] == [("26.16", "USD"), ("83.84", "USD")]
    dispute = stripe.stripe(fixture("stripe_charge_dispute_created"))
    assert dispute.json()["results"][0]["status"] == "duplicate"  # nothing left to claw back


def test_bad_json_and_bad_amounts_are_422(shopify, rds, prefix):
    assert shopify.shopify("orders/paid", b"not json").status_code == 422
    body = fixture("shopify_orders_paid") | {"subtotal_price": 110.0}
    answer = shopify.shopify("orders/paid", body)
    assert answer.status_code == 422 and answer.json()["field"] == "subtotal_price"
    assert events(rds, prefix) == []


def test_shopify_tax_inclusive_refund_takes_back_exactly_the_net_amount(shopify, rds, prefix):
    order = shopify.shopify("orders/paid", fixture("shopify_orders_paid_taxes_included"))
    assert order.json()["status"] == "accepted"
    refund = shopify.shopify("refunds/create", fixture("shopify_refunds_create_taxes_included"))
    assert refund.json()["status"] == "accepted", refund.text
    paid, refunded = events(rds, prefix)
    assert isinstance(paid, ConversionEvent) and isinstance(refunded, RefundEvent)
    # 110.00 of lines including 18.33 VAT: 91.67 counted, and the full refund takes back 91.67
    assert (paid.amount, paid.currency) == (9167, "EUR")
    assert (refunded.amount_decimal, refunded.currency) == ("91.67", "EUR")


def test_shopify_tax_exclusive_refund_keeps_its_subtotal(shopify, rds, prefix):
    assert shopify.shopify("orders/paid", fixture("shopify_orders_paid")).status_code == 200
    assert shopify.shopify("refunds/create", fixture("shopify_refunds_create")).status_code == 200
    [refunded] = [e for e in events(rds, prefix) if isinstance(e, RefundEvent)]
    assert (refunded.amount_decimal, refunded.currency) == (
        "55",
        "USD",
    )  # its 3.09 of tax was never in the subtotal
