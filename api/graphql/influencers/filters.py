from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)

from api.domain import demographics as dm
from api.domain import metrics
from api.domain.partnership_status import PartnershipStatus
from api.graphql import inputs
from api.graphql.audience.types import AgeBand, AudienceGender
from api.graphql.context import Context
from api.graphql.influencers.types import Platform, Tier
from api.graphql.permissions import scoped
from api.graphql.relay import SortKey, id_argument
from api.models import (
    Brand,
    Campaign,
    CampaignCost,
    Influencer,
    InfluencerFacet,
    Partnership,
    PerformanceRollup,
    SocialAccount,
)

_SHARE = "At least this share of the audience, in basis points (10000 = 100 %); default 1."


@strawberry.input(description="Influencers whose audience is at least `minShare` in a country.")
class AudienceCountryFilter:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    min_share: int = strawberry.field(default=1, description=_SHARE)


@strawberry.input(description="Influencers whose audience is at least `minShare` in an age band.")
class AudienceAgeBandFilter:
    band: AgeBand
    min_share: int = strawberry.field(default=1, description=_SHARE)


@strawberry.input(description="Influencers whose audience is at least `minShare` of a gender.")
class AudienceGenderFilter:
    gender: AudienceGender
    min_share: int = strawberry.field(default=1, description=_SHARE)


@strawberry.input
class InfluencerFilter:
    search: str | None = strawberry.field(default=None, description="Name, email or handle.")
    platform: Platform | None = None
    niche: str | None = None
    country: str | None = None
    tier: Tier | None = None
    min_followers: int | None = None
    max_followers: int | None = None
    min_engagement_rate: Decimal | None = strawberry.field(default=None, description="Percent.")
    max_engagement_rate: Decimal | None = strawberry.field(default=None, description="Percent.")
    min_audience_quality: int | None = strawberry.field(default=None, description="0-100.")
    language: str | None = strawberry.field(default=None, description="ISO 639-1, e.g. fr.")
    audience_country: AudienceCountryFilter | None = None
    audience_age_band: AudienceAgeBandFilter | None = None
    audience_gender: AudienceGenderFilter | None = None
    worked_with_brand_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Influencers with a partnership that was accepted (ACCEPTED, ACTIVE, "
        "COMPLETED or TERMINATED) on one of this brand's campaigns.",
    )
    include_archived: bool = False


@strawberry.enum
class InfluencerOrderField(Enum):
    FOLLOWERS = "FOLLOWERS"
    ENGAGEMENT_RATE = "ENGAGEMENT_RATE"
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    AUDIENCE_QUALITY = "AUDIENCE_QUALITY"
    ROI_WITH_BRAND = strawberry.enum_value(
        "ROI_WITH_BRAND",
        description="Past return on investment with `brandId`: over all its campaigns, in the "
        "brand's default currency, (revenue - cost) / cost in basis points (truncated), where "
        "revenue is net of refunds and cost is commission + fees + gifted product value, from "
        "the performance rollups. Influencers without a cost there sort as the lowest.",
    )


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input
class InfluencerOrder:
    field: InfluencerOrderField
    direction: OrderDirection = OrderDirection.ASC
    brand_id: strawberry.ID | None = strawberry.field(
        default=None, description="The brand of ROI_WITH_BRAND (required for it)."
    )


# Partnerships that went ahead: "worked with" a brand.
WORKED_STATUSES = (
    PartnershipStatus.ACCEPTED,
    PartnershipStatus.ACTIVE,
    PartnershipStatus.COMPLETED,
    PartnershipStatus.TERMINATED,
)
# Inline, not a bound parameter: the sort indexes (api.models.influencers) are on these very
# expressions, and a prepared statement's parameter would not match them.
_LOWEST: ColumnElement[int] = literal_column("-1")
# Sorts below any real ROI (at worst -10,000 bp: nothing back) and fits a cursor.
NO_ROI = -(10**12)


def _tier_range(tier: metrics.Tier, t: metrics.TierThresholds) -> tuple[int, int | None]:
    bounds = [0, t.nano, t.micro, t.mid, t.macro, t.mega, None]
    order = list(metrics.Tier)  # UNDER_NANO .. MEGA, ascending
    i = order.index(tier)
    return bounds[i] or 0, bounds[i + 1]


