from __future__ import annotations

import strawberry
from graphql import GraphQLError

from api.accounts import roles
from api.graphql.accounts.types import ApiKey
from api.graphql.context import Info
from api.graphql.permissions import scoped
from api.graphql.relay import Connection, SortKey, paginate
from api.models import ApiKey as ApiKeyModel


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The organization's API keys, newest first (ADMIN only).")
    def api_keys(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_revoked: bool = True,
    ) -> Connection[ApiKey]:
        viewer = info.context.viewer
        if not roles.may(viewer.role, "api_keys"):
            raise GraphQLError(
                roles.refusal(viewer.role, "api_keys"), extensions={"code": "FORBIDDEN"}
            )
        m = ApiKeyModel
        stmt = scoped(m, viewer)
        if not include_revoked:
            stmt = stmt.where(m.revoked_at.is_(None))
        return paginate(
            info,
            stmt,
            model=m,
            node=ApiKey.from_row,
            first=first,
            after=after,
            order=SortKey(m.id, descending=True),
        )
