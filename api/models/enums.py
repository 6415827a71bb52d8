"""Enumerations stored in the database as strings (VARCHAR + CHECK, portable across backends).

Status enums and their legal transitions live with their rules in `api.domain.*_status`;
platforms and content formats in `api.domain.platforms` (re-exported here).
"""

from __future__ import annotations

from enum import StrEnum

from api.domain.platforms import ContentFormat as ContentFormat
from api.domain.platforms import Platform as Platform


class Role(StrEnum):
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    FINANCE = "FINANCE"
    INFLUENCER = "INFLUENCER"


class CampaignObjective(StrEnum):
    AWARENESS = "AWARENESS"
    ENGAGEMENT = "ENGAGEMENT"
    TRAFFIC = "TRAFFIC"
    CONVERSIONS = "CONVERSIONS"
    CONTENT = "CONTENT"


class UsageRights(StrEnum):
    NONE = "NONE"
    ORGANIC = "ORGANIC"
    PAID_WHITELISTING = "PAID_WHITELISTING"
    FULL_COMMERCIAL = "FULL_COMMERCIAL"


class MaterialConnection(StrEnum):
    PAID = "PAID"
    GIFTED = "GIFTED"
    AFFILIATE = "AFFILIATE"
    EMPLOYEE = "EMPLOYEE"
    FAMILY = "FAMILY"


class PlatformLabel(StrEnum):
    """The platform's own disclosure tool, when the creator switched it on."""

    INSTAGRAM_PAID_PARTNERSHIP = "INSTAGRAM_PAID_PARTNERSHIP"
    TIKTOK_BRANDED_CONTENT = "TIKTOK_BRANDED_CONTENT"
    YOUTUBE_PAID_PROMOTION = "YOUTUBE_PAID_PROMOTION"
    FACEBOOK_PAID_PARTNERSHIP = "FACEBOOK_PAID_PARTNERSHIP"
    X_PAID_PARTNERSHIP = "X_PAID_PARTNERSHIP"