def _facet(ctx: Context, kind: str, key: str, min_share: int = 1) -> ColumnElement[bool]:
    """Influencers with a facet (api.influencers.derived): one range of the facets' index."""
    return Influencer.id.in_(
        select(InfluencerFacet.influencer_id).where(
            InfluencerFacet.organization_id == ctx.viewer.organization_id,
            InfluencerFacet.kind == kind,
            InfluencerFacet.key == key,
            InfluencerFacet.share >= min_share,
        )
    )


def _share(value: int, name: str) -> int:
    if not 0 <= value <= dm.FULL:
        raise GraphQLError(f"{name} is 0 to {dm.FULL} basis points")
    return value


def _audience_filters(f: InfluencerFilter, ctx: Context) -> list[ColumnElement[bool]]:
    out = []
    if f.audience_country is not None:
        raw = inputs.text_argument(f.audience_country.country, "audienceCountry.country") or ""
        country = dm.country_key(raw)
        if country is None:
            raise GraphQLError(f"audienceCountry.country: {raw!r} is not an ISO 3166-1 code")
        share = _share(f.audience_country.min_share, "audienceCountry.minShare")
        out.append(_facet(ctx, dm.Kind.COUNTRY, country, share))
    if f.audience_age_band is not None:
        share = _share(f.audience_age_band.min_share, "audienceAgeBand.minShare")
        out.append(_facet(ctx, dm.Kind.AGE, f.audience_age_band.band.value, share))
    if f.audience_gender is not None:
        share = _share(f.audience_gender.min_share, "audienceGender.minShare")
        out.append(_facet(ctx, dm.Kind.GENDER, f.audience_gender.gender.value, share))
    return out


def _worked_with(ctx: Context, gid: strawberry.ID) -> ColumnElement[bool]:
    brand_id = id_argument(gid, "Brand")
    return Influencer.id.in_(
        select(Partnership.influencer_id)
        .join(Campaign, Campaign.id == Partnership.campaign_id)
        .where(
            Partnership.organization_id == ctx.viewer.organization_id,
            Campaign.brand_id == brand_id,
            Partnership.status.in_([s.value for s in WORKED_STATUSES]),
        )
    )


def apply_filter(stmt: Select[Any], f: InfluencerFilter | None, ctx: Context) -> Select[Any]:
    if f is None or not f.include_archived:
        stmt = stmt.where(Influencer.archived_at.is_(None))
    if f is None:
        return stmt
    if f.search:
        like = f"%{(inputs.text_argument(f.search, 'search') or '').strip().lower()}%"
        handle = exists().where(
            SocialAccount.influencer_id == Influencer.id, SocialAccount.handle_key.like(like)
        )
        stmt = stmt.where(
            or_(
                func.lower(Influencer.name).like(like),
                func.lower(Influencer.email).like(like),
                handle,
            )
        )
    if f.platform is not None:
        stmt = stmt.where(_facet(ctx, "PLATFORM", f.platform.value))
    if f.niche:
        inputs.text_argument(f.niche, "niche")
        stmt = stmt.where(_facet(ctx, "NICHE", f.niche.strip().lower()))
    if f.language:
        language = inputs.text_argument(f.language, "language") or ""
        stmt = stmt.where(_facet(ctx, "LANGUAGE", language.strip().lower()))
    if f.country:
        country = inputs.text_argument(f.country, "country") or ""
        stmt = stmt.where(Influencer.country == country.strip().upper())
    if f.tier is not None:
        low, high = _tier_range(metrics.Tier(f.tier.value), ctx.tier_thresholds())
        stmt = stmt.where(Influencer.max_followers >= low)
        if high is not None:
            stmt = stmt.where(Influencer.max_followers < high)
    if f.min_followers is not None:
        stmt = stmt.where(Influencer.total_followers >= f.min_followers)
    if f.max_followers is not None:
        stmt = stmt.where(Influencer.total_followers <= f.max_followers)
    if f.min_engagement_rate is not None:
        rate = inputs.decimal_argument(f.min_engagement_rate, "minEngagementRate")
        stmt = stmt.where(Influencer.engagement_rate >= rate)
    if f.max_engagement_rate is not None:
        rate = inputs.decimal_argument(f.max_engagement_rate, "maxEngagementRate")
        stmt = stmt.where(Influencer.engagement_rate <= rate)
    if f.min_audience_quality is not None:
        stmt = stmt.where(Influencer.audience_quality_score >= f.min_audience_quality)
    for clause in _audience_filters(f, ctx):
        stmt = stmt.where(clause)
    if f.worked_with_brand_id is not None:
        stmt = stmt.where(_worked_with(ctx, f.worked_with_brand_id))
    return stmt


