"""The `/graphql` endpoint: bearer-key authentication, then strawberry in a worker thread.

Database calls are synchronous, so each operation runs in a thread with its own event loop
(DataLoaders still batch inside it) and the server's loop keeps serving other requests.

Responses follow GraphQL over HTTP: a client whose Accept lists
`application/graphql-response+json` gets that media type, and a request error (the document
does not parse or validate, or the variables don't coerce) then answers 400 with `errors` and
no `data` entry. With `application/json` (or `*/*`, or no Accept) every GraphQL result is a 200,
as legacy clients expect.

A browser's GET (Accept lists `text/html`, no `query` parameter) gets the GraphiQL page instead,
without a key: the key goes in the page's headers tab and every query it runs must carry it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from api.accounts import lockout, web
from api.accounts.keys import Viewer
from api.db import POOL_SIZE
from api.graphql.context import Context

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

STATIC = Path(__file__).parent / "static"
# The page's scripts and styles, vendored (see its README); app.py serves it at this URL.
GRAPHIQL_ASSETS = STATIC / "graphiql"
GRAPHIQL_ASSETS_URL = "/static/graphiql"
# The page may load and call nothing but this server: a browser refuses any CDN or other host,
# so a page that reached for one would fail here as it would on a machine without internet.
GRAPHIQL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def graphiql_html() -> str:
    return (STATIC / "graphiql.html").read_text(encoding="utf-8")


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


def wants_graphiql(method: str, headers: Mapping[str, str], params: Mapping[str, str]) -> bool:
    """A browser asking for the GraphiQL page. The one test of it, for the key check and the
    view alike (strawberry's own also takes `*/*`, which would hand curl a page, not a 401)."""
    return method == "GET" and "text/html" in headers.get("accept", "") and "query" not in params


def is_request_error(result: ExecutionResult) -> bool:
    """A result that never executed: no data, and errors without a path (parse, validation
    and variable coercion errors have none; a field error during execution has one)."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


_THREAD = threading.local()
_LIMITERS: WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = WeakKeyDictionary()


def operation_limiter() -> anyio.CapacityLimiter:
    """How many operations run at once in this process (one per thread, each with a database
    session): the pool's size, so that an operation never waits for a connection to be opened.
    One limiter per event loop (tests run several)."""
    loop = asyncio.get_running_loop()
    limiter = _LIMITERS.get(loop)
    if limiter is None:
        limiter = _LIMITERS[loop] = anyio.CapacityLimiter(POOL_SIZE)
    return limiter


def thread_loop() -> asyncio.AbstractEventLoop:
    """The event loop of this worker thread, made once: an operation runs in it (DataLoaders
    batch inside it). `asyncio.run` made and tore down a loop per request (~85 µs)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_THREAD, "loop", None)
    if loop is None or loop.is_closed():
        loop = _THREAD.loop = asyncio.new_event_loop()
    return loop


class GraphQLView(GraphQL[Context, None]):
    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        # strawberry builds the context before it looks at whether to render the page, and a
        # context needs a viewer, which a browser without a key does not have: the page first.
        if isinstance(request, Request) and self.should_render_graphql_ide(request):
            return await self.render_graphql_ide(request)
        try:
            return await super().run(request, context, root_value)
        except HTTPException as exc:  # strawberry answers these in plain text; we answer JSON
            if not isinstance(request, Request):
                raise
            return JSONResponse(
                {"errors": [{"message": exc.reason, "extensions": {"code": "BAD_REQUEST"}}]},
                status_code=exc.status_code,
            )

    def parse_json(self, data: str | bytes) -> Any:
        """strawberry's, with two more 400s where it fails with a 500: JSON nested too deeply
        to parse, and a request body (bytes; query-string parameters arrive as str) that is
        not an object (`"hello"`, `null`, `1`). A list goes on to strawberry, which refuses
        it while batching is off."""
        try:
            value = super().parse_json(data)
        except RecursionError:
            raise HTTPException(400, "the JSON is nested too deeply") from None
        if isinstance(data, bytes) and not isinstance(value, dict | list):
            raise HTTPException(
                400, 'the request body must be a JSON object: {"query": "...", "variables": {}}'
            )
        return value

    def should_render_graphql_ide(self, request: Any) -> bool:
        return wants_graphiql(request.method, request.headers, request.query_params)

    async def render_graphql_ide(self, request: Any) -> Response:
        """Our page instead of strawberry's, which loads GraphiQL and React from unpkg.com."""
        return HTMLResponse(graphiql_html(), headers={"Content-Security-Policy": GRAPHIQL_CSP})

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
        if getattr(_THREAD, "serving", False):
            # `RequireKey` runs the whole request in this worker thread already: no second hop
            try:
                return await parent(
                    request, request_adapter, request_data, context, root_value, sub_response
                )
            finally:
                context.close()

        def run() -> Any:
            try:
                return thread_loop().run_until_complete(
                    parent(
                        request, request_adapter, request_data, context, root_value, sub_response
                    )
                )
            finally:
                context.close()

        return await anyio.to_thread.run_sync(run, limiter=operation_limiter())

    async def respond(self, request: Request) -> Response:
        """strawberry's HTTP handling of one request (its `__call__` without the sending)."""
        try:
            response: Response = await self.run(request)
        except HTTPException as exc:
            response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        return response


