"""The API's ASGI application."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from api.body_limit import BodyLimit
from api.finance import downloads
from api.finance.http import statements_csv
from api.graphql.schema import schema
from api.graphql.view import GRAPHIQL_ASSETS, GRAPHIQL_ASSETS_URL, GraphQLView, RequireKey
from api.log import RequestLog
from api.pages import routes as pages
from api.settings import get_settings


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    """Once the process has imported everything and built the schema: those objects (some
    300k) are moved out of the garbage collector's reach (`gc.freeze`). They live as long as
    the process, and every full collection walked them all: 100-180 ms a time, every few
    dozen requests, which was the p99 of every query. Once a process (tests start many apps)."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True
    yield


_frozen = False


def create_app() -> Starlette:
    graphql = RequireKey(GraphQLView(schema, graphql_ide="graphiql", allow_queries_via_get=True))
    routes = [
        Route("/healthz", healthz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/exports/statements.csv", statements_csv),
        Route("/exports/payout-file", downloads.payout_file),
        Route("/exports/contract.pdf", downloads.contract_pdf),
        Route("/exports/invoice.pdf", downloads.invoice_pdf),
        Mount(GRAPHIQL_ASSETS_URL, StaticFiles(directory=GRAPHIQL_ASSETS), name="graphiql"),
        *pages.routes(),
    ]
    middleware = [
        Middleware(RequestLog),  # outermost: a refused body is logged like any request
        Middleware(BodyLimit, max_bytes=get_settings().max_body_bytes),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
