from __future__ import annotations

from urllib.parse import urlsplit

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
    categories: list[str] | None = strawberry.field(
        default=None,
        description='What the brand sells in ("skincare"): invitations are checked against '
        "influencers' exclusivities in these categories.",
    )
    time_zone: str = strawberry.field(
        default="UTC", description="IANA name, e.g. Europe/Berlin: the days of its reports."
    )


@strawberry.input
class UpdateBrandInput:
    brand_id: strawberry.ID
    name: str | None = None
    default_currency: str | None = None
    website: str | None = None
    categories: list[str] | None = None
    archived: bool | None = None
    locale: str | None = strawberry.field(
        default=None, description="A CLDR locale (en_US, de_DE, fr_FR…) for the pages."
    )
    portal_origins: list[str] | None = strawberry.field(
        default=None,
        description="Replaces the origins that may embed the influencer portal (at most 10).",
    )
    time_zone: str | None = None


@strawberry.type
class BrandPayload:
    brand: Brand | None = None
    user_errors: list[BrandError]  # type: ignore[valid-type]


def _website(value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    return inputs.url(value, "website")


def _locale(value: str) -> str:
    """A locale babel knows (the pages format with it)."""
    from babel import Locale, UnknownLocaleError

    text = inputs.required_text(value, "locale", 35)
    try:
        return str(Locale.parse(text.replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        raise problem("locale", f"{text!r} is not a known locale (e.g. en_US)") from None


MAX_PORTAL_ORIGINS = 10


def _origins(values: list[str]) -> list[str]:
    """Origins as a CSP source wants them: scheme://host[:port], no path."""
    if len(values) > MAX_PORTAL_ORIGINS:
        raise problem("portalOrigins", f"at most {MAX_PORTAL_ORIGINS} origins", "TOO_LONG")
    origins: list[str] = []
    for n, value in enumerate(values):
        field = f"portalOrigins.{n}"
        url = inputs.url(value.strip(), field, "an origin")
        parts = urlsplit(url)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise problem(field, "an origin is scheme://host[:port], with no path")
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if origin not in origins:
            origins.append(origin)
    return origins


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
                categories=inputs.names(input.categories, "categories"),
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
            if input.categories is not None:
                row.categories = inputs.names(input.categories, "categories")
            if input.time_zone is not None:
                row.time_zone = _time_zone(input.time_zone)
            if input.archived is not None:
                row.archived_at = utcnow() if input.archived else None
            if input.locale is not None:
                row.locale = _locale(input.locale)
            if input.portal_origins is not None:
                row.portal_origins = _origins(input.portal_origins)
            info.context.session.flush()
            return {"brand": Brand.from_row(row)}

        return run_mutation(info, BrandPayload, ERRORS, body)
