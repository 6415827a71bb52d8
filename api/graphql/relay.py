"""Relay: global ids, `node(id:)` for model-backed types, and keyset cursor connections."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Generic, Self, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy import DateTime, Integer, Numeric, Select, String, func, literal, select, tuple_
from sqlalchemy.types import TypeDecorator
from strawberry import relay

from api.graphql.context import Context, Info
from api.graphql.loaders import by_id
from tracker import globalid

T = TypeVar("T")


class ModelNode(relay.Node):
    """A Node backed by one SQLAlchemy model. Subclasses set `__model__`; fields named like the
    model's columns are copied, the rest are resolvers reading `self.row`."""

    __model__: ClassVar[Any]
    row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> Self:
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.init and hasattr(row, f.name):
                kwargs[f.name] = getattr(row, f.name)
        node = cls(**kwargs)
        node.row = row
        return node

    @classmethod
    def from_rows(cls, rows: Iterable[Any]) -> list[Self]:
        return [cls.from_row(r) for r in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [globalid.parse_pk(i) for i in node_ids]
        rows = await by_id(info.context, cls.__model__).load_many([i or 0 for i in ids])
        return [
            cls.from_row(r) if r is not None and i else None for r, i in zip(rows, ids, strict=True)
        ]


global_id = globalid.encode

BAD_USER_INPUT = "BAD_USER_INPUT"


def bad_input(message: str) -> GraphQLError:
    """A client's mistake in an argument of a query (a mutation answers userErrors instead)."""
    return GraphQLError(message, extensions={"code": BAD_USER_INPUT})


def decode_id(value: Any, *expected: str) -> int | None:
    """The primary key in a global id of one of the expected types, or None if it is not one."""
    if isinstance(value, relay.GlobalID):
        if expected and value.type_name not in expected:
            return None
        return globalid.parse_pk(value.node_id)
    return globalid.decode_pk(value, *expected)


def id_argument(value: Any, *expected: str) -> int:
    """The primary key in a query argument's global id of one of the `expected` types; a
    BAD_USER_INPUT error when it is not one (a well-formed id of a row the viewer cannot see is
    not an error: the query answers null or nothing, as for a row that does not exist)."""
    pk = decode_id(value, *expected)
    if pk is None:
        kinds = " or ".join(expected)
        raise bad_input(f"invalid id {str(value)[:80]!r}: pass the id of a {kinds} from this API")
    return pk


async def resolve_node(info: Info, value: str) -> relay.Node | None:
    """`node(id:)`: the object of any model-backed type, by canonical global id. An id of a type
    that is not a node (`Viewer:1`, `Foo:1`) or not an id at all is BAD_USER_INPUT, where
    strawberry's own resolver fails with an unexpected error."""
    found = globalid.decode(value)
    type_def = info.schema.get_type_by_name(found[0]) if found else None
    origin = getattr(type_def, "origin", None)
    if found is None or not (isinstance(origin, type) and issubclass(origin, ModelNode)):
        raise bad_input(f"invalid id {str(value)[:80]!r}: pass the id of an object from this API")
    nodes = await origin.resolve_nodes(info=info, node_ids=[str(found[1])])
    return nodes[0]


# --- connections ---------------------------------------------------------------------------


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: relay.PageInfo
    count_stmt: strawberry.Private[Any]
    ctx: strawberry.Private[Any]

    @strawberry.field(description="How many items match, over all pages.")
    def total_count(self) -> int:
        return int(self.ctx.session.scalar(self.count_stmt) or 0)

    @strawberry.field(description="The nodes of this page, without their cursors.")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]


@dataclass(frozen=True)
class SortKey:
    expression: Any
    descending: bool = False


def _encode_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if isinstance(value.get("d"), str):
            return Decimal(value["d"])
        if isinstance(value.get("t"), str):
            return datetime.fromisoformat(value["t"])
    return value


def _fits(value: Any, sql_type: Any) -> bool:
    """Whether a decoded cursor value is of the kind the sort key's column holds, within what
    the databases take (a cursor the API did not make must not reach the driver)."""
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, Integer):
        return type(value) is int and -globalid.MAX_PK <= value < globalid.MAX_PK
    if isinstance(sql_type, Numeric):
        return (
            isinstance(value, Decimal)
            and value.is_finite()
            and abs(int(value.as_tuple().exponent)) <= _MAX_SCALE
            and value.adjusted() < _MAX_SCALE
        )
    if isinstance(sql_type, DateTime):
        # the API's cursors hold UTC times; another offset could move year 1 or 9999 out of range
        return isinstance(value, datetime) and value.utcoffset() == timedelta(0)
    if isinstance(sql_type, String):
        return isinstance(value, str) and len(value) <= _MAX_TEXT and "\x00" not in value
    return False


_MAX_SCALE = 40  # digits: more than any Numeric column here holds
_MAX_TEXT = 1000  # characters: longer than any sortable text column
_BAD_CURSOR = "invalid cursor: pass an endCursor from a previous page"


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[Any]) -> list[Any]:
    """The sort-key values of a cursor `encode_cursor` made for these `keys` (SQL expressions);
    BAD_USER_INPUT for anything else: wrong types (`["x"]` for an id, `[1e308]`), values out of
    the column's range, or another spelling of a valid cursor (only the API's own is one)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("not a cursor of this list")
        decoded = [_decode_value(v) for v in values]
    except (ValueError, TypeError, ArithmeticError, RecursionError):  # ArithmeticError: Decimal
        raise bad_input(_BAD_CURSOR) from None
    if not all(_fits(v, k.type) for v, k in zip(decoded, keys, strict=True)):
        raise bad_input(_BAD_CURSOR)
    if encode_cursor(decoded) != cursor:
        raise bad_input(_BAD_CURSOR)
    return decoded


def page_size(ctx: Context, first: int | None) -> int:
    limit = ctx.settings.max_page_size
    if first is None:
        return ctx.settings.default_page_size
    if first < 1 or first > limit:
        raise bad_input(f"first must be between 1 and {limit}")
    return first


def paginate(
    info: Info,
    stmt: Select[Any],
    *,
    model: Any,
    node: Callable[[Any], T],
    first: int | None,
    after: str | None,
    order: SortKey | None = None,
) -> Connection[T]:
    """One page of `stmt` by keyset (sort key, then id), as a Relay connection.

    Keyset rather than offset pagination: a page costs the same at any depth and does not skip or
    repeat rows when rows are added between pages.
    """
    ctx = info.context
    size = page_size(ctx, first)
    key = order or SortKey(model.id)
    keys = [key.expression, model.id] if key.expression is not model.id else [model.id]
    count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
    page_stmt = stmt
    if after:
        values = decode_cursor(after, keys)
        row_keys = tuple_(*keys)
        cursor_vals = tuple_(*[literal(v, k.type) for v, k in zip(values, keys, strict=True)])
        page_stmt = page_stmt.where(
            row_keys < cursor_vals if key.descending else row_keys > cursor_vals
        )
    ordering = [k.desc() if key.descending else k.asc() for k in keys]
    key_columns = [k.label(f"_k{i}") for i, k in enumerate(keys)]
    rows = ctx.session.execute(
        page_stmt.add_columns(*key_columns).order_by(*ordering).limit(size + 1)
    ).all()
    has_next = len(rows) > size
    rows = rows[:size]
    edges = [Edge(cursor=encode_cursor(list(r[1:])), node=node(r[0])) for r in rows]
    page_info = relay.PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=page_info, count_stmt=count_stmt, ctx=ctx)
