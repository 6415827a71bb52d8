from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.graphql.analytics.fields import series_field, zone_of_campaign_of
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.finance.performance import campaign_currency, performance_field
from api.graphql.loaders import by_id
from api.graphql.relay import ModelNode
from api.models import DiscountCode as DiscountCodeModel
from api.models import Partnership as PartnershipModel
from api.models import TrackedLink as TrackedLinkModel
from api.models.enums import Role
from api.tracking.codes import bps_to_percent

if TYPE_CHECKING:
    from api.graphql.partnerships.types import Partnership

TrackingError, TrackingErrorCode = error_type(
    "Tracking", ("PARTNERSHIP_NOT_ACTIVE", "CAMPAIGN_ENDED")
)


@strawberry.type(name="Utm", description="UTM parameters a link adds to its destination.")
class Utm:
    source: str | None
    medium: str | None
    campaign: str | None
    content: str | None


@strawberry.type(name="TrackedLink", description="A short link that logs a click, then redirects.")
class TrackedLink(ModelNode):
    __model__ = TrackedLinkModel
    id: strawberry.relay.NodeID[int]
    code: str = strawberry.field(description="The short code after /c/ in the link's URL.")
    destination_url: str
    active: bool
    created_at: datetime
    deactivated_at: datetime | None

    @strawberry.field(description="The link to share: the tracker's public URL and the code.")
    def url(self, info: Info) -> str:
        return info.context.settings.tracker.public_url.rstrip("/") + "/c/" + self.code

    @strawberry.field
    def utm(self) -> Utm:
        r = self.row
        return Utm(
            source=r.utm_source, medium=r.utm_medium, campaign=r.utm_campaign, content=r.utm_content
        )

    @strawberry.field
    async def partnership(
        self, info: Info
    ) -> Annotated[Partnership, strawberry.lazy("api.graphql.partnerships.types")] | None:
        from api.graphql.partnerships.types import Partnership

        row = await by_id(info.context, PartnershipModel).load(self.row.partnership_id)
        return Partnership.from_row(row) if row else None

    performance = performance_field("link_id", campaign_currency)
    performance_series = series_field("link_id", campaign_currency, zone_of_campaign_of)


@strawberry.type(name="DiscountCode", description="A code a shopper types at checkout.")
class DiscountCode(ModelNode):
    __model__ = DiscountCodeModel
    id: strawberry.relay.NodeID[int]
    code: str = strawberry.field(description="Upper-cased; shoppers may type it in any case.")
    active: bool
    created_at: datetime
    deactivated_at: datetime | None

    @strawberry.field(
        description="Since when the code looks leaked (coupon-site orders, sudden volume: see "
        "the partnership's risk reasons); null when not suspected, and for an INFLUENCER key. "
        "Rotate it with rotateDiscountCode."
    )
    def leak_suspected_at(self, info: Info) -> datetime | None:
        if info.context.viewer.role is Role.INFLUENCER:
            return None
        value: datetime | None = self.row.leak_suspected_at
        return value

    @strawberry.field(description="The code this one replaced (rotateDiscountCode), if any.")
    async def rotated_from(self, info: Info) -> DiscountCode | None:
        if self.row.rotated_from_id is None:
            return None
        row = await by_id(info.context, DiscountCodeModel).load(self.row.rotated_from_id)
        return DiscountCode.from_row(row) if row else None

    @strawberry.field(description="The discount, in percent (e.g. 15 or 12.5).")
    def percent_off(self) -> Decimal:
        return bps_to_percent(self.row.percent_off_bps)

    @strawberry.field(
        description="The code's own commission rate in basis points, overriding the plan's "
        "for orders attributed through it; null: the plan's."
    )
    def commission_rate_bps(self) -> int | None:
        value: int | None = self.row.commission_bps
        return value

    @strawberry.field
    async def partnership(
        self, info: Info
    ) -> Annotated[Partnership, strawberry.lazy("api.graphql.partnerships.types")] | None:
        from api.graphql.partnerships.types import Partnership

        row = await by_id(info.context, PartnershipModel).load(self.row.partnership_id)
        return Partnership.from_row(row) if row else None
