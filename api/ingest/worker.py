"""The ingest worker: Redis streams into the database, exactly once.

Loop: XREADGROUP on the click and conversion streams (one consumer group, `GROUP`, any number of
workers), write the batch (its clicks in one transaction, its conversions and refunds in
another), then in one atomic Lua call per stream append the entries that cannot be recorded to
the dead-letter stream, requeue deferred ones and XACK them all (a plain XACK when there are
none). A crash anywhere before that call leaves the entries pending: another worker reclaims them
(XAUTOCLAIM after `claim_idle_ms`) and writes them again, which the unique constraints turn into
no-ops. An entry delivered `max_deliveries` times without an ack (it keeps killing workers) is
dead-lettered rather than retried forever.

`run` reads the click stream in a thread of its own (`batch_size` clicks at a time) while the
main thread reads conversions (`conversion_batch_size`) and keeps house, so the two overlap their
database round trips; on SQLite, whose writers take turns anyway, one thread reads both.

Errors: a database error that may pass (connection lost, deadlock, lock timeout) retries the
batch with backoff, indefinitely: valid events are never dead-lettered because the database is
down. Any other error re-runs the batch one event per transaction, and the events that still fail
go to the dead letters with the reason and their original fields.

A conversion whose click id is not in the database while click entries older than the order's
entry are still unread or pending is requeued at the end of the stream (keeping its first entry
id) for up to `defer_max_s`: a lagging click stream never turns a tracked sale into an
unattributed one.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import redis
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine, utcnow
from api.ingest.clicks import ClickStats, ClickValues, Links, click_values, ingest_clicks
from api.ingest.conversions import (
    Context,
    Outcome,
    Result,
    apply_waiting,
    ingest_conversions,
    ingest_refund,
    sweep_waiting,
)
from api.models import Refund
from api.models.events import RefundStatus
from api.tracking import publish
from tracker import keys
from tracker.conversions import ConversionEvent, RefundEvent, from_fields

log = logging.getLogger("vouch.ingest")

GROUP = "ingest"

_FINISH_LUA = """
local i = 2
local function take()
  local n = tonumber(ARGV[i]); i = i + 1
  local f = {}
  for j = 1, n do f[j] = ARGV[i]; i = i + 1 end
  return f
