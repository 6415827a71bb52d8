"""Webhooks out: the brands' endpoints, the events owed to them (an outbox) and every delivery
attempt (`api.webhooks`).

- `WebhookEndpoint`: where an organization wants to hear of which events. Its signing secret
  (`whsec_<base64>`, Standard Webhooks) is sealed at rest (`tracker.sealing`); during a rotation
  the previous one stays valid until `previous_secret_expires_at` and deliveries carry both
  signatures. `failing_since` is the start of the current run of failed attempts: a day of it
  disables the endpoint, with the reason in `disabled_reason`.
- `WebhookEvent`: one row per event (the outbox), written in the transaction of the change that
  causes it; its id is the `webhook-id` header, the same on every retry and replay.
- `WebhookDelivery`: an event owed to one endpoint (PENDING until it SUCCEEDED or FAILED for
  good); a replay is a new delivery of the same event. `claim` is the token of the dispatcher
  that holds it until `next_attempt_at` (its lease): a dispatcher killed mid-send leaves the
  delivery to be claimed again once the lease ends, so it is sent at least once.
- `WebhookAttempt`: each request made, kept for the brand to read.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, Timestamps, UTCDateTime, utcnow
from api.models.columns import fk, pk


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # retries exhausted, or the endpoint was disabled


class WebhookEndpoint(Timestamps, Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    secret: Mapped[str] = mapped_column(String(512))  # sealed
    previous_secret: Mapped[str | None] = mapped_column(String(512), nullable=True)  # sealed
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(nullable=True)


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_org_created", "organization_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # msg_...: the webhook-id
    organization_id: Mapped[int] = fk("organizations.id", index=False)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id", index=False)
    endpoint_id: Mapped[int] = fk("webhook_endpoints.id")
    event_id: Mapped[str] = mapped_column(String(40), ForeignKey("webhook_events.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    claim: Mapped[str | None] = mapped_column(String(32), nullable=True)
    replay_of: Mapped[int | None] = fk("webhook_deliveries.id", nullable=True, index=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id", index=False)
    delivery_id: Mapped[int] = fk("webhook_deliveries.id", index=False)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
