from __future__ import annotations

import strawberry

from api.graphql.context import Info
from api.graphql.loaders import by_id
from api.graphql.permissions import scoped
from api.graphql.programs.types import Program, ProgramStatus
from api.graphql.relay import Connection, id_argument, paginate
from api.models import Program as ProgramModel


@strawberry.type
class ProgramQuery:
    @strawberry.field(
        description="Ambassador programs; an INFLUENCER key sees those open for applications "
        "and its own."
    )
    def programs(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: ProgramStatus | None = None,
    ) -> Connection[Program]:
        stmt = scoped(ProgramModel, info.context.viewer)
        if status is not None:
            stmt = stmt.where(ProgramModel.status == status)
        return paginate(
            info, stmt, model=ProgramModel, node=Program.from_row, first=first, after=after
        )

    @strawberry.field
    async def program(self, info: Info, id: strawberry.ID) -> Program | None:
        row = await by_id(info.context, ProgramModel).load(id_argument(id, "Program"))
        return Program.from_row(row) if row else None
