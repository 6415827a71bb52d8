"""Publishing links and discount codes to Redis, and `republish_all` making Redis match the DB."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, update

from api.db import get_sessionmaker, utcnow
from api.graphql.relay import decode_id
from api.models import DiscountCode, TrackedLink
from api.settings import get_settings
from api.tracking import publish
from tests.factories import gid
from tests.tracking_fixtures import redis_env_fixture  # noqa: F401 - redis_env
from tracker import keys
from tracker.events import LinkRecord

LINK = "link { id code active }"
CODE = "discountCode { id code active }"


def ours(redis_env: Any) -> dict[str, str]:
    """Every link and discount-code key under the test prefix, with its value."""
    found = {}
    for pattern in (keys.link(redis_env.prefix, "*"), redis_env.prefix + ":dcode:*"):
        for key in redis_env.client.scan_iter(match=pattern, count=1000):
            found[key] = redis_env.client.get(key)
    return found


@pytest.fixture
def issued(gql: Any, factory: Any, redis_env: Any) -> dict[str, Any]:
    """A world with three links (one deactivated) and two codes (one deactivated)."""
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
    return {**w, "links": links, "codes": codes}


def _republish(**kwargs: Any) -> publish.RepublishCounts:
    with get_sessionmaker()() as session:
        return publish.republish_all(session, publish.redis_client(), **kwargs)


def test_records_as_published(issued, redis_env):
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
    on, off = (keys.discount_code(redis_env.prefix, w["brand"].id, c["code"]) for c in w["codes"])
    assert json.loads(redis_env.client.get(on))["active"] is True
    assert json.loads(redis_env.client.get(off)) == {
        "discount_code_id": decode_id(w["codes"][1]["id"], "DiscountCode"),
        "partnership_id": w["partnership"].id,
        "campaign_id": w["campaign"].id,
        "brand_id": w["brand"].id,
        "organization_id": w["org"].id,
        "code": w["codes"][1]["code"],
        "percent_off_bps": 2000,
        "active": False,
    }


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
    codes = db.scalar(select(func.count()).select_from(DiscountCode))
    assert (counts.links, counts.discount_codes, counts.removed) == (links, codes, 0)
    assert len(after) == links + codes
    total = db.scalar(select(func.count()).select_from(TrackedLink)) + codes
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) >= 3


def test_republish_overwrites_and_removes_stale_keys(issued, redis_env):
    w = issued
    live = keys.link(redis_env.prefix, w["links"][2]["code"])
    dead = keys.link(redis_env.prefix, w["links"][0]["code"])
    code = keys.discount_code(redis_env.prefix, w["brand"].id, w["codes"][1]["code"])
    good = ours(redis_env)
    # Redis drifted: a deactivation was missed, a record was mangled, keys match no row
    redis_env.client.set(dead, good[live].replace(w["links"][2]["code"], w["links"][0]["code"]))
    redis_env.client.set(code, good[code].replace('"active":false', '"active":true'))
    redis_env.client.set(live, "garbage")
    stale = [
        keys.link(redis_env.prefix, "NoSuchCode1"),
        keys.discount_code(redis_env.prefix, w["brand"].id, "GHOST10"),
        keys.discount_code(redis_env.prefix, 999_999_999, w["codes"][0]["code"]),
        redis_env.prefix + ":dcode:not-a-brand:X",
        f"{redis_env.prefix}:dcode:{w['brand'].id}:lower10",
    ]
    for key in stale:
        redis_env.client.set(key, "{}")
    untouched = {
        f"other-{redis_env.prefix}:link:NoSuchCode1",
        f"{redis_env.prefix}:brand:1:secrets",
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
    real = publish._write
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
                other.commit()
                row = other.get_one(TrackedLink, target)
                publish.publish_link(publish.redis_client(), get_settings(), row)
        return real(redis, items)

    monkeypatch.setattr(publish, "_write", write_after_deactivation)
    _republish()
    assert fired
    assert LinkRecord.from_json(redis_env.client.get(key)).active is False


def test_publish_failure_is_logged_not_raised(issued, redis_env, monkeypatch, caplog):
    class Down:
        def set(self, *args: Any) -> None:
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(publish, "redis_client", lambda: Down())
    with get_sessionmaker()() as session:
        row = session.scalars(select(TrackedLink).limit(1)).one()
        code = session.scalars(select(DiscountCode).limit(1)).one()
    settings = get_settings()
    publish.after_commit_link(settings, row)()
    publish.after_commit_discount_code(settings, code)()
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"tracked link {row.id}" in m for m in messages)
    assert any(f"discount code {code.id}" in m for m in messages)


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
