"""Publishing links and postback secrets to Redis (after commit, or by the worker when that
failed), and `republish_all` making Redis match the DB."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, update

from api.db import get_sessionmaker, utcnow
from api.graphql.relay import decode_id
from api.models import BrandPostbackSecret, TrackedLink, TrackerPublication
from api.tracking import publish
from tests.factories import gid
from tests.tracking_fixtures import redis_env_fixture, unseal  # noqa: F401 - redis_env
from tracker import keys
from tracker.events import LinkRecord

LINK = "link { id code active }"
CODE = "discountCode { id code active }"


def ours(redis_env: Any) -> dict[str, str]:
    """Every key the API publishes under the test prefix, with its value."""
    found = {}
    patterns = (keys.link(redis_env.prefix, "*"), keys.brand_secrets(redis_env.prefix, "*"))
    for pattern in patterns:
        for key in redis_env.client.scan_iter(match=pattern, count=1000):
            found[key] = redis_env.client.get(key)
    return found


@pytest.fixture
def issued(gql: Any, factory: Any, db: Any, redis_env: Any) -> dict[str, Any]:
    """A world with three links (one deactivated), two codes (one deactivated) and a brand's
    postback secret."""
    # What earlier tests left queued is published first (migration 0011, run again by the
    # migration tests, queues every brand's secrets it seals), so pending rows are ours.
    while publish.publish_pending(db, publish.redis_client()):
        pass
    w = factory.world()
    key, pid = w["keys"]["MANAGER"], w["partnership"]
    links = [
        gql.mutate(
            key,
            "issueTrackedLink",
            {
                "partnershipId": gid(pid),
                "destinationUrl": f"https://shop.example.com/{i}",
                "utm": {"source": "ig", "content": f"post{i}"},
            },
            LINK,
        )["link"]
        for i in range(3)
    ]
    gql.mutate(key, "deactivateTrackedLink", {"linkId": links[0]["id"]}, LINK)
    codes = [
        gql.mutate(key, "issueDiscountCode", {"partnershipId": gid(pid), "percentOff": p}, CODE)[
            "discountCode"
        ]
        for p in ("10", "20")
    ]
    gql.mutate(key, "deactivateDiscountCode", {"discountCodeId": codes[1]["id"]}, CODE)
    secret = gql.mutate(
        w["keys"]["ADMIN"], "rotatePostbackSecret", {"brandId": gid(w["brand"])}, "secret"
    )["secret"]
    return {**w, "links": links, "codes": codes, "secret": secret}


def pending(db: Any) -> list[tuple[str, int]]:
    rows = db.scalars(select(TrackerPublication).order_by(TrackerPublication.id))
    result = [(r.kind, r.ref_id) for r in rows]
    db.rollback()
    return result


def _republish(**kwargs: Any) -> publish.RepublishCounts:
    with get_sessionmaker()() as session:
        return publish.republish_all(session, publish.redis_client(), **kwargs)


def test_records_as_published(db, issued, redis_env):
    w = issued
    first, second = (keys.link(redis_env.prefix, x["code"]) for x in issued["links"][:2])
    assert not LinkRecord.from_json(redis_env.client.get(first)).active
    record = LinkRecord.from_json(redis_env.client.get(second))
    assert (
        record.link_id,
        record.partnership_id,
        record.campaign_id,
        record.brand_id,
        record.organization_id,
    ) == (
        decode_id(w["links"][1]["id"], "TrackedLink"),
        w["partnership"].id,
        w["campaign"].id,
        w["brand"].id,
        w["org"].id,
    )
    assert record.active and record.destination == "https://shop.example.com/1"
    assert (record.utm.source, record.utm.medium, record.utm.content) == ("ig", None, "post1")
    secrets = json.loads(redis_env.client.get(keys.brand_secrets(redis_env.prefix, w["brand"].id)))
    assert [unseal(x["sealed"]) for x in secrets] == [w["secret"]]
    assert secrets[0]["expires_at"] is None
    # Discount codes are not sent: the tracker passes a postback's code on, the worker looks it up
    assert list(redis_env.client.scan_iter(match=redis_env.prefix + ":dcode:*")) == []
    assert pending(db) == []  # every publication was made and its row deleted


def test_republish_after_flush_restores_everything(db, issued, redis_env):
    before = ours(redis_env)
    assert len(before) >= 5
    redis_env.flush_prefix()
    assert ours(redis_env) == {}
    seen: list[tuple[int, int]] = []
    counts = _republish(batch_size=2, progress=lambda done, total: seen.append((done, total)))
    after = ours(redis_env)
    # byte for byte what the mutations published (the test database may hold other tests' rows,
    # which are published too)
    assert {k: after.get(k) for k in before} == before
    links = db.scalar(select(func.count()).where(TrackedLink.code.is_not(None)))
    brands = db.scalar(select(func.count(BrandPostbackSecret.brand_id.distinct())))
    assert (counts.links, counts.brands, counts.removed) == (links, brands, 0)
    assert len(after) == links + brands
    total = db.scalar(select(func.count()).select_from(TrackedLink))
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) >= 3


def test_republish_overwrites_and_removes_stale_keys(issued, redis_env):
    w = issued
    live = keys.link(redis_env.prefix, w["links"][2]["code"])
    dead = keys.link(redis_env.prefix, w["links"][0]["code"])
    secrets = keys.brand_secrets(redis_env.prefix, w["brand"].id)
    good = ours(redis_env)
    # Redis drifted: a deactivation was missed, records were mangled, keys match no row
    redis_env.client.set(dead, good[live].replace(w["links"][2]["code"], w["links"][0]["code"]))
    redis_env.client.set(live, "garbage")
    redis_env.client.set(secrets, "[]")
    stale = [
        keys.link(redis_env.prefix, "NoSuchCode1"),
        keys.brand_secrets(redis_env.prefix, 999_999_999),  # a brand with no valid secret
        keys.brand_secrets(redis_env.prefix, "not-a-brand"),
        # discount-code records of earlier versions, which the tracker never read
        f"{redis_env.prefix}:dcode:{w['brand'].id}:{w['codes'][0]['code']}",
        redis_env.prefix + ":dcode:not-a-brand:X",
    ]
    for key in stale:
        redis_env.client.set(key, "{}")
    untouched = {
        f"other-{redis_env.prefix}:link:NoSuchCode1",
        f"other-{redis_env.prefix}:brand:1:secrets",
    }
    for key in untouched:
        redis_env.client.set(key, "keep")
    try:
        counts = _republish()
        assert counts.removed == len(stale)
        after = ours(redis_env)
        assert {k: after.get(k) for k in good} == good
        assert not set(stale) & set(after)
        assert all(redis_env.client.get(k) == "keep" for k in untouched)
    finally:
        redis_env.client.delete(*untouched)


def test_deactivation_during_republish_is_not_overwritten(db, issued, redis_env, monkeypatch):
    """A deactivation that commits (and publishes) between republish's read of a batch and its
    write must win."""
    w = issued
    target = decode_id(w["links"][2]["id"], "TrackedLink")
    key = keys.link(redis_env.prefix, w["links"][2]["code"])
    real = publish._apply
    fired: list[bool] = []

    def write_after_deactivation(redis: Any, items: Any) -> int:
        items = list(items)
        if not fired and any(k == key for k, _ in items):
            fired.append(True)
            with get_sessionmaker()() as other:  # the API deactivates and publishes meanwhile
                other.execute(
                    update(TrackedLink)
                    .where(TrackedLink.id == target)
                    .values(active=False, deactivated_at=utcnow())
                )
                row = publish.mark(other, publish.LINK, target)
                other.commit()
                publish.publish_pending(other, publish.redis_client(), ids=[row.id])
        return real(redis, items)

    monkeypatch.setattr(publish, "_apply", write_after_deactivation)
    _republish()
    assert fired
    assert LinkRecord.from_json(redis_env.client.get(key)).active is False


def test_a_failed_publish_is_kept_and_made_by_the_worker_later(
    gql, db, issued, redis_env, monkeypatch, caplog
):
    """Redis away at commit time: the mutation stands, its publication row stays, and
    `publish_pending` (the worker's housekeeping) makes it once Redis answers."""
    w = issued

    class Down:
        def pipeline(self, **_: Any) -> Any:
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(publish, "redis_client", lambda: Down())
    out = gql.mutate(
        w["keys"]["MANAGER"],
        "issueTrackedLink",
        {"partnershipId": gid(w["partnership"]), "destinationUrl": "https://shop.example.com/x"},
        LINK,
    )
    rotated = gql.mutate(
        w["keys"]["ADMIN"], "rotatePostbackSecret", {"brandId": gid(w["brand"])}, "secret"
    )
    monkeypatch.undo()
    link_id = decode_id(out["link"]["id"], "TrackedLink")
    assert out["link"]["code"] and rotated["secret"]
    assert pending(db) == [(publish.LINK, link_id), (publish.BRAND_SECRETS, w["brand"].id)]
    assert any("the worker retries" in r.getMessage() for r in caplog.records)
    key = keys.link(redis_env.prefix, out["link"]["code"])
    assert redis_env.client.get(key) is None
    # The worker leaves rows younger than the grace to the request that wrote them...
    grace = publish.PENDING_GRACE
    assert publish.publish_pending(db, publish.redis_client(), older_than=grace) == 0
    # ...and makes the older ones: the current state, then the rows are gone.
    assert publish.publish_pending(db, publish.redis_client(), older_than=-grace) == 2
    assert LinkRecord.from_json(redis_env.client.get(key)).active
    secrets = json.loads(redis_env.client.get(keys.brand_secrets(redis_env.prefix, w["brand"].id)))
    assert [unseal(x["sealed"]) for x in secrets] == [w["secret"], rotated["secret"]]
    assert pending(db) == []


def test_a_rolled_back_change_publishes_nothing(db, issued, redis_env):
    row = db.scalars(select(TrackedLink).limit(1)).one()
    publish.mark(db, publish.LINK, row.id)
    db.rollback()
    assert pending(db) == []
    with pytest.raises(ValueError, match="unknown publication kind"):
        publish.mark(db, "discount_code", 1)


def test_rows_that_make_no_record_are_skipped_not_fatal(db, issued, redis_env):
    w = issued
    fields = {
        "organization_id": w["org"].id,
        "brand_id": w["brand"].id,
        "campaign_id": w["campaign"].id,
        "partnership_id": w["partnership"].id,
    }
    bad = [
        TrackedLink(**fields, code=None, destination_url="https://shop.example.com/"),
        TrackedLink(**fields, code="BadDest1", destination_url="javascript:alert(1)"),
    ]
    db.add_all(bad)
    db.commit()
    try:
        counts = _republish()
        assert counts.skipped == 2
        assert redis_env.client.get(keys.link(redis_env.prefix, "BadDest1")) is None
        good = keys.link(redis_env.prefix, w["links"][1]["code"])
        assert LinkRecord.from_json(redis_env.client.get(good)).active
    finally:
        for row in bad:
            db.delete(row)
        db.commit()
