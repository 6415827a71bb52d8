"""The social platforms and content formats Vouch knows: one definition, stored by the models
(`api.models.enums`) and read by the rules (disclosure, metrics)."""

from __future__ import annotations

from enum import StrEnum


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
