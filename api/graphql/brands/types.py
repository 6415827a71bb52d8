from __future__ import annotations

from datetime import datetime

import strawberry

from api.graphql.errors import error_type
from api.graphql.relay import ModelNode
from api.models import Brand as BrandModel

BrandError, BrandErrorCode = error_type("Brand")


@strawberry.type(name="Brand")
class Brand(ModelNode):
    __model__ = BrandModel
    id: strawberry.relay.NodeID[int]
    name: str
    website: str | None
    default_currency: str
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    locale: str = strawberry.field(
        description="How the pages write its money and dates: a CLDR locale such as en_US, de_DE."
    )

    @strawberry.field(
        description="Origins (https://shop.example) whose pages may embed the influencer "
        "portal in an iframe (Content-Security-Policy frame-ancestors)."
    )
    def portal_origins(self) -> list[str]:
        return list(self.row.portal_origins or [])
