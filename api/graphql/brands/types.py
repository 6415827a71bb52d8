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
    categories: list[str]
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
