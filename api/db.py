"""The database: engine, session factory and the declarative base.

One sync SQLAlchemy engine per process. The GraphQL endpoint runs each operation in a worker
thread (see `api.graphql.view`), so blocking database calls never stall the event loop.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from api.settings import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT primary keys on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


# Connections kept open per process. The GraphQL endpoint runs at most POOL_SIZE operations at
# once (`api.graphql.view`), so under load none waits for a connection to be opened: with 10 kept
# and 32 clients, one request in two opened (and closed) a PostgreSQL connection of its own. The
# overflow serves key lookups, pages and exports beside them.
POOL_SIZE = 20
MAX_OVERFLOW = 10


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    # No ping on every checkout (pool_pre_ping: a round trip per request): a connection idle
    # for PING_AFTER_IDLE is pinged when it is taken, and one that fails is replaced before
    # any statement runs on it (`_ping_if_idle`); the most recently used connections are handed
    # out first (LIFO), so under load none is idle; every connection is replaced after
    # RECYCLE_SECONDS, before a server's or a proxy's idle timeout closes it. A connection
    # dropped while in use fails its statement, and SQLAlchemy then invalidates the pool.
    kwargs.setdefault("pool_use_lifo", True)
    kwargs.setdefault("pool_recycle", RECYCLE_SECONDS)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _idle_since)
        event.listen(engine, "checkout", _ping_if_idle(engine.dialect))
    return engine


PING_AFTER_IDLE = 5.0
RECYCLE_SECONDS = 1800
_IDLE = "vouch.idle_since"


def _idle_since(_dbapi_conn: Any, record: Any) -> None:
    if record is not None:
        record.info[_IDLE] = time.monotonic()


def _ping_if_idle(dialect: Any) -> Any:
    def ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        """Pings a connection that sat in the pool longer than PING_AFTER_IDLE; one that does
        not answer raises DisconnectionError, on which the pool discards it and takes another
        (a new one), as pool_pre_ping does on every checkout."""
        since = record.info.get(_IDLE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("a pooled connection did not answer a ping") from exc

    return ping


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


# Marks a session that may only read (`get_read_sessionmaker`).
READ_ONLY = "vouch.read_only"


@lru_cache(maxsize=1)
def get_read_sessionmaker() -> sessionmaker[Session]:
    """Sessions for GraphQL queries, which only read. On PostgreSQL their connections run in
    autocommit: no BEGIN before the first statement and no ROLLBACK at the end, two round trips
    of every request. Each statement sees what was committed when it started, as it does in a
    READ COMMITTED transaction (PostgreSQL's default), so no answer changes. A write through one
    of them is a bug, refused (`_refuse_writes`): a query's write was rolled back before; now it
    would stay. On SQLite they are transactions as before (its snapshot lasts the transaction)."""
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    # no autoflush: a row changed in memory only (never written, as before) is not a write
    return sessionmaker(
        bind=engine, expire_on_commit=False, autoflush=False, info={READ_ONLY: True}
    )


@event.listens_for(Session, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY):
        raise RuntimeError("a read-only session (a GraphQL query) must not write")


@event.listens_for(Session, "do_orm_execute")
def _refuse_writes(state: Any) -> None:
    if state.session.info.get(READ_ONLY) and not state.is_select:
        raise RuntimeError("a read-only session (a GraphQL query) must not write")


def reset_engine() -> None:
    """Drops the cached engine (tests point DATABASE_URL elsewhere)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()
    get_read_sessionmaker.cache_clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session committed on success and rolled back on error (CLI, worker, seeding)."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
