from __future__ import annotations

import re
from typing import Final

import strawberry

from api.graphql.brands.mutations import load_brand
from api.graphql.context import Info
from api.graphql.errors import problem
from api.graphql.lookup import load_visible
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.graphql.shops.types import ShopConnection, ShopError, ShopErrorCode, ShopKind
from api.models import ShopConnection as ShopConnectionModel
from api.tracking import publish, shop_connections

ERRORS = (ShopError, ShopErrorCode)
_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST: Final = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+")
_SHOPIFY: Final = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
_STRIPE_ACCOUNT: Final = re.compile(r"acct_[A-Za-z0-9]{1,64}")
# Printable ASCII, no blanks: what the platforms issue (and what an HMAC key can be typed as).
_SECRET: Final = re.compile(r"[\x21-\x7e]+")


@strawberry.input
class ConnectShopInput:
    brand_id: strawberry.ID
    kind: ShopKind
    shop_domain: str = strawberry.field(
        description="Shopify: the shop's `<name>.myshopify.com` domain. WooCommerce: the "
        "store's host name. Stripe: the account id (`acct_...`) or the host name it sells on."
    )
    secret: str = strawberry.field(
        description="The platform's webhook signing secret: Shopify's app client secret, "
        "Stripe's endpoint secret (`whsec_...`), the secret typed into WooCommerce's webhook. "
        "Stored sealed and never shown again."
    )


@strawberry.input
class RotateShopSecretInput:
    connection_id: strawberry.ID
    secret: str = strawberry.field(
        description="The platform's new signing secret; the previous one keeps working for "
        "24 hours."
    )


@strawberry.input
class DisconnectShopInput:
    connection_id: strawberry.ID


@strawberry.type
class ShopConnectionPayload:
    connection: ShopConnection | None = None
    user_errors: list[ShopError]  # type: ignore[valid-type]


def _domain(kind: ShopKind, value: str) -> str:
    text = value.strip()
    lowered = text.lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if kind is ShopKind.SHOPIFY:
        if not _SHOPIFY.fullmatch(lowered):
            raise problem("shopDomain", "expected the shop's <name>.myshopify.com domain")
        return lowered
    if kind is ShopKind.STRIPE and _STRIPE_ACCOUNT.fullmatch(text):
        return text
    if not _HOST.fullmatch(lowered):
        raise problem("shopDomain", "expected a host name such as shop.example.com")
    return lowered


def _secret(kind: ShopKind, value: str, field: str = "secret") -> str:
    secret = value.strip()
    low, high = shop_connections.SECRET_MIN_LENGTH, shop_connections.SECRET_MAX_LENGTH
    if not low <= len(secret) <= high or not _SECRET.fullmatch(secret):
        raise problem(field, f"expected {low}-{high} printable characters without blanks")
    if kind is ShopKind.STRIPE and not secret.startswith("whsec_"):
        raise problem(field, "a Stripe endpoint secret starts with whsec_")
    return secret


def _load(info: Info, gid: strawberry.ID) -> ShopConnectionModel:
    row: ShopConnectionModel = load_visible(
        info, ShopConnectionModel, "ShopConnection", gid, "connectionId", lock=True
    )
    return row


@strawberry.type
class ShopMutation:
    @strawberry.mutation(
        description="Connects a brand's shop (ADMIN): its order webhooks, sent to the answer's "
        "`webhookUrl`, become conversions and refunds."
    )
    def connect_shop(self, info: Info, input: ConnectShopInput) -> ShopConnectionPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "brands")
            brand = load_brand(info, input.brand_id)
            row = shop_connections.connect(
                ctx.session,
                organization_id=brand.organization_id,
                brand_id=brand.id,
                kind=str(input.kind),
                shop_domain=_domain(input.kind, input.shop_domain),
                secret=_secret(input.kind, input.secret),
            )
            publish.after_commit(ctx, publish.SHOP, row.id)
            return {"connection": ShopConnection.from_row(row)}

        return run_mutation(info, ShopConnectionPayload, ERRORS, body)

    @strawberry.mutation(
        description="Gives a shop connection the platform's new signing secret (ADMIN); the "
        "previous one keeps working for 24 hours."
    )
    def rotate_shop_secret(self, info: Info, input: RotateShopSecretInput) -> ShopConnectionPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "brands")
            row = _load(info, input.connection_id)
            if row.disconnected_at is not None:
                raise problem("connectionId", "the shop is disconnected", "DISCONNECTED")
            shop_connections.rotate(ctx.session, row, _secret(ShopKind(row.kind), input.secret))
            publish.after_commit(ctx, publish.SHOP, row.id)
            return {"connection": ShopConnection.from_row(row)}

        return run_mutation(info, ShopConnectionPayload, ERRORS, body)

    @strawberry.mutation(
        description="Disconnects a shop (ADMIN): its webhooks are refused from the moment this "
        "returns. Orders already taken keep their history."
    )
    def disconnect_shop(self, info: Info, input: DisconnectShopInput) -> ShopConnectionPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "brands")
            row = _load(info, input.connection_id)
            if row.disconnected_at is None:
                shop_connections.disconnect(ctx.session, row)
                publish.after_commit(ctx, publish.SHOP, row.id)
            return {"connection": ShopConnection.from_row(row)}

        return run_mutation(info, ShopConnectionPayload, ERRORS, body)
