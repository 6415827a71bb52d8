"""The landing-page snippet (`api/static/vclid.js`), run with node in a stand-in browser: it
keeps the landing URL's vclid and sends it to the Shopify cart in the attribute the webhook
parser reads, and keeps the outside page the shopper came from for a Stripe Checkout Session's
`metadata.referrer`. Skipped on a machine without node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.shops.shops import fixture
from tracker import shop_orders

SNIPPET = Path(__file__).resolve().parents[2] / "api" / "static" / "vclid.js"
NODE = shutil.which("node")

HARNESS = Path(__file__).with_name("snippet_harness.js")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_snippet_keeps_the_click_id_and_hands_it_to_the_cart():
    assert NODE is not None
    out = subprocess.run(
        [NODE, str(HARNESS), str(SNIPPET)], capture_output=True, text=True, timeout=30, check=True
    )
    result = json.loads(out.stdout)
    landed = result["landed"]
    assert landed["vclid"] == "Ab_9-z"
    assert landed["storage"] == {"vclid": "Ab_9-z"}
    assert landed["cookie"].startswith("vclid=Ab_9-z; Max-Age=2592000; Path=/; SameSite=Lax")
    assert landed["cookie"].endswith("; Secure")
    assert landed["calls"] == [
        {"url": "/cart/update.js", "body": {"attributes": {"vclid": "Ab_9-z"}}}
    ]
    assert result["later"]["vclid"] == "Ab_9-z"  # from the cookie, on a page without it
    assert result["storedOnly"]["vclid"] == "Ab_9-z"
    assert result["forged"]["vclid"] is None and result["forged"]["calls"] == []
    assert result["newer"]["vclid"] == "Newer1"
    assert landed["referrer"] is None and result["later"]["referrer"] is None
    # Sent by a coupon site: its page (without the query) is kept across the shop's own pages.
    assert result["deal"]["referrer"] == "https://www.dealabs.com/bons-plans/x"
    assert result["deal"]["storage"] == {"vreferrer": "https://www.dealabs.com/bons-plans/x"}
    assert result["onward"]["referrer"] == "https://www.dealabs.com/bons-plans/x"
    # Passed as the Checkout Session's metadata.referrer, it is the order's referrer.
    session = fixture("stripe_checkout_session_completed")
    session["data"]["object"]["metadata"] = {"referrer": result["onward"]["referrer"]}
    [paid] = shop_orders.stripe(session, shop_orders.CustomerKey("k"))
    assert isinstance(paid, shop_orders.Paid) and paid.referrer == result["deal"]["referrer"]
    # What the cart attribute becomes in Shopify's order webhook is what the tracker reads.
    body = fixture("shopify_orders_paid") | {"landing_site": "/"}
    body["note_attributes"] = [
        {"name": k, "value": v} for k, v in landed["calls"][0]["body"]["attributes"].items()
    ]
    [order] = shop_orders.shopify("orders/paid", body, shop_orders.CustomerKey("k"))
    assert isinstance(order, shop_orders.Paid) and order.click_id == "Ab_9-z"
