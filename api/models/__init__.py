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
    "ContentSubmission",
    "Contract",
    "ContractSignature",
    "Conversion",
    "DebtorAccount",
    "Deliverable",
    "DiscountCode",
    "Influencer",
    "InvoiceCounter",
    "LedgerEntry",
    "MetricSnapshot",
    "Organization",
    "OrphanVisit",
    "OrphanVisitRollup",
    "Partnership",
    "PayoutBatch",
    "PayoutDetails",
    "PayoutDetailsChange",
    "PayoutFxRate",
    "PayoutLine",
    "PerformanceRollup",
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
    "SocialAccount",
    "TaxProfile",
    "TrackedLink",
    "TrackerPublication",
]
