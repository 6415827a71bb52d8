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
from api.models.live_posts import (
    ContentEvent,
    ContentFinding,
    DeliverableUsageRights,
    JobCursor,
)
from api.models.partnerships import Contract, Partnership
from api.models.post_metrics import PostMetricSnapshot
from api.models.rollups import PerformanceRollup
from api.models.tenancy import ApiKey, Brand, Organization
from api.models.tracking import DiscountCode, TrackedLink, TrackerPublication

__all__ = [
    "ApiKey",
    "Brand",
    "BrandPostbackSecret",
    "Campaign",
    "CampaignCost",
    "Click",
    "ClickRollup",
    "ContentEvent",
    "ContentFinding",
    "ContentSubmission",
    "Contract",
    "Conversion",
    "Deliverable",
    "DeliverableUsageRights",
    "DiscountCode",
    "Influencer",
    "JobCursor",
    "LedgerEntry",
    "MetricSnapshot",
    "Organization",
    "OrphanVisit",
    "OrphanVisitRollup",
    "Partnership",
    "PayoutBatch",
    "PayoutLine",
    "PerformanceRollup",
    "PostMetricSnapshot",
    "Refund",
    "SocialAccount",
    "TrackedLink",
    "TrackerPublication",
]
