"""The creator-risk score as last computed (one row per partnership and per influencer,
`api.risk.recompute`), and the audit record of every review decision on a conversion.
Rules in `api.domain.risk`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId, UTCDateTime, utcnow
from api.models.columns import fk, pk
from api.models.events import Conversion


class _Assessment:
    """What both risk rows hold: the score, its level and the reasons (`Reason.to_dict`)."""

    organization_id: Mapped[int] = fk("organizations.id")
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PartnershipRisk(_Assessment, Base):
    """A partnership's risk: its influencer's audience, its own orders and its codes' leakage.
    The ingest reads its level to hold new commissions (`Brand.risk_hold_level`)."""

    __tablename__ = "partnership_risk"

    partnership_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("partnerships.id"), primary_key=True
    )
    influencer_id: Mapped[int] = fk("influencers.id")

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return PartnershipRisk.influencer_id == influencer_id


class InfluencerRisk(_Assessment, Base):
    """An influencer's risk: their audience and the worst of each conversion signal over their
    partnerships."""

    __tablename__ = "influencer_risk"

    influencer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("influencers.id"), primary_key=True
    )

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return InfluencerRisk.influencer_id == influencer_id


class ConversionReview(Base):
    """One review decision on a conversion (APPROVE or REJECT), by whom, when and why, and the
    batch it was made in: the audit record. Written once, never updated."""

    __tablename__ = "conversion_reviews"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    conversion_id: Mapped[int] = fk("conversion_keys.id")
    decision: Mapped[str] = mapped_column(String(16))
    status_before: Mapped[str] = mapped_column(String(16))
    status_after: Mapped[str] = mapped_column(String(16))
    # What the reviewer was shown: the hold reasons and why it was held (a creator-risk hold's
    # level and reasons, a plan that could not price it), as they were when decided.
    hold_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    held_because: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_by: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Decisions made together (`reviewConversions`) share it; None for one at a time.
    batch_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        own = select(Conversion.id).where(Conversion.influencer_scope(influencer_id))
        return ConversionReview.conversion_id.in_(own)
