"""The viewer and its organization."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import select

from api.graphql.context import Info
from api.graphql.relay import ModelNode, resolve_node
from api.models import Organization as OrganizationModel
from api.models.enums import Role as RoleEnum

if TYPE_CHECKING:
    from api.graphql.accounts.types import User

Role = RoleEnum
strawberry.enum(Role, name="Role")


@strawberry.type(name="Organization")
class Organization(ModelNode):
    __model__ = OrganizationModel
    id: strawberry.relay.NodeID[int]
    name: str


@strawberry.enum(name="ViewerKind", description="How the caller authenticated.")
class ViewerKind(Enum):
    API_KEY = "API_KEY"
    USER = "USER"


@strawberry.type(
    name="Viewer",
    description="Who is calling: an API key (a machine) or a person signed in on the pages "
    "(a session cookie), with its role in the organization.",
)
class Viewer:
    kind: ViewerKind
    role: Role
    influencer_id: strawberry.ID | None

    @strawberry.field(description="The signed-in person (null for an API key).")
    def user(
        self, info: Info
    ) -> Annotated[User, strawberry.lazy("api.graphql.accounts.types")] | None:
        from api.graphql.accounts.types import User
        from api.models import Membership

        v = info.context.viewer
        if v.user_id is None:
            return None
        row = info.context.session.scalar(
            select(Membership).where(
                Membership.user_id == v.user_id, Membership.organization_id == v.organization_id
            )
        )
        return User.from_row(row) if row is not None else None

    @strawberry.field
    def organization(self, info: Info) -> Organization:
        row = info.context.session.get(OrganizationModel, info.context.viewer.organization_id)
        return Organization.from_row(row)


@strawberry.type
class CoreQuery:
    @strawberry.field
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The ID of the object.")],
    ) -> strawberry.relay.Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description="The caller: its role and organization.")
    def viewer(self, info: Info) -> Viewer:
        v = info.context.viewer
        from api.graphql.relay import global_id

        return Viewer(
            kind=ViewerKind.USER if v.is_user else ViewerKind.API_KEY,
            role=v.role,
            influencer_id=strawberry.ID(global_id("Influencer", v.influencer_id))
            if v.influencer_id
            else None,
        )
