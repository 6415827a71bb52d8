from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.graphql.analytics.fields import breakdown_field
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.loaders import by_fk
from api.graphql.relay import ModelNode
from api.models import Brand as BrandModel
from api.models import ShopConnection as ShopConnectionModel
from api.models.enums import Role

if TYPE_CHECKING:
    from api.graphql.risk.types import RiskLevel
    from api.graphql.shops.types import ShopConnection

BrandError, BrandErrorCode = error_type("Brand")


async def _default_currency(_info: Info, node: Brand) -> str:
    return node.default_currency


@strawberry.type(name="Brand")
class Brand(ModelNode):
    __model__ = BrandModel
    id: strawberry.relay.NodeID[int]
    name: str
    website: str | None
    default_currency: str
    categories: list[str]
    time_zone: str = strawberry.field(
        description="IANA name (e.g. Europe/Berlin): the days, weeks and months of its reports."
    )
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None

    @strawberry.field(
        description="The brand's shop connections, oldest first (disconnected ones included)."
    )
    async def shop_connections(
        self, info: Info
    ) -> list[Annotated[ShopConnection, strawberry.lazy("api.graphql.shops.types")]]:
        from api.graphql.shops.types import ShopConnection

        loader = by_fk(info.context, ShopConnectionModel, ShopConnectionModel.brand_id)
        return ShopConnection.from_rows(await loader.load(self.id))

    locale: str = strawberry.field(
        description="How the pages write its money and dates: a CLDR locale such as en_US, de_DE."
    )

    @strawberry.field(
        description="Origins (https://shop.example) whose pages may embed the influencer "
        "portal in an iframe (Content-Security-Policy frame-ancestors)."
    )
    def portal_origins(self) -> list[str]:
        return list(self.row.portal_origins or [])

    @strawberry.field(
        description="The creator-risk level from which new commissions of a partnership are "
        "HELD for review (setRiskPolicy); null: risk never holds. Null for an INFLUENCER key."
    )
    def risk_hold_level(
        self, info: Info
    ) -> Annotated[RiskLevel, strawberry.lazy("api.graphql.risk.types")] | None:
        from api.graphql.risk.types import RiskLevel

        level = self.row.risk_hold_level
        if level is None or info.context.viewer.role is Role.INFLUENCER:
            return None
        return RiskLevel(level)

    performance_breakdown = breakdown_field("brand_id", _default_currency)
