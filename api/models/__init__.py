"""SQLAlchemy models. Every tenant-owned row carries `organization_id`: queries filter on it."""

from api.models.audience import AudienceSnapshot, InfluencerFacet, PeerMedian
from api.models.campaigns import Campaign
from api.models.content import ContentSubmission, Deliverable
from api.models.events import (
    Click,
    ClickRollup,
    Conversion,
    ConversionKey,
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
from api.models.payouts import (
    ContractSignature,
    DebtorAccount,
    InvoiceCounter,
    PayoutDetails,
    PayoutDetailsChange,
    PayoutFxRate,
    SelfBillingInvoice,
    TaxProfile,
)
from api.models.people import Membership, OutboxMail, User, UserSession, UserToken
from api.models.post_metrics import PostMetricSnapshot
from api.models.programs import (
    Program,
    ProgramBonus,
    ProgramLevel,
    ProgramLevelChange,
    ProgramMember,
    Retainer,
    Shipment,
)
from api.models.risk import ConversionReview, InfluencerRisk, PartnershipRisk
from api.models.rollups import (
    CampaignClickDimensionRollupDaily,
    CampaignPerformanceDimensionRollupDaily,
    ClickDimensionRollup,
    ClickDimensionRollupDaily,
    ClickRollupDaily,
    PerformanceDimensionRollup,
    PerformanceDimensionRollupDaily,
    PerformanceRollup,
    PerformanceRollupDaily,
)
from api.models.shops import CustomerClaim, ShopConnection, ShopConnectionSecret
from api.models.tenancy import ApiKey, Brand, Organization
from api.models.tracking import DiscountCode, TrackedLink, TrackerPublication
from api.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "ApiKey",
    "AudienceSnapshot",
    "Brand",
    "BrandPostbackSecret",
    "Campaign",
    "CampaignClickDimensionRollupDaily",
    "CampaignCost",
    "CampaignPerformanceDimensionRollupDaily",
    "Click",
    "ClickDimensionRollup",
    "ClickDimensionRollupDaily",
    "ClickRollup",
    "ClickRollupDaily",
    "ContentEvent",
    "ContentFinding",
    "ContentSubmission",
    "Contract",
    "ContractSignature",
    "Conversion",
    "ConversionKey",
    "ConversionReview",
    "CustomerClaim",
    "DebtorAccount",
    "Deliverable",
    "DeliverableUsageRights",
    "DiscountCode",
    "Influencer",
    "InfluencerFacet",
    "InfluencerRisk",
    "InvoiceCounter",
    "JobCursor",
    "LedgerEntry",
    "Membership",
    "MetricSnapshot",
    "Organization",
    "OrphanVisit",
    "OrphanVisitRollup",
    "OutboxMail",
    "Partnership",
    "PartnershipRisk",
    "PayoutBatch",
    "PayoutDetails",
    "PayoutDetailsChange",
    "PayoutFxRate",
    "PayoutLine",
    "PeerMedian",
    "PerformanceDimensionRollup",
    "PerformanceDimensionRollupDaily",
    "PerformanceRollup",
    "PerformanceRollupDaily",
    "PostMetricSnapshot",
    "Program",
    "ProgramBonus",
    "ProgramLevel",
    "ProgramLevelChange",
    "ProgramMember",
    "Refund",
    "Retainer",
    "SelfBillingInvoice",
    "Shipment",
    "ShopConnection",
    "ShopConnectionSecret",
    "SocialAccount",
    "TaxProfile",
    "TrackedLink",
    "TrackerPublication",
    "User",
    "UserSession",
    "UserToken",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]

# Registers the session hooks that keep the derived tables (facets, peer medians) in step.
import api.influencers.derived  # noqa: F401
