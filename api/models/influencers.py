"""Influencers, their social accounts and the metric snapshots taken of those accounts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId, Timestamps, utcnow
from api.models.columns import enum_column, fk, pk
from api.models.enums import Platform

# Discovery's sorts: influencers without a rate or a score sort as the lowest (-1); the same
# expressions as api.graphql.influencers.filters, so a page is an index range.
ENGAGEMENT_SORT = "coalesce(engagement_rate, -1)"
QUALITY_SORT = "coalesce(audience_quality_score, -1)"


class Influencer(Timestamps, Base):
    __tablename__ = "influencers"
    __table_args__ = (
        Index("ix_influencers_engagement_sort", "organization_id", text(ENGAGEMENT_SORT), "id"),
        Index("ix_influencers_quality_sort", "organization_id", text(QUALITY_SORT), "id"),
        # A tier is a range of max_followers: discovery's page and its totalCount, counted
        # from the index alone (issue 19: a heap scan of the roster at 100k influencers).
        Index(
            "ix_influencers_tier",
            "organization_id",
            "max_followers",
            postgresql_where=text("archived_at IS NULL"),
            sqlite_where=text("archived_at IS NULL"),
        ),
    )

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)  # ISO 3166-1 alpha-2
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO 639-1
    niches: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    agent_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    agent_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The influencer's own customer ids in the brands' shops: a conversion by one is self-referral.
    customer_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Denormalised from the accounts for filtering and sorting without a join per row.
    total_followers: Mapped[int] = mapped_column(BigId, default=0, index=True)
    max_followers: Mapped[int] = mapped_column(BigId, default=0, index=True)
    engagement_rate: Mapped[Decimal | None] = mapped_column(
        Numeric(8, 4), nullable=True, index=True
    )
    # 0-100 over the organization's roster (api.influencers.audience); None without accounts.
    audience_quality_score: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    archived_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SocialAccount(Timestamps, Base):
    __tablename__ = "social_accounts"
    __table_args__ = (UniqueConstraint("organization_id", "platform", "handle_key"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    influencer_id: Mapped[int] = fk("influencers.id")
    platform: Mapped[Platform] = enum_column(Platform)
    handle: Mapped[str] = mapped_column(String(100))
    # Lower-cased handle without "@": one account per platform and handle in an organization.
    handle_key: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    followers: Mapped[int] = mapped_column(BigId, default=0)
    following: Mapped[int] = mapped_column(BigId, default=0)
    posts: Mapped[int] = mapped_column(BigId, default=0)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # Averages over recent posts, from the latest snapshot.
    avg_likes: Mapped[int] = mapped_column(BigId, default=0)
    avg_comments: Mapped[int] = mapped_column(BigId, default=0)
    avg_views: Mapped[int] = mapped_column(BigId, default=0)
    # Share of suspicious followers reported by the brand's audit tool, 0-100.
    suspicious_audience_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), nullable=True)


class MetricSnapshot(Base):
    """An observation of an account at one time; never updated (history)."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (UniqueConstraint("social_account_id", "captured_at"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    social_account_id: Mapped[int] = fk("social_accounts.id")
    captured_at: Mapped[datetime] = mapped_column()
    followers: Mapped[int] = mapped_column(BigId)
    following: Mapped[int | None] = mapped_column(BigId, nullable=True)
    avg_likes: Mapped[int] = mapped_column(BigId, default=0)
    avg_comments: Mapped[int] = mapped_column(BigId, default=0)
    avg_views: Mapped[int] = mapped_column(BigId, default=0)
    posts_sampled: Mapped[int] = mapped_column(BigId, default=12)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
