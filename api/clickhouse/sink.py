"""The sink: clicks, conversions and refunds committed to the database, copied to ClickHouse.

It reads committed rows from the database (never the worker's batches in flight), so nothing
it copies can be rolled back, and what the API changes (a review approving an order) reaches
ClickHouse too. It runs as a thread of the ingest worker (one worker at a time holds its Redis
lock) or as `vouch clickhouse sink`; ClickHouse being down only stops the thread, which retries
with a growing pause while ingest goes on untouched.

Exact, whatever fails:
- Clicks are never updated: read by id, past a watermark. Ids are taken at insert and become
  visible at commit, so a lower id may appear after a higher one (two workers' batches): the
  ids skipped between the rows read are kept as gaps and looked up again each round until they
  appear or are older than `margin_s` (rolled back, or used by a replayed click's ON CONFLICT).
- Conversions and refunds change: read by `updated_at` past a cursor, and every `margin_s / 4`
  the last `margin_s` again (a transaction that committed late), skipping rows whose version
  was copied already.
- What it copied is only marked done once ClickHouse took it. The watermarks kept in
  ClickHouse (`sink_state`) are the safe ones (below every open gap, a margin behind the
  cursor): a sink killed at any point starts again there and copies some rows twice, which the
  ReplacingMergeTree tables and FINAL reads count once.
- `backfill` copies everything (or from a day) in id order, resumably, for a ClickHouse that
  was added late, emptied, or down for longer than the margin.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.clickhouse.client import Client
from api.models import Campaign, Partnership
from api.models.events import Click, Conversion, Refund

log = logging.getLogger("vouch.clickhouse")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_GAP_RANGES = 200  # gap ranges looked up per round (the oldest first)


def micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


# --- rows: the database's, as ClickHouse's columns ------------------------------------------


CLICK_COLUMNS = (
    "id",
    "click_id",
    "organization_id",
    "brand_id",
    "campaign_id",
    "partnership_id",
    "influencer_id",
    "link_id",
    "occurred_at",
    "bot",
    "is_unique",
    "country",
    "device",
    "referrer_host",
    "ip_hash",
)


def _clicks_select() -> Any:
    """Clicks as tuples in CLICK_COLUMNS order, with their influencer and brand: plain rows,
    not ORM objects (the sink reads as many rows as the worker writes)."""
    return (
        select(
            Click.id,
            Click.click_id,
            Click.organization_id,
            func.coalesce(Campaign.brand_id, 0),
            Click.campaign_id,
            Click.partnership_id,
            func.coalesce(Partnership.influencer_id, 0),
            Click.link_id,
            Click.occurred_at,
            Click.bot,
            Click.is_unique,
            func.coalesce(Click.country, ""),
            func.coalesce(Click.device, ""),
            func.coalesce(Click.referrer_host, ""),
            func.coalesce(Click.ip_hash, ""),
        )
        .select_from(Click)
        .outerjoin(Partnership, Partnership.id == Click.partnership_id)
        .outerjoin(Campaign, Campaign.id == Click.campaign_id)
    )


# On PostgreSQL clicks leave as COPY's text, which is ClickHouse's TabSeparated (\N, \t, \n
# and \\ escapes alike): no row is decoded in Python, only each line's id is read.
_PG_CLICKS = (
    "SELECT c.id, c.click_id, c.organization_id, coalesce(k.brand_id, 0), c.campaign_id, "
    "c.partnership_id, coalesce(p.influencer_id, 0), c.link_id, "
    "(c.occurred_at AT TIME ZONE 'UTC'), c.bot::int, c.is_unique::int, "
    "coalesce(c.country, ''), coalesce(c.device, ''), coalesce(c.referrer_host, ''), "
    "coalesce(c.ip_hash, '') "
    "FROM clicks c LEFT JOIN partnerships p ON p.id = c.partnership_id "
    "LEFT JOIN campaigns k ON k.id = c.campaign_id"
)


def read_clicks(session: Session, where: str, limit: int | None) -> tuple[list[int], Any]:
    """The ids of the clicks matching `where` (SQL over `c`, the clicks table, made of
    integers only) in id order, and the rows: TabSeparated bytes on PostgreSQL, tuples in
    CLICK_COLUMNS order elsewhere."""
    tail = f" WHERE {where} ORDER BY c.id" + (f" LIMIT {int(limit)}" if limit else "")
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY ({_PG_CLICKS}{tail}) TO STDOUT") as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        ids = [int(line[: line.index(b"\t")]) for line in data.split(b"\n") if line]
        return ids, data
    stmt = _clicks_select().where(text(where.replace("c.", "clicks."))).order_by(Click.id)
    rows = [tuple(r) for r in session.execute(stmt.limit(limit) if limit else stmt)]
    return [r[0] for r in rows], rows


def write_clicks(client: Client, data: Any) -> None:
    if isinstance(data, bytes):
        client.insert_tsv("clicks", CLICK_COLUMNS, data)
    else:
        client.insert("clicks", data, CLICK_COLUMNS)


def conversion_row(c: Conversion) -> dict[str, Any]:
    return {
        "id": c.id,
        "organization_id": c.organization_id,
        "brand_id": c.brand_id,
        "campaign_id": c.campaign_id or 0,
        "partnership_id": c.partnership_id or 0,
        "influencer_id": c.influencer_id or 0,
        "link_id": c.link_id or 0,
        "order_id": c.order_id,
        "amount": c.amount,
        "currency": c.currency,
        "occurred_at": c.occurred_at,
        "status": str(c.status.value if hasattr(c.status, "value") else c.status),
        "attributed_via": str(c.attributed_via.value) if c.attributed_via else "",
        "discount_code": c.discount_code or "",
        "repeat": bool(c.repeat),
        "country": c.country or "",
        "device": c.device or "",
        "referrer_host": c.referrer_host or "",
        "version": micros(c.updated_at),
    }


def refund_row(r: Refund) -> dict[str, Any]:
    return {
        "id": r.id,
        "organization_id": r.organization_id,
        "brand_id": r.brand_id,
        "conversion_id": r.conversion_id or 0,
        "amount": r.amount or 0,
        "currency": r.currency or "",
        "occurred_at": r.occurred_at,
        "status": str(r.status.value if hasattr(r.status, "value") else r.status),
        "version": micros(r.updated_at),
    }


# --- state kept in ClickHouse ------------------------------------------------------------------


def load_state(client: Client) -> dict[str, int]:
    rows = client.query("SELECT name, argMax(value, at) FROM sink_state GROUP BY name")
    return {str(name): int(value) for name, value in rows}


def save_state(client: Client, values: dict[str, int]) -> None:
    now = datetime.now(UTC)
    client.insert("sink_state", [{"name": k, "value": v, "at": now} for k, v in values.items()])


# --- the sink ----------------------------------------------------------------------------------


@dataclass
class _Gap:
    lo: int
    hi: int
    seen: float  # when it was first seen (the sink's clock)


@dataclass
class _Changing:
    """The cursor over one changing table (conversions or refunds)."""

    model: Any
    row: Callable[[Any], dict[str, Any]]
    cursor: int = 0  # newest updated_at copied, microseconds
    sent: dict[int, int] = field(default_factory=dict)  # id -> version copied, in the margin
    swept: float = 0.0
    # New rows are also read by id, as clicks are: a row written with an old updated_at (a
    # long transaction, history loaded in one) is found all the same.
    high: int = 0
    gaps: list[_Gap] = field(default_factory=list)


@dataclass
class SinkStats:
    clicks: int = 0
    conversions: int = 0
    refunds: int = 0
    rounds: int = 0


class Sink:
    def __init__(
        self,
        client: Client,
        sessions: sessionmaker[Session],
        *,
        margin_s: float = 120.0,
        chunk: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.sessions = sessions
        self.margin_s = margin_s
        self.chunk = chunk
        self.clock = clock
        self.stats = SinkStats()
        state = load_state(client)
        self.high = state.get("clicks", 0)  # highest click id copied
        self.gaps: list[_Gap] = []
        margin_us = int(margin_s * 1_000_000)
        self.changing = {
            name: _Changing(model, row, state.get(name, 0), high=state.get(f"{name}:id", 0))
            for name, model, row in (
                ("conversions", Conversion, conversion_row),
                ("refunds", Refund, refund_row),
            )
        }
        self._margin_us = margin_us

    # One round: what was committed since the last, copied. The number of rows copied.
    def step(self) -> int:
        copied = self._clicks()
        for name, table in self.changing.items():
            copied += self._changed(name, table)
        self.stats.rounds += 1
        save_state(self.client, self.watermarks())
        return copied

    def watermarks(self) -> dict[str, int]:
        """Where a sink started now would begin: below every open gap, a margin behind."""
        marks = {"clicks": _low(self.high, self.gaps)}
        for name, t in self.changing.items():
            marks[name] = max(0, t.cursor - self._margin_us)
            marks[f"{name}:id"] = _low(t.high, t.gaps)
        return marks

    def _clicks(self) -> int:
        now = self.clock()
        self.gaps = [g for g in self.gaps if now - g.seen <= self.margin_s]
        open_gaps = self.gaps[:MAX_GAP_RANGES]
        with self.sessions() as session:
            found, data = read_clicks(session, f"c.id > {int(self.high)}", self.chunk)
            late: list[int] = []
            if open_gaps:
                ranges = " OR ".join(f"c.id BETWEEN {int(g.lo)} AND {int(g.hi)}" for g in open_gaps)
                late, late_data = read_clicks(session, ranges, None)
                data = data + late_data
        write_clicks(self.client, data)
        self.high, self.gaps = _advance(self.high, self.gaps, found, late, now)
        copied = len(found) + len(late)
        self.stats.clicks += copied
        return copied

    def _new(self, name: str, table: _Changing) -> int:
        """Rows past the table's highest id copied, and those of its open gaps."""
        model = table.model
        now = self.clock()
        table.gaps = [g for g in table.gaps if now - g.seen <= self.margin_s]
        open_gaps = table.gaps[:MAX_GAP_RANGES]
        with self.sessions() as session:
            found = list(
                session.scalars(
                    select(model).where(model.id > table.high).order_by(model.id).limit(self.chunk)
                )
            )
            late = (
                list(
                    session.scalars(
                        select(model).where(or_(*(model.id.between(g.lo, g.hi) for g in open_gaps)))
                    )
                )
                if open_gaps
                else []
            )
            session.expunge_all()
        rows = [o for o in found + late if table.sent.get(o.id) != micros(o.updated_at)]
        self.client.insert(name, [table.row(o) for o in rows])
        for o in rows:
            table.sent[o.id] = micros(o.updated_at)
        table.high, table.gaps = _advance(
            table.high, table.gaps, [o.id for o in found], sorted(o.id for o in late), now
        )
        return len(rows)

    def _changed(self, name: str, table: _Changing) -> int:
        copied = self._new(name, table)
        model = table.model
        now = self.clock()
        sweep = now - table.swept >= self.margin_s / 4
        since = max(0, table.cursor - self._margin_us) if sweep else table.cursor
        for batch in self._pages(model, from_micros(since), strict=not sweep):
            rows = []
            for obj in batch:
                version = micros(obj.updated_at)
                if table.sent.get(obj.id) == version:
                    continue
                rows.append(table.row(obj))
            self.client.insert(name, rows)
            for obj in batch:
                version = micros(obj.updated_at)
                table.sent[obj.id] = version
                table.cursor = max(table.cursor, version)
            copied += len(rows)
        if sweep:
            table.swept = now
        # What no later round reads by updated_at again is forgotten: only the margin is kept.
        floor = table.cursor - self._margin_us
        table.sent = {i: v for i, v in table.sent.items() if v >= floor}
        setattr(self.stats, name, getattr(self.stats, name) + copied)
        return copied

    def _pages(self, model: Any, since: datetime, *, strict: bool) -> Iterator[list[Any]]:
        """Rows with updated_at past `since` (or at it, when not `strict`), oldest first, in
        pages of `chunk` (keyset on updated_at, id)."""
        after: tuple[datetime, int] | None = None
        while True:
            with self.sessions() as session:
                stmt = select(model)
                if after is None:
                    cond = model.updated_at > since if strict else model.updated_at >= since
                    stmt = stmt.where(cond)
                else:
                    at, last = after
                    stmt = stmt.where(
                        or_(model.updated_at > at, and_(model.updated_at == at, model.id > last))
                    )
                batch = list(
                    session.scalars(
                        stmt.order_by(model.updated_at, model.id).limit(self.chunk)
                    ).all()
                )
                session.expunge_all()
            if not batch:
                return
            yield batch
            if len(batch) < self.chunk:
                return
            after = (batch[-1].updated_at, batch[-1].id)


