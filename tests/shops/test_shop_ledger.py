"""Shop webhooks end to end: the tracker's endpoint, the ingest worker, the ledger, in exact
cents. The connection is made and published as the API does (`api.tracking`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from api.db import utcnow
from api.finance.balances import net_total
from api.finance.payouts import create_payout_batch, mark_paid, payable_amounts
from api.models import Campaign, Conversion, Refund, ShopConnection
from api.models.events import ConversionStatus, RefundStatus
from api.models.ledger import EntryKind, payout_cutoff
from api.tracking import publish, shop_connections
from tests.ingest import seed
from tests.ingest.helpers import dead_letters, drain, ledger
from tests.shops.shops import (
    SHOP_DOMAIN,
    SHOPIFY_SECRET,
    STRIPE_SECRET,
    WOO_SECRET,
    Shop,
    app_for,
    fixture,
)
from tracker import keys


def connect(session, rds, prefix, w, kind: str, domain: str, secret: str):
    row = shop_connections.connect(
        session,
        organization_id=w.org_id,
        brand_id=w.brand_id,
        kind=kind,
        shop_domain=domain,
        secret=secret,
    )
    publish.mark(session, publish.SHOP, row.id)
    session.commit()
    publish.publish_pending(session, rds, prefix=prefix)
    return row


@pytest.fixture
def client(redis_url, prefix):
    with TestClient(app_for(redis_url, prefix)) as c:
        yield c


def shopify_shop(client, session, rds, prefix, w) -> Shop:
    row = connect(session, rds, prefix, w, "SHOPIFY", SHOP_DOMAIN, SHOPIFY_SECRET)
    return Shop(client, row.public_id, "shopify", SHOPIFY_SECRET)


def stripe_shop(client, session, rds, prefix, w) -> Shop:
    row = connect(session, rds, prefix, w, "STRIPE", "acct_1Test", STRIPE_SECRET)
    return Shop(client, row.public_id, "stripe", STRIPE_SECRET)


def shopify_order(code: str) -> dict[str, Any]:
    body = fixture("shopify_orders_paid")
    body["discount_codes"] = [{"code": code.lower(), "amount": "10.00", "type": "fixed_amount"}]
    body["landing_site"] = "/products/sneaker"
    return body


def entries(session):
    return [(e.kind, e.amount) for e in ledger(session)]


def test_shopify_order_partial_refund_and_cancel(client, session, sessions, rds, prefix):
    w = seed.world(session, plan=seed.percent(1000, currency="USD"), currency="USD")
    shop = shopify_shop(client, session, rds, prefix, w)
    assert shop.shopify("orders/paid", shopify_order(w.p.discount_code)).status_code == 200
    assert shop.shopify("refunds/create", fixture("shopify_refunds_create")).status_code == 200
    drain(rds, sessions, prefix)
    assert entries(session) == [(EntryKind.COMMISSION, 1100), (EntryKind.REVERSAL, -550)]
    cancelled = shop.shopify("orders/cancelled", fixture("shopify_orders_cancelled"))
    assert cancelled.json()["status"] == "accepted"
    drain(rds, sessions, prefix)
    assert entries(session)[2:] == [(EntryKind.REVERSAL, -550)]
    assert dead_letters(rds, prefix) == []


def test_refund_before_its_order_waits_for_it(client, session, sessions, rds, prefix):
    w = seed.world(session, plan=seed.percent(1000, currency="USD"), currency="USD")
    shop = shopify_shop(client, session, rds, prefix, w)
    assert shop.shopify("refunds/create", fixture("shopify_refunds_create")).status_code == 200
    drain(rds, sessions, prefix)
    [waiting] = session.scalars(select(Refund)).all()
    assert waiting.status == RefundStatus.WAITING
    assert shop.shopify("orders/paid", shopify_order(w.p.discount_code)).status_code == 200
    drain(rds, sessions, prefix)
    session.expire_all()
    assert session.scalars(select(Refund.status)).one() == RefundStatus.APPLIED
    assert entries(session) == [(EntryKind.COMMISSION, 1100), (EntryKind.REVERSAL, -550)]


def test_order_in_another_currency_than_the_plan_is_held(client, session, sessions, rds, prefix):
    w = seed.world(session, plan=seed.percent(1000, currency="EUR"))
    shop = shopify_shop(client, session, rds, prefix, w)
    assert shop.shopify("orders/paid", shopify_order(w.p.discount_code)).status_code == 200
    drain(rds, sessions, prefix)
    conversion = session.scalars(select(Conversion)).one()
    assert (conversion.amount, conversion.currency) == (11000, "USD")
    assert conversion.status == ConversionStatus.HELD
    assert "CURRENCY_MISMATCH" in conversion.hold_reasons
    assert entries(session) == []


def test_stripe_chargeback_after_payout_is_a_clawback_netted_by_the_next_payout(
    client, session, sessions, rds, prefix
):
    w = seed.world(session, plan=seed.percent(1000, currency="USD"), currency="USD", hold_days=0)
    shop = stripe_shop(client, session, rds, prefix, w)
    checkout = fixture("stripe_checkout_session_completed")
    checkout["data"]["object"]["metadata"] = {"discount_code": w.p.discount_code}
    assert shop.stripe(checkout).json()["status"] == "accepted"
    drain(rds, sessions, prefix)
    assert entries(session) == [(EntryKind.COMMISSION, 1100)]
    today = utcnow().date()
    batch = create_payout_batch(session, w.org_id, "USD", today, 0)
    mark_paid(session, batch, "wire-1")
    session.commit()

    assert shop.stripe(fixture("stripe_charge_dispute_created")).json()["status"] == "accepted"
    drain(rds, sessions, prefix)
    assert entries(session)[-1] == (EntryKind.CLAWBACK, -1100)
    assert net_total(session, w.org_id, w.p.influencer_id, "USD") == -1100  # negative balance

    renewal = fixture("stripe_checkout_session_completed")
    renewal["id"] = "evt_second_order"
    renewal["data"]["object"] |= {
        "id": "cs_test_second",
        "payment_intent": "pi_second",
        "amount_total": 30000,
        "total_details": {"amount_tax": 0, "amount_shipping": 0},
        "metadata": {"discount_code": w.p.discount_code},
    }
    assert shop.stripe(renewal).json()["status"] == "accepted"
    drain(rds, sessions, prefix)
    assert entries(session)[-1] == (EntryKind.COMMISSION, 3000)
    # The next payout nets the clawback: 30.00 earned, 11.00 clawed back.
    payable = payable_amounts(session, w.org_id, "USD", payout_cutoff(today), utcnow())
    assert payable == {w.p.influencer_id: 1900}


def test_disconnect_unpublishes_the_connection(client, session, rds, prefix):
    w = seed.world(session, plan=seed.percent(1000, currency="USD"), currency="USD")
    shop = shopify_shop(client, session, rds, prefix, w)
    row = session.scalars(select(ShopConnection)).one()
    assert rds.exists(keys.shop_connection(prefix, row.public_id))
    shop_connections.disconnect(session, row)
    publish.mark(session, publish.SHOP, row.id)
    session.commit()
    publish.publish_pending(session, rds, prefix=prefix)
    assert not rds.exists(keys.shop_connection(prefix, row.public_id))
    assert shop.shopify("orders/paid", shopify_order(w.p.discount_code)).status_code == 401


def test_woocommerce_order_and_its_refunds(client, session, sessions, rds, prefix):
    w = seed.world(session)  # 10% in EUR
    row = connect(session, rds, prefix, w, "WOOCOMMERCE", "shop.example.com", WOO_SECRET)
    shop = Shop(client, row.public_id, "woocommerce", WOO_SECRET)
    body = fixture("woocommerce_order_updated")
    body["coupon_lines"] = [{"id": 1, "code": w.p.discount_code.lower(), "discount": "5.00"}]
    assert shop.woocommerce("order.created", body).json()["status"] == "accepted"
    assert shop.woocommerce("order.updated", body).json()["status"] == "duplicate"
    refunded = body | {"status": "refunded", "refunds": [{"id": 730, "total": "-10.00"}]}
    assert shop.woocommerce("order.updated", refunded).json()["status"] == "accepted"
    drain(rds, sessions, prefix)
    assert entries(session) == [
        (EntryKind.COMMISSION, 450),  # 10% of the net 45.00
        (EntryKind.REVERSAL, -77),  # 7.70: the net share of 10.00 of the gross 58.45
        (EntryKind.REVERSAL, -373),
    ]


def test_stripe_renewals_credit_the_customers_influencer(client, session, sessions, rds, prefix):
    plan = seed.percent(1000, currency="USD", repeat_order_bps=500)
    w = seed.world(session, plan=plan, currency="USD")
    session.execute(
        update(Campaign).where(Campaign.id == w.p.campaign_id).values(repeat_orders="LIFETIME")
    )
    session.commit()
    shop = stripe_shop(client, session, rds, prefix, w)
    checkout = fixture("stripe_checkout_session_completed")
    checkout["data"]["object"] |= {
        "mode": "subscription",
        "metadata": {"discount_code": w.p.discount_code},
    }
    assert shop.stripe(checkout).json()["status"] == "accepted"
    drain(rds, sessions, prefix)
    assert shop.stripe(fixture("stripe_invoice_paid")).json()["status"] == "accepted"
    drain(rds, sessions, prefix)
    renewal = session.scalars(
        select(Conversion).where(Conversion.order_id == "in_1QbTestRenewal")
    ).one()
    assert (renewal.partnership_id, renewal.repeat) == (w.p.partnership_id, True)
    assert entries(session) == [(EntryKind.COMMISSION, 1100), (EntryKind.COMMISSION, 100)]


def test_coupon_site_orders_are_leaked_orders_from_all_three_shops(
    client, session, sessions, rds, prefix
):
    """The referrer each platform gives reaches the order: a code used from a coupon site is a
    leaked order, at the plan's leaked-order rate (0 here), with its reason, on every shop."""
    plan = seed.percent(1000, currency="USD", leaked_order_bps=0)
    w = seed.world(session, plan=plan, currency="USD")
    shopify = shopify_shop(client, session, rds, prefix, w)
    stripe = stripe_shop(client, session, rds, prefix, w)
    row = connect(session, rds, prefix, w, "WOOCOMMERCE", "shop.example.com", WOO_SECRET)
    woo = Shop(client, row.public_id, "woocommerce", WOO_SECRET)

    order = shopify_order(w.p.discount_code) | {"referring_site": "https://www.dealabs.com/x"}
    assert shopify.shopify("orders/paid", order).json()["status"] == "accepted"
    checkout = fixture("stripe_checkout_session_completed")
    checkout["data"]["object"] |= {
        "client_reference_id": None,
        "metadata": {
            "discount_code": w.p.discount_code,
            "referrer": "https://www.retailmenot.com/view/shop.example.com",
        },
    }
    assert stripe.stripe(checkout).json()["status"] == "accepted"
    body = fixture("woocommerce_order_attributed") | {"currency": "USD"}
    body["coupon_lines"] = [{"id": 1, "code": w.p.discount_code.lower(), "discount": "5.00"}]
    assert woo.woocommerce("order.updated", body).json()["status"] == "accepted"
    honest = fixture("woocommerce_order_updated") | {"id": 742, "currency": "USD"}
    honest["coupon_lines"] = body["coupon_lines"]
    honest["meta_data"] = [
        {"id": 1, "key": "_wc_order_attribution_source_type", "value": "referral"},
        {"id": 2, "key": "_wc_order_attribution_referrer", "value": "https://www.instagram.com/"},
    ]
    assert woo.woocommerce("order.updated", honest).json()["status"] == "accepted"
    drain(rds, sessions, prefix)
    found = {
        c.order_id: (c.order_referrer_host, c.leak_reason)
        for c in session.scalars(select(Conversion))
    }
    assert found == {
        "820982911946154508": ("dealabs.com", "the order came from the coupon site dealabs.com"),
        "pi_3QbTestPaymentIntent": (
            "retailmenot.com",
            "the order came from the coupon site retailmenot.com",
        ),
        "741": ("mydealz.de", "the order came from the coupon site mydealz.de"),
        "742": ("instagram.com", None),
    }
    by_order = {c.order_id: c.id for c in session.scalars(select(Conversion))}
    paid = {e.conversion_id: e.amount for e in ledger(session)}
    assert paid == {
        by_order["820982911946154508"]: 0,
        by_order["pi_3QbTestPaymentIntent"]: 0,
        by_order["741"]: 0,
        by_order["742"]: 450,  # 10% of the net 45.00: an honest referrer earns the plan's rate
    }
    assert dead_letters(rds, prefix) == []
