from __future__ import annotations

from datetime import datetime

import strawberry

from api.graphql.analytics.fields import breakdown_field
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.relay import ModelNode
from api.models import Brand as BrandModel

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
    time_zone: str = strawberry.field(
        description="IANA name (e.g. Europe/Berlin): the days, weeks and months of its reports."
    )
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None

    performance_breakdown = breakdown_field("brand_id", _default_currency)
