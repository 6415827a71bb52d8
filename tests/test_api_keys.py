"""API keys: `vouch keys list/revoke`, the ADMIN's apiKeys/createApiKey/revokeApiKey, revoked
keys refused at once, last use recorded at most once a minute, callers named for people."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from api.accounts import keys
from api.accounts.keys import TOUCH_EVERY, Viewer, authenticate, hash_key
from api.cli import main
from api.db import utcnow
from api.models import ApiKey
from api.models.enums import Role
from tests.factories import gid
from tests.tracking_fixtures import redis_env_fixture  # noqa: F401 - redis_env

KEYS = (
    "apiKeys(first: 100) { totalCount edges { node { id prefix role label revoked revokedAt "
    "lastUsedAt createdAt influencer { id } } } }"
)
KEY = "apiKey { id prefix role label revoked revokedAt influencer { id } }"
WHOAMI = "{ viewer { role influencerId organization { name } } }"


def prefix(clear: str) -> str:
    return clear.split("_")[1]


def row(db: Any, clear: str) -> ApiKey:
    db.expire_all()
    found = db.query(ApiKey).filter(ApiKey.prefix == prefix(clear)).one()
    return found


def status(gql: Any, clear: str) -> int:
    return int(gql.post(clear, WHOAMI).status_code)


# --- the command line ---------------------------------------------------------------------------


def test_keys_list_shows_an_organizations_keys_as_a_table(factory, db, capsys):
    w, other = factory.world(), factory.world()
    named = factory.key(w["org"], Role.FINANCE)
    db.execute(update(ApiKey).where(ApiKey.prefix == prefix(named)).values(name="Ana's laptop"))
    db.commit()
    capsys.readouterr()
    assert main(["keys", "list", "--org", str(w["org"].id)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        "PREFIX", "ROLE", "ORGANIZATION", "INFLUENCER", "CREATED", "LAST", "USED", "REVOKED",
        "LABEL",
    ]  # fmt: skip
    body = out[1:-1]
    assert len(body) == 5 and out[-1].startswith("(5 keys; times in UTC")
    mine = {line.split()[0]: line for line in body}
    assert set(mine) == {prefix(k) for k in w["keys"].values()} | {prefix(named)}
    assert not set(mine) & {prefix(k) for k in other["keys"].values()}
    influencer_line = mine[prefix(w["keys"]["INFLUENCER"])]
    assert " INFLUENCER " in influencer_line and w["influencer"].name in influencer_line
    assert f"{w['org'].name} ({w['org'].id})" in influencer_line
    today = f"{utcnow():%Y-%m-%d}"
    assert re.search(rf"{today} \d\d:\d\d +never +- +-$", mine[prefix(w["keys"]["ADMIN"])])
    assert mine[prefix(named)].endswith("Ana's laptop")
    # By name as well as by id; without --org every organization's keys.
    assert main(["keys", "list", "--org", w["org"].name]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 7
    assert main(["keys", "list"]) == 0
    everything = capsys.readouterr().out
    assert prefix(other["keys"]["ADMIN"]) in everything and prefix(named) in everything


def test_keys_list_of_an_unknown_organization_is_one_line_error(factory, capsys):
    assert main(["keys", "list", "--org", "no such org"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "error: no organization 'no such org'\n" and captured.out == ""


def test_keys_revoke_refuses_the_key_at_once(gql, factory, db, capsys):
    w = factory.world()
    key = w["keys"]["FINANCE"]
    assert status(gql, key) == 200
    assert main(["keys", "revoke", prefix(key)]) == 0
    assert capsys.readouterr().out == (
        f"revoked key {prefix(key)} (FINANCE key of {w['org'].name}): "
        "it is refused from its next request on\n"
    )
    revoked_at = row(db, key).revoked_at
    assert revoked_at is not None
    assert status(gql, key) == 401
    response = gql.http.get(
        "/exports/statements.csv?period=2025-10", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 401
    assert status(gql, w["keys"]["ADMIN"]) == 200  # the others still work
    # Again (here pasting the whole key): nothing to do, the first date is kept.
    assert main(["keys", "revoke", key]) == 0
    assert capsys.readouterr().out.startswith(f"key {prefix(key)} was already revoked on ")
    assert row(db, key).revoked_at == revoked_at
    assert main(["keys", "list", "--org", str(w["org"].id)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(prefix(key)))
    assert f"{revoked_at:%Y-%m-%d %H:%M}" in line


def test_keys_revoke_of_an_unknown_prefix_is_one_line_error(factory, capsys):
    assert main(["keys", "revoke", "deadbeef"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "error: no API key with prefix 'deadbeef'\n" and captured.out == ""


def test_keys_create_an_influencer_key_without_an_influencer(factory, capsys):
    org = factory.org()
    assert main(["keys", "create", "--org", str(org.id), "--role", "influencer"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: an INFLUENCER key is bound to one influencer")
    assert err.endswith("(--influencer)\n") and err.count("\n") == 1


# --- GraphQL: apiKeys ---------------------------------------------------------------------------


def test_an_admin_lists_its_organizations_keys_without_secrets(gql, factory):
    w, other = factory.world(), factory.world()
    data = gql(w["keys"]["ADMIN"], "{ " + KEYS + " }")["apiKeys"]
    nodes = [e["node"] for e in data["edges"]]
    assert data["totalCount"] == 4
    assert [n["prefix"] for n in nodes] == [
        prefix(w["keys"][r]) for r in ("INFLUENCER", "FINANCE", "MANAGER", "ADMIN")
    ]  # newest first
    by_role = {n["role"]: n for n in nodes}
    assert by_role["INFLUENCER"]["influencer"] == {"id": gid(w["influencer"])}
    assert by_role["ADMIN"]["influencer"] is None
    assert {(n["revoked"], n["revokedAt"], n["label"]) for n in nodes} == {(False, None, "")}
    # The admin's own key has been used (this request); the others never were.
    assert by_role["ADMIN"]["lastUsedAt"] is not None and by_role["FINANCE"]["lastUsedAt"] is None
    assert not {prefix(k) for k in other["keys"].values()} & {n["prefix"] for n in nodes}
    fields = gql(w["keys"]["ADMIN"], '{ __type(name: "ApiKey") { fields { name } } }')
    names = {f["name"].lower() for f in fields["__type"]["fields"]}
    assert not {n for n in names if "hash" in n or "secret" in n}
    # node(id:) of a key: the admin's own organization only.
    q = "query($id: ID!) { node(id: $id) { ... on ApiKey { prefix } } }"
    assert gql(w["keys"]["ADMIN"], q, id=by_role["FINANCE"]["id"])["node"] == {
        "prefix": prefix(w["keys"]["FINANCE"])
    }
    assert gql(other["keys"]["ADMIN"], q, id=by_role["FINANCE"]["id"])["node"] is None
    assert gql(w["keys"]["FINANCE"], q, id=by_role["FINANCE"]["id"])["node"] is None


@pytest.mark.parametrize("role", ["MANAGER", "FINANCE", "INFLUENCER"])
def test_only_an_admin_lists_keys(gql, factory, role):
    w = factory.world()
    (error,) = gql.errors(w["keys"][role], "{ " + KEYS + " }")
    assert error["message"].endswith(
        "key cannot list, create or revoke API keys: this needs an ADMIN key"
    )
    assert error["extensions"]["code"] == "FORBIDDEN"


# --- GraphQL: createApiKey ----------------------------------------------------------------------


def test_create_api_key_returns_the_secret_once_and_it_works(gql, factory, db):
    w = factory.world()
    out = gql.mutate(
        w["keys"]["ADMIN"],
        "createApiKey",
        {"role": "FINANCE", "label": "  Ana's   laptop "},
        KEY + " secret",
    )
    assert out["userErrors"] == []
    secret, key = out["secret"], out["apiKey"]
    assert secret.startswith(f"vch_{key['prefix']}_")
    assert (key["role"], key["label"], key["revoked"]) == ("FINANCE", "Ana's laptop", False)
    stored = row(db, secret)
    assert stored.key_hash == hash_key(secret) and secret not in stored.key_hash
    assert gql(secret, WHOAMI)["viewer"]["role"] == "FINANCE"
    # Listed afterwards, never with the secret.
    listing = gql(w["keys"]["ADMIN"], "{ apiKeys(first: 1) { edges { node { prefix } } } }")
    assert listing["apiKeys"]["edges"][0]["node"]["prefix"] == key["prefix"]
    # Who does something with it is recorded by label and prefix, as a person reads it.
    from tests.test_finance import TODAY, entry

    entry(db, w, 1000)
    batch = gql.mutate(
        secret,
        "createPayoutBatch",
        {"currency": "EUR", "asOf": TODAY.isoformat()},
        "payoutBatch { id }",
    )
    cancelled = gql.mutate(
        secret,
        "cancelPayoutBatch",
        {"payoutBatchId": batch["payoutBatch"]["id"]},
        "payoutBatch { cancelledBy }",
    )
    assert cancelled["payoutBatch"]["cancelledBy"] == f"Ana's laptop (FINANCE key {key['prefix']})"


def test_create_an_influencer_key_for_an_influencer_of_the_organization(gql, factory):
    w = factory.world()
    admin = w["keys"]["ADMIN"]
    ok = gql.mutate(
        admin,
        "createApiKey",
        {"role": "INFLUENCER", "influencerId": gid(w["influencer"])},
        KEY + " secret",
    )
    assert ok["userErrors"] == [] and ok["apiKey"]["influencer"] == {"id": gid(w["influencer"])}
    viewer = gql(ok["secret"], WHOAMI)["viewer"]
    assert (viewer["role"], viewer["influencerId"]) == ("INFLUENCER", gid(w["influencer"]))


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"role": "INFLUENCER"}, "influencerId", "REQUIRED"),
        ({"role": "INFLUENCER", "influencerId": "other"}, "influencerId", "NOT_FOUND"),
        ({"role": "INFLUENCER", "influencerId": "garbage"}, "influencerId", "NOT_FOUND"),
        ({"role": "FINANCE", "influencerId": "mine"}, "influencerId", "INVALID"),
        ({"role": "MANAGER", "label": "x" * 201}, "label", "TOO_LONG"),
    ],
)
def test_bad_create_api_key_input_changes_nothing(gql, factory, db, payload, field, code):
    w, other = factory.world(), factory.world()
    ids = {"other": gid(other["influencer"]), "mine": gid(w["influencer"]), "garbage": "x!"}
    if "influencerId" in payload:
        payload = {**payload, "influencerId": ids[payload["influencerId"]]}
    before = db.query(ApiKey).count()
    out = gql.mutate(w["keys"]["ADMIN"], "createApiKey", payload, KEY + " secret")
    assert (out["apiKey"], out["secret"]) == (None, None)
    assert [(e["field"], e["code"]) for e in out["userErrors"]] == [(field, code)]
    db.expire_all()
    assert db.query(ApiKey).count() == before


@pytest.mark.parametrize("role", ["MANAGER", "FINANCE", "INFLUENCER"])
def test_only_an_admin_creates_or_revokes_keys(gql, factory, db, role):
    w = factory.world()
    before = db.query(ApiKey).count()
    out = gql.mutate(w["keys"][role], "createApiKey", {"role": "ADMIN"}, KEY + " secret")
    assert out["secret"] is None and out["userErrors"][0]["code"] == "FORBIDDEN"
    admin_gid = gid(row(db, w["keys"]["ADMIN"]))
    out = gql.mutate(w["keys"][role], "revokeApiKey", {"apiKeyId": admin_gid}, KEY)
    assert out["apiKey"] is None and out["userErrors"][0]["code"] == "FORBIDDEN"
    db.expire_all()
    assert db.query(ApiKey).count() == before
    assert row(db, w["keys"]["ADMIN"]).revoked_at is None


# --- GraphQL: revokeApiKey ----------------------------------------------------------------------


def test_revoke_api_key_refuses_its_next_request(gql, factory, db):
    w = factory.world()
    admin, manager = w["keys"]["ADMIN"], w["keys"]["MANAGER"]
    assert status(gql, manager) == 200
    out = gql.mutate(admin, "revokeApiKey", {"apiKeyId": gid(row(db, manager))}, KEY)
    assert out["userErrors"] == []
    assert out["apiKey"]["revoked"] is True and out["apiKey"]["revokedAt"] is not None
    assert status(gql, manager) == 401
    again = gql.mutate(admin, "revokeApiKey", {"apiKeyId": gid(row(db, manager))}, KEY)
    assert again["apiKey"] is None
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [(None, "ALREADY_REVOKED")]
    assert again["userErrors"][0]["message"].startswith(f"key {prefix(manager)} was already")
    listed = gql(admin, "{ apiKeys(includeRevoked: false) { edges { node { prefix } } } }")
    assert prefix(manager) not in {e["node"]["prefix"] for e in listed["apiKeys"]["edges"]}
    # An admin may revoke its own key: the request that did it is the last one.
    own = gql.mutate(admin, "revokeApiKey", {"apiKeyId": gid(row(db, admin))}, KEY)
    assert own["userErrors"] == []
    assert status(gql, admin) == 401


def test_another_organizations_key_is_not_found(gql, factory, db):
    w, other = factory.world(), factory.world()
    theirs = row(db, other["keys"]["ADMIN"])
    out = gql.mutate(w["keys"]["ADMIN"], "revokeApiKey", {"apiKeyId": gid(theirs)}, KEY)
    assert out["apiKey"] is None
    assert [(e["field"], e["code"]) for e in out["userErrors"]] == [("apiKeyId", "NOT_FOUND")]
    assert row(db, other["keys"]["ADMIN"]).revoked_at is None
    assert status(gql, other["keys"]["ADMIN"]) == 200


# --- last use, labels ---------------------------------------------------------------------------


def test_last_use_is_recorded_at_most_once_a_minute(gql, factory, db, monkeypatch):
    w = factory.world()
    key = w["keys"]["MANAGER"]
    assert row(db, key).last_used_at is None
    assert status(gql, key) == 200
    first = row(db, key).last_used_at
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    assert status(gql, key) == 200 and status(gql, key) == 200
    assert row(db, key).last_used_at == first  # no write per request
    # A minute later the next request that reads the key's row (the process's cache of the
    # verified key has expired by then) moves it.
    earlier = first - TOUCH_EVERY - timedelta(seconds=1)
    db.execute(update(ApiKey).where(ApiKey.prefix == prefix(key)).values(last_used_at=earlier))
    db.commit()
    assert status(gql, key) == 200
    assert row(db, key).last_used_at == earlier  # the cached key: no read, no write
    later = keys.verified.clock() + keys.CACHE_SECONDS
    monkeypatch.setattr(keys.verified, "clock", lambda: later)
    assert status(gql, key) == 200
    assert row(db, key).last_used_at > first


def test_authenticate_throttles_by_the_stored_date(factory, db):
    w = factory.world()
    header = f"Bearer {w['keys']['FINANCE']}"
    now = utcnow()
    assert authenticate(db, header, now=now) is not None
    db.commit()
    assert row(db, w["keys"]["FINANCE"]).last_used_at == now
    authenticate(db, header, now=now + TOUCH_EVERY - timedelta(seconds=1))
    db.commit()
    assert row(db, w["keys"]["FINANCE"]).last_used_at == now
    authenticate(db, header, now=now + TOUCH_EVERY)
    db.commit()
    assert row(db, w["keys"]["FINANCE"]).last_used_at == now + TOUCH_EVERY
    assert authenticate(db, "Bearer vch_nope_nope", now=now) is None


def test_viewer_label_reads_as_a_person_would():
    finance = Viewer(key_id=3, organization_id=1, role=Role.FINANCE, prefix="1a2b3c4d")
    assert finance.label == "FINANCE key 1a2b3c4d"
    named = Viewer(3, 1, Role.ADMIN, prefix="1a2b3c4d", name="Ana's\n laptop")
    assert named.label == "Ana's laptop (ADMIN key 1a2b3c4d)"
    long = Viewer(3, 1, Role.ADMIN, prefix="1a2b3c4d", name="n" * 200)
    assert len(long.label) <= 200 and long.label.endswith("(ADMIN key 1a2b3c4d)")


# --- the process's cache of verified keys --------------------------------------------------------


def bare(gql: Any, clear: str) -> int:
    """A request that needs nothing from the database but its key."""
    return int(gql.post(clear, "{ viewer { role } }").status_code)


def _statements(run: Any) -> tuple[int, Any]:
    """How many SQL statements `run()` sends, and what it returned."""
    from sqlalchemy import event

    from api.db import get_engine

    sent: list[str] = []

    def count(*_: Any) -> None:
        sent.append("")

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        result = run()
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)
    return len(sent), result


def test_a_key_revoked_by_another_process_is_refused_from_the_next_request(
    gql, factory, db, redis_env
):
    """Another API worker (here: `vouch keys revoke` in a process of its own, on the same
    database and Redis) revokes a key this process has verified and keeps: the next request
    here is refused."""
    import os
    import subprocess
    import sys

    w = factory.world()
    key = w["keys"]["MANAGER"]
    assert status(gql, key) == 200
    # Verified and kept: the next request reads no row.
    assert _statements(lambda: bare(gql, key)) == (0, 200)
    assert len(keys.verified) >= 1
    code = "import sys; from api.cli import main; sys.exit(main(['keys', 'revoke', sys.argv[1]]))"
    done = subprocess.run(
        [sys.executable, "-c", code, prefix(key)],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "it is refused from its next request on" in done.stdout
    assert status(gql, key) == 401
    assert status(gql, w["keys"]["ADMIN"]) == 200  # the other keys are verified again


def test_without_redis_every_request_reads_its_key(gql, factory, db, monkeypatch):
    """No keys' version to check a kept key against: nothing is kept, a revocation that never
    reached Redis (here: an UPDATE behind the API's back) is seen by the next request."""
    from api.accounts import lockout

    w = factory.world()
    key = w["keys"]["FINANCE"]
    assert status(gql, key) == 200  # verified and kept while Redis answers

    class Down:
        def __getattr__(self, name: str) -> Any:
            raise ConnectionError("Redis went away")

    monkeypatch.setattr(lockout, "_redis", Down)
    lockout.breaker.reset()
    try:
        sent, code = _statements(lambda: bare(gql, key))
        assert code == 200 and sent > 0
        assert len(keys.verified) == 0
        db.execute(update(ApiKey).where(ApiKey.prefix == prefix(key)).values(revoked_at=utcnow()))
        db.commit()
        assert status(gql, key) == 401
    finally:
        lockout.breaker.reset()


def test_a_kept_key_expires(gql, factory, db, monkeypatch):
    w = factory.world()
    key = w["keys"]["ADMIN"]
    assert status(gql, key) == 200
    assert _statements(lambda: bare(gql, key)) == (0, 200)
    later = keys.verified.clock() + keys.CACHE_SECONDS
    monkeypatch.setattr(keys.verified, "clock", lambda: later)
    sent, code = _statements(lambda: bare(gql, key))
    assert code == 200 and sent > 0
