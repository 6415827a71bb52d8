"""API keys and users as an ADMIN sees them: prefix, role, label, dates; never a secret or a
hash."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.dataloader import DataLoader

from api.graphql.context import Context, Info
from api.graphql.core.types import Role
from api.graphql.errors import error_type
from api.graphql.influencers.types import Influencer
from api.graphql.loaders import by_id, one_of
from api.graphql.relay import ModelNode
from api.models import ApiKey as ApiKeyModel
from api.models import Influencer as InfluencerModel
from api.models import Membership as MembershipModel
from api.models import User as UserModel

AccountError, AccountErrorCode = error_type("Account", ("ALREADY_REVOKED", "LAST_ADMIN"))


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


@strawberry.type(
    name="User",
    description="A person's membership of the organization: who (e-mail, name) and with which "
    "role. Signs in on the pages with a password or an e-mailed link (ADMIN lists them; every "
    "user sees itself as `viewer.user`).",
)
class User(ModelNode):
    __model__ = MembershipModel
    id: strawberry.relay.NodeID[int]
    role: Role
    created_at: datetime = strawberry.field(description="When the user joined the organization.")

    async def _user(self, info: Info) -> UserModel:
        # the person behind the membership: not tenant-owned (one person, several organizations),
        # read by id once the membership itself passed the viewer's scope
        ctx = info.context
        row: UserModel = await ctx.loader(("user-of-membership",), lambda: _users(ctx)).load(
            self.row.user_id
        )
        return row

    @strawberry.field
    async def email(self, info: Info) -> str:
        return (await self._user(info)).email

    @strawberry.field
    async def name(self, info: Info) -> str:
        return (await self._user(info)).name

    @strawberry.field(description="When the user last signed in; null until it has.")
    async def last_sign_in_at(self, info: Info) -> datetime | None:
        return (await self._user(info)).last_sign_in_at

    @strawberry.field(description="Whether the user has set a password (accepted its invitation).")
    async def has_password(self, info: Info) -> bool:
        return (await self._user(info)).password_hash is not None

    @strawberry.field(description="The influencer an INFLUENCER user is bound to.")
    async def influencer(self, info: Info) -> Influencer | None:
        pk = self.row.influencer_id
        row = await by_id(info.context, InfluencerModel).load(pk) if pk else None
        return Influencer.from_row(row) if row else None


def _users(ctx: Context) -> DataLoader[int, UserModel]:
    from sqlalchemy import select

    async def load(ids: list[int]) -> list[UserModel]:
        rows = ctx.session.scalars(
            select(UserModel).where(one_of(ctx.session, UserModel.id, ids))
        ).all()
        found = {row.id: row for row in rows}
        return [found[i] for i in ids]

    return DataLoader(load)
