"""Fixtures of the ingest and postback tests: an own database per test and an own Redis prefix.

Database: SQLite in tmp_path, or, when TEST_DATABASE_URL is set, a randomly named PostgreSQL
database created on that server and dropped at the end. Schema from the models (create_all);
`test_migrations` checks that Alembic's head builds the same schema.

Redis: TEST_REDIS_URL when set, else a redis-server started for the session on a free port.
Every test gets its own key prefix and deletes its keys at the end.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL", "").strip()
    if url:
        yield url
        return
    server = RedisServer(tempfile.mkdtemp(prefix="vouch-redis-")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def prefix() -> str:
    return f"t{secrets.token_hex(5)}"


@pytest.fixture
def rds(redis_url: str, prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)
    client.close()


def _admin(base_url: str, sql: str) -> None:
    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture
def db_url(tmp_path: Any) -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base:
        yield f"sqlite:///{tmp_path}/ingest.db"
        return
    name = f"vouch_ingest_{secrets.token_hex(5)}"
    _admin(base, f'CREATE DATABASE "{name}"')
    server = base.rpartition("/")[0]
    try:
        yield f"{server}/{name}"
    finally:
        _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    import api.models  # noqa: F401  (registers the tables)
    from api.db import Base
    from api.ingest.worker import worker_engine

    eng = worker_engine(db_url)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@pytest.fixture
def session(engine: Engine, db_url: str) -> Iterator[Session]:
    """The test's own session, as the API would have one: a plain engine (deferred
    transactions), expired on commit. Call `session.commit()` before reading what a worker
    wrote: on SQLite an open read transaction keeps its snapshot."""
    from api.db import make_engine

    plain = make_engine(db_url)
    with sessionmaker(bind=plain)() as s:
        yield s
    plain.dispose()
