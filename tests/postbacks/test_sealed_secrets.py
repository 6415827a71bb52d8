"""Postback secrets sealed at rest (`tracker.sealing`): the database row and the Redis record
hold a token, never the secret; the tracker unseals it to verify, refuses (401) what it cannot
unseal; a new key seals from then on, the old one still unseals, and `reencrypt` moves every
row (and the tracker's copy) to the new key."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from api.db import utcnow
from api.models import BrandPostbackSecret
from api.settings import reset_settings
from api.tracking import postback_secrets, publish
from tests.ingest import seed
from tests.postbacks.test_postbacks import BRAND, ORDER, SEALER, SECRET, Brand, app_for
from tracker import keys
from tracker.sealing import Sealer, Unsealable, new_key, sealer
from tracker.settings import secret_keys

OLD = secret_keys()[0]  # the tests' key, as VOUCH_SECRET_KEYS sets it


def post(redis_url: str, prefix: str, brand_id: int, secret: str, order: str, **kw: Any) -> Any:
    with TestClient(app_for(redis_url, prefix, **kw)) as client:
        return Brand(client, brand_id, secret).post("/v1/conversions", ORDER | {"order_id": order})


def rows(session: Any, brand_id: int) -> list[BrandPostbackSecret]:
    session.expire_all()
    stmt = select(BrandPostbackSecret).where(BrandPostbackSecret.brand_id == brand_id)
    return list(session.scalars(stmt.order_by(BrandPostbackSecret.id)))


def published(rds: Any, prefix: str, brand_id: int) -> list[str]:
    return [item["sealed"] for item in json.loads(rds.get(keys.brand_secrets(prefix, brand_id)))]


def mark(session: Any, brand_id: int) -> None:
    publish.mark(session, publish.BRAND_SECRETS, brand_id)


@pytest.fixture
def new_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new key put first in VOUCH_SECRET_KEYS (the old one kept second), as an operator
    rotating the key does; the settings are read again after the test."""
    new = new_key()
    monkeypatch.setenv("VOUCH_SECRET_KEYS", f"{new},{OLD}")
    reset_settings()
    yield new
    reset_settings()  # read again lazily, once monkeypatch has put the variable back


def test_the_database_and_redis_hold_a_token_and_postbacks_still_verify(
    session, rds, prefix, redis_url
):
    w = seed.world(session)
    clear = seed.rotate_secret(session, w.brand_id, rds, prefix)
    body = clear.removeprefix("whsec_")
    (row,) = rows(session, w.brand_id)
    assert body not in row.secret and not row.secret.startswith("whsec_")
    assert SEALER.unseal(row.secret) == clear
    # Nothing the API wrote to Redis holds the secret; the record is the row's token.
    values = [rds.get(k) for k in rds.scan_iter(match=f"{prefix}:*") if rds.type(k) == b"string"]
    assert values and not [v for v in values if body.encode() in v]
    assert published(rds, prefix, w.brand_id) == [row.secret]
    assert post(redis_url, prefix, w.brand_id, clear, "o1").status_code == 202
    assert post(redis_url, prefix, w.brand_id, "whsec_guess", "o2").status_code == 401


def _record(*sealed: Any) -> str:
    return json.dumps([{"sealed": s, "expires_at": None} for s in sealed])


STRANGER = Sealer([new_key()])  # another deployment's key


@pytest.mark.parametrize(
    "record",
    [
        _record(STRANGER.seal(SECRET)),  # sealed with a key the tracker does not have
        json.dumps([{"secret": SECRET, "expires_at": None}]),  # in clear, as before sealing
        _record(SECRET),  # the secret where its token should be
        _record(SEALER.seal(SECRET)[:-8] + "AAAAAAAA"),  # a token altered
        _record("gAAAAA" + "x" * 100),
        _record("clé-é"),  # not ASCII: no token is
        _record(12345),
    ],
    ids=["other-key", "legacy-clear", "clear", "altered", "garbage", "non-ascii", "number"],
)
def test_a_secret_the_tracker_cannot_unseal_is_401_never_500(
    redis_url, prefix, rds, record, caplog
):
    rds.set(keys.brand_secrets(prefix, BRAND), record)
    with caplog.at_level(logging.ERROR, logger="vouch.tracker.postbacks"):
        answer = post(redis_url, prefix, BRAND, SECRET, "o1")
    assert (answer.status_code, answer.json()["field"]) == (401, "Vouch-Brand")
    assert answer.json()["error"] == "no valid postback secret for this brand"
    assert rds.xlen(keys.conversions_stream(prefix)) == 0
    for logged in caplog.records:  # said in a line, without a traceback
        assert logged.exc_info is None and "\n" not in logged.getMessage()