def _low(high: int, gaps: list[_Gap]) -> int:
    """Where reading by id starts again after a restart: below every open gap."""
    return min([high, *(g.lo - 1 for g in gaps)])


def _advance(
    high: int, gaps: list[_Gap], found: list[int], late: list[int], now: float
) -> tuple[int, list[_Gap]]:
    """After copying the rows `found` (ids past `high`, ascending) and `late` (ids of open
    gaps, ascending): the new highest id and gaps (those filled leave, the ids skipped among
    the new rows are new ones)."""
    if late:
        gaps = _without(gaps, late)
    for id_ in found:
        if id_ > high + 1:
            gaps.append(_Gap(high + 1, id_ - 1, now))
        high = id_
    return high, gaps


def _without(gaps: list[_Gap], ids: list[int]) -> list[_Gap]:
    """`gaps` less the ids found (sorted)."""
    import bisect

    result = []
    for g in gaps:
        lo = g.lo
        i = bisect.bisect_left(ids, g.lo)
        while i < len(ids) and ids[i] <= g.hi:
            if ids[i] > lo:
                result.append(_Gap(lo, ids[i] - 1, g.seen))
            lo = ids[i] + 1
            i += 1
        if lo <= g.hi:
            result.append(_Gap(lo, g.hi, g.seen))
    return result


