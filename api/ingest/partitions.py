"""Monthly partitions of the raw event tables on PostgreSQL: created ahead, detached when old.

`clicks`, `conversions` and `orphan_visits` are partitioned by RANGE of their event time
(migration 0021): a `<table>_history` partition holds everything before the first month and a
`<table>_yYYYYmMM` partition each month. The worker creates the months ahead (`ensure`, on
start and daily) and detaches, by `CLICK_RETENTION_MONTHS`, the click and orphan-visit
partitions that ended before the retention cut-off (`detach`); `vouch partitions` does both by
hand and lists them. The cut-off never reaches past the longest attribution window of any
campaign (up to 365 days): an order must still find its click. Rollups are never partitioned
and keep every figure forever; reports read them, never raw rows. Conversions are never
detached: they are orders the ledger, refunds and statements refer to, and far fewer than
clicks.

A new month is made as a table of its own and then attached (ATTACH takes a lock that lets
inserts and reads go on, unlike CREATE TABLE ... PARTITION OF); an old one is detached with
DETACH PARTITION CONCURRENTLY (no table has a DEFAULT partition, which would forbid it) and
stays as a plain table, to archive (`pg_dump -t`) and then drop (`--drop`); a detached history
partition is renamed `<table>_before_yYYYYmMM` after the month it ended at. A detach cut short
is finished (FINALIZE) by the next one.

On SQLite (the embedded default) the tables are plain: every function here does nothing.
A click whose month was detached finds no partition: the insert fails and the worker puts it
in the dead letters, so a click older than the retention is never counted twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, func, select, text

from api.models import Campaign

# table: the column it is partitioned by.
TABLES = {"clicks": "occurred_at", "conversions": "occurred_at", "orphan_visits": "hour"}
# What the retention detaches (conversions are kept: see above).
RETAINED = ("clicks", "orphan_visits")
MONTHS_AHEAD = 3
# The worker's "daily": how often it ensures and detaches.
INTERVAL_S = 86_400.0

_NAME = re.compile(r"^(clicks|conversions|orphan_visits)_(history|(?:before_)?y\d{4}m\d{2})$")
_BOUND = re.compile(r"FROM \((MINVALUE|'[^']+')\) TO \((MAXVALUE|'[^']+')\)")


def is_partition(name: str) -> bool:
    """Whether a table name is a partition (attached or detached) of a partitioned table: the
    models do not describe them (`alembic/env.py` leaves them out of `alembic check`)."""
    return _NAME.match(name) is not None


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime) -> Month:
        moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    def name(self, table: str) -> str:
        return f"{table}_y{self.year:04d}m{self.month:02d}"


def retention_cutoff(now: datetime, retention_months: int) -> datetime:
    """Partitions ending at or before this moment are past retention: the current month and
    the `retention_months` before it are kept whole."""
    if retention_months < 1:
        raise ValueError("retention_months must be at least 1")
    return Month.of(now).plus(-retention_months).start


def attribution_cutoff(conn: Connection, now: datetime) -> datetime:
    """The latest cut-off that keeps every click an order may still be attributed to: the start
    of the month of `now` minus the longest attribution window of any campaign."""
    days = conn.scalar(select(func.max(Campaign.attribution_window_days))) or 0
    return Month.of(now - timedelta(days=int(days))).start


def safe_cutoff(conn: Connection, now: datetime, retention_months: int) -> datetime:
    """The retention's cut-off, moved back when a campaign's attribution window reaches past
    it (an order must still find its click)."""
    return min(retention_cutoff(now, retention_months), attribution_cutoff(conn, now))


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    lower: datetime | None  # None: MINVALUE
    upper: datetime | None  # None: MAXVALUE
    rows: int  # the planner's estimate (pg_class.reltuples), -1 when never analyzed
    detach_pending: bool = False


def _moment(bound: str) -> datetime | None:
    if bound in ("MINVALUE", "MAXVALUE"):
        return None
    value = datetime.fromisoformat(bound.strip("'"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def is_partitioned(conn: Connection, table: str) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
    )
    return bool(kind == "p")


def partitions(conn: Connection, table: str) -> list[Partition]:
    """The partitions attached to `table`, oldest first ([] when it is not partitioned)."""
    if not is_partitioned(conn, table):
        return []
    conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")  # bounds are printed in it
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint, "
            "i.inhdetachpending FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": table},
    ).all()
    found = []
    for name, bound, tuples, pending in rows:
        match = _BOUND.search(bound or "")
        if match is None:
            continue
        found.append(
            Partition(table, name, _moment(match[1]), _moment(match[2]), int(tuples), bool(pending))
        )
    early = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: p.lower or early)


def ensure(engine: Engine, now: datetime, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Creates the month partitions from this month to `months_ahead` months ahead that do not
    exist yet, in every partitioned table; the names it created."""
    if engine.dialect.name != "postgresql":
        return []
    if months_ahead < 0:
        raise ValueError("months_ahead must be 0 or more")
    created = []
    this = Month.of(now)
    for table in TABLES:
        with engine.begin() as conn:
            existing = partitions(conn, table)
            if not existing and not is_partitioned(conn, table):
                continue
        for n in range(months_ahead + 1):
            month = this.plus(n)
            start, end = month.start, month.plus(1).start
            if any(_overlaps(p, start, end) for p in existing):
                continue
            with engine.begin() as conn:
                if _attach(conn, table, month):
                    created.append(month.name(table))
    return created


