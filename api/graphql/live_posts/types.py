"""What a brand sees after a post goes live: findings, usage rights and their enums."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from api.db import utcnow
from api.domain import usage_rights
from api.domain.live_posts import BreachAction
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.loaders import by_id
from api.graphql.relay import ModelNode
from api.models import ContentFinding as FindingModel
from api.models import Deliverable as DeliverableModel
from api.models import DeliverableUsageRights as RightsModel
from api.models import Partnership as PartnershipModel
from api.models.live_posts import EvidenceSource, FindingKind, FindingStatus
from api.settings import get_settings

if TYPE_CHECKING:
    from api.graphql.content.types import Deliverable
    from api.graphql.partnerships.types import Partnership

LiveBreachAction = BreachAction
strawberry.enum(
    LiveBreachAction,
    name="LiveBreachAction",
    description="What a live post that broke its approved disclosure or caption triggers.",
)
ContentFindingKind = FindingKind
strawberry.enum(ContentFindingKind, name="ContentFindingKind")
ContentFindingStatus = FindingStatus
strawberry.enum(ContentFindingStatus, name="ContentFindingStatus")
FindingSource = EvidenceSource
strawberry.enum(FindingSource, name="FindingSource")
UsageChannel = usage_rights.Channel
strawberry.enum(UsageChannel, name="UsageChannel")
UsageRightsState = usage_rights.RightsState
strawberry.enum(UsageRightsState, name="UsageRightsState")
UsageRightsBasis = usage_rights.Basis
strawberry.enum(UsageRightsBasis, name="UsageRightsBasis")
LivePostError, LivePostErrorCode = error_type("LivePost")


@strawberry.type(
    name="ContentFinding",
    description="Something a brand should know about a live post or a partnership, with the "
    "evidence: the text seen, its SHA-256, when and from where, and the rule results.",
)
class ContentFinding(ModelNode):
    __model__ = FindingModel
    id: strawberry.relay.NodeID[int]
    kind: ContentFindingKind
    status: ContentFindingStatus
    consequence: LiveBreachAction = strawberry.field(
        description="The campaign's liveBreachAction when the finding was made."
    )
    source: FindingSource
    detected_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None

    @strawberry.field(description="The caption seen, if the finding is about one.")
    def caption(self) -> str | None:
        value = self.row.evidence.get("caption")
        return str(value) if value is not None else None

    @strawberry.field(
        description="The creator's own comments and replies seen with the caption, if given."
    )
    def creator_comments(self) -> list[str] | None:
        value = self.row.evidence.get("comments")
        return [str(c) for c in value] if isinstance(value, list) else None

    @strawberry.field(description="The SHA-256 (hex) of the caption seen.")
    def sha256(self) -> str | None:
        value = self.row.evidence.get("sha256")
        return str(value) if value is not None else None

    @strawberry.field(description="When the text was seen (the snapshot's capturedAt).")
    def seen_at(self) -> datetime | None:
        value = self.row.evidence.get("seenAt")
        return datetime.fromisoformat(value) if value else None

    @strawberry.field(description="Why, in plain language: one line a rule.")
    def reasons(self) -> list[str]:
        return [str(r) for r in self.row.evidence.get("reasons", [])]

    @strawberry.field(description="The whole evidence, rule results included.")
    def evidence(self) -> JSON:
        value: Any = self.row.evidence
        return value

    @strawberry.field
    async def deliverable(
        self, info: Info
    ) -> Annotated[Deliverable, strawberry.lazy("api.graphql.content.types")] | None:
        from api.graphql.content.types import Deliverable

        if self.row.deliverable_id is None:
            return None
        row = await by_id(info.context, DeliverableModel).load(self.row.deliverable_id)
        return Deliverable.from_row(row) if row else None

    @strawberry.field
    async def partnership(
        self, info: Info
    ) -> Annotated[Partnership, strawberry.lazy("api.graphql.partnerships.types")] | None:
        from api.graphql.partnerships.types import Partnership

        row = await by_id(info.context, PartnershipModel).load(self.row.partnership_id)
        return Partnership.from_row(row) if row else None


@strawberry.type(
    name="DeliverableUsageRights",
    description="Where and until when the brand may use a deliverable's content.",
)
class UsageRights:
    channels: list[UsageChannel]
    paid_use: bool
    allowlisting: bool = strawberry.field(
        description="Ads may run from the creator's own account (whitelisting)."
    )
    territories: list[str] = strawberry.field(description="ISO countries, EU, or WORLDWIDE.")
    expires_at: datetime | None = strawberry.field(description="Null: no end date.")
    basis: UsageRightsBasis

    @strawberry.field(
        description="EXPIRED from expiresAt on; EXPIRING within USAGE_RIGHTS_NOTICE_DAYS of it."
    )
    def state(self) -> UsageRightsState:
        return usage_rights.state(
            self.expires_at, utcnow(), get_settings().usage_rights_notice_days
        )

    @staticmethod
    def of(row: RightsModel) -> UsageRights:
        return UsageRights(
            channels=[usage_rights.Channel(c) for c in row.channels],
            paid_use=row.paid_use,
            allowlisting=row.allowlisting,
            territories=list(row.territories),
            expires_at=row.expires_at,
            basis=usage_rights.Basis(row.basis),
        )