# --- backfill ----------------------------------------------------------------------------------


def backfill(
    client: Client,
    sessions: sessionmaker[Session],
    *,
    since: datetime | None = None,
    chunk: int = 10_000,
    progress: Callable[[str, int, int], None] | None = None,
    resume: bool = True,
) -> dict[str, int]:
    """Copies every click, conversion and refund (those that happened at or after `since`) in
    id order, `chunk` rows a statement; resumable: after each chunk the last id is kept in
    `sink_state` (`backfill:<table>`), where a rerun with `resume` starts again. Rows copied
    twice count once. Copied per table."""
    state = load_state(client) if resume else {}
    done: dict[str, int] = {}
    plans: list[tuple[str, Any, Callable[[Any], Any]]] = [
        ("clicks", Click, tuple),  # read_clicks' rows as they are
        ("conversions", Conversion, conversion_row),
        ("refunds", Refund, refund_row),
    ]
    for name, model, to_row in plans:
        key = f"backfill:{name}" + (f":{since:%Y%m%d}" if since else "")
        last = state.get(key, 0)
        when = model.occurred_at >= since if since is not None else None
        with sessions() as session:
            if model is Click and when is not None:
                # Clicks go by id: from the first click of the day on (a click that came in
                # late with an older time is copied too; what happened since is never missed).
                first = session.scalar(select(func.min(Click.id)).where(when))
                last = max(last, (first or 2**62) - 1)
                when = None
            total_stmt = select(model.id).where(model.id > last)
            if when is not None:
                total_stmt = total_stmt.where(when)
            total = int(
                session.scalar(select(func.count()).select_from(total_stmt.subquery())) or 0
            )
        copied = 0
        if progress:
            progress(name, 0, total)
        while True:
            with sessions() as session:
                if model is Click:
                    ids, data = read_clicks(session, f"c.id > {int(last)}", chunk)
                else:
                    stmt: Any = select(model).where(model.id > last)
                    if when is not None:
                        stmt = stmt.where(when)
                    page = list(session.scalars(stmt.order_by(model.id).limit(chunk)))
                    ids, data = [r.id for r in page], [to_row(r) for r in page]
            if not ids:
                break
            if model is Click:
                write_clicks(client, data)
            else:
                client.insert(name, data)
            last = ids[-1]
            save_state(client, {key: last})
            copied += len(ids)
            if progress:
                progress(name, min(copied, total), total)
        if progress and total and copied < total:
            progress(name, total, total)
        done[name] = copied
    return done


