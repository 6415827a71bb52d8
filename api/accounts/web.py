"""Sessions over HTTP: the cookie, who it signs in, and the CSRF checks of the requests it
authorizes. Shared by `/graphql` (`api.graphql.view`) and the pages (`api.pages`).

A state-changing request that a cookie authorizes must pass two checks:
- its Origin (or, without one, its Referer) is this server's own: a browser always sends
  Origin with a cross-site POST, so another site's form or fetch is refused here;
- it carries the session's CSRF token (`sessions.csrf_token`): a form's hidden `csrf` field,
  or the X-CSRF-Token header of a script. Before sign-in (the sign-in form itself) the token
  is a random value in a cookie of its own that the form repeats (double submit).
The cookie is also SameSite=Lax, so a browser does not send it with another site's POST at all.

Embedded in a brand's site (the portal in an iframe, `Brand.portalOrigins`), a Lax cookie is a
third-party cookie the browser never sends. There the cookies are `SameSite=None; Secure;
Partitioned` (CHIPS): the browser keeps them in a jar of the embedding site only, so a sign-in
inside brand A's iframe is not a sign-in on brand B's site nor on ours. The Origin check above
still holds: a form inside the frame is posted from our own origin, another site's is not.
"""

from __future__ import annotations

import hmac
import secrets
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from api.accounts import lockout, sessions
from api.accounts.keys import Viewer
from api.db import get_sessionmaker
from api.settings import Settings, get_settings
from tracker.clientip import ClientIp, parse_ip

ANON_CSRF_COOKIE = "vouch_csrf"
CSRF_HEADER = "x-csrf-token"


@lru_cache(maxsize=4)
def _proxies(settings: Settings) -> ClientIp:
    return ClientIp(settings.tracker.trusted_proxies)


def is_https(request: Any) -> bool:
    """Whether the browser reached us over https: the request's scheme, or X-Forwarded-Proto
    when the peer is a trusted proxy (TRUSTED_PROXIES)."""
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else ""
    addr = parse_ip(peer)
    if addr is None or not _proxies(get_settings()).trusted(addr):
        return False
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https"


def cookie_secure(request: Any) -> bool:
    mode = get_settings().cookie_secure
    return mode == "1" or (mode == "auto" and is_https(request))


def own_origins(request: Any) -> set[str]:
    """The origins this server answers as: the one the request was sent to, and API_PUBLIC_URL."""
    public = urlsplit(get_settings().public_url)
    scheme = "https" if is_https(request) else request.url.scheme
    host = request.headers.get("host", "")
    return {f"{scheme}://{host}".lower(), f"{public.scheme}://{public.netloc}".lower()}


def same_origin(request: Any) -> bool:
    """Whether a state-changing request comes from one of our own pages (see the module)."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin.lower() in own_origins(request)


def session_token(request: Any) -> str | None:
    return request.cookies.get(sessions.COOKIE) or None


def session_viewer(request: Any) -> Viewer | None:
    """The signed-in person of the request's cookie, or None (blocking: in a worker thread)."""
    token = session_token(request)
    if token is None:
        return None
    with get_sessionmaker()() as db:
        return sessions.authenticate(db, token)


def request_viewer(request: Any) -> Viewer | lockout.Limited | None:
    """Who a GET of an HTTP endpoint comes from: its bearer key (`lockout.authenticate_request`)
    or, with no Authorization header, its session cookie (blocking: in a worker thread)."""
    if "authorization" not in request.headers and session_token(request):
        return session_viewer(request)
    return lockout.authenticate_request(request)


def csrf_for(request: Any) -> str:
    """The CSRF token a page rendered for this request puts in its forms."""
    token = session_token(request)
    if token is not None:
        return sessions.csrf_token(token)
    return request.cookies.get(ANON_CSRF_COOKIE) or ""


def csrf_ok(request: Any, presented: str | None) -> bool:
    """Same origin and the right token (the session's, or the pre-sign-in cookie's)."""
    if not same_origin(request) or not presented:
        return False
    token = session_token(request)
    if token is not None and sessions.csrf_matches(token, presented):
        return True
    anon = request.cookies.get(ANON_CSRF_COOKIE)
    return bool(anon) and hmac.compare_digest(anon, presented)


def new_anon_csrf() -> str:
    return secrets.token_urlsafe(24)


def embedded(request: Any) -> bool:
    """Whether the browser is loading this page inside a frame (Fetch Metadata: every current
    browser sends Sec-Fetch-Dest to https and loopback origins)."""
    return request.headers.get("sec-fetch-dest", "").lower() == "iframe"


def _cookie_policy(request: Any, top_level: str) -> dict[str, Any]:
    """SameSite and Secure: `top_level` on our own site; in a frame, None + Secure (browsers
    accept Secure cookies from loopback over http), and `_partition` adds Partitioned."""
    if embedded(request):
        return {"samesite": "none", "secure": True}
    return {"samesite": top_level, "secure": cookie_secure(request)}


def _partition(response: Any, request: Any) -> None:
    """Marks the cookie just set Partitioned when in a frame. Python's http.cookies knows the
    attribute only from 3.14 (Starlette refuses it before), so it is appended to the header."""
    if not embedded(request):
        return
    name, value = response.raw_headers[-1]
    if name == b"set-cookie":  # set_cookie appends its header last
        response.raw_headers[-1] = (name, value + b"; Partitioned")


def set_session_cookie(response: Any, request: Any, token: str) -> None:
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=get_settings().session_hours * 3600,
        httponly=True,
        path="/",
        **_cookie_policy(request, "lax"),
    )
    _partition(response, request)


def clear_session_cookie(response: Any, request: Any) -> None:
    response.delete_cookie(
        sessions.COOKIE, path="/", httponly=True, **_cookie_policy(request, "lax")
    )
    _partition(response, request)


def set_anon_csrf_cookie(response: Any, request: Any, value: str) -> None:
    response.set_cookie(
        ANON_CSRF_COOKIE, value, httponly=True, path="/", **_cookie_policy(request, "strict")
    )
    _partition(response, request)
