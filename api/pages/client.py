"""The pages' GraphQL client: an operation run through the schema, in this thread, as the
signed-in person (the same roles, tenancy and DataLoaders as a request to /graphql)."""

from __future__ import annotations

import asyncio
from typing import Any

from api.accounts.keys import Viewer
from api.graphql.context import Context


class GraphQLFailed(RuntimeError):
    """The operation answered errors (a bug in a page's query, or a refusal)."""

    def __init__(self, errors: list[Any]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def execute(viewer: Viewer, query: str, **variables: Any) -> dict[str, Any]:
    """The operation's `data`; GraphQLFailed on errors. Blocking: call it in a worker thread."""
    from api.graphql.schema import schema

    context = Context(viewer=viewer)
    try:
        result = asyncio.run(
            schema.execute(query, variable_values=variables, context_value=context)
        )
    finally:
        context.close()
    if result.errors:
        raise GraphQLFailed(list(result.errors))
    data: dict[str, Any] = result.data or {}
    return data
