"""The README's walkthrough "Tracked links, postbacks and money", end to end in one process.

What issue 4 calls done: issue a link, click it, send a conversion signed as the README shows,
see the commission, refund half the order and see the reversal, create and pay a payout batch
with hold days 0, and export a statement CSV whose total matches the balance. Everything goes
through the public interfaces: the GraphQL API and the CSV endpoint of the API app, the tracker
app's redirect and postback endpoints, and the ingest worker over the Redis streams, writing into
the session database the API reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from sqlalchemy.orm import sessionmaker
from starlette.testclient import TestClient

from api.ingest.worker import worker_engine
from api.settings import get_settings
from tests.factories import gid
from tests.ingest.helpers import drain
from tests.test_export import _rows
from tests.tracker.helpers import BROWSER_UA
from tests.tracking_fixtures import redis_env_fixture  # noqa: F401 - redis_env
from tracker import keys
from tracker.app import TrackerApp
from tracker.settings import RedisSettings, load

ORDER = {"order_id": "A-1001", "amount": "49.90", "currency": "EUR"}  # the README's order
REFUND = {"refund_id": "R-1", "order_id": "A-1001", "amount": "24.95"}  # half of it

CAMPAIGN = "campaign { holdDays compensationPlan { currency commission { kind rateBps } } }"
LEDGER = """query($i: ID!) { ledgerEntries(first: 50, filter: {influencerId: $i}) {
  nodes { kind status createdAt amount { amount currency } conversion { orderId } } } }"""
BALANCE = """query($i: ID!) { balance(influencerId: $i, currency: "EUR") {
  pending { amount } available { amount } paid { amount } held { amount } } }"""
CONVERSIONS = """{ conversions(first: 10) { nodes {
  orderId status holdReasons attributedVia amount { amount } partnership { id } } } }"""
BATCH = "payoutBatch { id status reference total { amount } lines { amount { amount } } }"


# --- fixtures: the tracker app and the worker on the API's Redis prefix and database -----------


@pytest.fixture
def tracker(redis_env: Any, tmp_path: Any) -> Iterator[TestClient]:
    """The tracker app (lifespan running) on the Redis the API publishes to, called from a
    shopper's address; redirects are not followed."""
    settings = dataclasses.replace(
        load(),
        redis=RedisSettings(url=redis_env.url, cluster_url="", prefix=redis_env.prefix),
        spool_dir=str(tmp_path / "spool"),
        flush_delay_ms=1.0,
    )
    app = TrackerApp(settings)
    with TestClient(app, client=("198.51.100.20", 40000), follow_redirects=False) as client:
        yield client


