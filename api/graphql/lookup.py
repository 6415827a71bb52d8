"""Loading the row a mutation input names by global id, within the viewer's scope."""

from __future__ import annotations

import re
from typing import Any

import strawberry

from api.graphql.context import Info
from api.graphql.errors import problem
from api.graphql.permissions import scoped
from api.graphql.relay import decode_id


def load_visible(
    info: Info,
    model: Any,
    type_name: str,
    gid: strawberry.ID | str | None,
    field: str,
    *,
    lock: bool = False,
) -> Any:
    """The row the viewer may see, or a NOT_FOUND user error: an unknown id, an id of another
    type and another tenant's id all look the same. `lock` holds the row until the transaction
    ends (status changes serialize)."""
    pk = decode_id(gid, type_name) if gid else None
    stmt = scoped(model, info.context.viewer).where(model.id == pk)
    row = info.context.session.scalar(stmt.with_for_update() if lock else stmt) if pk else None
    if row is None:
        words = re.sub(r"(?<!^)(?=[A-Z])", " ", type_name).lower()
        raise problem(field, f"no such {words}", "NOT_FOUND")
    return row
