"""The people page (ADMIN users): the organization's users, inviting one, changing a role,
removing one, through `users`, `inviteUser`, `updateUserRole` and `removeUser`."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.accounts.keys import Viewer
from api.models.enums import Role
from api.pages.client import execute
from api.pages.render import (
    checked_form,
    may,
    not_found,
    page_viewer,
    redirect,
    refused,
    render,
)

PEOPLE = """
query People {
  viewer { organization { name } user { id } }
  brands(first: 1) { edges { node { locale timeZone } } }
  users(first: 100) {
    totalCount
    edges { node { id email name role hasPassword lastSignInAt createdAt influencer { id name } } }
  }
  influencers(first: 100) { edges { node { id name } } }
}
"""
MUTATIONS = {
    "invite": (
        "inviteUser",
        "mutation($input: InviteUserInput!) { inviteUser(input: $input) "
        "{ user { id } userErrors { field message code } } }",
    ),
    "role": (
        "updateUserRole",
        "mutation($input: UpdateUserRoleInput!) { updateUserRole(input: $input) "
        "{ user { id } userErrors { field message code } } }",
    ),
    "remove": (
        "removeUser",
        "mutation($input: RemoveUserInput!) { removeUser(input: $input) "
        "{ removedUserId userErrors { field message code } } }",
    ),
}
NOTICES = {
    "invite": "Invitation sent.",
    "role": "Role changed.",
    "remove": "User removed: their sessions here have ended.",
}


async def _admin(request: Request) -> Viewer | Response:
    return await page_viewer(request, may("users"))


async def people(request: Request, error: str | None = None, status: int = 200) -> Response:
    viewer = await _admin(request)
    if not isinstance(viewer, Viewer):
        return viewer
    data = await run_in_threadpool(lambda: execute(viewer, PEOPLE))
    edges = data["brands"]["edges"]
    return render(
        request,
        "people.html",
        viewer=viewer,
        status=status,
        brand=edges[0]["node"] if edges else None,
        data=data,
        users=[e["node"] for e in data["users"]["edges"]],
        influencers=[e["node"] for e in data["influencers"]["edges"]],
        roles=[r.value for r in Role],
        notice=NOTICES.get(request.query_params.get("done", "")),
        error=error,
    )


def _input(action: str, form: dict[str, str]) -> dict[str, Any]:
    influencer = form.get("influencerId") or None
    if action == "invite":
        return {
            "email": form.get("email", ""),
            "name": form.get("name") or None,
            "role": form.get("role", ""),
            "influencerId": influencer if form.get("role") == "INFLUENCER" else None,
        }
    if action == "role":
        return {
            "userId": form.get("userId", ""),
            "role": form.get("role", ""),
            "influencerId": influencer if form.get("role") == "INFLUENCER" else None,
        }
    return {"userId": form.get("userId", "")}


async def act(request: Request) -> Response:
    viewer = await _admin(request)
    if not isinstance(viewer, Viewer):
        return viewer
    form = await checked_form(request)
    if form is None:
        return refused(request)
    action = request.path_params["action"]
    if action not in MUTATIONS or form.get("role", "ADMIN") not in {r.value for r in Role}:
        return not_found(request, viewer)
    name, query = MUTATIONS[action]
    variables = _input(action, form)
    answer = await run_in_threadpool(lambda: execute(viewer, query, input=variables))
    errors = answer[name]["userErrors"]
    if errors:
        return await people(request, error=errors[0]["message"], status=422)
    return redirect(f"/people?done={action}")
