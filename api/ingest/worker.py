"""The ingest worker: Redis streams into the database, exactly once.

Loop: read the click and conversion streams in one consumer group (`api.ingest.streams`, any
number of workers), write the batch (`api.ingest.batches`: its clicks in one transaction, its
conversions and refunds in another), then end it atomically on the streams: the entries that
cannot be recorded are dead-lettered, deferred ones requeued, all acknowledged. A crash anywhere
before that leaves the entries pending: another worker reclaims them (XAUTOCLAIM after
`claim_idle_ms`) and writes them again, which the unique constraints turn into no-ops. Failed
writes are retried or isolated as `api.ingest.retries` says.

`run` reads the click stream in a thread of its own (`batch_size` clicks at a time) while the
main thread reads conversions (`conversion_batch_size`) and keeps house (reclaiming, sweeping
waiting refunds, trimming, publishing to the tracker what failed after commit, refreshing the
creator-risk of partnerships with new orders, and everything
again when Redis lost its groups), so the two overlap their database round trips; on SQLite,
whose writers take turns anyway, one thread reads both. With CLICKHOUSE_URL a third thread
copies what was committed to ClickHouse (`api.clickhouse.sink`), off the ingest path.
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
from dataclasses import dataclass
from functools import partial
from typing import Any

import redis
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine, utcnow
from api.ingest import partitions
from api.ingest.batches import BatchWriter, Stats
from api.ingest.conversions import sweep_waiting
from api.ingest.retries import Retries, Stopping
from api.ingest.streams import GROUP, Entry, Streams
from api.programs import jobs as program_jobs
from api.risk import recompute as risk_recompute
from api.tracking import publish

__all__ = ["GROUP", "Stats", "Worker", "WorkerOptions", "run_worker", "worker_engine"]

log = logging.getLogger("vouch.ingest")


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
    # Programs' level moves, bonuses and retainers (`api.programs.jobs.run_due`, idempotent):
    # on start, then hourly.
    programs_interval_s: float = 3600.0
    # The partitions of the raw event tables on PostgreSQL (`api.ingest.partitions.keep_up`):
    # months ahead created and, with `click_retention_months` (0: keep all), old ones detached;
    # on start, then daily.
    partitions_interval_s: float = partitions.INTERVAL_S
    click_retention_months: int = 0
    # The creator-risk of partnerships with new orders (`api.risk.recompute.refresh_new_orders`);
    # 0: never (the demo history scores everything once, at its end).
    risk_interval_s: float = 60.0
    # A second thread for the click stream while the main one reads conversions and keeps
    # house (None: on every database but SQLite, whose writers take turns anyway).
    click_thread: bool | None = None
    # CLICKHOUSE_URL: a thread copies what was committed to ClickHouse (`api.clickhouse.sink`;
    # one worker at a time). "" : none.
    clickhouse_url: str = ""
    # "process": the sink in a process of its own (`vouch clickhouse sink`, reading its
    # settings from the environment); "thread": in this one (tests, chdb read in-process).
    clickhouse_sink: str = "thread"


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
        self.streams = Streams(client, prefix, self.consumer)
        self.retries = Retries(self.stop_event)
        self.writer = BatchWriter(
            self.streams,
            sessions,
            self.retries,
            max_deliveries=self.options.max_deliveries,
            defer_max_s=self.options.defer_max_s,
            clock=clock,
        )
        self._due: dict[str, float] = {}
        self._clicks_backlog = False
        self._click_thread: threading.Thread | None = None
        self._groups_lost = False  # the click thread saw NOGROUP: the main loop recreates them
        self._sink: Any = None

    @property
    def stats(self) -> Stats:
        return self.writer.stats

    def ensure_groups(self) -> bool:
        """Creates the consumer groups that are missing; whether any was."""
        return self.streams.ensure_groups()

    def pending(self) -> int:
        return self.streams.pending()

    def trim(self) -> None:
        self.streams.trim()

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> Stats:
        log.info("ingest worker starting", extra={"consumer": self.consumer})
        threaded = self.options.click_thread
        if threaded is None:
            bind = self.sessions.kw.get("bind")
            threaded = bind is not None and bind.dialect.name != "sqlite"
        if self.options.clickhouse_url:
            from api.clickhouse.sink import SinkProcess, SinkThread

            if self.options.clickhouse_sink == "process":
                self._sink = SinkProcess(self.stop_event)
            else:
                self._sink = SinkThread(
                    self.options.clickhouse_url,
                    self.sessions,
                    self.redis,
                    self.prefix,
                    self.consumer,
                    self.stop_event,
                )
            self._sink.start()
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
        if self._sink is not None:
            self._sink.join()
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

    # --- reading --------------------------------------------------------------------------

    def read_once(self) -> int:
        """One read of both streams (conversions only once their clicks may be in), processed
        as one batch."""
        streams = {self.streams.clicks: ">"}
        if self._conversions_ready():
            streams[self.streams.conversions] = ">"
        entries = self.streams.read(streams, self.options.batch_size, self.options.block_ms)
        clicks = sum(1 for e in entries if e.stream == self.streams.clicks)
        self._clicks_backlog = clicks >= self.options.batch_size
        if entries:
            self.process(entries)
        return len(entries)

    def read_clicks_once(self) -> int:
        entries = self.streams.read(
            {self.streams.clicks: ">"}, self.options.batch_size, self.options.block_ms
        )
        self._clicks_backlog = len(entries) >= self.options.batch_size
        if entries:
            self.process(entries)
        return len(entries)

    def read_conversions_once(self) -> int:
        if not self._conversions_ready():
            self.stop_event.wait(min(self.options.block_ms, 100) / 1000)
            return 0
        entries = self.streams.read(
            {self.streams.conversions: ">"},
            self.options.conversion_batch_size,
            self.options.block_ms,
        )
        if entries:
            self.process(entries)
        return len(entries)

    def _conversions_ready(self) -> bool:
        """Whether to read conversions now. While the click stream has a backlog, orders whose
        clicks may still be unread would only be deferred: read them once the clicks up to the
        next unread order are in the database."""
        return not self._clicks_backlog or self.streams.clicks_in_for_next_conversion()

    def process_own_pending(self) -> None:
        """Entries this consumer name read before a restart and never acknowledged."""
        while not self.stop_event.is_set():
            entries = self.streams.read(
                {self.streams.clicks: "0", self.streams.conversions: "0"},
                self.options.batch_size,
                None,
            )
            if not entries:
                return
            self.process(entries)

    def process(self, entries: list[Entry], *, check_deliveries: bool = False) -> None:
        deliveries = self.streams.deliveries(entries) if check_deliveries else {}
        if self.writer.process(entries, deliveries).only_deferred:
            # Only waiting for clicks: give their stream a moment instead of spinning.
            self.stop_event.wait(0.2)

    # --- housekeeping ---------------------------------------------------------------------

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

        if self._is_due("programs", self.options.programs_interval_s):
            self._in_transaction(lambda s: program_jobs.run_due(s, utcnow()))
        if self.options.risk_interval_s and self._is_due("risk", self.options.risk_interval_s):
            self._in_transaction(lambda s: risk_recompute.refresh_new_orders(s))
        if self._is_due("partitions", self.options.partitions_interval_s):
            self.keep_partitions()

    def keep_partitions(self) -> None:
        """Creates the months ahead of the partitioned event tables and detaches those past
        retention (PostgreSQL; nothing elsewhere). A failure is logged and tried again at the
        next round: the months ahead leave weeks to mend it."""
        bind = self.sessions.kw.get("bind")
        # Bound to a connection (the demo's one transaction): its owner keeps the schema.
        if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
            return
        retention = self.options.click_retention_months
        try:
            created, detached = self.retries.run(
                lambda: partitions.keep_up(bind, utcnow(), retention)
            )
        except Stopping:
            raise
        except Exception:
            log.exception("keeping the event partitions failed")
            return
        if created or detached:
            log.info("event partitions", extra={"created": created, "detached": detached})

    def reclaim(self) -> int:
        """Takes over entries another consumer left pending for `claim_idle_ms`."""
        total = 0
        for stream in (self.streams.clicks, self.streams.conversions):
            start = "0-0"
            while not self.stop_event.is_set():
                start, claimed = self.streams.claim(
                    stream, start, self.options.claim_idle_ms, self.options.batch_size
                )
                if claimed:
                    total += len(claimed)
                    log.info("reclaimed", extra={"stream": stream, "entries": len(claimed)})
                    self.process(claimed, check_deliveries=True)
                if start == "0-0" or not claimed:
                    break
        return total

    def _in_transaction(self, work: Callable[[Session], Any]) -> Any:
        """Housekeeping `work` in a session committed when it returns (work that reads in
        several transactions, such as republishing, may commit in between)."""

        def run() -> Any:
            with self.sessions() as session:
                result = work(session)
                session.commit()
                return result

        try:
            return self.retries.run(run)
        except Stopping:
            raise
        except Exception:
            log.exception("housekeeping transaction failed")
            return None


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
            sessions=sessionmaker(bind=engine, expire_on_commit=False),
            prefix=settings.redis.prefix,
            consumer=consumer_name,
            options=WorkerOptions(
                batch_size=batch_size,
                block_ms=block_ms,
                **{
                    "click_retention_months": settings.click_retention_months,
                    "clickhouse_url": settings.clickhouse_url,
                    "clickhouse_sink": settings.clickhouse_sink,
                    **options,
                },
            ),
            stop_event=stop,
        )
        return worker.run()
    finally:
        engine.dispose()
        client.close()
