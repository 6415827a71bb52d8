"""Sign-in, sign-in by e-mailed link, password reset, accepting an invitation, sign-out.

Every form posts back here with its CSRF token (`render.checked_form`); a successful sign-in
sets the session cookie (`api.accounts.web.set_session_cookie`) and goes on to `next` (a path
of this site only) or the home page of the person's role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.accounts import lockout, sessions, signin, tokens, web
from api.accounts.keys import KeyError_
from api.db import session_scope
from api.models import User
from api.pages.embed import sign_in_ancestors
from api.pages.render import checked_form, redirect, refused, render, viewer_of


def _next(value: str | None) -> str:
    """Where to go after signing in: a path of this site, never another host (`//evil`)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


def _signed_in(request: Request, done: signin.SignedIn, to: str = "/") -> Response:
    response = redirect(to)
    web.set_session_cookie(response, request, done.token)
    return response


async def sign_in_page(request: Request) -> Response:
    if await viewer_of(request) is not None:
        return redirect(_next(request.query_params.get("next")))
    return render(
        request,
        "signin.html",
        frame_ancestors=await sign_in_ancestors(request),
        next=_next(request.query_params.get("next")),
        notice=request.query_params.get("notice"),
    )


async def sign_in(request: Request) -> Response:
    form = await checked_form(request)
    if form is None:
        return refused(request)
    email, password = form.get("email", ""), form.get("password", "")
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for", "")

    def attempt() -> signin.SignedIn | lockout.Limited | None:
        with session_scope() as db:
            return signin.with_password(db, email, password, peer, forwarded)

    done = await run_in_threadpool(attempt)
    if isinstance(done, signin.SignedIn):
        return _signed_in(request, done, _next(form.get("next")))
    error = done.message if done is not None else "That e-mail and password do not match."
    return render(
        request,
        "signin.html",
        status=429 if done is not None else 401,
        frame_ancestors=await sign_in_ancestors(request),
        error=error,
        email=email,
        next=_next(form.get("next")),
    )


def _mail_step(send: Callable[[Any, str, list[Callable[[], None]]], None], email: str) -> None:
    effects: list[Callable[[], None]] = []
    with session_scope() as db:
        send(db, email, effects)
    for effect in effects:  # the SMTP send, once the token is committed
        effect()


def _mail_form(send: Callable[[Any, str, list[Callable[[], None]]], None], what: str) -> Any:
    """The POST of a form that mails a one-time link: the same answer whether or not the
    address has an account."""

    async def post(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return refused(request)
        email = form.get("email", "").strip()
        await run_in_threadpool(_mail_step, send, email)
        return render(
            request,
            "mail_sent.html",
            frame_ancestors=await sign_in_ancestors(request),
            email=email,
            what=what,
        )

    return post


send_link = _mail_form(signin.send_link, "a sign-in link")
send_reset = _mail_form(signin.send_reset, "a link to reset your password")


async def link_page(request: Request) -> Response:
    """The link from the mail: a button that signs in (a GET must not use the token up: mail
    scanners open links)."""
    token = request.query_params.get("token", "")

    def valid() -> bool:
        with session_scope() as db:
            return tokens.peek(db, token, tokens.SIGN_IN) is not None

    if not await run_in_threadpool(valid):
        return render(request, "expired.html", status=410)
    return render(request, "link.html", token=token)


async def sign_in_with_link(request: Request) -> Response:
    form = await checked_form(request)
    if form is None:
        return refused(request)

    def attempt() -> signin.SignedIn | None:
        with session_scope() as db:
            return signin.with_link(db, form.get("token", ""))

    done = await run_in_threadpool(attempt)
    if done is None:
        return render(request, "expired.html", status=410)
    return _signed_in(request, done)


async def reset_page(request: Request) -> Response:
    return render(request, "reset.html", frame_ancestors=await sign_in_ancestors(request))


def _password_page(purpose: str, template: str) -> Any:
    """GET and POST of a page that sets a password from a one-time link (reset, invitation)."""

    async def page(request: Request) -> Response:
        token = request.query_params.get("token", "")

        def who() -> dict[str, str] | None:
            with session_scope() as db:
                row = tokens.peek(db, token, purpose)
                user = db.get(User, row.user_id) if row is not None else None
                return {"email": user.email, "name": user.name} if user is not None else None

        person = await run_in_threadpool(who)
        if person is None:
            return render(request, "expired.html", status=410)
        return render(request, template, token=token, person=person)

    async def submit(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return refused(request)
        token = form.get("token", "")

        def attempt() -> signin.SignedIn:
            with session_scope() as db:
                return signin.with_new_password(db, token, purpose, form.get("password", ""))

        try:
            done = await run_in_threadpool(attempt)
        except KeyError_ as exc:
            if exc.code == "EXPIRED":
                return render(request, "expired.html", status=410)
            return render(
                request,
                template,
                status=422,
                token=token,
                error=exc.message,
                person={"email": form.get("email", ""), "name": ""},
            )
        return _signed_in(request, done)

    return page, submit


reset_confirm_page, reset_confirm = _password_page(tokens.RESET, "set_password.html")
accept_page, accept = _password_page(tokens.INVITE, "accept.html")


async def sign_out(request: Request) -> Response:
    form = await checked_form(request)
    if form is None:
        return refused(request)
    token = web.session_token(request)
    everywhere = form.get("everywhere") == "1"

    def end() -> None:
        if token is None:
            return
        with session_scope() as db:
            viewer = sessions.authenticate(db, token)
            if everywhere and viewer is not None and viewer.user_id is not None:
                sessions.revoke_all(db, viewer.user_id)
            else:
                sessions.revoke(db, token)

    await run_in_threadpool(end)
    response = redirect("/signin?notice=signed-out")
    web.clear_session_cookie(response, request)
    return response
