"""Generic DataLoaders: rows by id and rows by foreign key, always through the viewer's scope.

A nested field loads through one of these, so a page of N parents costs one statement per nested
field, not N (`tests/test_query_counts.py` counts them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from api.graphql.context import Context
from api.graphql.permissions import scoped


def one_of(session: Session, column: Any, keys: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN keys` for a loader's batch. On PostgreSQL `column = ANY(:keys)`: one array
    parameter, so the statement's text is the same for every batch size, and psycopg prepares
    it server side after a few runs (it prepares no query of more than 50 parameters, and an
    expanded IN of a page's keys is one text per page size). SQLite has no arrays: IN there."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(keys), type_=ARRAY(column.type)))
    result: ColumnElement[bool] = column.in_(keys)
    return result


def by_id(ctx: Context, model: Any) -> DataLoader[int, Any]:
    async def load(ids: list[int]) -> list[Any]:
        rows = ctx.session.scalars(
            scoped(model, ctx.viewer).where(one_of(ctx.session, model.id, ids))
        ).all()
        found = {row.id: row for row in rows}
        return [found.get(i) for i in ids]

    return ctx.loader(("id", model), lambda: DataLoader(load))


def by_fk(
    ctx: Context,
    model: Any,
    column: Any,
    *,
    order_by: Sequence[Any] = (),
    where: Sequence[ColumnElement[bool]] = (),
) -> DataLoader[int, list[Any]]:
    """Lists of `model` rows grouped by `column` (a foreign key), in `order_by` order."""

    async def load(keys: list[int]) -> list[list[Any]]:
        stmt = scoped(model, ctx.viewer).where(one_of(ctx.session, column, keys), *where)
        stmt = stmt.order_by(*order_by, model.id)
        groups: dict[int, list[Any]] = defaultdict(list)
        for row in ctx.session.scalars(stmt):
            groups[getattr(row, column.key)].append(row)
        return [groups.get(k, []) for k in keys]

    key = ("fk", model, column.key, tuple(str(o) for o in order_by), tuple(str(w) for w in where))
    return ctx.loader(key, lambda: DataLoader(load))
