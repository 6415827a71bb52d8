"""The events raised after a post goes live, kept in `content_events` for the brand.

The one way this feature raises an event: `record_event`, which keeps it here and owes it to the
organization's webhook endpoints subscribed to its type (`api.webhooks.outbox.emit`, in the same
transaction). Types:
`content.disclosure_removed`, `content.caption_changed`, `exclusivity.conflict`,
`usage_rights.expiring`, `usage_rights.expired`, `content.finding_resolved`, and the
creator-risk's `discount_code.leak_suspected` (`api.risk.recompute`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import utcnow
from api.models import ContentEvent
from api.webhooks.outbox import emit

TYPES = frozenset(
    {
        "content.disclosure_removed",
        "content.caption_changed",
        "exclusivity.conflict",
        "usage_rights.expiring",
        "usage_rights.expired",
        "content.finding_resolved",
        "discount_code.leak_suspected",
    }
)


def record_event(
    session: Session, organization_id: int, type: str, payload: dict[str, Any], dedupe_key: str
) -> ContentEvent | None:
    """Stores the event unless one with `dedupe_key` exists (then None): each is raised once,
    in the caller's transaction."""
    if type not in TYPES:
        raise ValueError(f"unknown event type {type!r}")
    if session.scalar(select(ContentEvent.id).where(ContentEvent.dedupe_key == dedupe_key)):
        return None
    row = ContentEvent(
        organization_id=organization_id,
        type=type,
        dedupe_key=dedupe_key[:200],
        payload=payload,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():  # a concurrent twin must not poison the caller's work
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    emit(session, type, organization_id, payload)
    return row
