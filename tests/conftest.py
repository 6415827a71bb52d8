"""Shared fixtures: a database for the session (SQLite, or PostgreSQL when TEST_DATABASE_URL is
set: a randomly named database created and dropped here), factories and a GraphQL client.

Tests do not clean tables between them: each builds its own organization with the factories, and
every query is scoped to an organization, so tests cannot see each other's rows.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

_TMP = tempfile.mkdtemp(prefix="vouch-test-")
_BASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
_DB_NAME = f"vouch_test_{secrets.token_hex(4)}"

# Settings are read once per process: point them at the test database before `api` is imported.
if _BASE_URL:
    _SERVER, _, _ = _BASE_URL.rpartition("/")
    os.environ["DATABASE_URL"] = f"{_SERVER}/{_DB_NAME}"
else:
    os.environ["DATABASE_URL"] = f"sqlite:///{_TMP}/vouch.db"
os.environ.setdefault("VOUCH_DATA_DIR", _TMP)
os.environ.setdefault("REDIS_PREFIX", f"test-{secrets.token_hex(4)}")
# Cheap password hashes (argon2id at its lowest cost): the tests sign people in by the dozen.
os.environ.setdefault("PASSWORD_TIME_COST", "1")
os.environ.setdefault("PASSWORD_MEMORY_KIB", "1024")
# A real key (not the development one), shared with the processes the tests start.
os.environ.setdefault("VOUCH_SECRET_KEYS", __import__("tracker.sealing").sealing.new_key())


def _admin_execute(sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_BASE_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """Creates the test database and migrates it to head with Alembic (as production does)."""
    from api.db import reset_engine
    from api.migrations import upgrade
    from api.settings import reset_settings

    if _BASE_URL:
        _admin_execute(f'CREATE DATABASE "{_DB_NAME}"')
    reset_settings()
    reset_engine()
    upgrade()
    yield os.environ["DATABASE_URL"]
    reset_engine()
    if _BASE_URL:
        _admin_execute(f'DROP DATABASE IF EXISTS "{_DB_NAME}" WITH (FORCE)')


@pytest.fixture
def db(database: str) -> Iterator[Any]:
    from api.db import get_sessionmaker

    session = get_sessionmaker()()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def factory(db: Any) -> Any:
    from tests.factories import Factory

    return Factory(db)


@pytest.fixture
def gql(database: str) -> Any:
    from tests.client import GraphQLClient

    with GraphQLClient() as client:
        yield client
