from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import Select, String, cast, exists, func, or_, select

from api.domain import metrics
from api.graphql import inputs
from api.graphql.context import Context
from api.graphql.influencers.types import Platform, Tier
from api.graphql.relay import SortKey
from api.models import Influencer, SocialAccount


@strawberry.input
class InfluencerFilter:
    search: str | None = strawberry.field(default=None, description="Name, email or handle.")
    platform: Platform | None = None
    niche: str | None = None
    country: str | None = None
    tier: Tier | None = None
    min_followers: int | None = None
    max_followers: int | None = None
    min_engagement_rate: Decimal | None = None
    min_audience_quality: int | None = strawberry.field(default=None, description="0-100.")
    include_archived: bool = False


@strawberry.enum
class InfluencerOrderField(Enum):
    FOLLOWERS = "FOLLOWERS"
    ENGAGEMENT_RATE = "ENGAGEMENT_RATE"
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    AUDIENCE_QUALITY = "AUDIENCE_QUALITY"


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input
class InfluencerOrder:
    field: InfluencerOrderField
    direction: OrderDirection = OrderDirection.ASC


def _tier_range(tier: metrics.Tier, t: metrics.TierThresholds) -> tuple[int, int | None]:
    bounds = [0, t.nano, t.micro, t.mid, t.macro, t.mega, None]
    order = list(metrics.Tier)  # UNDER_NANO .. MEGA, ascending
    i = order.index(tier)
    return bounds[i] or 0, bounds[i + 1]


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
        stmt = stmt.where(
            exists().where(
                SocialAccount.influencer_id == Influencer.id,
                SocialAccount.platform == f.platform,
            )
        )
    if f.niche:
        inputs.text_argument(f.niche, "niche")
        # JSON arrays are stored as text on both backends: match the quoted element.
        stmt = stmt.where(cast(Influencer.niches, String).like(f'%"{f.niche.strip().lower()}"%'))
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
    if f.min_audience_quality is not None:
        stmt = stmt.where(Influencer.audience_quality_score >= f.min_audience_quality)
    return stmt


def sort_key(order: InfluencerOrder | None) -> SortKey:
    if order is None:
        return SortKey(Influencer.id)
    desc = order.direction == OrderDirection.DESC
    expression = {
        InfluencerOrderField.FOLLOWERS: Influencer.total_followers,
        # Influencers without a rate sort as the lowest rate.
        InfluencerOrderField.ENGAGEMENT_RATE: func.coalesce(Influencer.engagement_rate, -1),
        InfluencerOrderField.NAME: Influencer.name,
        InfluencerOrderField.CREATED_AT: Influencer.created_at,
        InfluencerOrderField.AUDIENCE_QUALITY: func.coalesce(Influencer.audience_quality_score, -1),
    }[order.field]
    return SortKey(expression, descending=desc)


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
