"""SQLAlchemy models. Every tenant-owned row carries `organization_id`: queries filter on it."""

from api.models.campaigns import Campaign
from api.models.content import ContentSubmission, Deliverable
from api.models.events import (
    Click,
    ClickRollup,
    Conversion,
    OrphanVisit,
    OrphanVisitRollup,
    Refund,
)
from api.models.influencers import Influencer, MetricSnapshot, SocialAccount
from api.models.ledger import (
    BrandPostbackSecret,
    CampaignCost,
    LedgerEntry,
    PayoutBatch,
    PayoutLine,
)
from api.models.partnerships import Contract, Partnership
from api.models.rollups import ClickDimensionRollup, PerformanceDimensionRollup, PerformanceRollup
from api.models.tenancy import ApiKey, Brand, Organization
from api.models.tracking import DiscountCode, TrackedLink, TrackerPublication

__all__ = [
    "ApiKey",
    "Brand",
    "BrandPostbackSecret",
    "Campaign",
    "CampaignCost",
    "Click",
    "ClickDimensionRollup",
    "ClickRollup",
    "ContentSubmission",
    "Contract",
    "Conversion",
    "Deliverable",
    "DiscountCode",
    "Influencer",
    "LedgerEntry",
    "MetricSnapshot",
    "Organization",
    "OrphanVisit",
    "OrphanVisitRollup",
    "Partnership",
    "PayoutBatch",
    "PayoutLine",
    "PerformanceDimensionRollup",
    "PerformanceRollup",
    "Refund",
    "SocialAccount",
    "TrackedLink",
    "TrackerPublication",
]