end
local dead = tonumber(ARGV[i]); i = i + 1
for _ = 1, dead do redis.call('XADD', KEYS[2], '*', unpack(take())) end
local requeue = tonumber(ARGV[i]); i = i + 1
for _ = 1, requeue do redis.call('XADD', KEYS[1], '*', unpack(take())) end
local ids = {}
local n = 0
for j = i, #ARGV do
  ids[#ids + 1] = ARGV[j]
  n = n + 1
  if #ids == 1000 then  -- unpack() is bounded by Lua's stack
    redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
    ids = {}
  end
end
if #ids > 0 then redis.call('XACK', KEYS[1], ARGV[1], unpack(ids)) end
return n
"""


@dataclass(frozen=True)
class WorkerOptions:
    batch_size: int = 2000  # click entries per read and per transaction (XREADGROUP COUNT)
    conversion_batch_size: int = 200  # conversions and refunds per read (separate reader)
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    claim_interval_s: float = 5.0
    max_deliveries: int = 20
    sweep_interval_s: float = 30.0
    trim_interval_s: float = 60.0
    defer_max_s: float = 600.0
    publish_interval_s: float = 2.0  # publications to the tracker that failed after commit
    # A second thread for the click stream while the main one reads conversions and keeps
    # house (None: on every database but SQLite, whose writers take turns anyway).
    click_thread: bool | None = None


@dataclass
class Stats:
    clicks: int = 0
    click_duplicates: int = 0
    orphans: int = 0
    conversions: int = 0
    refunds: int = 0
    duplicates: int = 0
    dead: int = 0
    deferred: int = 0
    batches: int = 0

    def add_clicks(self, stats: ClickStats) -> None:
        self.clicks += stats.inserted
        self.click_duplicates += stats.duplicates
        self.orphans += stats.orphans


@dataclass(slots=True)
class Entry:
    stream: str  # the stream's key
    id: str
    # A mapping, or the flat [name, value, ...] list Redis sends; None: deleted from the stream
    # while pending.
    fields: Any


def _pairs(fields: Any) -> list[tuple[Any, Any]]:
    if fields is None:
        return []
    if isinstance(fields, dict):
        return list(fields.items())
    return list(zip(fields[0::2], fields[1::2], strict=True))


@dataclass
class _Batch:
    clicks: list[tuple[Entry, ClickValues]] = field(default_factory=list)
    conversions: list[tuple[Entry, ConversionEvent | RefundEvent]] = field(default_factory=list)
    dead: list[tuple[Entry, str]] = field(default_factory=list)
    requeue: list[Entry] = field(default_factory=list)
    ack: list[Entry] = field(default_factory=list)


class Stopping(Exception):
    """Stop requested while the database was unavailable: leave the batch pending."""


def transient(exc: BaseException) -> bool:
    """A database error that may pass on retry (connection, deadlock, lock or pool timeout)."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def worker_engine(url: str, **kwargs: Any) -> Engine:
    """The worker's engine. On SQLite every transaction is BEGIN IMMEDIATE: it reads then writes,
    and a deferred transaction could not upgrade to a writer once another process committed."""
    engine = make_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _autocommit_driver(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_ms(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class Worker:
    def __init__(
        self,
        client: Any,
        sessions: sessionmaker[Session],
        prefix: str,
        *,
        consumer: str | None = None,
        options: WorkerOptions | None = None,
        stop_event: threading.Event | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = client
        self.sessions = sessions
        self.prefix = prefix
        self.consumer = (
            consumer or f"{socket.gethostname()}-{os.getpid()}-{random.randrange(16**6):06x}"
        )
        self.options = options or WorkerOptions()
        self.stop_event = stop_event or threading.Event()
        self.clock = clock
        self.clicks_stream = keys.clicks_stream(prefix)
        self.conversions_stream = keys.conversions_stream(prefix)
        self.dead_stream = keys.dead_letter_stream(prefix)
        self.stats = Stats()
        self._finish = client.register_script(_FINISH_LUA)
        self._brands: dict[int, int | None] = {}
        self._due: dict[str, float] = {}
        self._clicks_backlog = False
        self._links = Links()
        self._click_thread: threading.Thread | None = None
        self._groups_lost = False  # the click thread saw NOGROUP: the main loop recreates them
        self._links_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        # XREADGROUP replies as Redis sends them (no per-entry dicts): a client of its own
        # sharing the connection pool, whose reply callback for XREADGROUP is the identity.
        self._raw: Any = None
        if isinstance(client, redis.Redis):
            self._raw = redis.Redis(connection_pool=client.connection_pool)
            self._raw.set_response_callback("XREADGROUP", lambda response, **_: response)

    # --- set-up ---------------------------------------------------------------------------

    def ensure_groups(self) -> bool:
        """Creates the consumer groups that are missing; whether any was."""
        created = False
        for stream in (self.clicks_stream, self.conversions_stream):
            try:
                self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
                created = True
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        return created

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> Stats:
        log.info("ingest worker starting", extra={"consumer": self.consumer})
        threaded = self.options.click_thread
        if threaded is None:
            bind = self.sessions.kw.get("bind")
            threaded = bind is not None and bind.dialect.name != "sqlite"
        ready = False
        last_report = time.monotonic()
        backoff = [0.1]
        try:
            while not self.stop_event.is_set():
                if not ready or self._groups_lost:  # at start, or Redis lost its data
                    self._groups_lost = False
                    ready = self._attempt(partial(self._start_up, threaded), backoff)
                else:
                    self._attempt(self._main_step, backoff)
                if time.monotonic() - last_report > 10:
                    last_report = time.monotonic()
                    log.info("ingest progress", extra=vars(self.stats))
        except Stopping:
            pass
        self.stop_event.set()
        if self._click_thread is not None:
            self._click_thread.join()
        log.info("ingest worker stopped", extra={"consumer": self.consumer, **vars(self.stats)})
        return self.stats

    def _start_up(self, threaded: bool) -> None:
        if self.ensure_groups():
            # A Redis without our groups is new or lost its data (a restart without
            # persistence, a failover to an empty replica): the links and secrets the tracker
            # reads went with them, so they are written again from the database.
            self._in_transaction(lambda s: publish.republish_all(s, self.redis, prefix=self.prefix))
        self.process_own_pending()
        if threaded and self._click_thread is None:
            self._click_thread = threading.Thread(
                target=self._click_loop, name="clicks", daemon=True
            )
            self._click_thread.start()

    def _main_step(self) -> None:
        self.housekeeping()
        if self._click_thread is not None:
            self.read_conversions_once()
        else:
            self.read_once()

    def _click_loop(self) -> None:
        """The click stream's reader (a thread of `run`): clicks are most of the load, and their
        database round trips overlap the main thread's conversions."""
        backoff = [0.1]
        try:
            while not self.stop_event.is_set():
                self._attempt(self.read_clicks_once, backoff)
        except Stopping:
            pass

    def _attempt(self, step: Callable[[], Any], backoff: list[float]) -> bool:
        """Runs one step of a loop; whether it went through. A failure leaves its batch pending:
        it is logged and waited out; a lost consumer group is recreated by the main loop."""
        try:
            step()
        except Stopping:
            raise
        except Exception as exc:
            if isinstance(exc, redis.ResponseError) and "NOGROUP" in str(exc):
                self._groups_lost = True
                self.stop_event.wait(0.05)
            else:
                self._pause(exc, backoff)
            return False
        backoff[0] = 0.1
        return True

    def _pause(self, exc: Exception, backoff: list[float]) -> None:
        """Logs a failed iteration and waits (doubling the wait up to 5 s): the batch stays
        pending and is read again."""
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            log.warning("redis unavailable", extra={"error": str(exc), "retry_in": backoff[0]})
        elif isinstance(exc, redis.ResponseError):
            log.exception("redis error")
        else:  # a bug or an unexpected failure
            log.exception("ingest loop failed; retrying")
        self.stop_event.wait(backoff[0])
        backoff[0] = min(backoff[0] * 2, 5.0)

    def drain(self, timeout: float = 60.0) -> Stats:
        """Processes until nothing is unread or pending (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        self.ensure_groups()
        self.process_own_pending()
        while time.monotonic() < deadline:
            self.housekeeping(force_claim=True)
            if self.read_once() == 0 and self.pending() == 0:
                with self.sessions() as session, session.begin():
                    sweep_waiting(session, utcnow())
                return self.stats
        raise TimeoutError("the streams were not drained in time")

    def pending(self) -> int:
        return sum(
            int(self.redis.xpending(s, GROUP)["pending"])
            for s in (self.clicks_stream, self.conversions_stream)
        )

    def read_once(self) -> int:
        """One read of both streams (conversions only once their clicks may be in), processed
        as one batch."""
        streams = {self.clicks_stream: ">"}
        if self._conversions_ready():
            streams[self.conversions_stream] = ">"
        entries = self._read(streams, self.options.batch_size, self.options.block_ms)
        clicks = sum(1 for e in entries if e.stream == self.clicks_stream)
        self._clicks_backlog = clicks >= self.options.batch_size
        if entries:
            self.process(entries)
        return len(entries)

    def read_clicks_once(self) -> int:
        entries = self._read(
            {self.clicks_stream: ">"}, self.options.batch_size, self.options.block_ms
        )
        self._clicks_backlog = len(entries) >= self.options.batch_size
        if entries:
            self.process(entries)
        return len(entries)

    def read_conversions_once(self) -> int:
        if not self._conversions_ready():
            self.stop_event.wait(min(self.options.block_ms, 100) / 1000)
            return 0
        entries = self._read(
            {self.conversions_stream: ">"},
            self.options.conversion_batch_size,
            self.options.block_ms,
        )
        if entries:
            self.process(entries)
        return len(entries)

    def _read(self, streams: dict[str, str], count: int, block: int | None) -> list[Entry]:
        """XREADGROUP; on a standalone Redis the entries keep the flat field lists of the reply
        (decoded lazily, clicks never into dicts)."""
        client = self._raw or self.redis
        response = client.xreadgroup(GROUP, self.consumer, streams, count=count, block=block)
        if isinstance(response, dict):  # RESP3
            response = list(response.items())
        entries: list[Entry] = []
        for stream, items in response or []:
            name = _text(stream)
            entries += [Entry(name, _text(entry_id), fields) for entry_id, fields in items]
        return entries

    def _conversions_ready(self) -> bool:
        """Whether to read conversions now. While the click stream has a backlog, orders whose
        clicks may still be unread would only be deferred: read them once the clicks up to the
        next unread order are in the database."""
        if not self._clicks_backlog:
            return True
        group = {_text(g["name"]): g for g in self.redis.xinfo_groups(self.conversions_stream)}.get(
            GROUP
        )
        if group is None:
            return True
        after = "(" + _text(group["last-delivered-id"])
        upcoming = self.redis.xrange(self.conversions_stream, min=after, count=1)
        if not upcoming:
            return False
        return _id_ms(_text(upcoming[0][0])) <= self.clicks_watermark_ms()

    def process_own_pending(self) -> None:
        """Entries this consumer name read before a restart and never acknowledged."""
        while not self.stop_event.is_set():
            entries = self._read(
                {self.clicks_stream: "0", self.conversions_stream: "0"},
                self.options.batch_size,
                None,
            )
            if not entries:
                return
            self.process(entries)

    def _is_due(self, name: str, interval: float, force: bool = False) -> bool:
        now = time.monotonic()
        if force or now >= self._due.get(name, 0.0):
            self._due[name] = now + interval
            return True
        return False

    def housekeeping(self, force_claim: bool = False) -> None:
        if self._is_due("claim", self.options.claim_interval_s, force_claim):
            self.reclaim()
        if self._is_due("sweep", self.options.sweep_interval_s):
            self._in_transaction(lambda s: sweep_waiting(s, utcnow()))
        if self._is_due("trim", self.options.trim_interval_s):
            self.trim()
        if self._is_due("publish", self.options.publish_interval_s):
            # A link or secret whose publish after its commit failed (Redis was away).
            self._in_transaction(
                lambda s: publish.publish_pending(
                    s, self.redis, older_than=publish.PENDING_GRACE, prefix=self.prefix
                )
            )

    # --- reclaiming and trimming ----------------------------------------------------------

    def reclaim(self) -> int:
        """Takes over entries another consumer left pending for `claim_idle_ms`."""
        total = 0
        for stream in (self.clicks_stream, self.conversions_stream):
            start = "0-0"
            while not self.stop_event.is_set():
                response = self.redis.xautoclaim(
                    stream,
                    GROUP,
                    self.consumer,
                    min_idle_time=self.options.claim_idle_ms,
                    start_id=start,
                    count=self.options.batch_size,
                )
                start = _text(response[0])
                claimed = [Entry(stream, _text(i), f) for i, f in response[1]]
                if claimed:
                    total += len(claimed)
                    log.info("reclaimed", extra={"stream": stream, "entries": len(claimed)})
                    self.process(claimed, check_deliveries=True)
                if start == "0-0" or not claimed:
                    break
        return total

    def trim(self) -> None:
        """Deletes entries every group has read and acknowledged, and forgets consumers that
        have been idle for an hour with nothing pending."""
        for stream in (self.clicks_stream, self.conversions_stream):
            floor: tuple[int, int] | None = None
            for group in self.redis.xinfo_groups(stream):
                name = _text(group["name"])
                candidates = [_id_key(_text(group["last-delivered-id"]))]
                summary = self.redis.xpending(stream, name)
                if summary["pending"]:
                    candidates.append(_id_key(_text(summary["min"])))
                low = min(candidates)
                floor = low if floor is None else min(floor, low)
            if floor is not None and floor > (0, 0):
                self.redis.xtrim(stream, minid=f"{floor[0]}-{floor[1]}", approximate=True)
            for consumer in self.redis.xinfo_consumers(stream, GROUP):
                name = _text(consumer["name"])
                if (
                    name != self.consumer
                    and not consumer["pending"]
                    and consumer["idle"] > 3600_000
                ):
                    self.redis.xgroup_delconsumer(stream, GROUP, name)

    def clicks_watermark_ms(self) -> float:
        """Every click entry with a stream id below this (ms) is committed to the database."""
        groups = {_text(g["name"]): g for g in self.redis.xinfo_groups(self.clicks_stream)}
        group = groups.get(GROUP)
        if group is None:
            return 0
        last_delivered = _text(group["last-delivered-id"])
        last_generated = _text(self.redis.xinfo_stream(self.clicks_stream)["last-generated-id"])
        summary = self.redis.xpending(self.clicks_stream, GROUP)
        if last_delivered == last_generated and not summary["pending"]:
            return float("inf")
        mark = float(_id_ms(last_delivered) - 1)
        if summary["pending"]:
            mark = min(mark, _id_ms(_text(summary["min"])) - 1)
        return mark

    # --- processing -----------------------------------------------------------------------

    def process(self, entries: list[Entry], *, check_deliveries: bool = False) -> None:
        batch = _Batch()
        deliveries = self._deliveries(entries) if check_deliveries else {}
        for entry in entries:
            if entry.fields is None:
                batch.ack.append(entry)
                continue
            times = deliveries.get(entry.id, 0)
            if times > self.options.max_deliveries:
                batch.dead.append((entry, f"delivered {times} times without an acknowledgement"))
                continue
            try:
                if entry.stream == self.clicks_stream:
                    batch.clicks.append((entry, click_values(entry.fields)))
                else:
                    fields = entry.fields
                    if not isinstance(fields, dict):
                        fields = entry.fields = dict(_pairs(fields))
                    batch.conversions.append((entry, from_fields(fields)))
            except Exception as exc:  # undecodable or invalid: poison
                batch.dead.append((entry, f"invalid event: {exc}"))
        if batch.clicks:
            self._write_clicks(batch)
        if batch.conversions:
            self._write_conversions(batch)
        self._finish_batch(batch)
        with self._stats_lock:
            self.stats.batches += 1

    def _deliveries(self, entries: list[Entry]) -> dict[str, int]:
        counts: dict[str, int] = {}
        by_stream: dict[str, list[str]] = {}
        for entry in entries:
            by_stream.setdefault(entry.stream, []).append(entry.id)
        for stream, ids in by_stream.items():
            ordered = sorted(ids, key=_id_key)
            for item in self.redis.xpending_range(
                stream, GROUP, min=ordered[0], max=ordered[-1], count=len(ordered) * 4 + 10
            ):
                counts[_text(item["message_id"])] = int(item["times_delivered"])
        return counts

    def _write_clicks(self, batch: _Batch) -> None:
        """One transaction for the batch's clicks; if it fails (not transiently), one per click,
        and the clicks that still fail go to the dead letters."""
        dead = self._batch_or_each(
            partial(self._store_clicks, batch.clicks),
            partial(self._store_clicks_one_by_one, batch.clicks),
        )
        for entry, _ in batch.clicks:
            reason = dead.get(entry.id)
            if reason is None:
                batch.ack.append(entry)
            else:
                batch.dead.append((entry, reason))

    def _store_clicks(self, clicks: list[tuple[Entry, ClickValues]]) -> dict[str, str]:
        """Stores the clicks whose link checks out in one transaction; the others' entry ids
        with the reason."""
        values = [v for _, v in clicks]
        with self.sessions() as session, session.begin():
            with self._links_lock:
                rejected = self._links.check(session, values)
            if rejected:
                values = [v for i, v in enumerate(values) if i not in rejected]
            stats = ingest_clicks(session, values)
        with self._stats_lock:
            self.stats.add_clicks(stats)
        return {clicks[i][0].id: reason for i, reason in rejected.items()}

    def _store_clicks_one_by_one(self, clicks: list[tuple[Entry, ClickValues]]) -> dict[str, str]:
        dead: dict[str, str] = {}
        for entry, values in clicks:
            rejected, error = self._alone(partial(self._store_clicks, [(entry, values)]))
            if error is not None:
                dead[entry.id] = error
            else:
                dead.update(rejected)
        return dead

    def _batch_or_each(self, whole: Callable[[], Any], each: Callable[[], Any]) -> Any:
        """`whole` (the batch in one transaction), or if it fails other than transiently `each`
        (one transaction per event: only the events that fail alone are dead-lettered)."""
        try:
            return self._retrying(whole)
        except (Stopping, redis.RedisError):
            raise  # Redis failed mid-batch: leave everything pending, nothing is lost
        except Exception:
            log.exception("batch failed; retrying its events one by one")
            return each()

    def _write_conversions(self, batch: _Batch) -> None:
        results = self._batch_or_each(
            partial(self._write_all, batch.conversions), partial(self._write_one_by_one, batch)
        )
        touched: set[tuple[int, str]] = set()
        for entry, event_ in batch.conversions:
            result = results.get((entry.stream, entry.id), Result(Outcome.INSERTED))
            if result.outcome == Outcome.DEAD:
                batch.dead.append((entry, result.reason or "rejected"))
                continue
            if result.outcome == Outcome.DEFER:
                batch.requeue.append(entry)
                continue
            touched.add((event_.brand_id, event_.order_id))
            batch.ack.append(entry)
        if touched:
            # The later of two racing commits (an order and its refund) sees the other one.
            try:
                self._retrying(lambda: self._apply_touched(touched))
            except (Stopping, redis.RedisError):
                raise
            except Exception:  # the periodic sweep applies them later
                log.exception("applying waiting refunds failed")

    def _write_all(
        self, conversions: list[tuple[Entry, ConversionEvent | RefundEvent]]
    ) -> dict[tuple[str, str], Result]:
        results: dict[tuple[str, str], Result] = {}
        with self.sessions() as session, session.begin():
            ctx = self._context(conversions)
            counts = {"conversions": 0, "refunds": 0, "duplicates": 0}
            # One lock order for every worker (no deadlocks): partnerships by id (prefetch),
            # refunds by (brand, order) keeping their stream order (stable sort), then orders
            # by the time they happened, so a month's tiers see its earlier orders first. A
            # refund put before its order waits and is applied when the order is recorded.
            refunds = sorted(
                ((entry, e) for entry, e in conversions if isinstance(e, RefundEvent)),
                key=lambda c: (c[1].brand_id, c[1].order_id),
            )
            orders = sorted(
                ((entry, e) for entry, e in conversions if isinstance(e, ConversionEvent)),
                key=lambda c: (c[1].occurred_at_ms, c[1].brand_id, c[1].order_id),
            )
            if conversions:
                ctx.prefetch(session, [e for _, e in refunds] + [e for _, e in orders])
            for kind, done in (
                ("refunds", [(entry, ingest_refund(session, e, ctx)) for entry, e in refunds]),
                (
                    "conversions",
                    zip(
                        (entry for entry, _ in orders),
                        ingest_conversions(session, [e for _, e in orders], ctx),
                        strict=True,
                    ),
                ),
            ):
                for entry, result in done:
                    results[(entry.stream, entry.id)] = result
                    if result.outcome == Outcome.INSERTED:
                        counts[kind] += 1
                    elif result.outcome == Outcome.DUPLICATE:
                        counts["duplicates"] += 1
        with self._stats_lock:
            self.stats.conversions += counts["conversions"]
            self.stats.refunds += counts["refunds"]
            self.stats.duplicates += counts["duplicates"]
        return results

    def _write_one_by_one(self, batch: _Batch) -> dict[tuple[str, str], Result]:
        results: dict[tuple[str, str], Result] = {}
        for entry, event_ in batch.conversions:
            written, error = self._alone(partial(self._write_all, [(entry, event_)]))
            if error is not None:
                written = {(entry.stream, entry.id): Result(Outcome.DEAD, error)}
            results.update(written)
        return results

    def _alone(self, write: Callable[[], Any]) -> tuple[Any, str | None]:
        """Writes one event in its own transaction (retrying transient errors): the result, or
        (None, why it cannot be written)."""
        try:
            return self._retrying(write), None
        except (Stopping, redis.RedisError):
            raise
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}"[:1000]

    def _apply_touched(self, touched: set[tuple[int, str]]) -> None:
        with self.sessions() as session, session.begin():
            order_ids = sorted({order for _, order in touched})
            waiting: set[tuple[int, str]] = set()
            for start in range(0, len(order_ids), 500):
                rows = session.execute(
                    select(Refund.brand_id, Refund.order_id).where(
                        Refund.status == RefundStatus.WAITING,
                        Refund.order_id.in_(order_ids[start : start + 500]),
                    )
                )
                waiting.update((int(b), str(o)) for b, o in rows)
            now = utcnow()
            for brand_id, order_id in sorted(waiting & touched):
                apply_waiting(session, brand_id, order_id, now)

    def _in_transaction(self, work: Callable[[Session], Any]) -> Any:
        """Housekeeping `work` in a session committed when it returns (work that reads in
        several transactions, such as republishing, may commit in between)."""

        def run() -> Any:
            with self.sessions() as session:
                result = work(session)
                session.commit()
                return result

        try:
            return self._retrying(run)
        except Stopping:
            raise
        except Exception:
            log.exception("housekeeping transaction failed")
            return None

    def _retrying(self, work: Callable[[], Any]) -> Any:
        """Runs `work`, retrying transient database errors with backoff until it succeeds or a
        stop is requested (then raises Stopping: the entries stay pending)."""
        delay = 0.05
        attempt = 0
        while True:
            try:
                return work()
            except Exception as exc:
                if not transient(exc):
                    raise
                attempt += 1
                if attempt in (1, 5) or attempt % 50 == 0:
                    log.warning("database error (attempt %d), retrying: %s", attempt, exc)
                if self.stop_event.wait(delay * random.uniform(0.5, 1.5)):
                    raise Stopping() from exc
                delay = min(delay * 2, 5.0)

    def _context(self, conversions: list[tuple[Entry, ConversionEvent | RefundEvent]]) -> Context:
        # A shopper clicks before buying, so the click entry precedes the order's first entry in
        # Redis time (both ids come from the same server clock).
        first_ms = {
            event_.event_id: _id_ms(_text((entry.fields or {}).get(b"first_id", entry.id)))
            for entry, event_ in conversions
        }
        # Taken before the transaction reads any click: a click entry below the watermark was
        # committed before that, so the reads see it (read committed; SQLite's writer sees
        # everything). Taken later, a click committed (by the click thread or another worker)
        # between the read and the watermark would look lost, and its order unattributed.
        by_click = any(isinstance(e, ConversionEvent) and e.click_id for _, e in conversions)
        watermark = self.clicks_watermark_ms() if by_click else float("inf")

        def click_may_arrive(event_: ConversionEvent) -> bool:
            if self.clock() * 1000 - event_.received_at_ms > self.options.defer_max_s * 1000:
                return False  # give up waiting: attribute with what the database has
            return watermark < first_ms.get(event_.event_id, 0)

        return Context(now=utcnow(), brands=self._brands, click_may_arrive=click_may_arrive)

    # --- acknowledging --------------------------------------------------------------------

    def _finish_batch(self, batch: _Batch) -> None:
        now_ms = str(int(self.clock() * 1000))
        per_stream: dict[str, tuple[list[list[Any]], list[list[Any]], list[str]]] = {}

        def slot(stream: str) -> tuple[list[list[Any]], list[list[Any]], list[str]]:
            return per_stream.setdefault(stream, ([], [], []))

        for entry, reason in batch.dead:
            flat: list[Any] = []
            for k, v in _pairs(entry.fields):
                flat += [k, v]
            flat += [
                "dlq_reason",
                reason[:2000],
                "dlq_stream",
                entry.stream,
                "dlq_entry_id",
                entry.id,
                "dlq_consumer",
                self.consumer,
                "dlq_at",
                now_ms,
            ]
            slot(entry.stream)[0].append(flat)
            slot(entry.stream)[2].append(entry.id)
            log.warning(
                "dead-lettered", extra={"stream": entry.stream, "id": entry.id, "reason": reason}
            )
        for entry in batch.requeue:
            fields: dict[str, Any] = {_text(k): v for k, v in _pairs(entry.fields)}
            fields["deferred"] = str(int(_text(fields.get("deferred", b"0"))) + 1)
            fields.setdefault("first_id", entry.id)
            requeued: list[Any] = []
            for name, value in fields.items():
                requeued += [name, value]
            slot(entry.stream)[1].append(requeued)
            slot(entry.stream)[2].append(entry.id)
        for entry in batch.ack:
            slot(entry.stream)[2].append(entry.id)
        for stream, (dead, requeue, ids) in per_stream.items():
            if not dead and not requeue:  # acknowledging only: no script needed (cheaper)
                for start in range(0, len(ids), 1000):
                    self.redis.xack(stream, GROUP, *ids[start : start + 1000])
                continue
            args: list[Any] = [GROUP, len(dead)]
            for flat in dead:
                args += [len(flat), *flat]
            args.append(len(requeue))
            for flat in requeue:
                args += [len(flat), *flat]
            args += ids
            self._finish(keys=[stream, self.dead_stream], args=args)
        with self._stats_lock:
            self.stats.dead += len(batch.dead)
            self.stats.deferred += len(batch.requeue)
        if batch.requeue and len(batch.requeue) == len(batch.conversions) and not batch.clicks:
            # Only waiting for clicks: give their stream a moment instead of spinning.
            self.stop_event.wait(0.2)


def run_worker(
    stop_event: threading.Event | None = None,
    consumer_name: str | None = None,
    batch_size: int = WorkerOptions.batch_size,
    block_ms: int = 1000,
    **options: Any,
) -> Stats:
    """Runs the ingest worker until `stop_event` is set, or until SIGTERM/SIGINT when none is
    given (`vouch worker`, `python -m api.ingest`). Extra keyword arguments are WorkerOptions."""
    from api.settings import get_settings
    from tracker.redis_client import sync_client

    settings = get_settings()
    own_stop = stop_event is None
    stop = stop_event or threading.Event()
    if own_stop and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _signum, _frame: stop.set())
    # No pre-ping: a connection found dead fails its transaction, which is retried.
    engine = worker_engine(settings.database_url, pool_pre_ping=False)
    client = sync_client(settings.redis)
    try:
        worker = Worker(
            client,
            sessionmaker(bind=engine, expire_on_commit=False),
            settings.redis.prefix,
            consumer=consumer_name,
            options=WorkerOptions(batch_size=batch_size, block_ms=block_ms, **options),
            stop_event=stop,
        )
        return worker.run()
    finally:
        engine.dispose()
        client.close()
