"""The floor peer of `make bench-api`: the least a strawberry GraphQL endpoint can do, `{ ok }`,
on the API's server stack (uvicorn, Starlette, strawberry's ASGI view, the same workers and
pinning), so the API's figures read as a fraction of what the framework allows.

With strawberry's parser and validation caches, as the API has them: without, the floor parsed
and validated `{ ok }` on every request, and a cached query of the API ran faster than it (the
API's viewer at 1.2-1.4x of that floor, 0.55-0.66x of this one, 2026-12-06)."""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> bool:
        return True


def create_app() -> Starlette:
    schema = strawberry.Schema(
        query=Query,
        extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
    )
    graphql = GraphQL(schema, graphql_ide=None)
    return Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"])])
