"""connectShop, rotateShopSecret, disconnectShop and Brand.shopConnections: ADMIN only, the
secret sealed and never returned, published after commit, unpublished on disconnect."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from api.models import ShopConnection, ShopConnectionSecret
from api.settings import get_settings
from api.tracking.publish import redis_client
from tests.factories import gid
from tests.tracking_fixtures import redis_env_fixture, unseal  # noqa: F401 - redis_env
from tracker import keys

CONNECTION = "connection { id kind shopDomain connected webhookUrl } userErrors { field code }"
SECRET = "shpss_0123456789abcdef0123456789abcdef"


def _record(public_id: str):
    raw = redis_client().get(keys.shop_connection(get_settings().redis.prefix, public_id))
    return None if raw is None else json.loads(raw)


def _connect(gql, w, **changes):
    data = {
        "brandId": gid(w["brand"]),
        "kind": "SHOPIFY",
        "shopDomain": "Vouch-Demo.myshopify.com",
        "secret": SECRET,
    } | changes
    return gql.mutate(w["keys"]["ADMIN"], "connectShop", data, CONNECTION)


def test_connect_rotate_disconnect(gql, factory, db, redis_env):
    w = factory.world()
    result = _connect(gql, w)
    assert result["userErrors"] == []
    connection = result["connection"]
    assert connection["shopDomain"] == "vouch-demo.myshopify.com" and connection["connected"]
    row = db.scalars(select(ShopConnection)).one()
    base = get_settings().tracker.public_url.rstrip("/")
    assert connection["webhookUrl"] == f"{base}/shops/{row.public_id}/shopify"
    record = _record(row.public_id)
    assert record["brand_id"] == w["brand"].id and record["kind"] == "SHOPIFY"
    assert [unseal(s["sealed"]) for s in record["secrets"]] == [SECRET]
    # Never in clear at rest, never in an answer.
    assert SECRET not in json.dumps(result)
    assert all(SECRET not in s for s in db.scalars(select(ShopConnectionSecret.secret)))

    new = "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"
    rotated = gql.mutate(
        w["keys"]["ADMIN"],
        "rotateShopSecret",
        {"connectionId": connection["id"], "secret": new},
        CONNECTION,
    )
    assert rotated["userErrors"] == []
    secrets = _record(row.public_id)["secrets"]
    assert [unseal(s["sealed"]) for s in secrets] == [SECRET, new]
    assert secrets[0]["expires_at"] is not None and secrets[1]["expires_at"] is None

    listed = gql(
        w["keys"]["ADMIN"],
        "query($id: ID!) { node(id: $id) { ... on Brand { shopConnections { id connected } } } }",
        id=gid(w["brand"]),
    )
    assert listed["node"]["shopConnections"] == [{"id": connection["id"], "connected": True}]

    gone = gql.mutate(
        w["keys"]["ADMIN"], "disconnectShop", {"connectionId": connection["id"]}, CONNECTION
    )
    assert gone["userErrors"] == [] and gone["connection"]["connected"] is False
    assert _record(row.public_id) is None
    again = gql.mutate(
        w["keys"]["ADMIN"],
        "rotateShopSecret",
        {"connectionId": connection["id"], "secret": new},
        CONNECTION,
    )
    assert again["userErrors"][0]["code"] == "DISCONNECTED"


def test_bad_input_and_other_roles_change_nothing(gql, factory, db, redis_env):
    w, other = factory.world(), factory.world()
    cases = [
        ({"shopDomain": "shop.example.com"}, "shopDomain"),
        ({"kind": "STRIPE", "shopDomain": "acct_1X", "secret": SECRET}, "secret"),
        ({"kind": "WOOCOMMERCE", "shopDomain": "localhost"}, "shopDomain"),
        ({"secret": "short"}, "secret"),
        ({"secret": "has blanks in the secret text"}, "secret"),
        ({"brandId": gid(other["brand"])}, "brandId"),
    ]
    for changes, field in cases:
        result = _connect(gql, w, **changes)
        assert result["connection"] is None
        assert result["userErrors"][0]["field"] == field, changes
    stripe = _connect(gql, w, kind="STRIPE", shopDomain="acct_1Test", secret="whsec_" + "a" * 32)
    assert stripe["userErrors"] == [] and stripe["connection"]["webhookUrl"].endswith("/stripe")
    for role in ("MANAGER", "FINANCE", "INFLUENCER"):
        data = {
            "brandId": gid(w["brand"]),
            "kind": "SHOPIFY",
            "shopDomain": "x.myshopify.com",
            "secret": SECRET,
        }
        result = gql.mutate(w["keys"][role], "connectShop", data, CONNECTION)
        assert result["userErrors"][0]["code"] == "FORBIDDEN"
    count = select(func.count()).where(ShopConnection.brand_id == w["brand"].id)
    assert db.scalar(count) == 1
