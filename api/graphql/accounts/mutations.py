from __future__ import annotations

from typing import NoReturn

import strawberry

from api.accounts import keys
from api.graphql import inputs
from api.graphql.accounts.types import AccountError, AccountErrorCode, ApiKey
from api.graphql.context import Info
from api.graphql.core.types import Role
from api.graphql.errors import problem
from api.graphql.lookup import load_visible
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.models import ApiKey as ApiKeyModel
from api.models import Influencer as InfluencerModel

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