def _refusal(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers=headers,
    )


class RequireKey:
    """401 for a missing or unknown key, before any GraphQL work; 429 with Retry-After for a
    client (or key prefix) with too many failed attempts (`api.accounts.lockout`). The GraphiQL
    page itself (a browser GET asking for HTML) is served without a key: the key goes in its
    headers tab.

    Without an Authorization header, a session cookie (a person signed in on the pages) is
    accepted instead, with the same roles and tenancy; a POST it authorizes must come from our
    own origin with the session's X-CSRF-Token (`api.accounts.web`), else 403. A GET runs
    queries only (strawberry refuses a mutation over GET).

    One thread hop per request: the body is read on the server's loop (`BodyLimit` has it in
    memory already), then the key (or session) check and the whole operation run in one worker
    thread, in that thread's event loop (`serve`); the response is sent from the server's loop.
    Two hops (the key, then the operation) cost the viewer query a third of its time."""

    def __init__(self, app: GraphQLView) -> None:
        self.app = app

    def serve(
        self, request: Request, authenticate: Callable[[Request], Viewer | Response]
    ) -> Response:
        """In a worker thread: who is calling, then their operation, in this thread's loop."""
        viewer = authenticate(request)
        if isinstance(viewer, Response):
            return viewer
        request.scope.setdefault("state", {})["viewer"] = viewer
        _THREAD.serving = True
        try:
            return thread_loop().run_until_complete(self.app.respond(request))
        finally:
            _THREAD.serving = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if wants_graphiql(request.method, request.headers, request.query_params):
            await self.app(scope, receive, send)
            return
        if "authorization" not in request.headers and web.session_token(request):
            authenticate: Callable[[Request], Viewer | Response] = by_session
        else:
            authenticate = by_key
        await request.body()  # on this loop: the worker thread's loop cannot await `receive`
        response = await anyio.to_thread.run_sync(
            self.serve, request, authenticate, limiter=operation_limiter()
        )
        await response(scope, receive, send)


def by_session(request: Request) -> Viewer | Response:
    """The viewer of a session cookie, or the refusal to answer (blocking)."""
    viewer = web.session_viewer(request)
    if viewer is None:
        return _refusal(401, "UNAUTHENTICATED", "the session has ended: sign in again at /signin")
    if request.method != "GET" and not web.csrf_ok(request, request.headers.get(web.CSRF_HEADER)):
        return _refusal(
            403,
            "FORBIDDEN",
            "a request authorized by a session cookie must come from this site's pages "
            "with their X-CSRF-Token header",
        )
    return viewer


def by_key(request: Request) -> Viewer | Response:
    """The viewer of a bearer key, or the refusal to answer: 429 or 401 (blocking)."""
    viewer = lockout.authenticate_request(request)
    if isinstance(viewer, lockout.Limited):
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": viewer.message,
                        "extensions": {"code": "RATE_LIMITED", "retryAfter": viewer.retry_after},
                    }
                ]
            },
            status_code=429,
            headers={"Retry-After": str(viewer.retry_after)},
        )
    if viewer is None:
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": "missing or invalid API key: send 'Authorization: Bearer <key>'",
                        "extensions": {"code": "UNAUTHENTICATED"},
                    }
                ]
            },
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return viewer
