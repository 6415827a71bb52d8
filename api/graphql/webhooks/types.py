"""Webhook endpoints, their deliveries and attempts, as an ADMIN sees them (other roles see
none): never a secret, only whether one is being rotated."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from api.db import utcnow
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.loaders import by_fk, by_id
from api.graphql.relay import ModelNode
from api.models import WebhookAttempt as WebhookAttemptModel
from api.models import WebhookDelivery as WebhookDeliveryModel
from api.models import WebhookEndpoint as WebhookEndpointModel
from api.models import WebhookEvent as WebhookEventModel
from api.models.webhooks import DeliveryStatus
from api.webhooks.events import EVENT_TYPES, enum_name

WebhookError, WebhookErrorCode = error_type("Webhook", ("ENDPOINT_DISABLED", "LIMIT_REACHED"))

# CONVERSION_CREATED = "conversion.created", ...: the types of api.webhooks.events
_event_enum: Any = Enum("WebhookEventType", {enum_name(t): t for t in EVENT_TYPES})  # type: ignore[misc]
WebhookEventType = strawberry.enum(
    _event_enum,
    name="WebhookEventType",
    description="An event an endpoint may subscribe to (its `type` in the payload is the "
    "lower-case, dotted form: CONVERSION_CREATED is conversion.created).",
)
strawberry.enum(DeliveryStatus, name="WebhookDeliveryStatus")


def event_type(value: str) -> Any:
    return _event_enum(value)


@strawberry.type(name="WebhookEndpoint", description="Where the organization hears of events.")
class WebhookEndpoint(ModelNode):
    __model__ = WebhookEndpointModel
    id: strawberry.relay.NodeID[int]
    url: str
    description: str | None
    enabled: bool
    disabled_reason: str | None = strawberry.field(
        description="Why the endpoint was disabled (by an ADMIN, or after a day of failures)."
    )
    disabled_at: datetime | None
    failing_since: datetime | None = strawberry.field(
        description="Since when every delivery has failed (null: the last one succeeded). A "
        "day of failures disables the endpoint."
    )
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    def events(self) -> list[WebhookEventType]:  # type: ignore[valid-type]
        return [event_type(t) for t in self.row.events if t in EVENT_TYPES]

    @strawberry.field(
        description="Until when the previous secret also signs deliveries (null: no rotation "
        "under way)."
    )
    def previous_secret_valid_until(self) -> datetime | None:
        until: datetime | None = self.row.previous_secret_expires_at
        return until if until is not None and until > utcnow() else None


@strawberry.type(name="WebhookEvent", description="An event as it was sent (the same every time).")
class WebhookEvent:
    row: strawberry.Private[Any]

    @strawberry.field(description="The `webhook-id` header: the same on every retry and replay.")
    def webhook_id(self) -> str:
        return str(self.row.id)

    @strawberry.field
    def type(self) -> WebhookEventType:  # type: ignore[valid-type]
        return event_type(self.row.type)

    @strawberry.field(description="The JSON body sent: {type, version, timestamp, data}.")
    def payload(self) -> JSON:
        return cast(JSON, self.row.payload)

    @strawberry.field
    def created_at(self) -> datetime:
        return cast(datetime, self.row.created_at)


@strawberry.type(name="WebhookAttempt", description="One request made for a delivery.")
class WebhookAttempt:
    attempt: int
    started_at: datetime
    status_code: int | None = strawberry.field(description="null: no answer (see error).")
    duration_ms: int
    response_body: str | None = strawberry.field(description="The first 1 KB of the answer.")
    error: str | None
    next_attempt_at: datetime | None = strawberry.field(
        description="When the delivery was to be tried again after this attempt (null: done)."
    )

    @classmethod
    def from_row(cls, row: Any) -> WebhookAttempt:
        return cls(
            attempt=row.attempt,
            started_at=row.started_at,
            status_code=row.status_code,
            duration_ms=row.duration_ms,
            response_body=row.response_body,
            error=row.error,
            next_attempt_at=row.next_attempt_at,
        )


@strawberry.type(name="WebhookDelivery", description="An event owed to one endpoint.")
class WebhookDelivery(ModelNode):
    __model__ = WebhookDeliveryModel
    id: strawberry.relay.NodeID[int]
    status: DeliveryStatus
    next_attempt_at: datetime | None
    created_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None

    @strawberry.field(description="How many requests were made (or started) for it.")
    def attempt_count(self) -> int:
        return int(self.row.attempts)

    @strawberry.field(description="The delivery this one replays, if it is a replay.")
    async def replay_of(self, info: Info) -> WebhookDelivery | None:
        pk = self.row.replay_of
        row = await by_id(info.context, WebhookDeliveryModel).load(pk) if pk else None
        return WebhookDelivery.from_row(row) if row else None

    @strawberry.field
    async def endpoint(self, info: Info) -> WebhookEndpoint | None:
        row = await by_id(info.context, WebhookEndpointModel).load(self.row.endpoint_id)
        return WebhookEndpoint.from_row(row) if row else None

    @strawberry.field
    async def event(self, info: Info) -> WebhookEvent | None:
        loader = cast(Any, by_id(info.context, WebhookEventModel))
        row = await loader.load(self.row.event_id)
        return WebhookEvent(row=row) if row else None

    @strawberry.field(description="Every request made, oldest first.")
    async def attempts(self, info: Info) -> list[WebhookAttempt]:
        rows = await by_fk(
            info.context,
            WebhookAttemptModel,
            WebhookAttemptModel.delivery_id,
            order_by=(WebhookAttemptModel.attempt,),
        ).load(self.row.id)
        return [WebhookAttempt.from_row(r) for r in rows]
