"""Idempotent inserts on both backends: what every append-only writer of the ledger uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session


def dialect_insert(session: Session, model: Any) -> Any:
    """INSERT with ON CONFLICT support for the session's backend (PostgreSQL or SQLite)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(model)
    raise NotImplementedError(f"no ON CONFLICT insert for {name}")


_INSERT_IGNORE: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def insert_ignore(session: Session, model: Any, values: dict[str, Any], conflict: list[str]) -> Any:
    """Inserts one row unless it conflicts on `conflict`; the new id, or None if it existed."""
    session.flush()  # Core below does not autoflush: pending ORM changes go first
    table = model.__table__
    key = (session.get_bind().dialect.name, table.name, tuple(conflict))
    stmt = _INSERT_IGNORE.get(key)
    if stmt is None:  # one statement per table: the values are parameters, compiled once
        stmt = _INSERT_IGNORE[key] = (
            dialect_insert(session, table)
            .on_conflict_do_nothing(index_elements=conflict)
            .returning(table.c.id)
        )
    # Core on the session's connection (same transaction): no ORM bookkeeping on the hot path.
    return session.connection().execute(stmt, values).scalar_one_or_none()


def insert_many_ignore(
    session: Session, model: Any, rows: list[dict[str, Any]], conflict: list[str], returning: Any
) -> list[Any]:
    """Inserts the rows in one statement (batched by SQLAlchemy's insertmanyvalues), skipping
    those that conflict on `conflict`; the `returning` columns of the rows really inserted, in
    no particular order."""
    if not rows:
        return []
    session.flush()
    stmt = (
        dialect_insert(session, model.__table__)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(*returning)
    )
    return list(session.connection().execute(stmt, rows).all())


def upsert_add(
    session: Session, model: Any, rows: list[dict[str, Any]], keys: list[str], counters: list[str]
) -> None:
    """Adds the `counters` of `rows` to the rows with the same `keys`, inserting missing ones
    (INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x): counters are never read and
    rewritten. Callers pass rows in key order, so concurrent writers lock them in one order."""
    if not rows:
        return
    table = model.__table__
    stmt = dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: table.c[name] + stmt.excluded[name] for name in counters},
    )
    conn = session.connection()
    for start in range(0, len(rows), _UPSERT_CHUNK):  # under SQLite's bound-parameter limit
        conn.execute(stmt, rows[start : start + _UPSERT_CHUNK])


_UPSERT_CHUNK = 500


def day_of(moment: datetime) -> datetime:
    """The UTC day holding `moment`, as its first instant (the daily rollups' `day`)."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def upsert_add_daily(
    session: Session, model: Any, rows: list[dict[str, Any]], keys: list[str], counters: list[str]
) -> None:
    """`upsert_add` of hourly rows' counters into the daily (UTC) rollup `model`: the rows
    (keyed by `keys`, one of which is "hour") summed per day, in key order. Called by every
    writer of an hourly rollup right after it, so both are in step in one transaction."""
    daily: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        day = day_of(row["hour"])
        key = tuple(day.timestamp() if k == "hour" else row[k] for k in keys)
        acc = daily.get(key)
        if acc is None:
            acc = daily[key] = {k: v for k, v in row.items() if k != "hour"}
            acc["day"] = day
        else:
            for name in counters:
                acc[name] += row[name]
    found = [daily[k] for k in sorted(daily)]
    found = [r for r in found if any(r[c] for c in counters)]  # +1 and -1 cancel out
    upsert_add(session, model, found, ["day" if k == "hour" else k for k in keys], counters)


def upsert_add_by_campaign(
    session: Session, model: Any, rows: list[dict[str, Any]], keys: list[str], counters: list[str]
) -> None:
    """`upsert_add` of hourly rows' counters into the per-campaign daily rollup `model` (keyed
    by `keys`, "day" among them: the UTC day of each row's "hour"): summed per key whatever link
    or partnership a row came from, in key order. Called by the writers of the dimension
    rollups right after them, in the same transaction."""
    summed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        day = day_of(row["hour"])
        key = tuple(day.timestamp() if k == "day" else row[k] for k in keys)
        acc = summed.get(key)
        if acc is None:
            acc = summed[key] = {k: day if k == "day" else row[k] for k in keys}
            acc["organization_id"] = row["organization_id"]
            acc.update(dict.fromkeys(counters, 0))
        for name in counters:
            acc[name] += row[name]
    found = [summed[k] for k in sorted(summed)]
    found = [r for r in found if any(r[c] for c in counters)]  # +1 and -1 cancel out
    upsert_add(session, model, found, keys, counters)
