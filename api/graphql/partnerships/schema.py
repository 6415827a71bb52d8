from __future__ import annotations

import strawberry

from api.graphql.context import Info
from api.graphql.loaders import by_id
from api.graphql.partnerships.types import Partnership, PartnershipStatus
from api.graphql.permissions import scoped
from api.graphql.relay import Connection, id_argument, paginate
from api.models import Partnership as PartnershipModel


@strawberry.input
class PartnershipFilter:
    status: PartnershipStatus | None = None
    campaign_id: strawberry.ID | None = None
    influencer_id: strawberry.ID | None = None


@strawberry.type
class PartnershipQuery:
    @strawberry.field
    def partnerships(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: PartnershipFilter | None = None,
    ) -> Connection[Partnership]:
        stmt = scoped(PartnershipModel, info.context.viewer)
        if filter is not None:
            if filter.status is not None:
                stmt = stmt.where(PartnershipModel.status == filter.status.value)
            if filter.campaign_id is not None:
                campaign = id_argument(filter.campaign_id, "Campaign")
                stmt = stmt.where(PartnershipModel.campaign_id == campaign)
            if filter.influencer_id is not None:
                influencer = id_argument(filter.influencer_id, "Influencer")
                stmt = stmt.where(PartnershipModel.influencer_id == influencer)
        return paginate(
            info, stmt, model=PartnershipModel, node=Partnership.from_row, first=first, after=after
        )

    @strawberry.field
    async def partnership(self, info: Info, id: strawberry.ID) -> Partnership | None:
        pk = id_argument(id, "Partnership")
        row = await by_id(info.context, PartnershipModel).load(pk)
        return Partnership.from_row(row) if row else None
