"""`contentFindings` and `usageRightsExpiring`."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from api.content.usage_rights import expiring_clause
from api.db import utcnow
from api.graphql.content.types import Deliverable
from api.graphql.context import Info
from api.graphql.live_posts.types import ContentFinding, ContentFindingKind, ContentFindingStatus
from api.graphql.permissions import scoped, visible
from api.graphql.relay import Connection, SortKey, id_argument, paginate
from api.models import ContentFinding as FindingModel
from api.models import Deliverable as DeliverableModel
from api.models import DeliverableUsageRights as RightsModel

MAX_WITHIN_DAYS = 3650


@strawberry.input
class ContentFindingFilter:
    kind: ContentFindingKind | None = None
    status: ContentFindingStatus | None = None
    brand_id: strawberry.ID | None = None
    campaign_id: strawberry.ID | None = None
    partnership_id: strawberry.ID | None = None
    deliverable_id: strawberry.ID | None = None


@strawberry.type
class LivePostQuery:
    @strawberry.field(description="Findings about live posts and partnerships, newest first.")
    def content_findings(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ContentFindingFilter | None = None,
    ) -> Connection[ContentFinding]:
        m = FindingModel
        stmt = scoped(m, info.context.viewer)
        if filter is not None:
            if filter.kind is not None:
                stmt = stmt.where(m.kind == filter.kind)
            if filter.status is not None:
                stmt = stmt.where(m.status == filter.status)
            for column, value, type_name in (
                (m.brand_id, filter.brand_id, "Brand"),
                (m.campaign_id, filter.campaign_id, "Campaign"),
                (m.partnership_id, filter.partnership_id, "Partnership"),
                (m.deliverable_id, filter.deliverable_id, "Deliverable"),
            ):
                if value is not None:
                    stmt = stmt.where(column == id_argument(value, type_name))
        return paginate(
            info,
            stmt,
            model=m,
            node=ContentFinding.from_row,
            first=first,
            after=after,
            order=SortKey(m.detected_at, descending=True),
        )

    @strawberry.field(
        description="Deliverables whose usage rights end within `within` days (1-3650) and have "
        "not ended yet, the soonest first."
    )
    def usage_rights_expiring(
        self, info: Info, within: int, first: int | None = None, after: str | None = None
    ) -> Connection[Deliverable]:
        if not 1 <= within <= MAX_WITHIN_DAYS:
            raise GraphQLError(f"within must be between 1 and {MAX_WITHIN_DAYS} days")
        d = DeliverableModel
        stmt = (
            scoped(d, info.context.viewer)
            .join(RightsModel, RightsModel.deliverable_id == d.id)
            .where(*visible(RightsModel, info.context.viewer), *expiring_clause(utcnow(), within))
        )
        return paginate(
            info,
            stmt,
            model=d,
            node=Deliverable.from_row,
            first=first,
            after=after,
            order=SortKey(RightsModel.expires_at),
        )
