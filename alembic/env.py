"""Alembic environment: the URL comes from Vouch's settings (or the caller's connection)."""

from __future__ import annotations

from logging.config import fileConfig

import api.models  # noqa: F401  (registers every table on Base.metadata)
from alembic import context
from api.db import Base, make_engine
from api.ingest.partitions import is_partition
from api.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _include_name(name, type_, _parents) -> bool:  # type: ignore[no-untyped-def]
    # The monthly partitions of clicks, conversions and orphan visits on PostgreSQL (and the
    # ones detached): made by `api.ingest.partitions`, not by the models.
    return not (type_ == "table" and name is not None and is_partition(name))


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
        include_name=_include_name,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(get_settings().database_url)
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # batch mode drops and recreates tables that other tables reference
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()  # else Alembic joins this transaction and nobody commits it
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:  # ... so check afterwards that every reference still holds
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"foreign keys broken by the migration: {broken[:10]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
