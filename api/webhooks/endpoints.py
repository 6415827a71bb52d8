"""Brands' webhook endpoints: creating, rotating secrets, disabling and replaying (no GraphQL).

A secret is in clear only in the answer of the mutation that made it; the row holds it sealed
(`tracker.sealing`). A rotation keeps the previous secret valid for ROTATION_OVERLAP, during
which every delivery is signed with both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db import utcnow
from api.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.models.webhooks import DeliveryStatus
from api.settings import get_settings
from api.webhooks import signing
from tracker.sealing import VARIABLE, Sealer, Unsealable, sealer

ROTATION_OVERLAP: Final = timedelta(hours=24)
MAX_REPLAY: Final = 10_000  # deliveries one replayWebhookEvents makes at most


def _seal(secret: str) -> str:
    return sealer(get_settings().secret_keys).seal(secret)


def create(
    session: Session,
    organization_id: int,
    url: str,
    events: Iterable[str],
    description: str | None,
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint (`url` already checked) and its secret in clear."""
    secret = signing.new_secret()
    row = WebhookEndpoint(
        organization_id=organization_id,
        url=url,
        events=sorted(set(events)),
        description=description,
        secret=_seal(secret),
        enabled=True,
    )
    session.add(row)
    session.flush()
    return row, secret


def rotate(session: Session, endpoint: WebhookEndpoint, *, now: datetime | None = None) -> str:
    """A new secret (returned in clear); the current one stays valid for ROTATION_OVERLAP."""
    now = now or utcnow()
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret = _seal(secret)
    session.flush()
    return secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets in clear that sign a delivery now: the current one, and the previous one
    during a rotation."""
    keys = sealer(get_settings().secret_keys)
    found = [keys.unseal(endpoint.secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(keys.unseal(endpoint.previous_secret))
    return found


def disable(
    session: Session, endpoint: WebhookEndpoint, reason: str, *, now: datetime | None = None
) -> None:
    """Disables the endpoint with `reason`; what it was still owed is FAILED (events made while
    it is disabled are not sent later: `replay_since` resends them once it is enabled)."""
    now = now or utcnow()
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:1000]
    endpoint.disabled_at = now
    session.flush()
    fail_pending(session, endpoint.id, "the endpoint was disabled")


def fail_pending(session: Session, endpoint_id: int, error: str) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.FAILED.value, claim=None, last_error=error)
    )


def enable(session: Session, endpoint: WebhookEndpoint) -> None:
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.disabled_at = None
    endpoint.failing_since = None
    session.flush()


def replay(
    session: Session, delivery: WebhookDelivery, *, now: datetime | None = None
) -> WebhookDelivery:
    """A new delivery of the same event to the same endpoint, due now (same webhook-id)."""
    now = now or utcnow()
    row = WebhookDelivery(
        organization_id=delivery.organization_id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        replay_of=delivery.id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def replay_since(
    session: Session, endpoint: WebhookEndpoint, since: datetime, *, now: datetime | None = None
) -> int:
    """Owes the endpoint again every event of its organization, of a type it subscribes to,
    created at or after `since` (at most MAX_REPLAY, oldest first); how many."""
    now = now or utcnow()
    ids = session.scalars(
        select(WebhookEvent.id)
        .where(
            WebhookEvent.organization_id == endpoint.organization_id,
            WebhookEvent.created_at >= since,
            WebhookEvent.type.in_(endpoint.events),
        )
        .order_by(WebhookEvent.created_at, WebhookEvent.id)
        .limit(MAX_REPLAY)
    ).all()
    session.add_all(
        WebhookDelivery(
            organization_id=endpoint.organization_id,
            endpoint_id=endpoint.id,
            event_id=event_id,
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for event_id in ids
    )
    session.flush()
    return len(ids)


def reencrypt(session: Session, keys: Sealer) -> int:
    """Seals every endpoint's secrets that are not under the newest key again with it, in one
    transaction; how many endpoints changed. Raises `Unsealable`, before changing anything,
    for a secret none of the keys sealed (it would be lost once the old key is dropped)."""
    rows = list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
    for row in rows:
        for token in (row.secret, row.previous_secret):
            if token is not None and keys.key_index(token) is None:
                session.rollback()
                raise Unsealable(
                    f"the secret of webhook endpoint {row.id} is sealed with none of the "
                    f"{len(keys.keys)} keys of {VARIABLE}"
                )
    changed = 0
    for row in rows:
        stale = [t for t in (row.secret, row.previous_secret) if t and keys.key_index(t) != 0]
        if stale:
            row.secret = keys.reseal(row.secret)
            if row.previous_secret is not None:
                row.previous_secret = keys.reseal(row.previous_secret)
            changed += 1
    session.commit()
    return changed
