"""Pushing events to the test streams and running a worker over them."""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.ingest.worker import Worker, WorkerOptions
from api.models import LedgerEntry
from tracker import keys
from tracker.conversions import ConversionEvent, RefundEvent
from tracker.events import ClickEvent


def push(rds: redis.Redis, prefix: str, *events: Any) -> list[str]:
    ids = []
    for event in events:
        if isinstance(event, ClickEvent):
            stream = keys.clicks_stream(prefix)
        elif isinstance(event, ConversionEvent | RefundEvent):
            stream = keys.conversions_stream(prefix)
        else:  # raw fields
            stream, event = event
        fields = event.to_fields() if hasattr(event, "to_fields") else event
        ids.append(rds.xadd(stream, fields).decode())
    return ids


def make_worker(
    rds: redis.Redis, sessions: sessionmaker[Session], prefix: str, **options: Any
) -> Worker:
    options.setdefault("block_ms", 10)
    options.setdefault("batch_size", 200)
    consumer = options.pop("consumer", None)
    return Worker(rds, sessions, prefix, consumer=consumer, options=WorkerOptions(**options))


def drain(rds: redis.Redis, sessions: sessionmaker[Session], prefix: str, **options: Any) -> Any:
    return make_worker(rds, sessions, prefix, **options).drain(timeout=60)


def ledger(session: Session, **where: Any) -> list[LedgerEntry]:
    query = select(LedgerEntry).order_by(LedgerEntry.id)
    for name, value in where.items():
        query = query.where(getattr(LedgerEntry, name) == value)
    session.commit()
    return list(session.scalars(query))


def ledger_sum(session: Session, **where: Any) -> int:
    query = select(func.coalesce(func.sum(LedgerEntry.amount), 0))
    for name, value in where.items():
        query = query.where(getattr(LedgerEntry, name) == value)
    return int(session.scalar(query) or 0)


def dead_letters(rds: redis.Redis, prefix: str) -> list[dict[str, str]]:
    return [
        {k.decode(): v.decode(errors="replace") for k, v in fields.items()}
        for _, fields in rds.xrange(keys.dead_letter_stream(prefix))
    ]
