from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.domain import audience_quality, metrics
from api.graphql.analytics.fields import series_field, utc
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.finance.performance import performance_field
from api.graphql.loaders import by_fk
from api.graphql.relay import ModelNode
from api.influencers.audience import roster
from api.models import Influencer as InfluencerModel
from api.models import MetricSnapshot as SnapshotModel
from api.models import Partnership as PartnershipModel
from api.models import SocialAccount as AccountModel
from api.models.enums import Platform as PlatformEnum

if TYPE_CHECKING:
    from api.graphql.compliance.types import AudienceQuality
    from api.graphql.partnerships.types import Partnership


def _roster(info: Info) -> Any:
    """Peer medians and every account's metrics, loaded once per request for the organization."""

    def load() -> Any:
        ctx = info.context
        thresholds = ctx.tier_thresholds()
        by_influencer = roster(ctx.session, ctx.viewer.organization_id)
        accounts = [a for accs in by_influencer.values() for a in accs]
        return audience_quality.peer_medians(accounts, thresholds), thresholds, by_influencer

    return info.context.memo("audience-roster", load)


Platform = PlatformEnum
strawberry.enum(Platform, name="Platform")
Tier = metrics.Tier
strawberry.enum(Tier, name="Tier", description="Follower tier (org thresholds).")

InfluencerError, InfluencerErrorCode = error_type("Influencer")


@strawberry.type(name="MetricSnapshot")
class MetricSnapshot(ModelNode):
    __model__ = SnapshotModel
    id: strawberry.relay.NodeID[int]
    captured_at: datetime
    followers: int
    following: int | None
    avg_likes: int
    avg_comments: int
    avg_views: int
    posts_sampled: int

    @strawberry.field(description="Engagement rate at that time, in percent.")
    def engagement_rate(self) -> Decimal | None:
        return metrics.engagement_rate(self.followers, self.avg_likes, self.avg_comments)


@strawberry.type(name="SocialAccount")
class SocialAccount(ModelNode):
    __model__ = AccountModel
    id: strawberry.relay.NodeID[int]
    platform: Platform
    handle: str
    url: str | None
    followers: int
    following: int
    posts: int
    verified: bool
    avg_likes: int
    avg_comments: int
    avg_views: int
    suspicious_audience_pct: Decimal | None
    created_at: datetime

    @strawberry.field(description="(avg likes + avg comments per post) / followers, in percent.")
    def engagement_rate(self) -> Decimal | None:
        return metrics.engagement_rate(self.followers, self.avg_likes, self.avg_comments)

    @strawberry.field
    def tier(self, info: Info) -> Tier:
        return metrics.tier_for(self.followers, info.context.tier_thresholds())

    @strawberry.field(description="Snapshots of this account's metrics, oldest first.")
    async def snapshots(self, info: Info) -> list[MetricSnapshot]:
        rows = await by_fk(
            info.context,
            SnapshotModel,
            SnapshotModel.social_account_id,
            order_by=(SnapshotModel.captured_at,),
        ).load(self.id)
        return MetricSnapshot.from_rows(rows)


@strawberry.type(name="Influencer")
class Influencer(ModelNode):
    __model__ = InfluencerModel
    id: strawberry.relay.NodeID[int]
    name: str
    email: str | None
    country: str | None
    languages: list[str]
    niches: list[str]
    phone: str | None
    agent_name: str | None
    agent_email: str | None
    notes: str | None
    customer_ids: list[str]
    total_followers: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None

    @strawberry.field(description="Blended engagement rate over all accounts, in percent.")
    def engagement_rate(self) -> Decimal | None:
        rate: Decimal | None = self.row.engagement_rate
        return None if rate is None else rate.quantize(Decimal("0.01"))

    @strawberry.field(description="Tier of the largest account, by the organization's thresholds.")
    def tier(self, info: Info) -> Tier:
        return metrics.tier_for(self.row.max_followers, info.context.tier_thresholds())

    @strawberry.field(
        description="How genuine the audience looks (0-100), with the signals that lowered it, "
        "compared with the organization's roster."
    )
    def audience_quality(
        self, info: Info
    ) -> Annotated[AudienceQuality, strawberry.lazy("api.graphql.compliance.types")] | None:
        from api.graphql.compliance.types import AudienceQuality

        medians, thresholds, by_influencer = _roster(info)
        quality = audience_quality.influencer_quality(
            by_influencer.get(self.id, []), medians, thresholds
        )
        return AudienceQuality.of(quality) if quality else None

    performance = performance_field("influencer_id")
    # An influencer works with brands of many zones: UTC unless timeZone says otherwise.
    performance_series = series_field("influencer_id", None, utc)

    @strawberry.field
    async def accounts(self, info: Info) -> list[SocialAccount]:
        rows = await by_fk(info.context, AccountModel, AccountModel.influencer_id).load(self.id)
        return SocialAccount.from_rows(rows)

    @strawberry.field
    async def partnerships(
        self, info: Info
    ) -> list[Annotated[Partnership, strawberry.lazy("api.graphql.partnerships.types")]]:
        from api.graphql.partnerships.types import Partnership

        rows = await by_fk(info.context, PartnershipModel, PartnershipModel.influencer_id).load(
            self.id
        )
        return Partnership.from_rows(rows)
