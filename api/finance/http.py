"""`GET /exports/statements.csv?period=2026-10[&currency=EUR][&summary=1]`: a streamed CSV.

FINANCE or ADMIN bearer key or signed-in user (401 missing/bad key, 403 other roles, 429 with
Retry-After after too many failed attempts: `api.accounts.lockout`); bad parameters are 422 with
`{"error": ..., "field": ...}`. The viewer's organization only; an INFLUENCER key or user gets
its own entries only (its statement, as the portal offers it).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from api.accounts import lockout, roles, web
from api.accounts.keys import Viewer
from api.finance.errors import FinanceError
from api.finance.export import stream
from api.finance.statements import parse_period
from api.models.enums import Role
from api.money import MoneyError, normalize_currency


def authenticated(request: Request) -> Viewer | Response:
    """The caller of an export (its bearer key, else its session cookie), or the 401/429
    answer (blocking: call it in a worker thread)."""
    viewer = web.request_viewer(request)
    if isinstance(viewer, lockout.Limited):
        return JSONResponse(
            {"error": viewer.message, "retry_after": viewer.retry_after},
            status_code=429,
            headers={"Retry-After": str(viewer.retry_after)},
        )
    if viewer is None:
        return JSONResponse(
            {"error": "missing or invalid API key: send 'Authorization: Bearer <key>'"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return viewer


async def statements_csv(request: Request) -> Response:
    viewer = await run_in_threadpool(authenticated, request)
    if isinstance(viewer, Response):
        return viewer
    own = viewer.influencer_id if viewer.role is Role.INFLUENCER else None
    if own is None and not roles.may(viewer.role, "finance"):
        return JSONResponse(
            {"error": roles.refusal(viewer.role, "finance", viewer.kind)}, status_code=403
        )
    params = request.query_params
    try:
        period = parse_period(params.get("period", ""))
    except FinanceError as exc:
        return JSONResponse({"error": exc.message, "field": "period"}, status_code=422)
    currency = None
    if params.get("currency"):
        try:
            currency = normalize_currency(params["currency"])
        except MoneyError as exc:
            return JSONResponse({"error": str(exc), "field": "currency"}, status_code=422)
    summary = params.get("summary", "") in ("1", "true")
    name = f"statements-{period.label}{'-summary' if summary else ''}.csv"
    return StreamingResponse(
        stream(
            period.label,
            org_id=viewer.organization_id,
            currency=currency,
            summary=summary,
            influencer_id=own,
        ),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
