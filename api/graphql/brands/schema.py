from __future__ import annotations

import strawberry

from api.graphql.brands.types import Brand
from api.graphql.context import Info
from api.graphql.permissions import scoped
from api.graphql.relay import Connection, id_argument, paginate
from api.models import Brand as BrandModel


@strawberry.type
class BrandQuery:
    @strawberry.field(description="The organization's brands.")
    def brands(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[Brand]:
        stmt = scoped(BrandModel, info.context.viewer)
        if not include_archived:
            stmt = stmt.where(BrandModel.archived_at.is_(None))
        return paginate(info, stmt, model=BrandModel, node=Brand.from_row, first=first, after=after)

    @strawberry.field
    def brand(self, info: Info, id: strawberry.ID) -> Brand | None:
        pk = id_argument(id, "Brand")
        row = info.context.session.scalar(
            scoped(BrandModel, info.context.viewer).where(BrandModel.id == pk)
        )
        return Brand.from_row(row) if row else None
