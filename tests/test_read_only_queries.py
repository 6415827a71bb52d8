"""A GraphQL query's session only reads (issue 19): on PostgreSQL in autocommit, without the
BEGIN and ROLLBACK round trips of a transaction; a mutation's is a transaction, as before."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import false, update

from api.db import get_read_sessionmaker, get_sessionmaker
from api.graphql.context import Context
from api.models import Influencer, Organization
from tests.factories import gid


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, bool | None]]:
    """(read_only, the connection's autocommit on PostgreSQL, else None) of each request's
    session, as the requests open them."""
    seen: list[tuple[bool, bool | None]] = []
    real = Context.session.fget  # type: ignore[attr-defined]

    def spy(self: Context) -> Any:
        fresh = self._session is None
        session = real(self)
        if fresh:
            connection = session.connection()
            autocommit = None
            if connection.dialect.name == "postgresql":
                autocommit = connection.connection.dbapi_connection.autocommit
            seen.append((self.read_only, autocommit))
        return session

    monkeypatch.setattr(Context, "session", property(spy))
    return seen


def test_a_query_reads_without_a_transaction_a_mutation_writes_in_one(gql, factory, sessions):
    w = factory.world()
    key = w["keys"]["MANAGER"]
    data = gql(key, "{ influencers(first: 5) { totalCount nodes { id name } } }")
    assert data["influencers"]["totalCount"] >= 1
    postgres = get_sessionmaker().kw["bind"].dialect.name == "postgresql"
    assert sessions == [(True, True if postgres else None)]
    sessions.clear()
    out = gql.mutate(
        key,
        "updateInfluencer",
        {"influencerId": gid(w["influencer"]), "notes": "read-only test"},
        "influencer { id }",
    )
    assert out["userErrors"] == []
    assert sessions == [(False, False if postgres else None)]
    sessions.clear()
    # the mutation's session (on a pooled connection a query had in autocommit: LIFO) was a
    # transaction again, and its note is read back by the next query
    data = gql(key, "query($id: ID!) { node(id: $id) { ... on Influencer { notes } } }",
               id=gid(w["influencer"]))  # fmt: skip
    assert data["node"]["notes"] == "read-only test"


def test_a_read_only_session_refuses_to_write(db):
    with get_read_sessionmaker()() as session:
        with pytest.raises(RuntimeError, match="must not write"):
            session.execute(update(Influencer).where(false()).values(notes="x"))
        session.add(Organization(name="never written"))
        with pytest.raises(RuntimeError, match="must not write"):
            session.flush()
