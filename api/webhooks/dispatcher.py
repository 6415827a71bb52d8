"""The webhook dispatcher (`vouch webhooks`, also started by `vouch run`): sends the deliveries
the outbox owes, at least once each, with the same `webhook-id` every time.

A round: claim up to `batch` due deliveries of enabled endpoints in one short transaction
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so dispatchers never wait for each other; SQLite's
writers take turns under BEGIN IMMEDIATE, and the claiming UPDATE re-checks that each row is
still due either way). A claim stamps the delivery with this round's token, counts the attempt
and moves `next_attempt_at` a lease ahead (WEBHOOK_CLAIM_SECONDS). The requests go out in
parallel, outside any transaction; each answer is recorded in its own transaction, only while
the claim is still ours: the attempt row, then the delivery SUCCEEDED, retried later
(`api.webhooks.backoff`) or FAILED for good.

A dispatcher killed at any moment (even after the receiver answered, before the answer was
recorded) leaves the delivery claimed until its lease ends; the next round (of this process
restarted, or of another) claims it again, and sends it with the same `webhook-id`: delivered at
least once, maybe twice, which is what the id lets receivers deduplicate.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db import utcnow
from api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.models.webhooks import DeliveryStatus
from api.settings import get_settings
from api.webhooks import backoff, egress, endpoints, events, signing
from api.webhooks.outbox import emit

log = logging.getLogger("vouch.webhooks")

BATCH = 32  # deliveries claimed a round, sent in parallel


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    organization_id: int
    endpoint_id: int
    event_id: str
    attempt: int
    created_at: datetime
    url: str
    secrets: tuple[str, ...]
    body: bytes
    token: str


def body_of(payload: dict[str, object]) -> bytes:
    """The exact bytes sent (and signed) for an event: the same on every attempt."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def claim(
    session: Session,
    *,
    now: datetime,
    lease: timedelta,
    limit: int = BATCH,
    organization_id: int | None = None,
) -> list[Claimed]:
    """Claims up to `limit` due deliveries (of one organization only, when given: tests, or an
    operator draining one tenant's) and commits; see the module's docstring."""
    due = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.enabled.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if organization_id is not None:
        due = due.where(WebhookDelivery.organization_id == organization_id)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=WebhookDelivery)
    ids = list(session.scalars(due))
    if not ids:
        session.rollback()
        return []
    token = secrets.token_hex(16)
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_(ids),
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(
            claim=token,
            next_attempt_at=now + lease,
            attempts=WebhookDelivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint, WebhookEvent)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.claim == token)
        .order_by(WebhookDelivery.id)
        .execution_options(populate_existing=True)
    ).all()
    claimed = [
        Claimed(
            delivery_id=d.id,
            organization_id=d.organization_id,
            endpoint_id=e.id,
            event_id=ev.id,
            attempt=d.attempts,
            created_at=d.created_at,
            url=e.url,
            secrets=tuple(endpoints.signing_secrets(e, now)),
            body=body_of(ev.payload),
            token=token,
        )
        for d, e, ev in rows
    ]
    session.commit()
    return claimed


def send(http: httpx.Client, item: Claimed, *, now: datetime | None = None) -> egress.Answer:
    """One attempt: signed now (`webhook-timestamp` is this attempt's time)."""
    stamp = int((now or utcnow()).timestamp())
    headers = signing.headers(item.secrets, item.event_id, stamp, item.body)
    return egress.post(
        http, item.url, item.body, headers, allow_private=get_settings().allow_private_urls
    )


def _error(answer: egress.Answer) -> str | None:
    if answer.error is not None:
        return answer.error
    if answer.ok:
        return None
    code = answer.status_code
    if code is not None and 300 <= code < 400:
        return f"HTTP {code}: redirects are not followed (update the endpoint's URL)"
    return f"HTTP {code}"


