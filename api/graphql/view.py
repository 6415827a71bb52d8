"""The `/graphql` endpoint: bearer-key authentication, then strawberry in a worker thread.

Database calls are synchronous, so each operation runs in a thread with its own event loop
(DataLoaders still batch inside it) and the server's loop keeps serving other requests.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from api import auth
from api.db import get_sessionmaker
from api.graphql.context import Context


class GraphQLView(GraphQL[Context, None]):
    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(viewer=request.state.viewer, request=request, response=response)

    async def execute_operation(
        self,
        request: Any,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        parent = super().execute_operation

        def run() -> Any:
            try:
                return asyncio.run(
                    parent(
                        request, request_adapter, request_data, context, root_value, sub_response
                    )
                )
            finally:
                context.close()

        return await anyio.to_thread.run_sync(run)


def _viewer_for(header: str | None) -> auth.Viewer | None:
    with get_sessionmaker()() as session:
        return auth.authenticate(session, header)


class RequireKey:
    """401 for a missing or unknown key, before any GraphQL work. The GraphiQL page itself (a
    browser GET asking for HTML) is served without a key: the key goes in its headers tab."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        wants_ide = (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )
        if not wants_ide:
            viewer = await run_in_threadpool(_viewer_for, request.headers.get("authorization"))
            if viewer is None:
                response = JSONResponse(
                    {
                        "errors": [
                            {
                                "message": "missing or invalid API key: send "
                                "'Authorization: Bearer <key>'",
                                "extensions": {"code": "UNAUTHENTICATED"},
                            }
                        ]
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["viewer"] = viewer
        await self.app(scope, receive, send)