def roi_with_brand(ctx: Context, brand: Brand) -> Any:
    """(influencer_id, roi) over the brand's campaigns: ROI in basis points, truncated, null
    without a cost. Aggregates the rollups of the brand's campaigns only."""
    r, c = PerformanceRollup, CampaignCost
    campaigns = select(Campaign.id).where(Campaign.brand_id == brand.id)
    earned = select(
        r.influencer_id.label("influencer_id"),
        r.revenue.label("revenue"),
        (r.commission + r.fees).label("cost"),
    ).where(
        r.organization_id == ctx.viewer.organization_id,
        r.campaign_id.in_(campaigns),
        r.currency == brand.default_currency,
    )
    gifted = select(
        c.influencer_id.label("influencer_id"), literal(0).label("revenue"), c.amount
    ).where(
        c.organization_id == ctx.viewer.organization_id,
        c.campaign_id.in_(campaigns),
        c.currency == brand.default_currency,
    )
    parts = union_all(earned, gifted).subquery()
    totals = (
        select(
            parts.c.influencer_id,
            cast(func.sum(parts.c.revenue), BigInteger).label("revenue"),
            cast(func.sum(parts.c.cost), BigInteger).label("cost"),
        )
        .group_by(parts.c.influencer_id)
        .subquery()
    )
    roi = case(
        (totals.c.cost > 0, (totals.c.revenue - totals.c.cost) * 10_000 // totals.c.cost),
        else_=None,
    )
    return select(totals.c.influencer_id, roi.label("roi")).subquery("roi_with_brand")


def apply_order(
    stmt: Select[Any], order: InfluencerOrder | None, ctx: Context
) -> tuple[Select[Any], SortKey]:
    """The statement (joined to what the order needs) and its sort key."""
    if order is None:
        return stmt, SortKey(Influencer.id)
    desc = order.direction == OrderDirection.DESC
    if order.field is InfluencerOrderField.ROI_WITH_BRAND:
        if order.brand_id is None:
            raise GraphQLError("orderBy ROI_WITH_BRAND needs a brandId")
        brand_id = id_argument(order.brand_id, "Brand")
        brand = ctx.session.scalar(scoped(Brand, ctx.viewer).where(Brand.id == brand_id))
        if brand is None:
            raise GraphQLError("orderBy.brandId: no such brand")
        roi = roi_with_brand(ctx, brand)
        stmt = stmt.outerjoin(roi, roi.c.influencer_id == Influencer.id)
        roi_key = cast(func.coalesce(roi.c.roi, NO_ROI), BigInteger)
        return stmt, SortKey(roi_key, descending=desc)
    expression = {
        InfluencerOrderField.FOLLOWERS: Influencer.total_followers,
        # Influencers without a rate sort as the lowest rate.
        InfluencerOrderField.ENGAGEMENT_RATE: func.coalesce(Influencer.engagement_rate, _LOWEST),
        InfluencerOrderField.NAME: Influencer.name,
        InfluencerOrderField.CREATED_AT: Influencer.created_at,
        InfluencerOrderField.AUDIENCE_QUALITY: func.coalesce(
            Influencer.audience_quality_score, _LOWEST
        ),
    }[order.field]
    return stmt, SortKey(expression, descending=desc)


def handle_exists(ctx: Context, platform: str, key: str) -> bool:
    return bool(
        ctx.session.scalar(
            select(func.count()).where(
                SocialAccount.organization_id == ctx.viewer.organization_id,
                SocialAccount.platform == platform,
                SocialAccount.handle_key == key,
            )
        )
    )
