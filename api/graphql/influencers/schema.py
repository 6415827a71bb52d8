from __future__ import annotations

import strawberry

from api.graphql.context import Info
from api.graphql.influencers.filters import (
    InfluencerFilter,
    InfluencerOrder,
    apply_filter,
    apply_order,
)
from api.graphql.influencers.types import Influencer
from api.graphql.loaders import by_id
from api.graphql.permissions import scoped
from api.graphql.relay import Connection, id_argument, paginate
from api.models import Influencer as InfluencerModel


@strawberry.type
class InfluencerQuery:
    @strawberry.field(description="Influencers of the organization, filtered and sorted.")
    def influencers(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: InfluencerFilter | None = None,
        order_by: InfluencerOrder | None = None,
    ) -> Connection[Influencer]:
        stmt = apply_filter(scoped(InfluencerModel, info.context.viewer), filter, info.context)
        stmt, order = apply_order(stmt, order_by, info.context)
        return paginate(
            info,
            stmt,
            model=InfluencerModel,
            node=Influencer.from_row,
            first=first,
            after=after,
            order=order,
        )

    @strawberry.field
    async def influencer(self, info: Info, id: strawberry.ID) -> Influencer | None:
        pk = id_argument(id, "Influencer")
        row = await by_id(info.context, InfluencerModel).load(pk)
        return Influencer.from_row(row) if row else None
