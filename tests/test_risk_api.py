"""The creator-risk score end to end: the facts the ingest keeps (click-to-order seconds, the
click's IP hash, the order's referrer, leaked orders at the plan's rate with the reason on the
ledger entry), the stored scores (`api.risk.recompute`) and the leak event once an episode,
`Influencer.risk` / `Partnership.risk` by role and tenant, the brand's hold level holding new
commissions with the reasons, batch reviews with their audit records, and rotating a code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.domain.commission import Commission, CommissionKind, CompensationPlan
from api.ingest.conversions import Context, ingest_conversion
from api.models import (
    Click,
    ContentEvent,
    Conversion,
    ConversionReview,
    DiscountCode,
    LedgerEntry,
    PartnershipRisk,
    TrackedLink,
)
from api.models.events import ConversionStatus
from api.risk import recompute
from tests.factories import gid
from tracker.conversions import ConversionEvent

NOW = datetime.now(UTC).replace(microsecond=0)
RISK = "risk { score level reasons { code weight message evidence } computedAt }"


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@pytest.fixture
def w(factory: Any, db: Any) -> dict[str, Any]:
    world = factory.world()
    world["influencer"].customer_ids = ["me@creator.example"]
    world["campaign"].compensation = CompensationPlan(
        currency="EUR",
        commission=Commission(CommissionKind.PERCENT, bps=1000),
        leaked_order_bps=0,
    ).to_dict()
    p = world["partnership"]
    link = TrackedLink(
        organization_id=p.organization_id,
        brand_id=world["brand"].id,
        campaign_id=p.campaign_id,
        partnership_id=p.id,
        code=f"lnk{p.id}",
        destination_url="https://shop.example.com/spring",
    )
    code = DiscountCode(
        organization_id=p.organization_id,
        brand_id=world["brand"].id,
        campaign_id=p.campaign_id,
        partnership_id=p.id,
        code=f"MAYA{p.id}",
        percent_off_bps=1500,
    )
    db.add_all([link, code])
    db.commit()
    world["link"], world["code"] = link, code
    return world


def click(db: Any, w: dict[str, Any], n: int, at: datetime, ip: str = "ip-1") -> str:
    p = w["partnership"]
    click_id = f"c{p.id}x{n}"
    db.add(
        Click(
            click_id=click_id,
            organization_id=p.organization_id,
            link_id=w["link"].id,
            partnership_id=p.id,
            campaign_id=p.campaign_id,
            occurred_at=at,
            ip_hash=ip,
        )
    )
    db.commit()
    return click_id


def order(
    db: Any, w: dict[str, Any], order_id: str, at: datetime | None = None, **kw: Any
) -> Conversion:
    at = at or NOW - timedelta(hours=1)
    event = ConversionEvent(
        event_id=f"ev-{order_id}",
        brand_id=w["brand"].id,
        order_id=order_id,
        amount=kw.pop("amount", 10_000),
        currency="EUR",
        occurred_at_ms=_ms(at),
        received_at_ms=_ms(at),
        **kw,
    )
    ingest_conversion(db, event, Context(NOW))
    db.commit()
    db.expire_all()
    return db.scalars(
        select(Conversion).where(
            Conversion.brand_id == w["brand"].id, Conversion.order_id == order_id
        )
    ).one()


def plant(db: Any, w: dict[str, Any]) -> None:
    """A creator buying through their own link, seconds after the click, and a code on deal
    sites."""
    code = w["code"].code
    for n in range(4):
        at = NOW - timedelta(days=3, hours=n)
        cid = click(db, w, n, at, ip="ip-farm")
        order(db, w, f"fast-{n}", at + timedelta(seconds=3), click_id=cid)
    for n in range(3):
        order(db, w, f"self-{n}", discount_code=code, customer_id="ME@creator.example ")
    for n in range(2):
        order(db, w, f"deal-{n}", discount_code=code, referrer="https://www.dealabs.com/bons")


def test_the_ingest_keeps_the_facts_and_prices_leaked_orders_at_the_plans_rate(db, w):
    at = NOW - timedelta(hours=5)
    fast = order(db, w, "o1", at + timedelta(seconds=4), click_id=click(db, w, 1, at))
    assert fast.click_seconds == 4 and fast.ip_hash == "ip-1" and fast.leak_reason is None
    assert fast.status == ConversionStatus.HELD and fast.hold_reasons == ["FAST_CONVERSION"]
    leaked = order(
        db, w, "o2", discount_code=w["code"].code, referrer="https://www.RetailMeNot.com/x?y=1"
    )
    assert leaked.order_referrer_host == "retailmenot.com" and leaked.click_seconds is None
    assert leaked.leak_reason == "the order came from the coupon site retailmenot.com"
    assert leaked.status == ConversionStatus.APPROVED
    (entry,) = db.scalars(select(LedgerEntry).where(LedgerEntry.conversion_id == leaked.id))
    assert entry.amount == 0 and "leaked discount code" in entry.memo and "0%" in entry.memo
    honest = order(db, w, "o3", discount_code=w["code"].code, referrer="https://instagram.com/")
    assert honest.leak_reason is None and honest.order_referrer_host == "instagram.com"
    (paid,) = db.scalars(select(LedgerEntry).where(LedgerEntry.conversion_id == honest.id))
    assert paid.amount == 1_000


def test_planted_patterns_raise_their_signals_and_the_leak_event_once(db, w, gql):
    plant(db, w)
    recompute.recompute_partnerships(db, [w["partnership"]], now=NOW)
    db.commit()
    row = db.get(PartnershipRisk, w["partnership"].id)
    codes = [r["code"] for r in row.reasons]
    assert {"FAST_ORDERS", "SELF_REFERRAL", "REPEATED_BUYER", "COUPON_SITE_ORDERS"} <= set(codes)
    assert row.level in ("HIGH", "CRITICAL") and row.score >= 50
    code = db.get(DiscountCode, w["code"].id)
    assert code.leak_suspected_at is not None
    recompute.recompute_partnerships(db, [w["partnership"]], now=NOW + timedelta(minutes=5))
    db.commit()
    leaks = db.scalars(
        select(ContentEvent).where(ContentEvent.type == "discount_code.leak_suspected")
    ).all()
    assert len(leaks) == 1 and leaks[0].payload["code"] == code.code
    assert leaks[0].payload["reasons"][0]["code"] == "COUPON_SITE_ORDERS"

    manager = w["keys"]["MANAGER"]
    q = "query($id: ID!) { node(id: $id) { ... on Partnership { " + RISK + " } } }"
    seen = gql(manager, q, id=gid(w["partnership"]))["node"]["risk"]
    assert seen["score"] == row.score and seen["level"] == row.level
    weights = [r["weight"] for r in seen["reasons"]]
    assert weights == sorted(weights, reverse=True)
    fast = next(r for r in seen["reasons"] if r["code"] == "FAST_ORDERS")
    assert fast["evidence"]["fastOrders"] == 4 and "less than 10 s" in fast["message"]
    qi = "query($id: ID!) { node(id: $id) { ... on Influencer { " + RISK + " } } }"
    mine = gql(manager, qi, id=gid(w["influencer"]))["node"]["risk"]
    assert mine["score"] == row.score  # one partnership: the same signals
    # The creator sees none of it, not even their own; another organization sees nothing.
    creator = w["keys"]["INFLUENCER"]
    assert gql(creator, q, id=gid(w["partnership"]))["node"]["risk"] is None
    assert gql(creator, qi, id=gid(w["influencer"]))["node"]["risk"] is None
    cq = "query($id: ID!) { node(id: $id) { ... on DiscountCode { leakSuspectedAt } } }"
    assert gql(manager, cq, id=gid(code))["node"]["leakSuspectedAt"] is not None
    assert gql(creator, cq, id=gid(code))["node"]["leakSuspectedAt"] is None


def test_an_honest_partnership_stays_low_and_its_leak_mark_clears(db, w):
    for n in range(6):
        at = NOW - timedelta(days=n + 1)
        order(db, w, f"ok-{n}", at + timedelta(minutes=40), click_id=click(db, w, n, at, f"ip{n}"))
    db.get(DiscountCode, w["code"].id).leak_suspected_at = NOW - timedelta(days=2)
    db.commit()
    (row,) = recompute.recompute_partnerships(db, [w["partnership"]], now=NOW)
    db.commit()
    assert (row.score, row.level, row.reasons) == (0, "LOW", [])
    assert db.get(DiscountCode, w["code"].id).leak_suspected_at is None


def test_risk_is_scoped_to_the_organization(db, w, gql, factory):
    plant(db, w)
    recompute.recompute_partnerships(db, [w["partnership"]], now=NOW)
    db.commit()
    other = factory.world()
    q = "query($id: ID!) { node(id: $id) { ... on Partnership { id " + RISK + " } } }"
    assert gql(other["keys"]["ADMIN"], q, id=gid(w["partnership"]))["node"] is None


def test_the_brands_hold_level_holds_new_commissions_with_the_reasons(db, w, gql, factory):
    admin = w["keys"]["ADMIN"]
    select_ = "brand { id riskHoldLevel }"
    brand = gid(w["brand"])
    other = factory.world()
    for key, input, field, code in [
        (w["keys"]["MANAGER"], {"brandId": brand, "holdLevel": "HIGH"}, None, "FORBIDDEN"),
        (w["keys"]["FINANCE"], {"brandId": brand, "holdLevel": "HIGH"}, None, "FORBIDDEN"),
        (admin, {"brandId": gid(other["brand"]), "holdLevel": "HIGH"}, "brandId", "NOT_FOUND"),
        (admin, {"brandId": gid(w["partnership"]), "holdLevel": "HIGH"}, "brandId", "NOT_FOUND"),
    ]:
        bad = gql.mutate(key, "setRiskPolicy", input, select_)
        assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [(field, code)]
    not_a_level = "mutation($i: SetRiskPolicyInput!) { setRiskPolicy(input: $i) { brand { id } } }"
    (error,) = gql.errors(admin, not_a_level, i={"brandId": brand, "holdLevel": "SEVERE"})
    assert "SEVERE" in error["message"]
    ok = gql.mutate(admin, "setRiskPolicy", {"brandId": brand, "holdLevel": "HIGH"}, select_)
    assert ok["userErrors"] == [] and ok["brand"]["riskHoldLevel"] == "HIGH"
    before = order(db, w, "before", customer_id="someone")  # no code nor click: unattributed
    plant(db, w)
    recompute.recompute_partnerships(db, [w["partnership"]], now=NOW)
    db.commit()
    held = [
        order(db, w, f"new-{n}", discount_code=w["code"].code, customer_id=f"c{n}")
        for n in range(2)
    ]
    for conversion in held:
        assert conversion.status == ConversionStatus.HELD
        assert conversion.hold_reasons == ["RISK_SCORE"]
        assert conversion.review_reason.startswith("creator risk ")
        assert "FAST_ORDERS (+25)" in conversion.review_reason
    assert not db.scalars(select(LedgerEntry).where(LedgerEntry.conversion_id == held[0].id)).all()
    q = "query($id: ID!) { node(id: $id) { ... on Brand { riskHoldLevel } } }"
    assert gql(w["keys"]["INFLUENCER"], q, id=brand)["node"]["riskHoldLevel"] is None
    off = gql.mutate(admin, "setRiskPolicy", {"brandId": brand, "holdLevel": None}, select_)
    assert off["brand"]["riskHoldLevel"] is None
    after = order(db, w, "after", discount_code=w["code"].code, customer_id="c9")
    assert after.status == ConversionStatus.APPROVED
    assert before.status == ConversionStatus.UNATTRIBUTED


REVIEW = "conversions { id status } "


def test_review_conversions_decides_a_batch_with_an_audit_record_each(db, w, gql, factory):
    finance = w["keys"]["FINANCE"]
    held = [
        order(db, w, f"h{n}", customer_id="me@creator.example", discount_code=w["code"].code)
        for n in range(3)
    ]
    assert all(c.status == ConversionStatus.HELD for c in held)
    stray = order(db, w, "stray", customer_id="x")  # unattributed: nothing to review
    other = factory.world()
    ids = [gid(c) for c in held]
    for key, input, field, code in [
        (w["keys"]["MANAGER"], {"conversionIds": ids, "decision": "APPROVE"}, None, "FORBIDDEN"),
        (w["keys"]["INFLUENCER"], {"conversionIds": ids, "decision": "APPROVE"}, None, "FORBIDDEN"),
        (finance, {"conversionIds": [], "decision": "APPROVE"}, "conversionIds", "REQUIRED"),
        (
            finance,
            {"conversionIds": ids, "decision": "APPROVE", "note": "x" * 2001},
            "note",
            "TOO_LONG",
        ),
    ]:
        bad = gql.mutate(key, "reviewConversions", input, REVIEW)
        assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [(field, code)]
    too_many = [gid(w["partnership"])[:-1] + str(n) for n in range(101)]
    bad = gql.mutate(
        finance, "reviewConversions", {"conversionIds": too_many, "decision": "APPROVE"}, REVIEW
    )
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [("conversionIds", "TOO_LONG")]
    foreign = order(db, other, "theirs", customer_id="y")
    for bad_id, field in [(gid(foreign), "conversionIds.1"), ("nope", "conversionIds.1")]:
        bad = gql.mutate(
            finance,
            "reviewConversions",
            {"conversionIds": [ids[0], bad_id], "decision": "APPROVE"},
            REVIEW,
        )
        assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [(field, "NOT_FOUND")]
    # All or none: an order that cannot be decided refuses the batch and nothing changes.
    bad = gql.mutate(
        finance,
        "reviewConversions",
        {"conversionIds": [ids[0], gid(stray)], "decision": "REJECT"},
        REVIEW,
    )
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [
        ("conversionIds.1", "NOT_ATTRIBUTED")
    ]
    db.expire_all()
    assert db.get(Conversion, held[0].id).status == ConversionStatus.HELD
    # (other tests' reviews share the database: only this test's orders are looked at)
    mine = [c.id for c in held] + [stray.id]
    assert (
        db.scalars(select(ConversionReview).where(ConversionReview.conversion_id.in_(mine))).all()
        == []
    )
    ok = gql.mutate(
        finance,
        "reviewConversions",
        {"conversionIds": ids[:2] + ids[:1], "decision": "APPROVE", "note": "checked the orders"},
        REVIEW,
    )
    assert ok["userErrors"] == [] and [c["status"] for c in ok["conversions"]] == ["APPROVED"] * 2
    one = gql.mutate(
        finance,
        "reviewConversion",
        {"conversionId": ids[2], "decision": "REJECT", "reason": "self"},
        "conversion { status }",
    )
    assert one["conversion"]["status"] == "REJECTED"
    db.expire_all()
    reviews = db.scalars(
        select(ConversionReview)
        .where(ConversionReview.conversion_id.in_(mine))
        .order_by(ConversionReview.id)
    ).all()
    assert [(r.conversion_id, r.decision, r.status_before, r.status_after) for r in reviews] == [
        (held[0].id, "APPROVE", "HELD", "APPROVED"),
        (held[1].id, "APPROVE", "HELD", "APPROVED"),
        (held[2].id, "REJECT", "HELD", "REJECTED"),
    ]
    assert reviews[0].batch_id == reviews[1].batch_id and reviews[0].batch_id is not None
    assert reviews[2].batch_id is None and reviews[2].note == "self"
    assert reviews[0].note == "checked the orders" and reviews[0].hold_reasons == ["SELF_REFERRAL"]
    assert reviews[0].held_because is None  # a self-referral hold has no text of its own
    assert all(r.reviewed_by for r in reviews)


ROTATED = "discountCode { id code active percentOff rotatedFrom { id code active } }"


def test_rotate_discount_code(db, w, gql, factory):
    manager = w["keys"]["MANAGER"]
    old = gid(w["code"])
    other = factory.world()
    for key, input, field, code in [
        (w["keys"]["INFLUENCER"], {"discountCodeId": old}, None, "FORBIDDEN"),
        (w["keys"]["FINANCE"], {"discountCodeId": old}, None, "FORBIDDEN"),
        (other["keys"]["MANAGER"], {"discountCodeId": old}, "discountCodeId", "NOT_FOUND"),
        (manager, {"discountCodeId": old, "newCode": "no!"}, "newCode", "INVALID"),
        (
            manager,
            {"discountCodeId": old, "newCode": w["code"].code.lower()},
            "newCode",
            "DUPLICATE",
        ),
    ]:
        bad = gql.mutate(key, "rotateDiscountCode", input, ROTATED)
        assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [(field, code)]
    ok = gql.mutate(
        manager, "rotateDiscountCode", {"discountCodeId": old, "newCode": "maya2026"}, ROTATED
    )
    assert ok["userErrors"] == []
    new = ok["discountCode"]
    assert new["code"] == "MAYA2026" and new["active"] and new["percentOff"] == "15"
    assert new["rotatedFrom"] == {"id": old, "code": w["code"].code, "active": False}
    again = gql.mutate(manager, "rotateDiscountCode", {"discountCodeId": old}, ROTATED)
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_TRANSITION"]
    # The old code no longer earns; the new one does, for the same partnership.
    db.expire_all()
    assert order(db, w, "old", discount_code=w["code"].code).status == ConversionStatus.UNATTRIBUTED
    fresh = order(db, w, "fresh", discount_code="MAYA2026")
    assert fresh.partnership_id == w["partnership"].id and fresh.status == ConversionStatus.APPROVED
    defaulted = gql.mutate(manager, "rotateDiscountCode", {"discountCodeId": new["id"]}, ROTATED)
    assert defaulted["userErrors"] == [] and defaulted["discountCode"]["code"] != "MAYA2026"


def test_recompute_all_is_resumable(db, w, factory):
    second = factory.partnership(w["campaign"], factory.influencer(w["org"]))
    batches: list[int] = []
    report = recompute.recompute_all(db, [], batch=1, on_batch=lambda r: batches.append(r.last_id))
    assert report.done >= 2 and batches == sorted(batches)
    db.delete(db.get(PartnershipRisk, second.id))
    db.commit()
    resumed = recompute.recompute_all(db, [], after_id=w["partnership"].id)
    assert resumed.done >= 1 and db.get(PartnershipRisk, second.id) is not None


def test_the_worker_refreshes_partnerships_with_new_orders(db, w):
    assert recompute.refresh_new_orders(db) == 0  # the first call only marks where it starts
    plant(db, w)
    assert recompute.refresh_new_orders(db) == 1
    db.commit()
    assert db.get(PartnershipRisk, w["partnership"].id).level in ("HIGH", "CRITICAL")
    assert recompute.refresh_new_orders(db) == 0


def test_a_risk_hold_reads_plainly_to_the_creator(db, w, gql):
    w["brand"].risk_hold_level = "MEDIUM"
    db.commit()
    plant(db, w)
    recompute.recompute_partnerships(db, [w["partnership"]], now=NOW)
    db.commit()
    held = order(db, w, "held", discount_code=w["code"].code, customer_id="c1")
    leaked = order(db, w, "deal-x", discount_code=w["code"].code, referrer="groupon.com")
    q = (
        "query($id: ID!) { node(id: $id) { ... on Conversion { status holdReasons "
        "reviewReason leakReason } } }"
    )
    brand_view = gql(w["keys"]["FINANCE"], q, id=gid(held))["node"]
    assert brand_view["holdReasons"] == ["RISK_SCORE"]
    assert brand_view["reviewReason"].startswith("creator risk")
    creator_view = gql(w["keys"]["INFLUENCER"], q, id=gid(held))["node"]
    assert creator_view["status"] == "HELD" and creator_view["holdReasons"] == ["RISK_SCORE"]
    assert creator_view["reviewReason"] == "held for the brand's review"
    leak = gql(w["keys"]["INFLUENCER"], q, id=gid(leaked))["node"]["leakReason"]
    assert leak == "the order came from the coupon site groupon.com"


def test_the_postbacks_referrer_is_checked_and_carried_to_the_worker():
    from tracker.conversions import FieldError, from_fields

    body = {"order_id": "A1", "amount": "10", "currency": "EUR", "discount_code": "maya15"}
    kw = {"brand_id": 1, "event_id": "e1", "now_ms": _ms(NOW)}
    event = ConversionEvent.from_body({**body, "referrer": " https://dealabs.com/x "}, **kw)
    assert event.referrer == "https://dealabs.com/x"
    assert from_fields(event.to_fields()) == event
    assert ConversionEvent.from_body(body, **kw).to_fields()["referrer"] == ""
    assert from_fields(ConversionEvent.from_body(body, **kw).to_fields()).referrer is None
    for bad in (12, "x" * 1025, "https://a.example/\x00"):
        with pytest.raises(FieldError) as caught:
            ConversionEvent.from_body({**body, "referrer": bad}, **kw)
        assert caught.value.field == "referrer"