def _overlaps(p: Partition, start: datetime, end: datetime) -> bool:
    return (p.lower is None or p.lower < end) and (p.upper is None or start < p.upper)


def _attach(conn: Connection, table: str, month: Month) -> bool:
    """The month as a table of its own, then attached: its CHECK matches the bounds, so ATTACH
    does not scan it, and ATTACH builds its indexes and foreign keys from the parent's."""
    name, column = month.name(table), TABLES[table]
    # One maker at a time (two workers starting together): the second finds it made. A name
    # taken by a detached month (past retention) is left alone: that month stays detached.
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('vouch.partitions'))"))
    if conn.scalar(text("SELECT to_regclass(:n)"), {"n": name}) is not None:
        return False
    lower, upper = (f"'{m.start.isoformat()}'" for m in (month, month.plus(1)))
    conn.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    conn.exec_driver_sql(
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_bounds "
        f"CHECK ({column} >= {lower} AND {column} < {upper})"
    )
    conn.exec_driver_sql(
        f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lower}) TO ({upper})"
    )
    conn.exec_driver_sql(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bounds")
    return True


def due(conn: Connection, cutoff: datetime) -> list[Partition]:
    """The partitions of the retained tables that ended at or before `cutoff`."""
    return [
        p
        for table in RETAINED
        for p in partitions(conn, table)
        if p.upper is not None and p.upper <= cutoff
    ]


def detach(engine: Engine, cutoff: datetime, *, drop: bool = False) -> list[str]:
    """Detaches (CONCURRENTLY) the click and orphan-visit partitions that ended at or before
    `cutoff`; with `drop`, drops them and the ones an earlier detach left that ended by then.
    The names detached or dropped."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as conn:
        old = due(conn, cutoff)
        left = [n for n in detached(conn) if _ended_by(n, cutoff)] if drop else []
    done = []
    # CONCURRENTLY runs outside a transaction block: in autocommit.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for p in old:
            how = "FINALIZE" if p.detach_pending else "CONCURRENTLY"
            conn.exec_driver_sql(f"ALTER TABLE {p.table} DETACH PARTITION {p.name} {how}")
            name = p.name
            if p.lower is None and p.upper is not None:  # history: its end kept in its name
                name = f"{p.table}_before_{Month.of(p.upper).name('')[1:]}"
                conn.exec_driver_sql(f"ALTER TABLE {p.name} RENAME TO {name}")
            done.append(name)
        if drop:
            for name in [*done, *left]:
                conn.exec_driver_sql(f"DROP TABLE {name}")
            done += left
    return done


def _ended_by(name: str, cutoff: datetime) -> bool:
    """Whether the detached partition `name` (of a retained table) ended by `cutoff`."""
    match = _NAME.match(name)
    if match is None or match[1] not in RETAINED:
        return False
    if match[2] == "history":
        return False  # attached when detached: never left by a detach
    before = match[2].startswith("before_")
    digits = match[2].removeprefix("before_")
    month = Month(int(digits[1:5]), int(digits[6:8]))
    return (month if before else month.plus(1)).start <= cutoff


def detached(conn: Connection) -> list[str]:
    """Tables left by a detach (partition names no longer attached): to archive or drop."""
    if conn.dialect.name != "postgresql":
        return []
    names = conn.scalars(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND NOT c.relispartition"
        )
    )
    return sorted(name for name in names if is_partition(name))


def keep_up(engine: Engine, now: datetime, retention_months: int) -> tuple[list[str], list[str]]:
    """What the worker does on start and daily: the months ahead, then the retention (when
    `retention_months` is set); the names created and detached."""
    created = ensure(engine, now)
    if not retention_months or engine.dialect.name != "postgresql":
        return created, []
    with engine.begin() as conn:
        cutoff = safe_cutoff(conn, now, retention_months)
    return created, detach(engine, cutoff)
