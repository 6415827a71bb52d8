"""The webhook outbox: `emit(session, type, organization_id, data)` from the code that makes a
change, in its transaction.

An event is owed only to the organization's enabled endpoints subscribed to its type, read once
per transaction and organization (the ingest worker's batch asks once, not once per order); when
no endpoint (enabled or not) subscribes to it, `emit` writes nothing, so the hot path pays one
cached lookup. Otherwise the event and one delivery per enabled endpoint are added up in the
session and written when the transaction commits, in two INSERTs for the whole transaction (as
`api.ledger.rollups` does its counters): the rows commit with the change or not at all, and a
rollback forgets them (a SAVEPOINT rolled back, those emitted inside it). The dispatcher
(`api.webhooks.dispatcher`) sends what was committed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session, SessionTransaction

from api.db import utcnow
from api.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.models.webhooks import DeliveryStatus
from api.webhooks.events import EVENT_TYPES

_PENDING = "webhook_outbox"
_SUBSCRIBERS = "webhook_subscribers"
_MARKS = "webhook_savepoint_marks"


def new_event_id() -> str:
    """`msg_` and 32 hex digits: the time in ms then random bits, so ids sort by creation. No
    `.` (the signed content is `id.timestamp.body`)."""
    return f"msg_{int(time.time() * 1000):012x}{os.urandom(10).hex()}"


def subscribers(session: Session, organization_id: int) -> dict[str, tuple[int, ...]]:
    """Event type -> the organization's enabled endpoints subscribed to it, cached for the
    transaction. A type only disabled endpoints subscribe to maps to no endpoint: its events
    are still kept, for a replay once the endpoint is enabled again."""
    cache: dict[int, dict[str, tuple[int, ...]]] = session.info.setdefault(_SUBSCRIBERS, {})
    found = cache.get(organization_id)
    if found is None:
        by_type: dict[str, list[int]] = {}
        for endpoint_id, types, enabled in session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.enabled)
            .where(WebhookEndpoint.organization_id == organization_id)
            .order_by(WebhookEndpoint.id)
        ):
            for t in types or []:
                ids = by_type.setdefault(t, [])
                if enabled:
                    ids.append(endpoint_id)
        found = cache[organization_id] = {t: tuple(ids) for t, ids in by_type.items()}
    return found


def emit(
    session: Session,
    event_type: str,
    organization_id: int,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
    *,
    now: datetime | None = None,
) -> str | None:
    """Owes the event to the organization's enabled endpoints subscribed to `event_type`,
    written when the session's transaction commits. The event's id (its `webhook-id`), or None
    when no endpoint subscribes to the type (nothing is written). `data` may be a function that
    makes it, called only then: the hot path builds no payload nobody wants."""
    version = EVENT_TYPES.get(event_type)
    if version is None:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    endpoints = subscribers(session, organization_id).get(event_type)
    if endpoints is None:
        return None
    now = now or utcnow()
    event_id = new_event_id()
    payload = {
        "type": event_type,
        "version": version,
        "timestamp": now.isoformat(),
        "data": data() if callable(data) else data,
    }
    pending: list[tuple[dict[str, Any], Sequence[int]]] = session.info.setdefault(_PENDING, [])
    pending.append(
        (
            {
                "id": event_id,
                "organization_id": organization_id,
                "type": event_type,
                "payload": payload,
                "created_at": now,
            },
            endpoints,
        )
    )
    return event_id


def deliveries_of(
    events: Sequence[dict[str, Any]], endpoints: Sequence[Sequence[int]], now: datetime
) -> list[dict[str, Any]]:
    """The delivery rows of `events` (each owed to its `endpoints`), due at once."""
    return [
        {
            "organization_id": e["organization_id"],
            "endpoint_id": endpoint_id,
            "event_id": e["id"],
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for e, ids in zip(events, endpoints, strict=True)
        for endpoint_id in ids
    ]


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    """A SAVEPOINT remembers how many events were owed when it began: rolling it back forgets
    the ones emitted inside it only."""
    if transaction.nested:
        marks = session.info.setdefault(_MARKS, {})
        marks[transaction] = len(session.info.get(_PENDING, ()))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is not None:  # released: its events are written with the whole transaction
        session.info.get(_MARKS, {}).pop(savepoint, None)
        return
    pending = session.info.pop(_PENDING, None)
    session.info.pop(_SUBSCRIBERS, None)
    if not pending:
        return
    events = [e for e, _ in pending]
    conn = session.connection()
    conn.execute(insert(WebhookEvent), events)
    deliveries = deliveries_of(events, [ids for _, ids in pending], utcnow())
    if deliveries:
        conn.execute(insert(WebhookDelivery), deliveries)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    """The end of a SAVEPOINT not released (rolled back) forgets what was emitted inside it;
    the end of the whole transaction, everything not written (a rollback)."""
    if transaction.nested:
        mark = session.info.get(_MARKS, {}).pop(transaction, None)
        if mark is not None and _PENDING in session.info:
            del session.info[_PENDING][mark:]
    elif transaction.parent is None:
        for key in (_PENDING, _SUBSCRIBERS, _MARKS):
            session.info.pop(key, None)
