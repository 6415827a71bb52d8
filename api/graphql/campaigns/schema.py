from __future__ import annotations

import strawberry

from api.graphql.campaigns.types import Campaign, CampaignStatus
from api.graphql.context import Info
from api.graphql.loaders import by_id
from api.graphql.permissions import scoped
from api.graphql.relay import Connection, id_argument, paginate
from api.models import Campaign as CampaignModel


@strawberry.input
class CampaignFilter:
    status: CampaignStatus | None = None
    brand_id: strawberry.ID | None = None
    include_archived: bool = False


@strawberry.type
class CampaignQuery:
    @strawberry.field
    def campaigns(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: CampaignFilter | None = None,
    ) -> Connection[Campaign]:
        stmt = scoped(CampaignModel, info.context.viewer)
        if filter is None or not filter.include_archived:
            stmt = stmt.where(CampaignModel.archived_at.is_(None))
        if filter is not None and filter.status is not None:
            stmt = stmt.where(CampaignModel.status == filter.status.value)
        if filter is not None and filter.brand_id is not None:
            stmt = stmt.where(CampaignModel.brand_id == id_argument(filter.brand_id, "Brand"))
        return paginate(
            info, stmt, model=CampaignModel, node=Campaign.from_row, first=first, after=after
        )

    @strawberry.field
    async def campaign(self, info: Info, id: strawberry.ID) -> Campaign | None:
        pk = id_argument(id, "Campaign")
        row = await by_id(info.context, CampaignModel).load(pk)
        return Campaign.from_row(row) if row else None
