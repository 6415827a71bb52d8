"""Each event is owed once, from the code path that makes its change, in its transaction:
ingest, reviews, refunds, the ledger, payouts, partnerships and content."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from api.db import utcnow
from api.finance.payouts import create_payout_batch, mark_paid
from api.ingest.conversions import Context, ingest_conversions, ingest_refund
from api.ledger.posting import approve_conversion, reject_conversion
from api.models import Conversion, WebhookEvent
from api.webhooks import endpoints
from api.webhooks.events import EVENT_TYPES
from tests.factories import gid
from tests.ingest import seed
from tracker.globalid import encode


def _subscribe(db: Any, org_id: int) -> None:
    endpoints.create(db, org_id, "https://hooks.example.com/all", EVENT_TYPES, None)
    db.commit()


def _sent(db: Any, org_id: int) -> list[dict[str, Any]]:
    db.commit()
    rows = db.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.organization_id == org_id)
        .order_by(WebhookEvent.created_at, WebhookEvent.id)
    )
    return [r.payload for r in rows]


def _count(payloads: list[dict[str, Any]]) -> Counter[str]:
    return Counter(p["type"] for p in payloads)


def _of(payloads: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [p["data"] for p in payloads if p["type"] == event_type]


def test_conversions_reviews_refunds_and_the_ledger(db):
    w = seed.world(db, customer_ids=["self-1"])
    _subscribe(db, w.org_id)
    code = w.p.discount_code
    ctx = Context(utcnow())
    ingest_conversions(
        db,
        [
            seed.conversion(w, "paid", 12_34, code=code),
            seed.conversion(w, "own", 5_000, code=code, customer_id="self-1"),  # held: self
            seed.conversion(w, "usd", 7_000, code=code, currency="USD"),  # held: no USD plan
        ],
        ctx,
    )
    ingest_refund(db, seed.refund(w, "r1", "paid", "2.00"), ctx)
    db.commit()
    sent = _sent(db, w.org_id)
    assert _count(sent) == {
        "conversion.created": 3,
        "conversion.held": 2,
        "ledger.entry.created": 2,  # the commission and its reversal
        "conversion.reversed": 1,
    }
    paid = db.scalar(select(Conversion).where(Conversion.order_id == "paid"))
    created = _of(sent, "conversion.created")[0]["conversion"]
    assert created == {
        "id": encode("Conversion", paid.id),
        "orderId": "paid",
        "status": "APPROVED",
        "amount": {"amount": "12.34", "currency": "EUR"},
        "brandId": encode("Brand", w.brand_id),
        "campaignId": encode("Campaign", w.p.campaign_id),
        "partnershipId": encode("Partnership", w.p.partnership_id),
        "influencerId": encode("Influencer", w.p.influencer_id),
        "attributedVia": "DISCOUNT_CODE",
        "holdReasons": [],
        "occurredAt": paid.occurred_at.isoformat(),
    }
    held = {d["conversion"]["orderId"]: d["conversion"] for d in _of(sent, "conversion.held")}
    assert set(held) == {"own", "usd"}
    assert all(c["status"] == "HELD" and c["holdReasons"] for c in held.values())
    commission, reversal = (d["entry"] for d in _of(sent, "ledger.entry.created"))
    assert (commission["kind"], commission["amount"]) == (
        "COMMISSION",
        {"amount": "1.23", "currency": "EUR"},
    )
    [refunded] = _of(sent, "conversion.reversed")
    assert refunded["reason"] == "REFUND" and refunded["entry"]["id"] == reversal["id"]
    assert reversal["amount"] == {"amount": "-0.20", "currency": "EUR"}
    assert sent[0]["version"] == EVENT_TYPES[sent[0]["type"]] == 1

    own = db.scalar(select(Conversion).where(Conversion.order_id == "own"))
    usd = db.scalar(select(Conversion).where(Conversion.order_id == "usd"))
    approve_conversion(db, own, "finance")
    approve_conversion(db, own, "finance")  # no change: no event
    reject_conversion(db, usd, "finance", "wrong shop")
    db.commit()
    later = _sent(db, w.org_id)[len(sent) :]
    assert _count(later) == {
        "conversion.approved": 1,
        "ledger.entry.created": 1,
        "conversion.reversed": 1,
    }
    [rejected] = _of(later, "conversion.reversed")
    assert (rejected["reason"], rejected["entry"]) == ("REJECTED", None)
    assert rejected["conversion"]["status"] == "REJECTED"


def test_payout_batches(db):
    w = seed.world(db, hold_days=0)
    _subscribe(db, w.org_id)
    ingest_conversions(
        db, [seed.conversion(w, "o1", 10_000, code=w.p.discount_code)], Context(utcnow())
    )
    db.commit()
    before = len(_sent(db, w.org_id))
    batch = create_payout_batch(db, w.org_id, "EUR", utcnow().date(), 0)
    create_payout_batch(db, w.org_id, "EUR", utcnow().date(), 0)  # the same batch: no event
    mark_paid(db, batch, "TR-1")
    db.commit()
    sent = _sent(db, w.org_id)[before:]
    assert _count(sent) == {
        "payout_batch.created": 1,
        "ledger.entry.created": 1,
        "payout_batch.paid": 1,
    }
    created, paid = _of(sent, "payout_batch.created")[0], _of(sent, "payout_batch.paid")[0]
    assert created["payoutBatch"]["status"] == "DRAFT"
    assert paid["payoutBatch"] == {
        "id": encode("PayoutBatch", batch.id),
        "status": "PAID",
        "currency": "EUR",
        "asOf": batch.as_of.isoformat(),
        "total": {"amount": "10.00", "currency": "EUR"},
        "lines": 1,
        "paidAt": batch.paid_at.isoformat(),
        "reference": "TR-1",
    }
    [payout] = _of(sent, "ledger.entry.created")
    assert payout["entry"]["kind"] == "PAYOUT"
    assert payout["entry"]["amount"] == {"amount": "-10.00", "currency": "EUR"}


def test_partnerships_and_content(gql, db, factory):
    w = factory.world()
    _subscribe(db, w["org"].id)
    manager, influencer = w["keys"]["MANAGER"], w["keys"]["INFLUENCER"]
    deliverable = factory.deliverable(w["partnership"])
    ref = {"deliverableId": gid(deliverable)}
    fields = "userErrors { code }"
    assert (
        gql.mutate(influencer, "submitContent", {**ref, "caption": "Loving it"}, fields)[
            "userErrors"
        ]
        == []
    )
    gql.mutate(
        manager,
        "reviewDeliverable",
        {**ref, "decision": "REQUEST_CHANGES", "feedback": "ad"},
        fields,
    )
    gql.mutate(influencer, "submitContent", {**ref, "caption": "#ad Loving it"}, fields)
    assert (
        gql.mutate(manager, "reviewDeliverable", {**ref, "decision": "APPROVE"}, fields)[
            "userErrors"
        ]
        == []
    )
    out = gql.mutate(
        manager, "markDeliverablePublished", {**ref, "url": "https://instagram.com/p/x"}, fields
    )
    assert out["userErrors"] == []
    reading = {
        **ref,
        "capturedAt": utcnow().isoformat(),
        "impressions": 1200,
        "reach": 900,
        "likes": 80,
        "source": "MANUAL",
    }
    for _ in range(2):  # the same snapshot again changes nothing and owes nothing
        assert gql.mutate(manager, "recordPostMetrics", reading, fields)["userErrors"] == []
    out = gql.mutate(
        manager,
        "transitionPartnership",
        {"partnershipId": gid(w["partnership"]), "status": "COMPLETED"},
        fields,
    )
    assert out["userErrors"] == []
    sent = _sent(db, w["org"].id)
    assert _count(sent) == {
        "deliverable.submitted": 2,
        "disclosure.failed": 1,
        "deliverable.approved": 1,
        "deliverable.published": 1,
        "post_metrics.recorded": 1,
        "partnership.status_changed": 1,
    }
    [metrics] = _of(sent, "post_metrics.recorded")
    assert metrics["deliverable"]["id"] == gid(deliverable) and metrics["source"] == "MANUAL"
    assert metrics["metrics"] == {
        "impressions": 1200,
        "reach": 900,
        "views": None,
        "likes": 80,
        "comments": None,
        "shares": None,
        "saves": None,
        "linkClicks": None,
    }
    [failed] = _of(sent, "disclosure.failed")
    assert failed["deliverable"]["id"] == gid(deliverable)
    assert failed["submission"]["disclosureVerdict"] == "FAIL" and failed["failures"]
    [published] = _of(sent, "deliverable.published")
    assert published["deliverable"]["publishedUrl"] == "https://instagram.com/p/x"
    [changed] = _of(sent, "partnership.status_changed")
    assert changed == {
        "partnership": {
            "id": gid(w["partnership"]),
            "status": "COMPLETED",
            "campaignId": gid(w["campaign"]),
            "influencerId": gid(w["influencer"]),
        },
        "previousStatus": "ACTIVE",
    }


def test_live_post_events_are_owed_once(db, factory):
    """`record_event` (findings after a post goes live, usage rights) keeps an event once per
    dedupe key and owes it to the subscribed endpoints in the same transaction."""
    from api.content.live_events import record_event

    w = factory.world()
    _subscribe(db, w["org"].id)
    payload = {"deliverableId": "RGVsaXZlcmFibGU6MQ==", "expiresAt": "2027-01-01T00:00:00+00:00"}
    for _ in range(2):
        record_event(db, w["org"].id, "usage_rights.expiring", payload, "usage_rights.expiring:1")
    sent = _sent(db, w["org"].id)
    assert _count(sent) == {"usage_rights.expiring": 1}
    assert _of(sent, "usage_rights.expiring") == [payload]
