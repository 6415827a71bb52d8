"""What the worker does with a write that fails, and with entries it cannot record.

A database error that may pass (connection lost, deadlock, lock or pool timeout: `transient`)
retries the work with backoff, indefinitely: valid events are never dead-lettered because the
database is down. Any other error re-runs the batch one event per transaction
(`Retries.batch_or_each`), and the events that still fail go to the dead letters with the reason
and their original fields (`dead_letter`). A conversion waiting for its click is requeued at the
end of its stream, keeping its first entry id (`requeued`).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.ingest.streams import Entry, pairs, text

log = logging.getLogger("vouch.ingest")


class Stopping(Exception):
    """Stop requested while the database was unavailable: leave the batch pending."""


def transient(exc: BaseException) -> bool:
    """A database error that may pass on retry (connection, deadlock, lock or pool timeout)."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class Retries:
    """Retrying until the work succeeds or `stop_event` is set."""

    def __init__(self, stop_event: threading.Event) -> None:
        self.stop_event = stop_event

    def run(self, work: Callable[[], Any]) -> Any:
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

    def batch_or_each(self, whole: Callable[[], Any], each: Callable[[], Any]) -> Any:
        """`whole` (the batch in one transaction), or if it fails other than transiently `each`
        (one transaction per event: only the events that fail alone are dead-lettered)."""
        try:
            return self.run(whole)
        except (Stopping, redis.RedisError):
            raise  # Redis failed mid-batch: leave everything pending, nothing is lost
        except Exception:
            log.exception("batch failed; retrying its events one by one")
            return each()

    def alone(self, write: Callable[[], Any]) -> tuple[Any, str | None]:
        """Writes one event in its own transaction (retrying transient errors): the result, or
        (None, why it cannot be written)."""
        try:
            return self.run(write), None
        except (Stopping, redis.RedisError):
            raise
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}"[:1000]


def dead_letter(entry: Entry, reason: str, consumer: str, now_ms: str) -> list[Any]:
    """The flat fields of an entry's dead letter: its own fields, then why, from where, when."""
    flat: list[Any] = []
    for k, v in pairs(entry.fields):
        flat += [k, v]
    flat += [
        "dlq_reason",
        reason[:2000],
        "dlq_stream",
        entry.stream,
        "dlq_entry_id",
        entry.id,
        "dlq_consumer",
        consumer,
        "dlq_at",
        now_ms,
    ]
    log.warning("dead-lettered", extra={"stream": entry.stream, "id": entry.id, "reason": reason})
    return flat


def requeued(entry: Entry) -> list[Any]:
    """The flat fields of a deferred entry put back at the end of its stream: counted, and
    keeping the id it was first added with (what the click watermark is compared with)."""
    fields: dict[str, Any] = {text(k): v for k, v in pairs(entry.fields)}
    fields["deferred"] = str(int(text(fields.get("deferred", b"0"))) + 1)
    fields.setdefault("first_id", entry.id)
    flat: list[Any] = []
    for name, value in fields.items():
        flat += [name, value]
    return flat