def test_one_secret_that_does_not_unseal_leaves_the_others_working(redis_url, prefix, rds, caplog):
    rds.set(keys.brand_secrets(prefix, BRAND), _record(STRANGER.seal("x"), SEALER.seal(SECRET)))
    with caplog.at_level(logging.ERROR, logger="vouch.tracker.postbacks"):
        assert post(redis_url, prefix, BRAND, SECRET, "o1").status_code == 202
    assert ["VOUCH_SECRET_KEYS" in r.getMessage() for r in caplog.records] == [True]


def test_a_new_key_seals_the_old_still_unseals_and_reencrypt_moves_every_row(
    session, rds, prefix, redis_url, new_keys
):
    start = utcnow()
    w = seed.world(session)
    # A secret sealed before the key rotation (with the old key), then one after it.
    before = SEALER.seal("whsec_before")
    session.add(
        BrandPostbackSecret(
            organization_id=w.org_id, brand_id=w.brand_id, secret=before, created_at=start
        )
    )
    session.commit()
    both = sealer((new_keys, OLD))
    after = seed.rotate_secret(session, w.brand_id, rds, prefix, now=start)
    old_row, new_row = rows(session, w.brand_id)
    assert [both.key_index(r.secret) for r in (old_row, new_row)] == [1, 0]
    assert published(rds, prefix, w.brand_id) == [old_row.secret, new_row.secret]
    # A tracker given the new key first verifies both.
    for n, secret in enumerate(("whsec_before", after)):
        assert post(redis_url, prefix, w.brand_id, secret, f"a{n}", sealer=both).status_code == 202

    assert postback_secrets.reencrypt(session, both, mark, batch_size=1) == 1
    assert publish.publish_pending(session, rds, prefix=prefix) == 1
    old_row, new_row = rows(session, w.brand_id)
    assert [both.key_index(r.secret) for r in (old_row, new_row)] == [0, 0]
    assert old_row.secret != before and both.unseal(old_row.secret) == "whsec_before"
    assert published(rds, prefix, w.brand_id) == [old_row.secret, new_row.secret]
    # The old key can go: a tracker with the new key alone verifies both, one with the old
    # key alone nothing.
    only_new, only_old = sealer((new_keys,)), sealer((OLD,))
    for n, secret in enumerate(("whsec_before", after)):
        assert (
            post(redis_url, prefix, w.brand_id, secret, f"b{n}", sealer=only_new).status_code == 202
        )
        assert (
            post(redis_url, prefix, w.brand_id, secret, f"c{n}", sealer=only_old).status_code == 401
        )
    # Done is done: a second run changes nothing.
    assert postback_secrets.reencrypt(session, both, mark) == 0


def test_reencrypt_changes_nothing_when_a_row_unseals_with_no_key(session, new_keys):
    w = seed.world(session)
    good = SEALER.seal("whsec_good")
    lost = STRANGER.seal("whsec_lost")
    now = utcnow() + timedelta(seconds=1)
    for secret in (good, lost):
        session.add(
            BrandPostbackSecret(
                organization_id=w.org_id, brand_id=w.brand_id, secret=secret, created_at=now
            )
        )
    session.commit()
    with pytest.raises(Unsealable) as refused:
        postback_secrets.reencrypt(session, sealer((new_keys, OLD)), mark, batch_size=1)
    message = str(refused.value)
    assert f"brand {w.brand_id}" in message and "none of the 2 keys" in message
    assert "\n" not in message and OLD not in message and new_keys not in message
    assert [r.secret for r in rows(session, w.brand_id)] == [good, lost]  # untouched
