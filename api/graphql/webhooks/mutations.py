"""Managing webhook endpoints and replaying deliveries (ADMIN)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import func, select

from api.graphql import inputs
from api.graphql.context import Info
from api.graphql.errors import problem
from api.graphql.lookup import load_visible
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.graphql.webhooks.types import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookError,
    WebhookErrorCode,
    WebhookEventType,
)
from api.models import WebhookDelivery as WebhookDeliveryModel
from api.models import WebhookEndpoint as WebhookEndpointModel
from api.webhooks import egress, endpoints

ERRORS = (WebhookError, WebhookErrorCode)
MAX_ENDPOINTS = 20  # per organization: every event fans out to each


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description="An https URL whose host resolves to public addresses only."
    )
    events: list[WebhookEventType]  # type: ignore[valid-type]
    description: str | None = None


@strawberry.input
class UpdateWebhookEndpointInput:
    endpoint_id: strawberry.ID
    url: str | None = None
    events: list[WebhookEventType] | None = None  # type: ignore[valid-type]
    description: str | None = None


@strawberry.input
class EnableWebhookEndpointInput:
    endpoint_id: strawberry.ID


@strawberry.input
class RotateWebhookEndpointSecretInput:
    endpoint_id: strawberry.ID


@strawberry.input
class DisableWebhookEndpointInput:
    endpoint_id: strawberry.ID
    reason: str | None = None


@strawberry.input
class ReplayWebhookDeliveryInput:
    delivery_id: strawberry.ID


@strawberry.input
class ReplayWebhookEventsInput:
    endpoint_id: strawberry.ID
    since: datetime = strawberry.field(
        description="Every event of a type the endpoint subscribes to since then is sent again."
    )


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = None
    user_errors: list[WebhookError]  # type: ignore[valid-type]


@strawberry.type
class WebhookEndpointSecretPayload:
    endpoint: WebhookEndpoint | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The signing secret (whsec_…), shown only this once.",
    )
    user_errors: list[WebhookError]  # type: ignore[valid-type]


@strawberry.type
class ReplayWebhookDeliveryPayload:
    delivery: WebhookDelivery | None = None
    user_errors: list[WebhookError]  # type: ignore[valid-type]


@strawberry.type
class ReplayWebhookEventsPayload:
    endpoint: WebhookEndpoint | None = None
    replayed: int | None = strawberry.field(
        default=None, description="How many events are sent again."
    )
    user_errors: list[WebhookError]  # type: ignore[valid-type]


def _url(info: Info, value: str) -> str:
    checked = inputs.url(value, "url")
    try:
        return egress.check_url(checked, allow_private=info.context.settings.allow_private_urls)
    except egress.Refused as exc:
        raise problem("url", f"url {exc.reason}", "INVALID_URL") from None


def _events(values: list[Any]) -> list[str]:
    if not values:
        raise problem("events", "subscribe to at least one event type", "REQUIRED")
    return sorted({v.value for v in values})


def _load(info: Info, gid: strawberry.ID, *, lock: bool = False) -> WebhookEndpointModel:
    row: WebhookEndpointModel = load_visible(
        info, WebhookEndpointModel, "WebhookEndpoint", gid, "endpointId", lock=lock
    )
    return row


def _enabled(row: WebhookEndpointModel) -> None:
    if not row.enabled:
        raise problem(
            "endpointId",
            "the endpoint is disabled: enable it first"
            + (f" ({row.disabled_reason})" if row.disabled_reason else ""),
            "ENDPOINT_DISABLED",
        )


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Adds a webhook endpoint (ADMIN). The answer carries its signing secret, "
        "shown only this once."
    )
    def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> WebhookEndpointSecretPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "webhooks")
            org_id = ctx.viewer.organization_id
            description = inputs.text(input.description, "description", 500)
            types = _events(input.events)
            url = _url(info, input.url)
            count = ctx.session.scalar(
                select(func.count())
                .select_from(WebhookEndpointModel)
                .where(WebhookEndpointModel.organization_id == org_id)
            )
            if (count or 0) >= MAX_ENDPOINTS:
                raise problem(
                    None,
                    f"an organization has at most {MAX_ENDPOINTS} webhook endpoints",
                    "LIMIT_REACHED",
                )
            row, secret = endpoints.create(ctx.session, org_id, url, types, description)
            return {"endpoint": WebhookEndpoint.from_row(row), "secret": secret}

        return run_mutation(info, WebhookEndpointSecretPayload, ERRORS, body)

    @strawberry.mutation(description="Changes an endpoint's URL, events or description (ADMIN).")
    def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "webhooks")
            row = _load(info, input.endpoint_id, lock=True)
            if input.description is not None:
                row.description = inputs.text(input.description, "description", 500)
            if input.events is not None:
                row.events = _events(input.events)
            if input.url is not None:
                row.url = _url(info, input.url)
            info.context.session.flush()
            return {"endpoint": WebhookEndpoint.from_row(row)}

        return run_mutation(info, WebhookEndpointPayload, ERRORS, body)

    @strawberry.mutation(
        description="Stops deliveries to an endpoint (ADMIN); what it is still owed fails. "
        "Events go on being kept, for replayWebhookEvents once it is enabled."
    )
    def disable_webhook_endpoint(
        self, info: Info, input: DisableWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "webhooks")
            row = _load(info, input.endpoint_id, lock=True)
            reason = inputs.text(input.reason, "reason", 500)
            if row.enabled:
                endpoints.disable(ctx.session, row, reason or "disabled by an ADMIN")
            return {"endpoint": WebhookEndpoint.from_row(row)}

        return run_mutation(info, WebhookEndpointPayload, ERRORS, body)

    @strawberry.mutation(description="Starts deliveries to a disabled endpoint again (ADMIN).")
    def enable_webhook_endpoint(
        self, info: Info, input: EnableWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "webhooks")
            row = _load(info, input.endpoint_id, lock=True)
            if not row.enabled:
                endpoints.enable(info.context.session, row)
            return {"endpoint": WebhookEndpoint.from_row(row)}

        return run_mutation(info, WebhookEndpointPayload, ERRORS, body)

    @strawberry.mutation(
        description="Issues a new signing secret (ADMIN). For 24 hours deliveries are signed "
        "with both the new and the previous one."
    )
    def rotate_webhook_endpoint_secret(
        self, info: Info, input: RotateWebhookEndpointSecretInput
    ) -> WebhookEndpointSecretPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "webhooks")
            row = _load(info, input.endpoint_id, lock=True)
            secret = endpoints.rotate(info.context.session, row)
            return {"endpoint": WebhookEndpoint.from_row(row), "secret": secret}

        return run_mutation(info, WebhookEndpointSecretPayload, ERRORS, body)

    @strawberry.mutation(
        description="Sends a delivery's event to its endpoint again, with the same webhook-id "
        "(ADMIN)."
    )
    def replay_webhook_delivery(
        self, info: Info, input: ReplayWebhookDeliveryInput
    ) -> ReplayWebhookDeliveryPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "webhooks")
            delivery = load_visible(
                info, WebhookDeliveryModel, "WebhookDelivery", input.delivery_id, "deliveryId"
            )
            endpoint = info.context.session.get_one(WebhookEndpointModel, delivery.endpoint_id)
            _enabled(endpoint)
            row = endpoints.replay(info.context.session, delivery)
            return {"delivery": WebhookDelivery.from_row(row)}

        return run_mutation(info, ReplayWebhookDeliveryPayload, ERRORS, body)

    @strawberry.mutation(
        description="Sends an endpoint again every event since a time, of the types it "
        "subscribes to (ADMIN): how to catch up after an outage."
    )
    def replay_webhook_events(
        self, info: Info, input: ReplayWebhookEventsInput
    ) -> ReplayWebhookEventsPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "webhooks")
            since = inputs.aware(input.since, "since")
            assert since is not None
            row = _load(info, input.endpoint_id)
            _enabled(row)
            replayed = endpoints.replay_since(info.context.session, row, since)
            return {"endpoint": WebhookEndpoint.from_row(row), "replayed": replayed}

        return run_mutation(info, ReplayWebhookEventsPayload, ERRORS, body)
