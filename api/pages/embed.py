"""Which sites may frame the sign-in pages. The portal embedded in a brand's site
(`Brand.portalOrigins`) sends a signed-out influencer to /signin inside the same frame, before
anyone knows whose brand it is: so in a frame (`web.embedded`) the sign-in pages may be framed
by the origins any brand lists, and by nobody when they are loaded as a page of their own.
Every other page keeps `frame-ancestors 'none'`, and the portal its own brands' origins only.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.accounts import web
from api.db import get_sessionmaker
from api.models import Brand


def _listed_origins() -> list[str]:
    with get_sessionmaker()() as db:
        rows = db.scalars(select(Brand.portal_origins).where(Brand.portal_origins.is_not(None)))
        return sorted({origin for origins in rows for origin in origins or ()})


async def sign_in_ancestors(request: Request) -> list[str]:
    if not web.embedded(request):
        return ["'none'"]
    return ["'self'", *await run_in_threadpool(_listed_origins)]
