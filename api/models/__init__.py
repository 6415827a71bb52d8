"""SQLAlchemy models. Every tenant-owned row carries `organization_id`: queries filter on it."""

from api.models.campaigns import Campaign
from api.models.content import ContentSubmission, Deliverable
from api.models.influencers import Influencer, MetricSnapshot, SocialAccount
from api.models.partnerships import Contract, Partnership
from api.models.tenancy import ApiKey, Brand, Organization
from api.models.tracking import DiscountCode, TrackedLink

__all__ = [
    "ApiKey",
    "Brand",
    "Campaign",
    "ContentSubmission",
    "Contract",
    "Deliverable",
    "DiscountCode",
    "Influencer",
    "MetricSnapshot",
    "Organization",
    "Partnership",
    "SocialAccount",
    "TrackedLink",
]
