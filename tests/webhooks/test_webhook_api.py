"""The ADMIN's webhook API: endpoints (the secret shown once), URLs refused, tenancy, rotation,
disabling, deliveries with their attempts, replays."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from api.db import utcnow
from api.webhooks import endpoints, outbox
from tests.test_query_counts import count_statements, used_key
from tracker.globalid import encode

ENDPOINT = "endpoint { id url events enabled disabledReason description previousSecretValidUntil }"
PUBLIC = "93.184.216.34"


@pytest.fixture
def w(factory: Any, dns: dict[str, list[str]]) -> dict[str, Any]:
    dns["hooks.example.com"] = [PUBLIC]
    return factory.world()


def create(gql: Any, key: str, url: str = "https://hooks.example.com/vouch", **extra: Any) -> Any:
    data = {"url": url, "events": ["CONVERSION_CREATED", "PAYOUT_BATCH_PAID"], **extra}
    return gql.mutate(key, "createWebhookEndpoint", data, f"secret {ENDPOINT}")


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(gql, w):
    admin = w["keys"]["ADMIN"]
    out = create(gql, admin, description="ERP")
    assert out["userErrors"] == []
    assert out["secret"].startswith("whsec_") and len(out["secret"]) == 6 + 44
    endpoint = out["endpoint"]
    assert endpoint["events"] == ["CONVERSION_CREATED", "PAYOUT_BATCH_PAID"]
    assert (endpoint["enabled"], endpoint["description"]) == (True, "ERP")
    listed = gql(
        admin,
        "{ webhookEndpoints(first: 10) { totalCount nodes { id url events failingSince } } }",
    )["webhookEndpoints"]
    assert listed["totalCount"] == 1 and listed["nodes"][0]["id"] == endpoint["id"]
    assert out["secret"] not in str(listed)
    for role in ("MANAGER", "FINANCE", "INFLUENCER"):
        refused = create(gql, w["keys"][role])
        assert refused["userErrors"][0]["code"] == "FORBIDDEN"
        seen = gql(w["keys"][role], "{ webhookEndpoints { totalCount } }")
        assert seen["webhookEndpoints"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/vouch", "url must be an https URL"),
        ("https://10.1.2.3/hook", "url points at a private address (10.1.2.3)"),
        ("https://localhost/hook", "url points at a local host name (localhost)"),
        ("https://169.254.169.254/latest", "url points at a link-local address (169.254.169.254)"),
        ("https://[::1]/hook", "url points at a loopback address (::1)"),
        ("https://nowhere.example.net/hook", "url has a host that does not resolve"),
        ("https://rebind.example.com/hook", "url points at a private address (192.168.1.5 for"),
        ("ftp://hooks.example.com/", "url must be an absolute http(s) URL"),
    ],
)
def test_bad_urls_are_refused(gql, w, dns, url, why):
    dns["rebind.example.com"] = [PUBLIC, "192.168.1.5"]
    out = create(gql, w["keys"]["ADMIN"], url)
    assert out["endpoint"] is None and out["secret"] is None
    [error] = out["userErrors"]
    assert (error["field"], error["code"]) == ("url", "INVALID_URL")
    assert error["message"].startswith(why)


def test_events_are_required(gql, w):
    out = gql.mutate(
        w["keys"]["ADMIN"],
        "createWebhookEndpoint",
        {"url": "https://hooks.example.com/x", "events": []},
        "secret",
    )
    assert out["userErrors"][0]["code"] == "REQUIRED"


def test_another_organizations_endpoint_is_not_found(gql, w, factory):
    theirs = factory.world()
    endpoint_id = create(gql, theirs["keys"]["ADMIN"])["endpoint"]["id"]
    admin = w["keys"]["ADMIN"]
    ref = {"endpointId": endpoint_id}
    for name, data in (
        ("updateWebhookEndpoint", {**ref, "description": "mine now"}),
        ("disableWebhookEndpoint", ref),
        ("enableWebhookEndpoint", ref),
        ("rotateWebhookEndpointSecret", ref),
        ("replayWebhookEvents", {**ref, "since": "2026-01-01T00:00:00Z"}),
    ):
        out = gql.mutate(admin, name, data, "userErrors { code }")
        assert out["userErrors"][0]["code"] == "NOT_FOUND", name
    listed = gql(admin, f'{{ webhookDeliveries(endpointId: "{endpoint_id}") {{ totalCount }} }}')
    assert listed["webhookDeliveries"]["totalCount"] == 0
    assert gql(admin, f'{{ node(id: "{endpoint_id}") {{ id }} }}')["node"] is None


def test_update_rotate_disable_enable(gql, w, db):
    admin = w["keys"]["ADMIN"]
    first = create(gql, admin)
    ref = {"endpointId": first["endpoint"]["id"]}
    out = gql.mutate(
        admin, "updateWebhookEndpoint", {**ref, "events": ["LEDGER_ENTRY_CREATED"]}, ENDPOINT
    )
    assert out["endpoint"]["events"] == ["LEDGER_ENTRY_CREATED"]
    out = gql.mutate(admin, "updateWebhookEndpoint", {**ref, "url": "https://10.0.0.1/"}, ENDPOINT)
    assert out["userErrors"][0]["code"] == "INVALID_URL"
    rotated = gql.mutate(admin, "rotateWebhookEndpointSecret", ref, f"secret {ENDPOINT}")
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != first["secret"]
    assert rotated["endpoint"]["previousSecretValidUntil"] is not None
    out = gql.mutate(admin, "disableWebhookEndpoint", {**ref, "reason": "maintenance"}, ENDPOINT)
    assert (out["endpoint"]["enabled"], out["endpoint"]["disabledReason"]) == (False, "maintenance")
    replay = gql.mutate(
        admin, "replayWebhookEvents", {**ref, "since": "2026-01-01T00:00:00Z"}, "replayed"
    )
    assert replay["userErrors"][0]["code"] == "ENDPOINT_DISABLED"
    out = gql.mutate(admin, "enableWebhookEndpoint", ref, ENDPOINT)
    assert (out["endpoint"]["enabled"], out["endpoint"]["disabledReason"]) == (True, None)


DELIVERIES = """query($id: ID!) { webhookDeliveries(endpointId: $id, first: 5) {
  totalCount edges { node { id status attemptCount lastStatusCode replayOf { id }
    event { webhookId type payload createdAt }
    attempts { attempt statusCode durationMs responseBody error nextAttemptAt } } } } }"""


def test_deliveries_show_their_attempts_and_replay(gql, w, db, private_urls, dispatch):
    from tests.webhooks.receiver import receiver

    admin, org = w["keys"]["ADMIN"], w["org"]
    with receiver(status=500, answer=b"busy") as hook:
        endpoint_id = create(gql, admin, hook.url)["endpoint"]["id"]
        event_id = outbox.emit(db, "payout_batch.paid", org.id, {"n": 1})
        db.commit()
        dispatch(org)
        hook.status = 200
        [edge] = gql(admin, DELIVERIES, id=endpoint_id)["webhookDeliveries"]["edges"]
        delivery = edge["node"]
        assert (delivery["status"], delivery["attemptCount"], delivery["lastStatusCode"]) == (
            "PENDING",
            1,
            500,
        )
        assert delivery["event"]["webhookId"] == event_id
        assert delivery["event"]["type"] == "PAYOUT_BATCH_PAID"
        assert delivery["event"]["payload"]["data"] == {"n": 1}
        [attempt] = delivery["attempts"]
        assert (attempt["statusCode"], attempt["responseBody"], attempt["error"]) == (
            500,
            "busy",
            "HTTP 500",
        )
        out = gql.mutate(
            admin, "replayWebhookDelivery", {"deliveryId": delivery["id"]}, "delivery { id status }"
        )
        assert out["delivery"]["status"] == "PENDING"
        since = (utcnow() - timedelta(minutes=5)).isoformat()
        out = gql.mutate(
            admin, "replayWebhookEvents", {"endpointId": endpoint_id, "since": since}, "replayed"
        )
        assert out["replayed"] == 1
        dispatch(org)
    page = gql(admin, DELIVERIES, id=endpoint_id)["webhookDeliveries"]
    assert page["totalCount"] == 3
    newest = page["edges"][0]["node"]
    assert newest["status"] == "SUCCEEDED" and newest["replayOf"] is None
    assert page["edges"][1]["node"]["replayOf"] == {"id": delivery["id"]}
    assert set(hook.ids()) == {event_id}
    other = gql.mutate(
        w["keys"]["FINANCE"],
        "replayWebhookDelivery",
        {"deliveryId": delivery["id"]},
        "delivery { id }",
    )
    assert other["userErrors"][0]["code"] == "FORBIDDEN"


def test_a_page_of_deliveries_costs_the_same_whatever_its_size(gql, factory, db):
    org = factory.org()
    admin = used_key(gql, factory, org)
    endpoint, _ = endpoints.create(
        db, org.id, "https://q.example.com/", ["payout_batch.paid"], None
    )
    db.commit()
    for n in range(6):
        outbox.emit(db, "payout_batch.paid", org.id, {"n": n})
    db.commit()
    query = DELIVERIES.replace("first: 5", "first: $first").replace(
        "query($id: ID!)", "query($id: ID!, $first: Int!)"
    )
    endpoint_id = encode("WebhookEndpoint", endpoint.id)
    counts = []
    for first in (1, 5):
        with count_statements() as counter:
            page = gql(admin, query, id=endpoint_id, first=first)["webhookDeliveries"]
        assert len(page["edges"]) == first
        counts.append(counter["n"])
    assert counts[0] == counts[1]
