from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.domain import commission
from api.domain.attribution import RepeatOrders as RepeatOrdersEnum
from api.domain.campaign_status import CampaignStatus as CampaignStatusEnum
from api.graphql.analytics.fields import (
    LEADERBOARD_DESCRIPTION,
    breakdown_field,
    resolve_leaderboard,
    series_field,
    zone_of_campaign,
)
from api.graphql.analytics.types import LeaderboardEntry, LeaderboardMetric
from api.graphql.brands.types import Brand
from api.graphql.campaigns.compensation import CompensationPlan
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.finance.performance import own_currency, performance_field
from api.graphql.live_posts.types import LiveBreachAction
from api.graphql.loaders import by_fk, by_id
from api.graphql.money import Money
from api.graphql.permissions import sees_whole_campaigns
from api.graphql.relay import Connection, ModelNode
from api.models import Brand as BrandModel
from api.models import Campaign as CampaignModel
from api.models import Deliverable as DeliverableModel
from api.models import Partnership as PartnershipModel
from api.models.enums import CampaignObjective as ObjectiveEnum

if TYPE_CHECKING:
    from api.graphql.compliance.types import DisclosureCompliance
    from api.graphql.content.types import Deliverable
    from api.graphql.partnerships.types import Partnership
    from api.graphql.programs.types import Shipment

CampaignStatus = CampaignStatusEnum
strawberry.enum(CampaignStatus, name="CampaignStatus")
CampaignObjective = ObjectiveEnum
strawberry.enum(CampaignObjective, name="CampaignObjective")
strawberry.enum(
    RepeatOrdersEnum,
    name="RepeatOrders",
    description="Whether a customer's later orders credit the influencer who brought them: "
    "never (each order needs its click or code), within some months, or for life.",
)
CampaignError, CampaignErrorCode = error_type("Campaign")


@strawberry.type(name="DisclosureRequirements")
class DisclosureRequirements:
    jurisdictions: list[str] = strawberry.field(description="Whose advertising rules apply.")
    required_labels: list[str] = strawberry.field(description="Labels the brand asks for too.")
    required_hashtags: list[str]
    required_mentions: list[str]


@strawberry.type(name="Campaign")
class Campaign(ModelNode):
    __model__ = CampaignModel
    id: strawberry.relay.NodeID[int]
    name: str
    objective: CampaignObjective
    brief: str | None
    status: CampaignStatus
    starts_at: datetime | None
    ends_at: datetime | None
    currency: str
    landing_url: str
    allowed_domains: list[str]
    required_hashtags: list[str]
    required_mentions: list[str]
    jurisdictions: list[str]
    attribution_window_days: int
    hold_days: int
    live_breach_action: LiveBreachAction = strawberry.field(
        description="What a live post that broke its approved disclosure or caption triggers: "
        "NOTIFY (a finding and an event), HOLD_COMMISSION (new commissions of the partnership "
        "are HELD for review until the finding is resolved) or MARK_BREACHED (the deliverable's "
        "breachedAt is set)."
    )
    created_at: datetime

    @strawberry.field
    def repeat_orders(self) -> RepeatOrdersEnum:
        return RepeatOrdersEnum(self.row.repeat_orders or RepeatOrdersEnum.FIRST_ORDER_ONLY)

    @strawberry.field(description="For WITHIN_MONTHS: how many months after the first order.")
    def repeat_order_months(self) -> int | None:
        value: int | None = self.row.repeat_months
        return value

    updated_at: datetime
    archived_at: datetime | None

    @strawberry.field(
        description="What the brand means to spend on every partnership; null for an INFLUENCER "
        "key (a figure of the whole campaign)."
    )
    def budget(self, info: Info) -> Money | None:
        if not sees_whole_campaigns(info.context.viewer):
            return None
        return Money.of(self.row.budget_amount, self.currency)

    @strawberry.field
    async def brand(self, info: Info) -> Brand | None:
        row = await by_id(info.context, BrandModel).load(self.row.brand_id)
        return Brand.from_row(row) if row else None

    @strawberry.field(
        description="The campaign's plan; partnerships may override parts of it. Null for an "
        "INFLUENCER key: its own terms are its partnership's `compensation` (the campaign's are "
        "those of every partnership without an override)."
    )
    def compensation_plan(self, info: Info) -> CompensationPlan | None:
        if not sees_whole_campaigns(info.context.viewer):
            return None
        stored = self.row.compensation
        return (
            CompensationPlan.of(commission.CompensationPlan.from_dict(stored)) if stored else None
        )

    @strawberry.field
    def disclosure_requirements(self) -> DisclosureRequirements:
        r = self.row
        return DisclosureRequirements(
            jurisdictions=r.jurisdictions,
            required_labels=r.required_labels,
            required_hashtags=r.required_hashtags,
            required_mentions=r.required_mentions,
        )

    performance = performance_field("campaign_id", own_currency)
    performance_series = series_field("campaign_id", own_currency, zone_of_campaign)
    performance_breakdown = breakdown_field("campaign_id", own_currency)

    @strawberry.field(description="Deliverables by the disclosure verdict of their latest content.")
    async def disclosure_compliance(
        self, info: Info
    ) -> Annotated[DisclosureCompliance, strawberry.lazy("api.graphql.compliance.types")]:
        from api.graphql.compliance.dataloaders import compliance_by_campaign

        return await compliance_by_campaign(info.context).load(self.id)

    @strawberry.field
    async def partnerships(
        self, info: Info
    ) -> list[Annotated[Partnership, strawberry.lazy("api.graphql.partnerships.types")]]:
        from api.graphql.partnerships.types import Partnership

        rows = await by_fk(info.context, PartnershipModel, PartnershipModel.campaign_id).load(
            self.id
        )
        return Partnership.from_rows(rows)

    @strawberry.field(description="Gifted-product shipments, oldest first.")
    def shipments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Shipment, strawberry.lazy("api.graphql.programs.types")]]:
        from api.graphql.programs.types import shipments_of
        from api.models import Shipment as ShipmentModel

        return shipments_of(info, ShipmentModel.campaign_id, self.id, first, after)

    @strawberry.field(description="Deliverables of all the campaign's partnerships.")
    async def deliverables(
        self, info: Info
    ) -> list[Annotated[Deliverable, strawberry.lazy("api.graphql.content.types")]]:
        from api.graphql.content.types import Deliverable

        partnerships = await by_fk(
            info.context, PartnershipModel, PartnershipModel.campaign_id
        ).load(self.id)
        lists = await by_fk(
            info.context,
            DeliverableModel,
            DeliverableModel.partnership_id,
            order_by=(DeliverableModel.due_at,),
        ).load_many([p.id for p in partnerships])
        return [Deliverable.from_row(d) for rows in lists for d in rows]

    # Last: the walk of tests/test_influencer_scope expands Influencer (and its partnerships)
    # where it first meets it, depth first; the campaign's own lists come first.
    @strawberry.field(description=LEADERBOARD_DESCRIPTION)
    async def leaderboard(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        metric: LeaderboardMetric,
        first: int = 10,
        currency: str | None = None,
    ) -> list[LeaderboardEntry]:
        return await resolve_leaderboard(self, info, from_, to, metric, first, currency)
