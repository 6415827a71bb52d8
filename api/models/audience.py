"""Audience demographics of social accounts, and what is derived from them for fast reads.

`AudienceSnapshot` is the history (never updated). `InfluencerFacet` is a narrow, indexed copy
of what discovery filters on: each influencer's blended latest audience shares, its niches,
languages and platforms, one row per (kind, key). `PeerMedian` is the roster statistic the
audience-quality score compares with (median engagement rate per platform and tier). Both are
rebuilt in the transaction that changes their inputs (`api.influencers.derived`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ColumnElement,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId, UTCDateTime, utcnow
from api.models.columns import fk, pk


class AudienceSnapshot(Base):
    """Who followed an account at `captured_at`, in basis points (api.domain.demographics)."""

    __tablename__ = "audience_snapshots"
    __table_args__ = (UniqueConstraint("social_account_id", "captured_at"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    social_account_id: Mapped[int] = fk("social_accounts.id")
    influencer_id: Mapped[int] = fk("influencers.id")
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # [[key, basis points], ...] largest first; empty when not known.
    countries: Mapped[list[list[object]]] = mapped_column(JSON, default=list)
    age_bands: Mapped[list[list[object]]] = mapped_column(JSON, default=list)
    genders: Mapped[list[list[object]]] = mapped_column(JSON, default=list)
    fake_share: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return AudienceSnapshot.influencer_id == influencer_id


class InfluencerFacet(Base):
    """One thing discovery filters on. Kinds: COUNTRY, AGE, GENDER (the blended audience share
    of `key`, basis points), FAKE (key "", the blended fake share), NICHE, LANGUAGE, PLATFORM
    (share 10,000: the influencer has it)."""

    __tablename__ = "influencer_facets"
    __table_args__ = (
        PrimaryKeyConstraint("influencer_id", "kind", "key"),
        # The discovery lookup: (org, kind, key) equality, share range, influencer ids covered.
        Index(
            "ix_influencer_facets_lookup",
            "organization_id",
            "kind",
            "key",
            "share",
            "influencer_id",
        ),
    )

    organization_id: Mapped[int] = mapped_column(BigId)
    influencer_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    share: Mapped[int] = mapped_column(Integer)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return InfluencerFacet.influencer_id == influencer_id


class PeerMedian(Base):
    """The median engagement rate of an organization's accounts of one platform and tier, in
    hundredths of a percent (350 = 3.50 %), over `peers` rated accounts (api.domain.
    audience_quality.peer_medians; groups with too few peers have no row). Read by organization
    only, never through `scoped()`: an INFLUENCER key's score is compared with it too."""

    __tablename__ = "audience_peer_medians"
    __table_args__ = (PrimaryKeyConstraint("organization_id", "platform", "tier"),)

    organization_id: Mapped[int] = mapped_column(BigId)
    platform: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    median: Mapped[int] = mapped_column(BigId)
    peers: Mapped[int] = mapped_column(BigId)
