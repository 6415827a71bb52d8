"""The pages' routes, mounted by `api.app`."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from api.pages import finance, people, portal, report, signin
from api.pages.client import execute
from api.pages.render import STATIC, STATIC_URL, render, to_sign_in, viewer_of

HOME = "query Home { viewer { role organization { name } user { name email } } }"


async def home(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_sign_in(request)
    data = await run_in_threadpool(lambda: execute(viewer, HOME))
    return render(request, "home.html", viewer=viewer, data=data)


def routes() -> list[BaseRoute]:
    return [
        Route("/", home),
        Route("/signin", signin.sign_in_page, methods=["GET"]),
        Route("/signin", signin.sign_in, methods=["POST"]),
        Route("/signin/email", signin.send_link, methods=["POST"]),
        Route("/signin/link", signin.link_page, methods=["GET"]),
        Route("/signin/link", signin.sign_in_with_link, methods=["POST"]),
        Route("/reset", signin.reset_page, methods=["GET"]),
        Route("/reset", signin.send_reset, methods=["POST"]),
        Route("/reset/confirm", signin.reset_confirm_page, methods=["GET"]),
        Route("/reset/confirm", signin.reset_confirm, methods=["POST"]),
        Route("/accept", signin.accept_page, methods=["GET"]),
        Route("/accept", signin.accept, methods=["POST"]),
        Route("/signout", signin.sign_out, methods=["POST"]),
        Route("/portal", portal.portal, methods=["GET"]),
        Route("/portal/partnerships/{id}/respond", portal.respond, methods=["POST"]),
        Route("/portal/links/{id}/qr.{kind}", portal.qr_code, methods=["GET"]),
        Route("/finance", finance.batches, methods=["GET"]),
        Route("/finance/batches", finance.create, methods=["POST"]),
        Route("/finance/batches/{id}", finance.batch, methods=["GET"]),
        Route("/finance/batches/{id}/paid", finance.mark_paid, methods=["POST"]),
        Route("/finance/batches/{id}/cancel", finance.cancel, methods=["POST"]),
        Route("/campaigns", report.campaigns, methods=["GET"]),
        Route("/campaigns/{id}/report", report.report, methods=["GET"]),
        Route("/campaigns/{id}/report.csv", report.report_csv, methods=["GET"]),
        Route("/people", people.people, methods=["GET"]),
        Route("/people/{action}", people.act, methods=["POST"]),
        Mount(STATIC_URL, StaticFiles(directory=STATIC), name="pages"),
    ]
