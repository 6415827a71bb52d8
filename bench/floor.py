"""The floor peer of `make bench-api`: the least a strawberry GraphQL endpoint can do, `{ ok }`,
on the API's server stack (uvicorn, Starlette, strawberry's ASGI view, the same workers and
pinning), so the API's figures read as a fraction of what the framework allows."""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> bool:
        return True


def create_app() -> Starlette:
    graphql = GraphQL(strawberry.Schema(query=Query), graphql_ide=None)
    return Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"])])
