from __future__ import annotations

import strawberry

from api.graphql.context import Info
from api.graphql.permissions import scoped
from api.graphql.relay import Connection, SortKey, id_argument, paginate
from api.graphql.webhooks.types import WebhookDelivery, WebhookEndpoint
from api.models import WebhookDelivery as WebhookDeliveryModel
from api.models import WebhookEndpoint as WebhookEndpointModel
from api.models.webhooks import DeliveryStatus


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="The organization's webhook endpoints (ADMIN; none for others).")
    def webhook_endpoints(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookEndpoint]:
        stmt = scoped(WebhookEndpointModel, info.context.viewer)
        return paginate(
            info,
            stmt,
            model=WebhookEndpointModel,
            node=WebhookEndpoint.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="An endpoint's deliveries, newest first, with their attempts (ADMIN)."
    )
    def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: strawberry.ID,
        status: DeliveryStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        pk = id_argument(endpoint_id, "WebhookEndpoint")
        stmt = scoped(WebhookDeliveryModel, info.context.viewer).where(
            WebhookDeliveryModel.endpoint_id == pk
        )
        if status is not None:
            stmt = stmt.where(WebhookDeliveryModel.status == status.value)
        return paginate(
            info,
            stmt,
            model=WebhookDeliveryModel,
            node=WebhookDelivery.from_row,
            first=first,
            after=after,
            order=SortKey(WebhookDeliveryModel.id, descending=True),
        )
