"""rotatePostbackSecret: ADMIN only, shown once, old secret kept 24 h, published after commit."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from api.models.ledger import BrandPostbackSecret
from api.settings import get_settings
from api.tracking.publish import redis_client
from tests.factories import gid
from tests.tracking_fixtures import redis_env_fixture, unseal  # noqa: F401 - redis_env
from tracker import keys

ROTATE = "secret brand { id }"


def _count(db):
    db.expire_all()
    return db.scalar(select(func.count()).select_from(BrandPostbackSecret))


def test_rotate_publishes_new_and_keeps_old(gql, factory, db, redis_env):
    w = factory.world()
    first = gql.mutate(
        w["keys"]["ADMIN"], "rotatePostbackSecret", {"brandId": gid(w["brand"])}, ROTATE
    )
    assert first["userErrors"] == [] and first["secret"].startswith("whsec_")
    second = gql.mutate(
        w["keys"]["ADMIN"], "rotatePostbackSecret", {"brandId": gid(w["brand"])}, ROTATE
    )
    assert second["secret"] != first["secret"]
    stored = redis_client().get(keys.brand_secrets(get_settings().redis.prefix, w["brand"].id))
    published = {unseal(s["sealed"]) for s in json.loads(stored)}
    assert {first["secret"], second["secret"]} <= published
    # Shown once: neither the database nor Redis holds a secret in clear, only its token.
    db.expire_all()
    stored_rows = db.scalars(
        select(BrandPostbackSecret.secret).where(BrandPostbackSecret.brand_id == w["brand"].id)
    ).all()
    for clear in (first["secret"], second["secret"]):
        assert clear.encode() not in stored and not [row for row in stored_rows if clear in row]
    assert {unseal(token) for token in stored_rows} == {first["secret"], second["secret"]}


def test_rotate_refused_for_other_roles_and_orgs(gql, factory, db):
    w, other = factory.world(), factory.world()
    before = _count(db)
    for role in ("MANAGER", "FINANCE", "INFLUENCER"):
        result = gql.mutate(
            w["keys"][role], "rotatePostbackSecret", {"brandId": gid(w["brand"])}, ROTATE
        )
        assert result["secret"] is None
        assert result["userErrors"][0]["code"] == "FORBIDDEN"
    result = gql.mutate(
        w["keys"]["ADMIN"], "rotatePostbackSecret", {"brandId": gid(other["brand"])}, ROTATE
    )
    assert result["userErrors"][0]["code"] == "NOT_FOUND" and result["secret"] is None
    assert _count(db) == before