@pytest.fixture
def ingest(redis_env: Any, database: str) -> Iterator[Callable[[], Any]]:
    """Runs the ingest worker until the streams are drained; its engine is the one `vouch
    worker` builds, on the database the API reads."""
    engine = worker_engine(get_settings().database_url, pool_pre_ping=False)
    client = redis.Redis.from_url(redis_env.url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    yield lambda: drain(client, sessions, redis_env.prefix)
    client.close()
    engine.dispose()


# --- helpers ------------------------------------------------------------------------------------


def signed_post(client: TestClient, path: str, brand_id: str, secret: str, body: dict) -> Any:
    """Posts as the README's curl does: `Vouch-Signature: t=<t>,v1=<hex HMAC-SHA256 of
    "<t>.<raw body>">` with the brand's secret, and `Vouch-Brand: <Brand global id>`."""
    raw = json.dumps(body).encode()
    t = str(int(time.time()))
    sig = hmac.new(secret.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "Vouch-Brand": brand_id,
        "Vouch-Signature": f"t={t},v1={sig}",
    }
    return client.post(path, content=raw, headers=headers)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def ledger(gql: Any, key: str, influencer_id: str) -> list[tuple[str, str, Decimal]]:
    """(kind, status, amount) of the influencer's entries, oldest first."""
    nodes = gql(key, LEDGER, i=influencer_id)["ledgerEntries"]["nodes"]
    assert {n["amount"]["currency"] for n in nodes} <= {"EUR"}
    return [(n["kind"], n["status"], Decimal(n["amount"]["amount"])) for n in reversed(nodes)]


def balance(gql: Any, key: str, influencer_id: str) -> dict[str, Decimal]:
    b = gql(key, BALANCE, i=influencer_id)["balance"]
    return {name: Decimal(money["amount"]) for name, money in b.items()}


def dec(*values: str) -> dict[str, Decimal]:
    return dict(zip(("pending", "available", "paid", "held"), map(Decimal, values), strict=True))


# --- the journey --------------------------------------------------------------------------------


def test_link_click_conversion_refund_payout_and_statement(
    gql: Any, factory: Any, redis_env: Any, tracker: TestClient, ingest: Callable[[], Any]
) -> None:
    w = factory.world()
    admin, manager, finance = (w["keys"][r] for r in ("ADMIN", "MANAGER", "FINANCE"))
    influencer, brand = gid(w["influencer"]), gid(w["brand"])
    today = datetime.now(UTC).date()

    # 1. The campaign pays 10 % of revenue (the factory's plan) and holds nothing back.
    updated = gql.mutate(
        manager, "updateCampaign", {"campaignId": gid(w["campaign"]), "holdDays": 0}, CAMPAIGN
    )
    assert updated["userErrors"] == []
    assert updated["campaign"] == {
        "holdDays": 0,
        "compensationPlan": {"currency": "EUR", "commission": {"kind": "PERCENT", "rateBps": 1000}},
    }
    issued = gql.mutate(
        manager,
        "issueTrackedLink",
        {"partnershipId": gid(w["partnership"]), "utm": {"source": "instagram"}},
        "link { code url }",
    )
    assert issued["userErrors"] == []
    code = issued["link"]["code"]
    assert issued["link"]["url"].endswith(f"/c/{code}")
    assert redis_env.client.exists(keys.link(redis_env.prefix, code))  # published after commit
    rotated = gql.mutate(admin, "rotatePostbackSecret", {"brandId": brand}, "secret")
    assert rotated["userErrors"] == [] and rotated["secret"].startswith("whsec_")
    secret = rotated["secret"]

    # 2. A shopper clicks: a 302 to the landing page with the utm and the click id.
    response = tracker.get(f"/c/{code}", headers={"user-agent": BROWSER_UA})
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == w["campaign"].landing_url
    assert query["utm_source"] == ["instagram"]
    [vclid] = query["vclid"]
    clicks = keys.clicks_stream(redis_env.prefix)
    wait_until(lambda: redis_env.client.xlen(clicks) == 1)

    # 3. The merchant reports the order, signed as the README shows. The order is a minute
    # after the click: one within 10 s of its click would go on hold for review (FAST_CONVERSION).
    occurred = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    order = ORDER | {"click_id": vclid, "occurred_at": occurred}
    accepted = signed_post(tracker, "/v1/conversions", brand, secret, order)
    assert (accepted.status_code, accepted.json()) == (202, {"status": "accepted"})

    # 4. The worker records the click, attributes the order to it and credits the commission.
    stats = ingest()
    assert (stats.clicks, stats.conversions, stats.dead) == (1, 1, 0)
    [conversion] = gql(finance, CONVERSIONS)["conversions"]["nodes"]
    assert conversion == {
        "orderId": "A-1001",
        "status": "APPROVED",
        "holdReasons": [],
        "attributedVia": "CLICK",
        "amount": {"amount": "49.90"},
        "partnership": {"id": gid(w["partnership"])},
    }

    # 5. 10 % of 49.90 EUR, available at once with hold days 0.
    assert ledger(gql, finance, influencer) == [("COMMISSION", "AVAILABLE", Decimal("4.99"))]
    assert balance(gql, finance, influencer) == dec("0", "4.99", "0", "0")

    # The same order again is a duplicate: nothing new on the stream or the ledger.
    conversions = keys.conversions_stream(redis_env.prefix)
    length = redis_env.client.xlen(conversions)
    again = signed_post(tracker, "/v1/conversions", brand, secret, order)
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert redis_env.client.xlen(conversions) == length
    assert ingest().conversions == 0
    assert ledger(gql, finance, influencer) == [("COMMISSION", "AVAILABLE", Decimal("4.99"))]

    # 6. Half the order is refunded: half the commission is reversed, 2.495 rounded half-even.
    refunded = signed_post(tracker, "/v1/refunds", brand, secret, REFUND)
    assert (refunded.status_code, refunded.json()) == (202, {"status": "accepted"})
    assert ingest().refunds == 1
    assert ledger(gql, finance, influencer) == [
        ("COMMISSION", "AVAILABLE", Decimal("4.99")),
        ("REVERSAL", "AVAILABLE", Decimal("-2.50")),
    ]
    assert balance(gql, finance, influencer) == dec("0", "2.49", "0", "0")

    # 7. Finance pays what is available today.
    created = gql.mutate(
        finance,
        "createPayoutBatch",
        {"currency": "EUR", "asOf": today.isoformat(), "minimumAmount": "0"},
        BATCH,
    )
    assert created["userErrors"] == []
    batch = created["payoutBatch"]
    assert (batch["status"], batch["total"]) == ("DRAFT", {"amount": "2.49"})
    assert batch["lines"] == [{"amount": {"amount": "2.49"}}]
    paid = gql.mutate(
        finance,
        "markPayoutBatchPaid",
        {"payoutBatchId": batch["id"], "reference": "SEPA-1"},
        BATCH,
    )
    assert paid["userErrors"] == []
    assert (paid["payoutBatch"]["status"], paid["payoutBatch"]["reference"]) == ("PAID", "SEPA-1")
    assert balance(gql, finance, influencer) == dec("0", "0", "2.49", "0")
    entries = ledger(gql, finance, influencer)
    assert entries == [
        ("COMMISSION", "PAID", Decimal("4.99")),
        ("REVERSAL", "PAID", Decimal("-2.50")),
        ("PAYOUT", "PAID", Decimal("-2.49")),
    ]
    net = sum(amount for _, _, amount in entries)
    assert net == 0

    # 8. The month's statement CSV sums to the ledger; only FINANCE and ADMIN may export it.
    period = today.strftime("%Y-%m")
    url = f"/exports/statements.csv?period={period}&currency=EUR"
    auth = {"Authorization": f"Bearer {finance}"}
    response = gql.http.get(url, headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = [r for r in _rows(response.text) if r["influencer_id"] == influencer]
    assert [(r["kind"], r["order_id"], r["amount"], r["status"]) for r in rows] == [
        ("COMMISSION", "A-1001", "4.99", "PAID"),
        ("REVERSAL", "A-1001", "-2.50", "PAID"),
        ("PAYOUT", "", "-2.49", "PAID"),
    ]
    assert {r["payout_batch"] for r in rows} == {batch["id"]}
    assert sum(Decimal(r["amount"]) for r in rows) == net
    summary = gql.http.get(f"{url}&summary=1", headers=auth)
    assert summary.status_code == 200, summary.text
    [line] = [r for r in _rows(summary.text) if r["influencer_id"] == influencer]
    assert (line["opening"], line["credits"], line["debits"], line["closing"]) == (
        "0.00",
        "4.99",
        "4.99",
        "0.00",
    )
    forbidden = gql.http.get(url, headers={"Authorization": f"Bearer {manager}"})
    assert forbidden.status_code == 403