def record(
    session: Session,
    item: Claimed,
    answer: egress.Answer,
    *,
    now: datetime,
    started_at: datetime | None = None,
) -> bool:
    """Records the answer of `item`'s attempt and commits; False (nothing written) when the
    claim is no longer ours (its lease ended and another round took it)."""
    error = _error(answer)
    gone = answer.status_code == 410  # the spec's "disable this endpoint"
    if answer.ok:
        status, due = DeliveryStatus.SUCCEEDED, None
    elif gone:
        status, due = DeliveryStatus.FAILED, None
    else:
        due = backoff.next_attempt(
            item.created_at,
            item.attempt,
            now,
            retry_after=backoff.parse_retry_after(answer.retry_after),
        )
        status = DeliveryStatus.PENDING if due is not None else DeliveryStatus.FAILED
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == item.delivery_id, WebhookDelivery.claim == item.token)
        .values(
            status=status.value,
            next_attempt_at=due,
            claim=None,
            last_attempt_at=now,
            last_status_code=answer.status_code,
            last_error=error,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        log.info("delivery %s was claimed again meanwhile: its answer is dropped", item.delivery_id)
        return False
    session.add(
        WebhookAttempt(
            organization_id=item.organization_id,
            delivery_id=item.delivery_id,
            attempt=item.attempt,
            started_at=started_at or now,
            status_code=answer.status_code,
            duration_ms=answer.duration_ms,
            response_body=answer.body,
            error=error,
            next_attempt_at=due,
        )
    )
    endpoint_table = update(WebhookEndpoint).where(WebhookEndpoint.id == item.endpoint_id)
    if answer.ok:
        session.execute(
            endpoint_table.where(WebhookEndpoint.failing_since.is_not(None)).values(
                failing_since=None
            )
        )
    else:
        session.execute(
            endpoint_table.values(failing_since=func.coalesce(WebhookEndpoint.failing_since, now))
        )
        _maybe_disable(session, item.endpoint_id, now, error or "failed", gone=gone)
    session.commit()
    return True


def _maybe_disable(
    session: Session, endpoint_id: int, now: datetime, error: str, *, gone: bool
) -> None:
    """Disables an endpoint that answered 410 Gone, or that has failed for a day, saying why on
    the endpoint, in the log and as a `webhook_endpoint.disabled` event to the organization's
    other endpoints."""
    endpoint = session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if not endpoint.enabled:
        return
    if gone:
        reason = f"disabled on {now:%Y-%m-%d %H:%M} UTC: the endpoint answered 410 Gone"
    elif backoff.should_disable(endpoint.failing_since, now):
        assert endpoint.failing_since is not None
        reason = (
            f"disabled on {now:%Y-%m-%d %H:%M} UTC: every delivery failed since "
            f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC (last: {error}). Fix the receiver, "
            "enable the endpoint, then replay the events since then"
        )
    else:
        return
    endpoints.disable(session, endpoint, reason, now=now)
    log.warning(
        "webhook endpoint %s of organization %s %s", endpoint.id, endpoint.organization_id, reason
    )
    emit(
        session,
        "webhook_endpoint.disabled",
        endpoint.organization_id,
        {
            "endpoint": {
                "id": events.gid("WebhookEndpoint", endpoint.id),
                "url": endpoint.url,
                "disabledReason": reason,
            }
        },
        now=now,
    )


def dispatch_once(
    sessions: Callable[[], Session],
    http: httpx.Client,
    pool: ThreadPoolExecutor,
    *,
    lease: timedelta | None = None,
    clock: Callable[[], datetime] = utcnow,
    limit: int = BATCH,
    organization_id: int | None = None,
) -> int:
    """One round: claims, sends in parallel, records each answer as it comes; how many were
    sent."""
    lease = lease or timedelta(seconds=get_settings().webhook_claim_seconds)
    with sessions() as session:
        claimed = claim(
            session, now=clock(), lease=lease, limit=limit, organization_id=organization_id
        )
    if not claimed:
        return 0
    started = clock()
    futures = {pool.submit(send, http, item, now=started): item for item in claimed}
    for future in as_completed(futures):
        item = futures[future]
        answer = future.result()
        with sessions() as session:
            record(session, item, answer, now=clock(), started_at=started)
    return len(claimed)


def run(
    stop: threading.Event,
    sessions: sessionmaker[Session],
    *,
    interval: float | None = None,
    organization_id: int | None = None,
) -> None:
    """Dispatches until `stop` is set: a round at once after a busy one, else every `interval`
    seconds (WEBHOOK_POLL_SECONDS)."""
    interval = get_settings().webhook_poll_seconds if interval is None else interval
    log.info("webhook dispatcher started")
    with egress.client() as http, ThreadPoolExecutor(BATCH, "webhook") as pool:
        while not stop.is_set():
            try:
                sent = dispatch_once(sessions, http, pool, organization_id=organization_id)
            except Exception:  # the database away: try again next round
                log.exception("webhook round failed")
                sent = 0
            if not sent:
                stop.wait(interval)
    log.info("webhook dispatcher stopped")