# --- the worker's thread -----------------------------------------------------------------------

LOCK_MS = 30_000


def lock_key(prefix: str) -> str:
    """Who runs the sink (a worker's consumer name), for LOCK_MS after its last round."""
    return f"{prefix}:clickhouse:sink"


def progress_key(prefix: str) -> str:
    """A hash of where the running sink is (`clicks_high`: the highest click id copied; rows
    copied per table since it started; `started`, `at`: when its last round began and ended:
    a round that began after a commit has copied it), for monitoring."""
    return f"{prefix}:clickhouse:progress"


class SinkThread:
    """The sink as a thread of the ingest worker: one worker at a time runs it (a Redis lock,
    renewed each round), pausing `poll_s` between rounds that found little, and backing off up
    to 30 s while ClickHouse (or the database) fails."""

    def __init__(
        self,
        url: str,
        sessions: sessionmaker[Session],
        redis_client: Any,
        prefix: str,
        owner: str,
        stop_event: threading.Event,
        *,
        poll_s: float = 1.0,
        margin_s: float = 120.0,
    ) -> None:
        self.url = url
        self.sessions = sessions
        self.redis = redis_client
        self.lock_key = lock_key(prefix)
        self.progress_key = progress_key(prefix)
        self.owner = owner
        self.stop_event = stop_event
        self.poll_s = poll_s
        self.margin_s = margin_s
        self.sink: Sink | None = None
        self._sessions: sessionmaker[Session] | None = None
        self.thread = threading.Thread(target=self.run, name="clickhouse-sink", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.thread.join()

    def _own_sessions(self) -> sessionmaker[Session]:
        """Sessions on an engine of the sink's own (its reads take none of the worker's
        connections; on SQLite, plain transactions, not the worker's BEGIN IMMEDIATE)."""
        if self._sessions is None:
            from api.db import make_engine

            bind = self.sessions.kw.get("bind")
            if bind is None or not hasattr(bind, "url"):
                self._sessions = self.sessions
            else:
                engine = make_engine(bind.url.render_as_string(hide_password=False), pool_size=1)
                self._sessions = sessionmaker(bind=engine, expire_on_commit=False)
        return self._sessions

    def _hold_lock(self) -> bool:
        if self.redis.set(self.lock_key, self.owner, nx=True, px=LOCK_MS):
            return True
        held = self.redis.get(self.lock_key)
        if held is not None and (held.decode() if isinstance(held, bytes) else held) == self.owner:
            self.redis.pexpire(self.lock_key, LOCK_MS)
            return True
        return False

    def run(self) -> None:
        from api.clickhouse.client import connect

        backoff = 0.5
        while not self.stop_event.is_set():
            try:
                if not self._hold_lock():
                    self.sink = None  # another worker copies; start from its watermarks
                    self.stop_event.wait(LOCK_MS / 3000)
                    continue
                if self.sink is None:
                    self.sink = Sink(
                        connect(self.url), self._own_sessions(), margin_s=self.margin_s
                    )
                started = time.time()
                copied = self.sink.step()
                stats = self.sink.stats
                self.redis.hset(
                    self.progress_key,
                    mapping={
                        "clicks_high": self.sink.high,
                        "clicks": stats.clicks,
                        "conversions": stats.conversions,
                        "refunds": stats.refunds,
                        "started": f"{started:.3f}",
                        "at": f"{time.time():.3f}",
                    },
                )
                backoff = 0.5
                if copied < self.sink.chunk // 2:
                    self.stop_event.wait(self.poll_s)
            except Exception as exc:
                log.warning(
                    "clickhouse sink failed; retrying",
                    extra={
                        "error": str(exc).splitlines()[0] if str(exc) else repr(exc),
                        "retry_in": backoff,
                    },
                )
                self.sink = None  # start again from the watermarks kept
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        if self._sessions is not None and self._sessions is not self.sessions:
            self._sessions.kw["bind"].dispose()
        try:  # let the next worker take over at once
            if self.redis.get(self.lock_key) in (self.owner, self.owner.encode()):
                self.redis.delete(self.lock_key)
        except Exception:
            log.warning("clickhouse sink: could not release its lock", exc_info=True)


class SinkProcess:
    """The sink as a process of its own started by the worker (`vouch clickhouse sink
    --parent`): the same loop as SinkThread, with its own interpreter, so its reading and
    encoding never hold the worker's GIL. It reads its settings from the environment, as the
    worker does, and stops with the worker (or when the worker is gone)."""

    def __init__(self, stop_event: threading.Event) -> None:
        self.stop_event = stop_event
        self.proc: Any = None
        self.thread = threading.Thread(target=self._supervise, name="clickhouse-sink", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _spawn(self) -> Any:
        import os
        import subprocess
        import sys

        return subprocess.Popen(
            [sys.executable, "-m", "api.cli", "clickhouse", "sink", "--parent", str(os.getpid())]
        )

    def _supervise(self) -> None:
        """Keeps the process running (it exits when it cannot start: the database or Redis
        away), started again after a pause growing to 30 s."""
        backoff = 1.0
        while not self.stop_event.is_set():
            self.proc = self._spawn()
            started = time.monotonic()
            while self.proc.poll() is None and not self.stop_event.wait(0.5):
                pass
            if self.stop_event.is_set():
                break
            backoff = 1.0 if time.monotonic() - started > 60 else min(backoff * 2, 30.0)
            log.warning(
                "clickhouse sink process exited; starting it again",
                extra={"returncode": self.proc.returncode, "retry_in": backoff},
            )
            self.stop_event.wait(backoff)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except Exception:
                self.proc.kill()

    def join(self) -> None:
        self.thread.join()
