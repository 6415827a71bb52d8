"""Partnerships (a campaign x an influencer) and the versions of their contract terms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId, Timestamps, utcnow
from api.domain.partnership_status import PartnershipStatus
from api.models.columns import enum_column, fk, pk, status_column
from api.models.enums import MaterialConnection, UsageRights


class Partnership(Timestamps, Base):
    __tablename__ = "partnerships"
    __table_args__ = (UniqueConstraint("campaign_id", "influencer_id"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    campaign_id: Mapped[int] = fk("campaigns.id")
    influencer_id: Mapped[int] = fk("influencers.id")
    # INVITED/ACCEPTED/DECLINED/ACTIVE/COMPLETED/TERMINATED/WITHDRAWN; rules in
    # api.domain.partnership_status.
    status: Mapped[str] = status_column(PartnershipStatus, PartnershipStatus.INVITED, 16)
    connection: Mapped[MaterialConnection] = enum_column(MaterialConnection)
    # Fields set here replace the campaign plan's (api.domain.commission.effective_plan).
    compensation_override: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    responded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    response_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The brand's note sent with the invitation (createPartnership's `message`).
    invitation_message: Mapped[str | None] = mapped_column(Text, nullable=True)


class Contract(Base):
    """One version of a partnership's terms. New terms are a new version, never an edit."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("partnership_id", "version"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    partnership_id: Mapped[int] = fk("partnerships.id")
    version: Mapped[int] = mapped_column(Integer)
    deliverables_due: Mapped[str | None] = mapped_column(Text, nullable=True)
    usage_rights: Mapped[UsageRights] = enum_column(UsageRights)
    usage_rights_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    usage_rights_regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclusivity_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    exclusivity_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Named competitor brands (names or @handles) the creator must not work for meanwhile.
    exclusivity_competitors: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)  # Net-N
    approval_rounds: Mapped[int] = mapped_column(Integer, default=2)
    kill_fee_amount: Mapped[int | None] = mapped_column(BigId, nullable=True)  # minor units
    accepted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    accepted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the version's PDF shows, frozen when the version is made or signed (`api.contracts`).
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
