from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

import strawberry

from api.campaigns.plans import effective_plan
from api.domain.partnership_status import PartnershipStatus as StatusEnum
from api.finance.pdf import sha256
from api.graphql.analytics.fields import series_field, zone_of_campaign_of
from api.graphql.campaigns.compensation import CompensationPlan
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.finance.performance import campaign_currency, performance_field
from api.graphql.loaders import by_fk, by_id
from api.graphql.relay import Connection, ModelNode
from api.graphql.risk.types import RISK_DESCRIPTION, RiskAssessment, risk_of
from api.models import Campaign as CampaignModel
from api.models import Contract as ContractModel
from api.models import ContractSignature as ContractSignatureModel
from api.models import Deliverable as DeliverableModel
from api.models import DiscountCode as DiscountCodeModel
from api.models import Influencer as InfluencerModel
from api.models import Partnership as PartnershipModel
from api.models import TrackedLink as TrackedLinkModel
from api.models.enums import MaterialConnection as ConnectionEnum
from api.models.enums import UsageRights as UsageRightsEnum
from tracker import globalid

if TYPE_CHECKING:
    from api.graphql.campaigns.types import Campaign
    from api.graphql.content.types import Deliverable
    from api.graphql.influencers.types import Influencer
    from api.graphql.payouts.types import ContractSignature
    from api.graphql.programs.types import Shipment
    from api.graphql.tracking.types import DiscountCode, TrackedLink

PartnershipStatus = StatusEnum
strawberry.enum(PartnershipStatus, name="PartnershipStatus")
MaterialConnection = ConnectionEnum
strawberry.enum(MaterialConnection, name="MaterialConnection")
UsageRights = UsageRightsEnum
strawberry.enum(UsageRights, name="UsageRights")
PartnershipError, PartnershipErrorCode = error_type("Partnership", ("CONFLICT",))


@strawberry.type(name="Contract", description="One version of a partnership's terms.")
class Contract(ModelNode):
    __model__ = ContractModel
    id: strawberry.relay.NodeID[int]
    version: int
    deliverables_due: str | None
    usage_rights: UsageRights
    usage_rights_days: int | None
    usage_rights_regions: list[str]
    exclusivity_days: int | None
    exclusivity_categories: list[str]
    exclusivity_competitors: list[str]
    payment_terms_days: int
    approval_rounds: int
    accepted_at: datetime | None
    accepted_by: str | None
    created_at: datetime

    @strawberry.field(
        description="The SHA-256 of this version's PDF: the same version, the same bytes."
    )
    def pdf_sha256(self, info: Info) -> str:
        from api import contracts

        return sha256(contracts.pdf_of(info.context.session, self.row))

    @strawberry.field(description="Where to download this version's PDF (the same bearer key).")
    def pdf_url(self) -> str:
        return "/exports/contract.pdf?id=" + quote(globalid.encode("Contract", self.id), safe="")

    @strawberry.field(description="The influencer's signature of this version, if signed.")
    async def signature(
        self, info: Info
    ) -> Annotated[ContractSignature, strawberry.lazy("api.graphql.payouts.types")] | None:
        from api.graphql.payouts.types import ContractSignature

        rows = await by_fk(
            info.context, ContractSignatureModel, ContractSignatureModel.contract_id
        ).load(self.id)
        return ContractSignature.from_row(rows[0]) if rows else None


@strawberry.type(name="Partnership")
class Partnership(ModelNode):
    __model__ = PartnershipModel
    id: strawberry.relay.NodeID[int]
    status: PartnershipStatus
    connection: MaterialConnection
    responded_at: datetime | None
    response_note: str | None
    invitation_message: str | None = strawberry.field(
        description="The brand's note sent with the invitation (createPartnership's message)."
    )
    created_at: datetime
    updated_at: datetime

    performance = performance_field("partnership_id", campaign_currency)

    @strawberry.field(description=RISK_DESCRIPTION)
    async def risk(self, info: Info) -> RiskAssessment | None:
        return await risk_of(info, "partnership", self.id)

    performance_series = series_field("partnership_id", campaign_currency, zone_of_campaign_of)

    @strawberry.field
    async def campaign(
        self, info: Info
    ) -> Annotated[Campaign, strawberry.lazy("api.graphql.campaigns.types")] | None:
        from api.graphql.campaigns.types import Campaign

        row = await by_id(info.context, CampaignModel).load(self.row.campaign_id)
        return Campaign.from_row(row) if row else None

    @strawberry.field
    async def influencer(
        self, info: Info
    ) -> Annotated[Influencer, strawberry.lazy("api.graphql.influencers.types")] | None:
        from api.graphql.influencers.types import Influencer

        row = await by_id(info.context, InfluencerModel).load(self.row.influencer_id)
        return Influencer.from_row(row) if row else None

    @strawberry.field(description="The latest version of the terms.")
    async def contract(self, info: Info) -> Contract | None:
        versions = await self._contracts(info)
        return Contract.from_row(versions[-1]) if versions else None

    @strawberry.field(description="Every version of the terms, oldest first.")
    async def contract_history(self, info: Info) -> list[Contract]:
        return Contract.from_rows(await self._contracts(info))

    async def _contracts(self, info: Info) -> list[ContractModel]:
        return await by_fk(
            info.context,
            ContractModel,
            ContractModel.partnership_id,
            order_by=(ContractModel.version,),
        ).load(self.id)

    @strawberry.field
    async def deliverables(
        self, info: Info
    ) -> list[Annotated[Deliverable, strawberry.lazy("api.graphql.content.types")]]:
        from api.graphql.content.types import Deliverable

        rows = await by_fk(
            info.context,
            DeliverableModel,
            DeliverableModel.partnership_id,
            order_by=(DeliverableModel.due_at,),
        ).load(self.id)
        return Deliverable.from_rows(rows)

    @strawberry.field(description="The plan in effect: the campaign's merged with any override.")
    async def compensation(self, info: Info) -> CompensationPlan | None:
        campaign = await by_id(info.context, CampaignModel).load(self.row.campaign_id)
        plan = effective_plan(campaign, self.row) if campaign else None
        return CompensationPlan.of(plan) if plan else None

    @strawberry.field(description="Whether this partnership overrides its campaign's plan.")
    def has_compensation_override(self) -> bool:
        return self.row.compensation_override is not None

    @strawberry.field(description="Gifted-product shipments, oldest first.")
    def shipments(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Shipment, strawberry.lazy("api.graphql.programs.types")]]:
        from api.graphql.programs.types import shipments_of
        from api.models import Shipment as ShipmentModel

        return shipments_of(info, ShipmentModel.partnership_id, self.id, first, after)

    @strawberry.field(description="Tracked links issued for this partnership, oldest first.")
    async def links(
        self, info: Info
    ) -> list[Annotated[TrackedLink, strawberry.lazy("api.graphql.tracking.types")]]:
        from api.graphql.tracking.types import TrackedLink

        rows = await by_fk(info.context, TrackedLinkModel, TrackedLinkModel.partnership_id).load(
            self.id
        )
        return TrackedLink.from_rows(rows)

    @strawberry.field(description="Discount codes issued for this partnership, oldest first.")
    async def discount_codes(
        self, info: Info
    ) -> list[Annotated[DiscountCode, strawberry.lazy("api.graphql.tracking.types")]]:
        from api.graphql.tracking.types import DiscountCode

        rows = await by_fk(info.context, DiscountCodeModel, DiscountCodeModel.partnership_id).load(
            self.id
        )
        return DiscountCode.from_rows(rows)
