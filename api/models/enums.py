"""Enumerations stored in the database as strings (VARCHAR + CHECK, portable across backends).

Status enums and their legal transitions live with their rules in `api.domain.*_status`.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    FINANCE = "FINANCE"
    INFLUENCER = "INFLUENCER"


class Platform(StrEnum):
    INSTAGRAM = "INSTAGRAM"
    TIKTOK = "TIKTOK"
    YOUTUBE = "YOUTUBE"
    X = "X"
    TWITCH = "TWITCH"
    FACEBOOK = "FACEBOOK"
    BLOG = "BLOG"
    PODCAST = "PODCAST"


class ContentFormat(StrEnum):
    POST = "POST"
    REEL = "REEL"
    STORY = "STORY"
    VIDEO = "VIDEO"
    SHORT = "SHORT"
    LIVE = "LIVE"
    REVIEW = "REVIEW"
    BLOG = "BLOG"
    PODCAST = "PODCAST"


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
