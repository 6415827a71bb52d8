"""What each platform's recorded webhook counts: amounts net of tax and shipping in minor units,
refunds by line, attribution keys, and the topics that are ignored."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.shops.shops import fixture
from tracker import shop_orders
from tracker.conversions import FieldError
from tracker.shop_orders import CustomerKey, Ignored, Paid, Refunded, StripeRefund

KEY = CustomerKey("test-key")


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def test_shopify_paid_order_is_its_subtotal_after_discounts_net_of_tax_and_shipping():
    body = fixture("shopify_orders_paid")
    [order] = shop_orders.shopify("orders/paid", body, KEY)
    assert order == Paid(
        order_id="820982911946154508",
        amount=11000,  # subtotal_price 110.00: after the 10.00 code, before 10.00 shipping, tax
        currency="USD",
        occurred_at_ms=ms("2026-11-21T12:10:51-05:00"),
        click_id="PLACEHOLDER",
        discount_code="SAVE10",
        customer_id="shopify:115310627314723954",
        taxes_included=False,
        referrer="https://www.instagram.com/",  # referring_site: for coupon-leakage checks
    )
    for bad in (12, "x" * 1025, "https://a.example/\x00", "  "):
        [dropped] = shop_orders.shopify("orders/paid", body | {"referring_site": bad}, KEY)
        assert isinstance(dropped, Paid) and dropped.referrer is None  # the order still counts


def test_shopify_taxes_included_are_taken_out_and_note_attributes_carry_the_click_id():
    body = fixture("shopify_orders_paid") | {"taxes_included": True, "landing_site": "/"}
    body["note_attributes"] = [{"name": "vclid", "value": "abc_123-XY"}]
    body["customer"] = None
    [order] = shop_orders.shopify("orders/paid", body, KEY)
    assert isinstance(order, Paid)
    assert (order.amount, order.click_id) == (11000 - 617, "abc_123-XY")
    # No customer id: the keyed hash of the e-mail, never the e-mail.
    assert order.customer_id is not None and order.customer_id.startswith("email:")
    assert "jon" not in order.customer_id
    assert order.customer_id == KEY("shopify", None, " JON@example.com")


def test_shopify_orders_create_counts_only_once_paid_and_unused_topics_are_ignored():
    body = fixture("shopify_orders_paid")
    assert isinstance(shop_orders.shopify("orders/create", body, KEY)[0], Paid)  # type: ignore[index]
    pending = body | {"financial_status": "pending"}
    assert isinstance(shop_orders.shopify("orders/create", pending, KEY), Ignored)
    assert isinstance(shop_orders.shopify("products/update", body, KEY), Ignored)


def test_shopify_refund_is_the_subtotal_of_its_lines_and_cancel_refunds_what_is_left():
    [refund] = shop_orders.shopify("refunds/create", fixture("shopify_refunds_create"), KEY)
    assert refund == Refunded(
        "509562969", "820982911946154508", 5500, "USD", ms("2026-11-25T12:10:51-05:00"), 309
    )  # 55.00 of the line, not the 58.09 with tax (3.09 is taken off only if prices include it)
    [cancel] = shop_orders.shopify("orders/cancelled", fixture("shopify_orders_cancelled"), KEY)
    assert isinstance(cancel, Refunded)
    assert (cancel.refund_id, cancel.amount) == ("cancel:820982911946154508", 5500)
    no_lines = fixture("shopify_refunds_create") | {"refund_line_items": []}
    assert isinstance(shop_orders.shopify("refunds/create", no_lines, KEY), Ignored)
    unpaid = fixture("shopify_orders_cancelled") | {"financial_status": "voided"}
    assert isinstance(shop_orders.shopify("orders/cancelled", unpaid, KEY), Ignored)


def test_shopify_tax_inclusive_order_its_refund_and_cancel_net_of_tax():
    order = fixture("shopify_orders_paid_taxes_included")
    [paid] = shop_orders.shopify("orders/paid", order, KEY)
    assert isinstance(paid, Paid) and (paid.amount, paid.taxes_included) == (9167, True)
    refund = fixture("shopify_refunds_create_taxes_included")
    [back] = shop_orders.shopify("refunds/create", refund, KEY)
    assert isinstance(back, Refunded) and (back.amount, back.tax) == (11000, 1833)
    # Cancelled after a refund of one of the two lines (55.00 with 9.17 of VAT): 45.83 was
    # refunded of 91.67, the cancel refunds the other 45.84.
    half = refund | {
        "refund_line_items": [
            refund["refund_line_items"][0]
            | {
                "subtotal_set": {"shop_money": {"amount": "55.00", "currency_code": "EUR"}},
                "total_tax_set": {"shop_money": {"amount": "9.17", "currency_code": "EUR"}},
            }
        ]
    }
    cancelled = order | {"cancelled_at": order["processed_at"], "refunds": [half]}
    [cancel] = shop_orders.shopify("orders/cancelled", cancelled, KEY)
    assert isinstance(cancel, Refunded) and (cancel.amount, cancel.tax) == (4584, 0)


def test_shopify_zero_and_three_decimal_currencies_and_bad_amounts():
    body = fixture("shopify_orders_paid") | {"currency": "JPY", "subtotal_price": "11000"}
    assert shop_orders.shopify("orders/paid", body, KEY)[0].amount == 11000  # type: ignore[index,union-attr]
    kwd = fixture("shopify_orders_paid") | {"currency": "KWD", "subtotal_price": "12.345"}
    assert shop_orders.shopify("orders/paid", kwd, KEY)[0].amount == 12345  # type: ignore[index,union-attr]
    with pytest.raises(FieldError) as bad:
        shop_orders.shopify("orders/paid", body | {"subtotal_price": "10.5"}, KEY)
    assert bad.value.field == "subtotal_price"
    with pytest.raises(FieldError):
        shop_orders.shopify("orders/paid", body | {"currency": "XXY"}, KEY)


def test_stripe_checkout_session_is_total_less_tax_and_shipping_in_minor_units():
    [order] = shop_orders.stripe(fixture("stripe_checkout_session_completed"), KEY)
    assert order == Paid(
        order_id="pi_3QbTestPaymentIntent",
        amount=12617 - 617 - 1000,
        currency="USD",
        occurred_at_ms=1764000000000,
        click_id="PLACEHOLDER",
        discount_code=None,
        customer_id="stripe:cus_RtestCustomer1",
    )
    unpaid = fixture("stripe_checkout_session_completed")
    unpaid["data"]["object"]["payment_status"] = "unpaid"
    assert isinstance(shop_orders.stripe(unpaid, KEY), Ignored)


@pytest.mark.parametrize(
    ("currency", "stripe_amount", "minor"),
    [("jpy", 1500, 1500), ("kwd", 12340, 12340), ("eur", 1999, 1999), ("mga", 5000, 500000)],
)
def test_stripe_amounts_follow_stripe_decimals(currency, stripe_amount, minor):
    body = fixture("stripe_checkout_session_completed")
    obj = body["data"]["object"]
    obj |= {"currency": currency, "amount_total": stripe_amount, "total_details": {}}
    assert shop_orders.stripe(body, KEY)[0].amount == minor  # type: ignore[index,union-attr]


def test_stripe_metadata_vclid_renewals_refunds_and_disputes():
    body = fixture("stripe_checkout_session_completed")
    body["data"]["object"] |= {"client_reference_id": None, "metadata": {"vclid": "fromMeta"}}
    assert shop_orders.stripe(body, KEY)[0].click_id == "fromMeta"  # type: ignore[index,union-attr]
    [renewal] = shop_orders.stripe(fixture("stripe_invoice_paid"), KEY)
    assert isinstance(renewal, Paid)
    assert (renewal.order_id, renewal.amount, renewal.customer_id) == (
        "in_1QbTestRenewal",
        2000,
        "stripe:cus_RtestCustomer1",
    )
    first = fixture("stripe_invoice_paid")
    first["data"]["object"]["billing_reason"] = "subscription_create"
    assert isinstance(shop_orders.stripe(first, KEY), Ignored)
    [refund] = shop_orders.stripe(fixture("stripe_charge_refunded"), KEY)
    assert refund == StripeRefund(
        "ch_3QbTestCharge:3000",
        "pi_3QbTestPaymentIntent",
        "ch_3QbTestCharge",
        3000,
        12617,
        "USD",
        1764300000000,
        cumulative=True,
    )
    [dispute] = shop_orders.stripe(fixture("stripe_charge_dispute_created"), KEY)
    assert isinstance(dispute, StripeRefund)
    assert (dispute.refund_id, dispute.order_id, dispute.gross, dispute.cumulative) == (
        "dp_1QbTestDispute",
        "pi_3QbTestPaymentIntent",
        12617,
        False,
    )
    assert isinstance(shop_orders.stripe({"type": "customer.created"}, KEY), Ignored)


def test_woocommerce_order_by_status_with_its_refunds():
    body = fixture("woocommerce_order_updated")
    [order] = shop_orders.woocommerce("order.updated", body, KEY)
    assert isinstance(order, Paid)
    assert (order.order_id, order.amount, order.currency, order.discount_code) == (
        "727",
        4500,  # 58.45 - 8.55 tax - 4.90 shipping
        "EUR",
        "SAVE5",
    )
    assert order.click_id == "PLACEHOLDER" and order.customer_id == KEY(
        "w", 0, "maya.lind@example.com"
    )
    # Refunds are of the gross 58.45: 10.00 of it takes 7.70 of the net 45.00 (half-even).
    refunded = body | {"status": "refunded", "refunds": [{"id": 730, "total": "-10.00"}]}
    outcome = shop_orders.woocommerce("order.updated", refunded, KEY)
    assert [(r.refund_id, r.amount) for r in outcome if isinstance(r, Refunded)] == [  # type: ignore[union-attr]
        ("woo:730", 770),
        ("refunded:727", 3730),
    ]
    # Shares are cumulative in id order: a later refund leaves the earlier one's as it was, and
    # refunding the whole gross refunds exactly the net.
    both = body | {"refunds": [{"id": 731, "total": "-48.45"}, {"id": 730, "total": "-10.00"}]}
    outcome = shop_orders.woocommerce("order.updated", both, KEY)
    assert [(r.refund_id, r.amount) for r in outcome if isinstance(r, Refunded)] == [  # type: ignore[union-attr]
        ("woo:730", 770),
        ("woo:731", 3730),
    ]
    pending = body | {"status": "pending", "date_paid_gmt": None}
    assert isinstance(shop_orders.woocommerce("order.created", pending, KEY), Ignored)
    never_paid = pending | {"status": "cancelled"}
    assert isinstance(shop_orders.woocommerce("order.updated", never_paid, KEY), Ignored)
    assert isinstance(shop_orders.woocommerce("coupon.created", body, KEY), Ignored)


def test_orders_with_nothing_to_attribute_are_ignored_and_bad_click_ids_dropped():
    body = fixture("shopify_orders_paid") | {"discount_codes": [], "customer": None, "email": None}
    body["landing_site"] = "/?vclid=not%20a%20click"
    assert isinstance(shop_orders.shopify("orders/paid", body, KEY), Ignored)
    assert shop_orders.click_id_of_url("https://x.example/?a=1&vclid=Ab_9") == "Ab_9"
    assert shop_orders.click_id("vclid_Ab9") == "Ab9"
    assert shop_orders.click_id("x" * 33) is None


def test_woocommerce_order_attribution_carries_the_referrer_and_the_landing_click():
    body = fixture("woocommerce_order_attributed")  # WooCommerce 8.5+ attribution meta
    [order] = shop_orders.woocommerce("order.updated", body, KEY)
    assert isinstance(order, Paid) and order.click_id is None
    assert order.referrer == "https://www.mydealz.de/gutscheine/linen-shop"

    def meta(**fields: str) -> list[dict[str, object]]:
        kept = [m for m in body["meta_data"] if not m["key"].startswith("_wc_order_attribution_")]
        prefix = shop_orders.WOO_ATTRIBUTION
        return kept + [{"id": 1, "key": prefix + k, "value": v} for k, v in fields.items()]

    def referrer(**fields: str) -> str | None:
        [paid] = shop_orders.woocommerce("order.updated", body | {"meta_data": meta(**fields)}, KEY)
        assert isinstance(paid, Paid)
        return paid.referrer

    # A deal site that tags its links with UTM parameters is still the referrer.
    tagged = referrer(source_type="utm", referrer="https://www.dealabs.com/x", utm_source="deal")
    assert tagged == "https://www.dealabs.com/x"
    # Direct ("typein": the "referrer" is the shop's own page), admin and app orders have none.
    assert referrer(source_type="typein", referrer="https://shop.example.com/cart/") is None
    assert referrer(source_type="admin", referrer="https://shop.example.com/wp-admin/") is None
    assert referrer(source_type="mobile_app") is None
    # A referral whose URL was not kept: WooCommerce's utm_source is the referring host then.
    assert referrer(source_type="referral", utm_source="retailmenot.com") == "retailmenot.com"
    assert referrer(source_type="referral", referrer="(none)", utm_source="(none)") is None
    assert referrer(source_type="organic", referrer="https://www.google.com/") == (
        "https://www.google.com/"
    )
    assert referrer(source_type="referral", referrer="https://a.example/\x00") is None
    # The landing page kept by the attribution carries a tracked link's vclid.
    entry = meta(session_entry="https://shop.example.com/shirts/?vclid=Ab_9-z&utm_source=ig")
    [clicked] = shop_orders.woocommerce("order.updated", body | {"meta_data": entry}, KEY)
    assert isinstance(clicked, Paid) and clicked.click_id == "Ab_9-z"
    # An order without attribution meta (older WooCommerce, or turned off) has no referrer.
    [plain] = shop_orders.woocommerce("order.updated", fixture("woocommerce_order_updated"), KEY)
    assert isinstance(plain, Paid) and plain.referrer is None


def test_stripe_referrer_is_the_sessions_metadata_and_the_subscriptions_for_renewals():
    body = fixture("stripe_checkout_session_completed")
    [order] = shop_orders.stripe(body, KEY)
    assert isinstance(order, Paid) and order.referrer is None  # Stripe itself knows none
    body["data"]["object"]["metadata"] = {"referrer": "https://www.retailmenot.com/view/x"}
    [order] = shop_orders.stripe(body, KEY)
    assert isinstance(order, Paid) and order.referrer == "https://www.retailmenot.com/view/x"
    body["data"]["object"]["metadata"] = {"referrer": 7}
    [order] = shop_orders.stripe(body, KEY)
    assert isinstance(order, Paid) and order.referrer is None  # dropped, the order counts
    renewal = fixture("stripe_invoice_paid")
    details = renewal["data"]["object"]["parent"]["subscription_details"]
    details["metadata"] = {"referrer": "https://www.honey.com/shop/x"}
    [paid] = shop_orders.stripe(renewal, KEY)
    assert isinstance(paid, Paid) and paid.referrer == "https://www.honey.com/shop/x"
