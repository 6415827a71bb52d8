"""The connection pool without a ping per checkout (issue 19): a connection that sat idle in the
pool is pinged when taken and replaced if the server dropped it, so no request sees the drop; a
busy pool (connections handed out again within PING_AFTER_IDLE) sends no ping at all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError

from api import db as db_module
from api.db import get_engine


@pytest.fixture
def engine(database: str) -> Any:
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("a server that can drop a connection: PostgreSQL (TEST_DATABASE_URL)")
    return engine


def _backend_pid(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _drop(engine: Any, pid: int) -> None:
    """Ends the server side of a pooled connection, as a server restart or a proxy would."""
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()


def _statements(engine: Any) -> list[str]:
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    return sent


def test_an_idle_connection_dropped_by_the_server_is_replaced_before_use(engine, monkeypatch):
    engine.dispose()  # one connection in the pool: the one the next checkout gets (LIFO)
    pid = _backend_pid(engine)
    _drop(engine, pid)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)  # it has been idle long enough
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid


def test_a_busy_pool_sends_no_ping(engine, monkeypatch):
    engine.dispose()
    _backend_pid(engine)  # a connection, back in the pool a moment ago
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 60.0)
    sent = _statements(engine)
    _backend_pid(engine)
    assert sent == ["SELECT pg_backend_pid()"]


def test_a_connection_dropped_while_busy_fails_once_then_the_pool_recovers(engine, monkeypatch):
    """Dropped between two requests of a busy pool (no ping): the statement that meets it fails,
    SQLAlchemy invalidates the pool, and the next checkout connects anew."""
    engine.dispose()
    pid = _backend_pid(engine)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 60.0)
    _drop(engine, pid)
    with pytest.raises(DBAPIError) as failed, engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert failed.value.connection_invalidated
    assert _backend_pid(engine) != pid
