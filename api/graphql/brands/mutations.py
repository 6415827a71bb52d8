from __future__ import annotations

import strawberry

from api.db import utcnow
from api.domain import buckets
from api.graphql import inputs
from api.graphql.brands.types import Brand, BrandError, BrandErrorCode
from api.graphql.context import Info
from api.graphql.errors import problem
from api.graphql.lookup import load_visible
from api.graphql.money import currency_or_error
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.models import Brand as BrandModel
from api.tracking import postback_secrets, publish

ERRORS = (BrandError, BrandErrorCode)


@strawberry.input
class CreateBrandInput:
    name: str
    default_currency: str
    website: str | None = None
    time_zone: str = strawberry.field(
        default="UTC", description="IANA name, e.g. Europe/Berlin: the days of its reports."
    )


@strawberry.input
class UpdateBrandInput:
    brand_id: strawberry.ID
    name: str | None = None
    default_currency: str | None = None
    website: str | None = None
    archived: bool | None = None
    time_zone: str | None = None


@strawberry.type
class BrandPayload:
    brand: Brand | None = None
    user_errors: list[BrandError]  # type: ignore[valid-type]


def _website(value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    return inputs.url(value, "website")


def _time_zone(value: str) -> str:
    """An IANA zone name the server's zoneinfo knows, or an INVALID user error."""
    inputs.no_controls(value, "timeZone")
    try:
        return buckets.zone(value.strip()).key
    except buckets.BucketError as exc:
        raise problem("timeZone", str(exc)) from None


def load_brand(info: Info, brand_id: strawberry.ID, field: str = "brandId") -> BrandModel:
    """A brand of the viewer's organization, or a NOT_FOUND user error."""
    row: BrandModel = load_visible(info, BrandModel, "Brand", brand_id, field)
    return row


@strawberry.input
class RotatePostbackSecretInput:
    brand_id: strawberry.ID


@strawberry.type
class RotatePostbackSecretPayload:
    brand: Brand | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The new signing secret, shown only this once. The previous one stays "
        "valid for 24 hours.",
    )
    user_errors: list[BrandError]  # type: ignore[valid-type]


@strawberry.type
class BrandMutation:
    @strawberry.mutation(description="Creates a brand (ADMIN).")
    def create_brand(self, info: Info, input: CreateBrandInput) -> BrandPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "brands")
            row = BrandModel(
                organization_id=ctx.viewer.organization_id,
                name=inputs.required_text(input.name, "name", 200),
                default_currency=currency_or_error(input.default_currency, "defaultCurrency"),
                website=_website(input.website),
                time_zone=_time_zone(input.time_zone),
            )
            ctx.session.add(row)
            ctx.session.flush()
            return {"brand": Brand.from_row(row)}

        return run_mutation(info, BrandPayload, ERRORS, body)

    @strawberry.mutation(
        description="Issues a new postback signing secret for a brand (ADMIN). Both the new and "
        "the previous secret are accepted for 24 hours."
    )
    def rotate_postback_secret(
        self, info: Info, input: RotatePostbackSecretInput
    ) -> RotatePostbackSecretPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "brands")
            brand = load_brand(info, input.brand_id)
            secret = postback_secrets.rotate(ctx.session, brand.id)
            publish.after_commit(ctx, publish.BRAND_SECRETS, brand.id)
            return {"brand": Brand.from_row(brand), "secret": secret}

        return run_mutation(info, RotatePostbackSecretPayload, ERRORS, body)

    @strawberry.mutation(
        description="Changes a brand's name, currency, website or time zone (ADMIN)."
    )
    def update_brand(self, info: Info, input: UpdateBrandInput) -> BrandPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "brands")
            row = load_brand(info, input.brand_id)
            if input.name is not None:
                row.name = inputs.required_text(input.name, "name", 200)
            if input.default_currency is not None:
                row.default_currency = currency_or_error(input.default_currency, "defaultCurrency")
            if input.website is not None:
                row.website = _website(input.website)
            if input.time_zone is not None:
                row.time_zone = _time_zone(input.time_zone)
            if input.archived is not None:
                row.archived_at = utcnow() if input.archived else None
            info.context.session.flush()
            return {"brand": Brand.from_row(row)}

        return run_mutation(info, BrandPayload, ERRORS, body)
