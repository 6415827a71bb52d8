"""Signed postbacks at the tracker: authentication, validation, dedupe, refunds, races."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aredis
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.db import utcnow
from api.tracking.publish import republish_all
from tests.ingest import seed
from tests.redis_server import free_port
from tracker import keys
from tracker.postbacks import Postbacks, brand_global_id, decode_brand_id, signature_header
from tracker.sealing import sealer
from tracker.settings import secret_keys

SECRET = "whsec_test_secret"
SEALER = sealer(secret_keys())  # the keys the API seals with (the tests' VOUCH_SECRET_KEYS)
BRAND = 7


class Brand:
    """Signs and posts like a brand's server would."""

    def __init__(self, client: Any, brand_id: int = BRAND, secret: str = SECRET) -> None:
        self.client = client
        self.brand_id = brand_id
        self.secret = secret

    def post(
        self,
        path: str,
        body: Any,
        *,
        t: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {
            "content-type": "application/json",
            "vouch-brand": brand_global_id(self.brand_id),
            "vouch-signature": signature_header(secret or self.secret, raw, t),
        }
        sent.update(headers or {})
        return self.client.post(path, content=raw, headers=sent)


def publish(rds: Any, prefix: str, brand_id: int = BRAND, *secrets: tuple[str, Any]) -> None:
    items = secrets or ((SECRET, None),)
    rds.set(
        keys.brand_secrets(prefix, brand_id),
        json.dumps([{"sealed": SEALER.seal(s), "expires_at": e} for s, e in items]),
    )


def app_for(redis_url: str, prefix: str, **kw: Any) -> Starlette:
    clients: list[Any] = []

    def client() -> Any:  # created lazily, inside the test client's event loop
        if not clients:
            clients.append(aredis.Redis.from_url(redis_url))
        return clients[0]

    return Starlette(routes=Postbacks(client, prefix, **({"sealer": SEALER} | kw)).routes())


@pytest.fixture
def brand(redis_url, prefix, rds):
    publish(rds, prefix)
    with TestClient(app_for(redis_url, prefix)) as client:
        yield Brand(client)


def stream(rds: Any, prefix: str) -> list[dict[str, str]]:
    return [
        {k.decode(): v.decode() for k, v in fields.items()}
        for _, fields in rds.xrange(keys.conversions_stream(prefix))
    ]


ORDER = {"order_id": "A-1001", "amount": "49.90", "currency": "eur", "click_id": "CLICK1"}


# --- conversions ------------------------------------------------------------------------------


def test_conversion_is_accepted_and_lands_on_the_stream(brand, rds, prefix):
    body = ORDER | {
        "discount_code": "spring10",
        "customer_id": " c-9 ",
        "occurred_at": "2026-11-20T10:00:00+01:00",
    }
    response = brand.post("/v1/conversions", body)
    assert (response.status_code, response.json()) == (202, {"status": "accepted"})
    [event] = stream(rds, prefix)
    assert event["type"] == "conversion" and event["v"] == "1"
    assert (event["brand_id"], event["order_id"]) == ("7", "A-1001")
    assert (event["amount"], event["currency"]) == ("4990", "EUR")  # minor units, exactly
    assert (event["click_id"], event["discount_code"], event["customer_id"]) == (
        "CLICK1",
        "SPRING10",
        "c-9",
    )
    assert event["occurred_at"] == str(1_795_165_200_000)
    assert len(event["event_id"]) == 26


def test_repeat_is_a_duplicate_and_a_different_amount_or_currency_conflicts(brand, rds, prefix):
    assert brand.post("/v1/conversions", ORDER).status_code == 202
    again = brand.post("/v1/conversions", ORDER | {"amount": "49.9"})  # the same money
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    conflict = brand.post("/v1/conversions", ORDER | {"amount": "59.90"})
    assert conflict.status_code == 409 and conflict.json()["field"] == "amount"
    assert "49.90 EUR" in conflict.json()["error"]
    other = brand.post("/v1/conversions", ORDER | {"currency": "USD"})
    assert other.status_code == 409 and other.json()["field"] == "currency"
    assert len(stream(rds, prefix)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        ({k: v for k, v in ORDER.items() if k != "order_id"}, "order_id"),
        (ORDER | {"order_id": "x" * 129}, "order_id"),
        (ORDER | {"order_id": "a\nb"}, "order_id"),
        (ORDER | {"amount": 49.9}, "amount"),  # a float: never money
        (ORDER | {"amount": "-1.00"}, "amount"),
        (ORDER | {"amount": "49.901"}, "amount"),  # EUR has 2 decimals
        (ORDER | {"amount": "1e3"}, "amount"),
        (ORDER | {"amount": "NaN"}, "amount"),
        (ORDER | {"amount": "12.5", "currency": "JPY"}, "amount"),
        (ORDER | {"amount": "99999999999999.00"}, "amount"),
        ({k: v for k, v in ORDER.items() if k != "amount"}, "amount"),
        (ORDER | {"currency": "EURO"}, "currency"),
        ({k: v for k, v in ORDER.items() if k != "currency"}, "currency"),
        ({k: v for k, v in ORDER.items() if k != "click_id"}, "click_id"),
        (ORDER | {"click_id": "has space"}, "click_id"),
        (ORDER | {"click_id": "x" * 33}, "click_id"),
        (ORDER | {"discount_code": "x" * 65}, "discount_code"),
        (ORDER | {"occurred_at": "yesterday"}, "occurred_at"),
        (ORDER | {"occurred_at": "2026-11-20T10:00:00"}, "occurred_at"),  # no timezone
        (ORDER | {"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at"),
        (ORDER | {"customer_id": ["a"]}, "customer_id"),
    ],
)
def test_bad_input_is_422_naming_the_field(brand, rds, prefix, body, field):
    response = brand.post("/v1/conversions", body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert response.json()["error"]
    assert stream(rds, prefix) == []  # nothing recorded


def test_three_decimal_currency_and_zero_decimal_currency(brand, rds, prefix):
    assert (
        brand.post("/v1/conversions", ORDER | {"amount": "1.234", "currency": "KWD"}).status_code
        == 202
    )
    assert (
        brand.post(
            "/v1/conversions", ORDER | {"order_id": "J", "amount": "1500", "currency": "JPY"}
        ).status_code
        == 202
    )
    assert [e["amount"] for e in stream(rds, prefix)] == ["1234", "1500"]


# --- signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("wrong_secret", "Vouch-Signature"),
        ("stale", "Vouch-Signature"),
        ("future", "Vouch-Signature"),
        ("tampered_body", "Vouch-Signature"),
        ("no_signature", "Vouch-Signature"),
        ("malformed_signature", "Vouch-Signature"),
        ("no_brand", "Vouch-Brand"),
        ("not_a_brand_id", "Vouch-Brand"),
        ("unknown_brand", "Vouch-Brand"),
    ],
)
def test_unauthenticated_postbacks_are_401(brand, rds, prefix, case, field):
    now = int(time.time())
    raw = json.dumps(ORDER).encode()
    headers: dict[str, str] = {}
    t = None
    secret = None
    if case == "wrong_secret":
        secret = "whsec_guess"
    elif case == "stale":
        t = now - 301
    elif case == "future":
        t = now + 301
    elif case == "tampered_body":
        headers["vouch-signature"] = signature_header(SECRET, raw.replace(b"49.90", b"4.90"))
    elif case == "no_signature":
        headers["vouch-signature"] = ""
    elif case == "malformed_signature":
        headers["vouch-signature"] = "sha256=abc"
    elif case == "no_brand":
        headers["vouch-brand"] = ""
    elif case == "not_a_brand_id":
        headers["vouch-brand"] = brand_global_id(BRAND).replace("QnJhbm", "Q2FtcG")
    else:
        headers["vouch-brand"] = brand_global_id(999)
    response = brand.post("/v1/conversions", raw, t=t, secret=secret, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["field"] == field and response.json()["error"]
    assert stream(rds, prefix) == []


def test_timestamps_within_five_minutes_are_accepted(brand):
    now = int(time.time())
    assert brand.post("/v1/conversions", ORDER, t=now - 290).status_code == 202
    assert brand.post("/v1/conversions", ORDER | {"order_id": "B"}, t=now + 290).status_code == 202


def test_brand_global_id_decoding():
    assert decode_brand_id(brand_global_id(42)) == 42
    # only the id as the API spells it: not without its padding, not "Brand:042"
    for bad in ("", "!!!", brand_global_id(0), "Q2FtcGFpZ246MQ==", brand_global_id(42).rstrip("=")):
        with pytest.raises(ValueError):
            decode_brand_id(bad)


def test_rotated_secret_keeps_working_for_24_hours(redis_url, prefix, rds, session):
    w = seed.world(session)
    start = utcnow()
    old = seed.rotate_secret(session, w.brand_id, rds, prefix, now=start)
    new = seed.rotate_secret(session, w.brand_id, rds, prefix, now=start + timedelta(minutes=1))
    assert old != new and new.startswith("whsec_")

    def post(secret: str, order: str, hours: float) -> int:
        clock = lambda: start.timestamp() + hours * 3600  # noqa: E731
        with TestClient(app_for(redis_url, prefix, clock=clock)) as client:
            b = Brand(client, w.brand_id, secret)
            t = int(clock())
            return int(b.post("/v1/conversions", ORDER | {"order_id": order}, t=t).status_code)

    assert post(old, "o1", 1) == 202
    assert post(new, "o2", 1) == 202
    assert post(old, "o3", 23.9) == 202
    assert post(old, "o4", 24.1) == 401  # the grace period is over
    assert post(new, "o5", 24.1) == 202

    # Publishing from the database (start-up, or Redis lost its data) restores the same list.
    rds.delete(keys.brand_secrets(prefix, w.brand_id))
    counts = republish_all(session, rds, prefix=prefix, now=start + timedelta(hours=2))
    assert counts.brands == 1
    assert len(json.loads(rds.get(keys.brand_secrets(prefix, w.brand_id)))) == 2


# --- refunds ----------------------------------------------------------------------------------


def test_refunds_are_checked_against_what_is_left_of_the_order(brand, rds, prefix):
    assert brand.post("/v1/conversions", ORDER | {"amount": "10.00"}).status_code == 202
    refund = {"order_id": "A-1001", "refund_id": "R1", "amount": "6.00"}
    assert brand.post("/v1/refunds", refund).status_code == 202
    again = brand.post("/v1/refunds", refund | {"amount": "6"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    conflict = brand.post("/v1/refunds", refund | {"amount": "5.00"})
    assert conflict.status_code == 409
    too_much = brand.post("/v1/refunds", refund | {"refund_id": "R2", "amount": "4.01"})
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    assert "4.00 EUR left to refund" in too_much.json()["error"]
    whole = brand.post("/v1/refunds", refund | {"refund_id": "R3", "amount": "99.00"})
    assert whole.status_code == 422 and "more than the order" in whole.json()["error"]
    assert (
        brand.post("/v1/refunds", refund | {"refund_id": "R4", "amount": "4.00"}).status_code == 202
    )
    events = [e for e in stream(rds, prefix) if e["type"] == "refund"]
    assert [(e["refund_id"], e["amount"], e["currency"]) for e in events] == [
        ("R1", "6", "EUR"),
        ("R4", "4", "EUR"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"order_id": "A-1001", "amount": "1.00"}, "refund_id"),
        ({"refund_id": "R", "amount": "1.00"}, "order_id"),
        ({"refund_id": "R", "order_id": "A-1001", "amount": "0"}, "amount"),
        ({"refund_id": "R", "order_id": "A-1001", "amount": "-1"}, "amount"),
        ({"refund_id": "R", "order_id": "A-1001", "amount": "1.001"}, "amount"),
        ({"refund_id": "R", "order_id": "A-1001", "amount": "1.5", "currency": "XXX"}, "currency"),
        ({"refund_id": "R", "order_id": "A-1001", "amount": "1.00", "currency": "USD"}, "currency"),
    ],
)
def test_bad_refunds_are_422_naming_the_field(brand, rds, prefix, body, field):
    assert brand.post("/v1/conversions", ORDER).status_code == 202
    response = brand.post("/v1/refunds", body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert [e["type"] for e in stream(rds, prefix)] == ["conversion"]


def test_refund_before_its_order_is_accepted_for_the_worker_to_hold(brand, rds, prefix):
    body = {"order_id": "not-yet", "refund_id": "R1", "amount": "3.50"}
    assert brand.post("/v1/refunds", body).status_code == 202
    [event] = stream(rds, prefix)
    assert (event["type"], event["amount"], event["currency"]) == ("refund", "3.5", "")


# --- races and outages ------------------------------------------------------------------------


def test_racing_postbacks_record_each_order_and_refund_once(redis_url, prefix, rds):
    publish(rds, prefix)
    app = app_for(redis_url, prefix)

    async def main() -> tuple[list[int], list[int]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            b = Brand(client)

            async def post(path: str, body: Any) -> int:
                return (await b.post(path, body)).status_code

            orders = await asyncio.gather(
                *(post("/v1/conversions", ORDER | {"amount": "10.00"}) for _ in range(25))
            )
            refunds = await asyncio.gather(
                *(
                    post(
                        "/v1/refunds",
                        {"order_id": "A-1001", "refund_id": f"R{i}", "amount": "1.00"},
                    )
                    for i in range(25)
                )
            )
            return list(orders), list(refunds)

    orders, refunds = asyncio.run(main())
    assert sorted(orders) == [200] * 24 + [202]
    assert sorted(refunds) == [202] * 10 + [422] * 15  # 10.00 refunds, never more
    assert len(stream(rds, prefix)) == 11


def test_redis_down_is_503_and_records_nothing(rds, prefix):
    app = app_for(f"redis://127.0.0.1:{free_port()}/0", prefix)
    with TestClient(app) as client:
        response = Brand(client).post("/v1/conversions", ORDER)
    assert response.status_code == 503 and "retry" in response.json()["error"]


def test_the_tracker_app_serves_the_postbacks(redis_url, prefix, rds, tmp_path, monkeypatch):
    from tracker.app import TrackerApp
    from tracker.settings import load

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_PREFIX", prefix)
    monkeypatch.setenv("TRACKER_SPOOL_DIR", str(tmp_path / "spool"))
    publish(rds, prefix)
    with TestClient(TrackerApp(load())) as client:
        response = Brand(client).post("/v1/conversions", ORDER)
        assert response.status_code == 202, response.text
        assert client.get("/v1/conversions").status_code == 405
    assert len(stream(rds, prefix)) == 1
