from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import strawberry

from api.graphql.errors import error_type
from api.graphql.relay import ModelNode
from api.models import ShopConnection as ShopConnectionModel
from api.tracking import shop_connections
from tracker import shop_record

ShopError, ShopErrorCode = error_type("Shop", ("DISCONNECTED",))


@strawberry.enum(name="ShopKind", description="The platforms whose order webhooks Vouch takes.")
class ShopKind(StrEnum):
    SHOPIFY = shop_record.SHOPIFY
    STRIPE = shop_record.STRIPE
    WOOCOMMERCE = shop_record.WOOCOMMERCE


@strawberry.type(
    name="ShopConnection",
    description="A brand's shop (Shopify), Stripe account or WooCommerce store whose order "
    "webhooks become conversions and refunds. Its signing secret is never shown.",
)
class ShopConnection(ModelNode):
    __model__ = ShopConnectionModel
    id: strawberry.relay.NodeID[int]
    shop_domain: str = strawberry.field(
        description="The shop's domain (Shopify: its .myshopify.com domain, which each webhook "
        "must name) or, for Stripe, the account id or a label."
    )
    created_at: datetime
    updated_at: datetime
    disconnected_at: datetime | None

    @strawberry.field
    def kind(self) -> ShopKind:
        return ShopKind(self.row.kind)

    @strawberry.field(description="Whether webhooks are taken (false once disconnected).")
    def connected(self) -> bool:
        return self.row.disconnected_at is None

    @strawberry.field(description="The URL to paste into the shop's webhook settings.")
    def webhook_url(self) -> str:
        return shop_connections.webhook_url(self.row)
