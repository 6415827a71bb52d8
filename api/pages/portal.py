"""The influencer portal (INFLUENCER users): its partnerships and invitations, tracked links
with QR codes, discount codes, earnings equal to `balance`, statements as CSV, and deliverables
with the disclosure check run as a caption is typed (`static/portal.js` calls /graphql).

It may be embedded in an iframe by the origins its brands list (`Brand.portalOrigins`).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import segno
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.accounts.keys import Viewer
from api.domain.disclosure.model import Jurisdiction
from api.graphql.relay import global_id
from api.models.enums import Role
from api.pages.client import execute
from api.pages.render import (
    checked_form,
    not_found,
    page_viewer,
    redirect,
    refused,
    render,
)

PORTAL = """
query Portal($influencer: ID!) {
  viewer { organization { name } }
  influencer(id: $influencer) { id name }
  partnerships(first: 100) {
    edges { node {
      id status invitationMessage responseNote connection
      campaign { id name currency jurisdictions brand { name locale timeZone portalOrigins } }
      links { id code url active }
      discountCodes { id code percentOff active }
      deliverables { id title platform format status dueAt }
    } }
  }
}
"""
BALANCE = """
query Balance($influencer: ID!, $currency: String!) {
  balance(influencerId: $influencer, currency: $currency) {
    currency
    pending { amount currency }
    available { amount currency }
    paid { amount currency }
    held { amount currency }
  }
}
"""
RESPOND = """
mutation Respond($input: RespondToPartnershipInput!) {
  respondToPartnership(input: $input) {
    partnership { id status }
    userErrors { field message code }
  }
}
"""
KNOWN_MARKETS = frozenset(j.value for j in Jurisdiction)
LINK = "query Link($id: ID!) { node(id: $id) { ... on TrackedLink { url } } }"


def _months(today: date, count: int = 3) -> list[str]:
    """The statement periods offered: this month and the ones before it, newest first."""
    year, month = today.year, today.month
    periods = []
    for _ in range(count):
        periods.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return periods


def portal_data(viewer: Viewer) -> dict[str, Any]:
    """What the portal shows, as the API answers it for this person."""
    influencer = global_id("Influencer", viewer.influencer_id or 0)
    data = execute(viewer, PORTAL, influencer=influencer)
    partnerships = [edge["node"] for edge in data["partnerships"]["edges"]]
    currencies = sorted({p["campaign"]["currency"] for p in partnerships if p["campaign"]})
    balances = [
        b
        for currency in currencies
        if (b := execute(viewer, BALANCE, influencer=influencer, currency=currency)["balance"])
    ]
    brands = [p["campaign"]["brand"] for p in partnerships if p["campaign"]]
    return {
        "data": data,
        "partnerships": partnerships,
        "invitations": [p for p in partnerships if p["status"] == "INVITED"],
        "links": [(p, link) for p in partnerships for link in p["links"]],
        "codes": [(p, code) for p in partnerships for code in p["discountCodes"]],
        "deliverables": [(p, d) for p in partnerships for d in p["deliverables"]],
        # the campaign's markets the checker has rules for (checkDisclosure's `jurisdictions`)
        "markets": {
            p["id"]: " ".join(j for j in p["campaign"]["jurisdictions"] if j in KNOWN_MARKETS)
            for p in partnerships
            if p["campaign"]
        },
        "balances": balances,
        "currencies": currencies,
        "brand": next((b for b in brands if b), None),
        "origins": sorted({o for b in brands if b for o in b["portalOrigins"]}),
    }


async def _influencer(request: Request) -> Viewer | Response:
    return await page_viewer(request, lambda v: v.role is Role.INFLUENCER)


NOTICES = {"accepted": "Invitation accepted.", "declined": "Invitation declined."}


async def portal(request: Request) -> Response:
    viewer = await _influencer(request)
    if not isinstance(viewer, Viewer):
        return viewer
    return await _portal_page(request, viewer)


async def _portal_page(
    request: Request, viewer: Viewer, error: str | None = None, status: int = 200
) -> Response:
    values = await run_in_threadpool(portal_data, viewer)
    return render(
        request,
        "portal.html",
        viewer=viewer,
        status=status,
        frame_ancestors=["'self'", *values["origins"]],
        periods=_months(date.today()),
        notice=NOTICES.get(request.query_params.get("notice", "")),
        error=error,
        **values,
    )


async def respond(request: Request) -> Response:
    viewer = await _influencer(request)
    if not isinstance(viewer, Viewer):
        return viewer
    form = await checked_form(request)
    if form is None:
        return refused(request)
    decision = "ACCEPT" if form.get("decision") == "ACCEPT" else "DECLINE"
    variables = {
        "partnershipId": request.path_params["id"],
        "decision": decision,
        "note": form.get("note") or None,
    }
    answer = await run_in_threadpool(lambda: execute(viewer, RESPOND, input=variables))
    errors = answer["respondToPartnership"]["userErrors"]
    if errors and errors[0]["code"] == "NOT_FOUND":
        return not_found(request, viewer)
    if errors:
        return await _portal_page(request, viewer, error=errors[0]["message"], status=422)
    return redirect(f"/portal?notice={decision.lower()}ed")


async def qr_code(request: Request) -> Response:
    """The QR code of one of the influencer's tracked links (SVG or PNG); 404 for anyone
    else's."""
    viewer = await _influencer(request)
    if not isinstance(viewer, Viewer):
        return viewer
    kind = request.path_params["kind"]
    found = await run_in_threadpool(lambda: execute(viewer, LINK, id=request.path_params["id"]))
    url = (found.get("node") or {}).get("url")
    if kind not in ("svg", "png") or not url:
        return not_found(request, viewer)
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind=kind, scale=8 if kind == "png" else 4, border=2)
    media = "image/svg+xml" if kind == "svg" else "image/png"
    return Response(out.getvalue(), media_type=media, headers={"Cache-Control": "no-store"})
