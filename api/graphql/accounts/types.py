"""API keys as an ADMIN sees them: prefix, role, label, dates; never the secret or its hash."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.graphql.context import Info
from api.graphql.core.types import Role
from api.graphql.errors import error_type
from api.graphql.influencers.types import Influencer
from api.graphql.loaders import by_id
from api.graphql.relay import ModelNode
from api.models import ApiKey as ApiKeyModel
from api.models import Influencer as InfluencerModel

AccountError, AccountErrorCode = error_type("Account", ("ALREADY_REVOKED",))


@strawberry.type(name="ApiKey", description="A bearer key of the organization (ADMIN only).")
class ApiKey(ModelNode):
    __model__ = ApiKeyModel
    id: strawberry.relay.NodeID[int]
    prefix: str = strawberry.field(
        description="The key's public part (`vch_<prefix>_…`): how lists and audit fields "
        "(`cancelledBy`, `reviewedBy`, …) name it."
    )
    role: Role
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(
        description="When it last authenticated a request (recorded at most once a minute)."
    )
    revoked_at: datetime | None = strawberry.field(
        description="From then on every request with it is refused (401)."
    )

    @strawberry.field(description="What or whom the key is for; empty when none was given.")
    def label(self) -> str:
        return str(self.row.name or "")

    @strawberry.field
    def revoked(self) -> bool:
        return self.row.revoked_at is not None

    @strawberry.field(description="The influencer an INFLUENCER key is bound to.")
    async def influencer(self, info: Info) -> Influencer | None:
        pk = self.row.influencer_id
        row = await by_id(info.context, InfluencerModel).load(pk) if pk else None
        return Influencer.from_row(row) if row else None
