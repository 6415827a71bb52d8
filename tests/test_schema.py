"""The checked-in SDL, the migrations and the API's limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.graphql.schema import schema
from api.migrations import check

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_is_up_to_date():
    current = schema.as_str() + "\n"
    stored = (ROOT / "schema.graphql").read_text()
    assert stored == current, "schema.graphql is out of date: run `make schema` and commit it"


def test_models_match_migrations(database):
    # The session database was built by `alembic upgrade head`; `alembic check` finds no drift.
    check()


def _nested(depth: int) -> str:
    inner = "id"
    for _ in range(depth):
        inner = f"partnerships {{ influencer {{ {inner} }} }}"
    return f"{{ influencers(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"


def test_limits_are_graphql_errors(gql, factory):
    key = factory.world()["keys"]["ADMIN"]
    too_deep = gql.post(key, _nested(6))
    assert too_deep.status_code == 200
    assert "exceeds maximum operation depth" in too_deep.json()["errors"][0]["message"]
    aliases = " ".join(f"a{i}: viewer {{ role }}" for i in range(31))
    response = gql.post(key, f"{{ {aliases} }}")
    assert "aliases" in response.json()["errors"][0]["message"].lower()
    fields = " ".join("__typename" for _ in range(5001))
    response = gql.post(key, f"{{ {fields} }}")
    assert "token" in response.json()["errors"][0]["message"].lower()
    response = gql.post(key, "{ influencers(first: 101) { totalCount } }")
    assert "first must be between 1 and 100" in response.json()["errors"][0]["message"]
    response = gql.post(key, '{ influencers(after: "garbage!") { totalCount } }')
    assert "invalid cursor" in response.json()["errors"][0]["message"]


def test_a_document_sent_again_is_not_validated_again(gql, factory):
    """The validation cache hits for a repeated document (its key holds the limit rules, made
    once), and a refused document stays refused when it comes from the cache."""
    from strawberry.extensions.validation_cache import _get_validate_cache

    from api.graphql.schema import _CACHE_SIZE

    key = factory.world()["keys"]["ADMIN"]
    cache = _get_validate_cache(_CACHE_SIZE)
    document = "{ viewer { role } influencers(first: 3) { totalCount } }"
    assert "errors" not in gql.post(key, document).json()
    hits = cache.cache_info().hits
    for _ in range(3):
        assert "errors" not in gql.post(key, document).json()
    assert cache.cache_info().hits == hits + 3
    for _ in range(2):
        too_deep = gql.post(key, _nested(6)).json()
        assert "exceeds maximum operation depth" in too_deep["errors"][0]["message"]


def test_errors_never_leak_tracebacks(gql, factory):
    key = factory.world()["keys"]["ADMIN"]
    response = gql.post(key, '{ node(id: "%%%") { id } }')
    body = response.text
    assert response.status_code == 200
    assert "Traceback" not in body and 'File \\"' not in body


def test_pagination_walks_every_row_once(gql, factory):
    w = factory.world()
    for _ in range(24):
        factory.influencer(w["org"])
    key = w["keys"]["ADMIN"]
    seen, after = [], None
    while True:
        data = gql(
            key,
            """query($after: String) { influencers(first: 7, after: $after,
            orderBy: {field: FOLLOWERS, direction: DESC}) {
            pageInfo { hasNextPage endCursor } edges { node { id totalFollowers } } } }""",
            after=after,
        )["influencers"]
        seen += [e["node"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert len(seen) == 25 and len({n["id"] for n in seen}) == 25
    followers = [n["totalFollowers"] for n in seen]
    assert followers == sorted(followers, reverse=True)


@pytest.mark.parametrize(
    ("table", "column"),
    [("campaigns", "status"), ("partnerships", "status"), ("deliverables", "status")],
)
def test_the_database_refuses_a_status_no_state_machine_has(db, factory, table, column):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    w = factory.world()
    factory.deliverable(w["partnership"])
    db.commit()
    with pytest.raises(IntegrityError):
        db.execute(
            text(f"UPDATE {table} SET {column} = 'BOGUS' WHERE organization_id = :o"),
            {"o": w["org"].id},
        )
        db.flush()
    db.rollback()
