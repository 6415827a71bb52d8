"""Writing a batch of stream entries to the database, then ending it on the streams.

A batch's clicks go in one transaction and its conversions and refunds in another; an entry that
cannot be decoded, or was delivered `max_deliveries` times without an acknowledgement (it keeps
killing workers), is dead-lettered instead. Failures are retried or isolated as
`api.ingest.retries` says; the batch then ends with one atomic call per stream
(`Streams.finish`).

A conversion whose click id is not in the database while click entries older than the order's
entry are still unread or pending is deferred (requeued) for up to `defer_max_s`: a lagging
click stream never turns a tracked sale into an unattributed one. So is one whose click may
still be in a tracker's buffer or spool (Redis was away from that tracker): the trackers report
up to when their clicks are in the stream (`tracker.keys.trackers`), and the order waits while
its click's time (in its id) is not below every tracker's report, or the stream's committed
part has not yet reached the reports.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.ingest.clicks import ClickStats, ClickValues, Links, click_values, ingest_clicks
from api.ingest.conversions import (
    Context,
    Outcome,
    Result,
    apply_waiting,
    ingest_conversions,
    ingest_refund,
)
from api.ingest.retries import Retries, Stopping, dead_letter, requeued
from api.ingest.streams import Entry, Streams, id_ms, pairs, text
from api.models import Refund
from api.models.events import RefundStatus
from tracker.conversions import ConversionEvent, RefundEvent, from_fields
from tracker.events import id_timestamp_ms

log = logging.getLogger("vouch.ingest")


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


@dataclass
class Batch:
    """A read's entries sorted by what becomes of them."""

    clicks: list[tuple[Entry, ClickValues]] = field(default_factory=list)
    conversions: list[tuple[Entry, ConversionEvent | RefundEvent]] = field(default_factory=list)
    dead: list[tuple[Entry, str]] = field(default_factory=list)
    requeue: list[Entry] = field(default_factory=list)
    ack: list[Entry] = field(default_factory=list)

    @property
    def only_deferred(self) -> bool:
        """Every conversion waits for its click and there is nothing else."""
        return bool(self.requeue) and len(self.requeue) == len(self.conversions) and not self.clicks


class BatchWriter:
    """Writes batches (from any thread: the click thread and the main one share it)."""

    def __init__(
        self,
        streams: Streams,
        sessions: sessionmaker[Session],
        retries: Retries,
        *,
        max_deliveries: int,
        defer_max_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.streams = streams
        self.sessions = sessions
        self.retries = retries
        self.max_deliveries = max_deliveries
        self.defer_max_s = defer_max_s
        self.clock = clock
        self.stats = Stats()
        self._brands: dict[int, int | None] = {}
        self._links = Links()
        self._links_lock = threading.Lock()
        self._stats_lock = threading.Lock()

    def process(self, entries: list[Entry], deliveries: dict[str, int]) -> Batch:
        """Decodes, writes and ends a batch; `deliveries` counts the times reclaimed entries
        were delivered (empty for a fresh read)."""
        batch = self.sort(entries, deliveries)
        if batch.clicks:
            self._write_clicks(batch)
        if batch.conversions:
            self._write_conversions(batch)
        now_ms = str(int(self.clock() * 1000))
        self.streams.finish(
            [
                (entry, dead_letter(entry, why, self.streams.consumer, now_ms))
                for entry, why in batch.dead
            ],
            [(entry, requeued(entry)) for entry in batch.requeue],
            batch.ack,
        )
        with self._stats_lock:
            self.stats.dead += len(batch.dead)
            self.stats.deferred += len(batch.requeue)
            self.stats.batches += 1
        return batch

    def sort(self, entries: list[Entry], deliveries: dict[str, int]) -> Batch:
        batch = Batch()
        for entry in entries:
            if entry.fields is None:
                batch.ack.append(entry)
                continue
            times = deliveries.get(entry.id, 0)
            if times > self.max_deliveries:
                batch.dead.append((entry, f"delivered {times} times without an acknowledgement"))
                continue
            try:
                if entry.stream == self.streams.clicks:
                    batch.clicks.append((entry, click_values(entry.fields)))
                else:
                    fields = entry.fields
                    if not isinstance(fields, dict):
                        fields = entry.fields = dict(pairs(fields))
                    batch.conversions.append((entry, from_fields(fields)))
            except Exception as exc:  # undecodable or invalid: poison
                batch.dead.append((entry, f"invalid event: {exc}"))
        return batch

    # --- clicks ---------------------------------------------------------------------------

    def _write_clicks(self, batch: Batch) -> None:
        """One transaction for the batch's clicks; if it fails (not transiently), one per click,
        and the clicks that still fail go to the dead letters."""
        dead = self.retries.batch_or_each(
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
            rejected, error = self.retries.alone(partial(self._store_clicks, [(entry, values)]))
            if error is not None:
                dead[entry.id] = error
            else:
                dead.update(rejected)
        return dead

    # --- conversions and refunds ----------------------------------------------------------

    def _write_conversions(self, batch: Batch) -> None:
        results = self.retries.batch_or_each(
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
                self.retries.run(lambda: self._apply_touched(touched))
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

    def _write_one_by_one(self, batch: Batch) -> dict[tuple[str, str], Result]:
        results: dict[tuple[str, str], Result] = {}
        for entry, event_ in batch.conversions:
            written, error = self.retries.alone(partial(self._write_all, [(entry, event_)]))
            if error is not None:
                written = {(entry.stream, entry.id): Result(Outcome.DEAD, error)}
            results.update(written)
        return results

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
            now = self.now()
            for brand_id, order_id in sorted(waiting & touched):
                apply_waiting(session, brand_id, order_id, now)

    def now(self) -> datetime:
        """The time the ledger entries of a batch are stamped with: the worker's clock (the
        wall clock, or the demo's replayed time)."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def _context(self, conversions: list[tuple[Entry, ConversionEvent | RefundEvent]]) -> Context:
        # A shopper clicks before buying, so the click entry precedes the order's first entry in
        # Redis time (both ids come from the same server clock).
        first_ms = {
            event_.event_id: id_ms(text((entry.fields or {}).get(b"first_id", entry.id)))
            for entry, event_ in conversions
        }
        # Taken before the transaction reads any click: a click entry below the watermark was
        # committed before that, so the reads see it (read committed; SQLite's writer sees
        # everything). Taken later, a click committed (by the click thread or another worker)
        # between the read and the watermark would look lost, and its order unattributed.
        by_click = any(isinstance(e, ConversionEvent) and e.click_id for _, e in conversions)
        watermark = self.streams.clicks_watermark_ms() if by_click else float("inf")

        reports = (
            self.streams.tracker_reports((self.clock() - self.defer_max_s) * 1000)
            if by_click
            else []
        )

        def click_may_arrive(event_: ConversionEvent) -> bool:
            if self.clock() * 1000 - event_.received_at_ms > self.defer_max_s * 1000:
                return False  # give up waiting: attribute with what the database has
            if watermark < first_ms.get(event_.event_id, 0):
                return True
            return in_a_tracker(event_.click_id or "")

        def in_a_tracker(click_id: str) -> bool:
            """Whether a tracker may still hold this click: logged at or after what it has
            reported as in the stream, or in the stream beyond what is committed."""
            try:
                clicked = id_timestamp_ms(click_id)
            except ValueError:
                return False  # not an id a tracker makes
            if clicked > self.clock() * 1000 + 60_000:
                return False  # nor is one from the future
            return any(clicked >= logged or watermark < at for logged, at in reports)

        return Context(now=self.now(), brands=self._brands, click_may_arrive=click_may_arrive)
