from __future__ import annotations

import strawberry
from graphql import GraphQLError

from api.accounts import roles
from api.accounts.keys import Viewer
from api.graphql.accounts.types import ApiKey, User
from api.graphql.context import Info
from api.graphql.permissions import scoped
from api.graphql.relay import Connection, SortKey, paginate
from api.models import ApiKey as ApiKeyModel
from api.models import Membership as MembershipModel


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
        _forbid_unless(viewer, "api_keys")
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

    @strawberry.field(
        description="The organization's users (people who sign in on the pages), newest "
        "first (ADMIN only)."
    )
    def users(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[User]:
        viewer = info.context.viewer
        _forbid_unless(viewer, "users")
        m = MembershipModel
        return paginate(
            info,
            scoped(m, viewer),
            model=m,
            node=User.from_row,
            first=first,
            after=after,
            order=SortKey(m.id, descending=True),
        )


def _forbid_unless(viewer: Viewer, action: str) -> None:
    if not roles.may(viewer.role, action):
        raise GraphQLError(
            roles.refusal(viewer.role, action, viewer.kind), extensions={"code": "FORBIDDEN"}
        )
