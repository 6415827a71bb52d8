from __future__ import annotations

from typing import NoReturn

import strawberry

from api.accounts import keys, users
from api.graphql import inputs
from api.graphql.accounts.types import AccountError, AccountErrorCode, ApiKey, User
from api.graphql.context import Info
from api.graphql.core.types import Role
from api.graphql.errors import problem
from api.graphql.lookup import load_visible
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.mail import deliver
from api.models import ApiKey as ApiKeyModel
from api.models import Influencer as InfluencerModel
from api.models import Membership as MembershipModel

ERRORS = (AccountError, AccountErrorCode)


@strawberry.input
class CreateApiKeyInput:
    role: Role
    influencer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for an INFLUENCER key: whose data it may see."
    )
    label: str | None = strawberry.field(
        default=None, description='What or whom it is for, e.g. "Ana\'s laptop".'
    )


@strawberry.input
class RevokeApiKeyInput:
    api_key_id: strawberry.ID


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The key to send as `Authorization: Bearer <secret>`. Shown this once: "
        "only its hash is kept.",
    )
    user_errors: list[AccountError]  # type: ignore[valid-type]


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey | None = None
    user_errors: list[AccountError]  # type: ignore[valid-type]


@strawberry.input
class InviteUserInput:
    email: str
    role: Role
    name: str | None = None
    influencer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for an INFLUENCER user: whose data it may see."
    )


@strawberry.input
class UpdateUserRoleInput:
    user_id: strawberry.ID
    role: Role
    influencer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for the INFLUENCER role."
    )


@strawberry.input
class RemoveUserInput:
    user_id: strawberry.ID


@strawberry.type
class UserPayload:
    user: User | None = None
    user_errors: list[AccountError]  # type: ignore[valid-type]


@strawberry.type
class RemoveUserPayload:
    removed_user_id: strawberry.ID | None = None
    user_errors: list[AccountError]  # type: ignore[valid-type]


def _influencer(info: Info, value: strawberry.ID | None) -> int | None:
    """The influencer id of an input (another tenant's influencer is NOT_FOUND)."""
    if value is None:
        return None
    row = load_visible(info, InfluencerModel, "Influencer", value, "influencerId")
    return int(row.id)


def _raise(exc: keys.KeyError_) -> NoReturn:
    raise problem(exc.field, exc.message, exc.code) from None


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Creates an API key of the organization (ADMIN only).")
    def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "api_keys")
            influencer_id = None
            if input.influencer_id is not None:  # another tenant's influencer is NOT_FOUND
                row = load_visible(
                    info, InfluencerModel, "Influencer", input.influencer_id, "influencerId"
                )
                influencer_id = row.id
            try:
                key, secret = keys.create_key(
                    ctx.session,
                    organization_id=ctx.viewer.organization_id,
                    role=input.role,
                    influencer_id=influencer_id,
                    name=inputs.no_controls((input.label or "").strip(), "label"),
                )
            except keys.KeyError_ as exc:
                _raise(exc)
            return {"api_key": ApiKey.from_row(key), "secret": secret}

        return run_mutation(info, CreateApiKeyPayload, ERRORS, body)

    @strawberry.mutation(
        description="Revokes an API key of the organization (ADMIN only): its next request is "
        "refused. The key stays listed, with the date."
    )
    def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> ApiKeyPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "api_keys")
            row = load_visible(info, ApiKeyModel, "ApiKey", input.api_key_id, "apiKeyId", lock=True)
            try:
                keys.revoke_key(ctx.session, row)
            except keys.KeyError_ as exc:
                _raise(exc)
            return {"api_key": ApiKey.from_row(row)}

        return run_mutation(info, ApiKeyPayload, ERRORS, body)

    @strawberry.mutation(
        description="Invites a person to the organization with a role (ADMIN only) and mails "
        "them a one-time link: to choose a password (a new address) or to sign in (someone who "
        "already has an account). Without SMTP_HOST the mail goes to the local outbox "
        "(`vouch mail list`)."
    )
    def invite_user(self, info: Info, input: InviteUserInput) -> UserPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "users")
            influencer_id = _influencer(info, input.influencer_id)
            try:
                invitation = users.invite(
                    ctx.session,
                    organization_id=ctx.viewer.organization_id,
                    email=inputs.no_controls(input.email, "email"),
                    name=inputs.no_controls((input.name or "").strip(), "name"),
                    role=input.role,
                    influencer_id=influencer_id,
                    invited_by=ctx.viewer.label,
                )
            except keys.KeyError_ as exc:
                _raise(exc)
            deliver(ctx.session, invitation.mail, ctx.after_commit)
            return {"user": User.from_row(invitation.membership)}

        return run_mutation(info, UserPayload, ERRORS, body)

    @strawberry.mutation(
        description="Changes a user's role in the organization (ADMIN only); the organization "
        "keeps at least one ADMIN user."
    )
    def update_user_role(self, info: Info, input: UpdateUserRoleInput) -> UserPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "users")
            row = load_visible(info, MembershipModel, "User", input.user_id, "userId", lock=True)
            influencer_id = _influencer(info, input.influencer_id)
            try:
                users.update_role(ctx.session, row, input.role, influencer_id)
            except keys.KeyError_ as exc:
                _raise(exc)
            return {"user": User.from_row(row)}

        return run_mutation(info, UserPayload, ERRORS, body)

    @strawberry.mutation(
        description="Removes a user from the organization (ADMIN only): its sessions here end "
        "at once. The organization keeps at least one ADMIN user."
    )
    def remove_user(self, info: Info, input: RemoveUserInput) -> RemoveUserPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "users")
            row = load_visible(info, MembershipModel, "User", input.user_id, "userId", lock=True)
            try:
                users.remove(ctx.session, row)
            except keys.KeyError_ as exc:
                _raise(exc)
            return {"removed_user_id": input.user_id}

        return run_mutation(info, RemoveUserPayload, ERRORS, body)
