"""Rendering a page: the Jinja2 templates, the CSRF token its forms carry, and the headers every
page is served with (a Content-Security-Policy that allows this server only)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api.accounts import roles, web
from api.accounts.keys import Viewer
from api.pages import formatting

HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_URL = "/static/pages"


def csp(frame_ancestors: Iterable[str] = ("'none'",)) -> str:
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {' '.join(frame_ancestors)}"
    )


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda name: f"{STATIC_URL}/{name}"
    return env


def render(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None = None,
    status: int = 200,
    brand: dict[str, Any] | None = None,
    frame_ancestors: Iterable[str] = ("'none'",),
    **values: Any,
) -> HTMLResponse:
    """The page, with the request's CSRF token in `csrf` (a new pre-sign-in token cookie when
    the browser has none) and formatters for the brand's locale and time zone."""
    anon = None
    csrf = web.csrf_for(request)
    if not csrf:
        csrf = anon = web.new_anon_csrf()
    locale = formatting.locale_of(brand)
    zone = formatting.time_zone(brand)
    html = (
        environment()
        .get_template(template)
        .render(
            request=request,
            viewer=viewer,
            csrf=csrf,
            money=lambda value: formatting.money(value, locale),
            when=lambda value: formatting.when(value, locale, zone),
            day=lambda value: formatting.day(value, locale, zone),
            lang=locale.partition("_")[0],
            **values,
        )
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Security-Policy"] = csp(frame_ancestors)
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    if anon is not None:
        web.set_anon_csrf_cookie(response, request, anon)
    return response


def not_found(request: Request, viewer: Viewer | None = None) -> HTMLResponse:
    return render(request, "not_found.html", viewer=viewer, status=404)


def refused(request: Request) -> HTMLResponse:
    """A state-changing post without our origin and the page's CSRF token."""
    return render(request, "refused.html", status=403)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def viewer_of(request: Request) -> Viewer | None:
    viewer: Viewer | None = await run_in_threadpool(web.session_viewer, request)
    return viewer


async def page_viewer(request: Request, allowed: Callable[[Viewer], bool]) -> Viewer | Response:
    """The signed-in person if `allowed` lets them see the page; else the sign-in page (no
    session) or a 404 (a page of another role: nothing tells them it exists)."""
    viewer = await viewer_of(request)
    if viewer is None:
        return to_sign_in(request)
    if not allowed(viewer):
        return not_found(request, viewer)
    return viewer


def may(action: str) -> Callable[[Viewer], bool]:
    """Pages of an action of the role table (`api.accounts.roles`)."""
    return lambda viewer: roles.may(viewer.role, action)


def to_sign_in(request: Request) -> Response:
    path = request.url.path
    return redirect(f"/signin?next={path}" if path.startswith("/") else "/signin")


async def checked_form(request: Request) -> dict[str, str] | None:
    """The posted form's fields when it passes the CSRF checks (`api.accounts.web`), else None."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not web.csrf_ok(request, fields.get("csrf")):
        return None
    return fields
