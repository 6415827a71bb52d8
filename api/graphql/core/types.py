"""The viewer and its organization."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.graphql.context import Info
from api.graphql.relay import ModelNode, resolve_node
from api.models import Organization as OrganizationModel
from api.models.enums import Role as RoleEnum

Role = RoleEnum
strawberry.enum(Role, name="Role")


@strawberry.type(name="Organization")
class Organization(ModelNode):
    __model__ = OrganizationModel
    id: strawberry.relay.NodeID[int]
    name: str


@strawberry.type(name="Viewer", description="Who the API key belongs to.")
class Viewer:
    role: Role
    influencer_id: strawberry.ID | None

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
            role=v.role,
            influencer_id=strawberry.ID(global_id("Influencer", v.influencer_id))
            if v.influencer_id
            else None,
        )
