from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.domain import audience_quality, metrics
from api.graphql.analytics.fields import series_field, utc
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.finance.performance import performance_field
from api.graphql.loaders import by_fk
from api.graphql.relay import ModelNode
from api.graphql.risk.types import RISK_DESCRIPTION, RiskAssessment, risk_of
from api.influencers.audience import account_metrics
from api.influencers.derived import stored_peer_medians
from api.models import Influencer as InfluencerModel
from api.models import MetricSnapshot as SnapshotModel
from api.models import Partnership as PartnershipModel
from api.models import SocialAccount as AccountModel
from api.models.enums import Platform as PlatformEnum

if TYPE_CHECKING:
    from api.graphql.audience.types import AudienceSnapshot, AudienceSummary
    from api.graphql.compliance.types import AudienceQuality
    from api.graphql.partnerships.types import Partnership


def _peer_medians(info: Info) -> audience_quality.PeerMedians:
    """The organization's stored peer medians (kept up to date on write), once per request."""
    ctx = info.context
    medians: audience_quality.PeerMedians = ctx.memo(
        "peer-medians", lambda: stored_peer_medians(ctx.session, ctx.viewer.organization_id)
    )
    return medians


async def _account_metrics(info: Info, influencer_id: int) -> list[audience_quality.AccountMetrics]:
    """An influencer's accounts with their snapshots, through the page's DataLoaders."""
    accounts = await by_fk(info.context, AccountModel, AccountModel.influencer_id).load(
        influencer_id
    )
    snapshots = await by_fk(
        info.context,
        SnapshotModel,
        SnapshotModel.social_account_id,
        order_by=(SnapshotModel.captured_at,),
    ).load_many([a.id for a in accounts])
    return [account_metrics(a, s) for a, s in zip(accounts, snapshots, strict=True)]


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

    @strawberry.field(description="The newest audience snapshot, if any.")
    async def audience(
        self, info: Info
    ) -> Annotated[AudienceSnapshot, strawberry.lazy("api.graphql.audience.types")] | None:
        from api.graphql.audience.types import account_audience_history

        history = await account_audience_history(info, self.id)
        return history[-1] if history else None

    @strawberry.field(description="Audience snapshots of this account, oldest first.")
    async def audience_history(
        self, info: Info
    ) -> list[Annotated[AudienceSnapshot, strawberry.lazy("api.graphql.audience.types")]]:
        from api.graphql.audience.types import account_audience_history

        return await account_audience_history(info, self.id)


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
    async def audience_quality(
        self, info: Info
    ) -> Annotated[AudienceQuality, strawberry.lazy("api.graphql.compliance.types")] | None:
        from api.graphql.compliance.types import AudienceQuality

        accounts = await _account_metrics(info, self.id)
        quality = audience_quality.influencer_quality(
            accounts, _peer_medians(info), info.context.tier_thresholds()
        )
        return AudienceQuality.of(quality) if quality else None

    @strawberry.field(
        description="Who follows the influencer: its accounts' latest audience snapshots, "
        "weighted by followers. Null before any snapshot."
    )
    async def audience(
        self, info: Info
    ) -> Annotated[AudienceSummary, strawberry.lazy("api.graphql.audience.types")] | None:
        from api.graphql.audience.types import influencer_audience

        return await influencer_audience(info, self.id)

    @strawberry.field(description=RISK_DESCRIPTION)
    async def risk(self, info: Info) -> RiskAssessment | None:
        return await risk_of(info, "influencer", self.id)

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
