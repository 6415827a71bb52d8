"""The `/graphql` endpoint: bearer-key authentication, then strawberry in a worker thread.

Database calls are synchronous, so each operation runs in a thread with its own event loop
(DataLoaders still batch inside it) and the server's loop keeps serving other requests.

Responses follow GraphQL over HTTP: a client whose Accept lists
`application/graphql-response+json` gets that media type, and a request error (the document
does not parse or validate, or the variables don't coerce) then answers 400 with `errors` and
no `data` entry. With `application/json` (or `*/*`, or no Accept) every GraphQL result is a 200,
as legacy clients expect.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from api.accounts import keys
from api.graphql.context import Context

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def accepts_graphql_response(accept: str) -> bool:
    """Whether an Accept header lists `application/graphql-response+json` (with q > 0)."""
    for item in accept.split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        if media_type.lower() != GRAPHQL_RESPONSE_JSON:
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def is_request_error(result: ExecutionResult) -> bool:
    """A result that never executed: no data, and errors without a path (parse, validation
    and variable coercion errors have none; a field error during execution has one)."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


class GraphQLView(GraphQL[Context, None]):
    async def get_context(self, request: Any, response: Any) -> Context:
        if accepts_graphql_response(request.headers.get("accept", "")):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        request.state.sub_response = response
        return Context(viewer=request.state.viewer, request=request, response=response)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        data = await super().process_result(request, result)
        sub_response = request.state.sub_response
        if GRAPHQL_RESPONSE_JSON in sub_response.headers.get("content-type", "") and (
            is_request_error(result)
        ):
            data.pop("data", None)
            sub_response.status_code = 400
        return data

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """strawberry's response, with one Content-Type: the negotiated one."""
        media_type = sub_response.headers.get("content-type")
        if media_type is not None:
            del sub_response.headers["content-type"]
        response = super().create_response(response_data, sub_response)
        if media_type is not None:
            response.headers["content-type"] = media_type
        return response

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
            viewer = await run_in_threadpool(keys.viewer_for, request.headers.get("authorization"))
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
