"""Tracked links and discount codes (the two ways a sale is traced back to a partnership), and
the publications to the tracker that their changes owe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId, Timestamps, UTCDateTime, utcnow
from api.models.columns import fk, pk


class TrackedLink(Timestamps, Base):
    __tablename__ = "tracked_links"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    brand_id: Mapped[int] = fk("brands.id")
    campaign_id: Mapped[int] = fk("campaigns.id")
    partnership_id: Mapped[int] = fk("partnerships.id")
    # hashids of the id; set right after the insert that assigns the id.
    code: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    destination_url: Mapped[str] = mapped_column(String(2048))
    utm_source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_medium: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_campaign: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_content: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class DiscountCode(Timestamps, Base):
    __tablename__ = "discount_codes"
    # Codes are case-insensitive and unique per brand: stored upper-cased.
    __table_args__ = (UniqueConstraint("brand_id", "code"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    brand_id: Mapped[int] = fk("brands.id")
    campaign_id: Mapped[int] = fk("campaigns.id")
    partnership_id: Mapped[int] = fk("partnerships.id")
    code: Mapped[str] = mapped_column(String(24))
    percent_off_bps: Mapped[int] = mapped_column(Integer)
    # A commission rate of its own (a giveaway, a second audience), overriding the plan's.
    commission_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Since when leakage is likely (`api.risk.recompute`; None: not suspected). Its orders with
    # no click from the creator earn the plan's leaked-order rate meanwhile.
    leak_suspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The code this one replaced (`rotateDiscountCode`).
    rotated_from_id: Mapped[int | None] = fk("discount_codes.id", nullable=True, index=False)


class TrackerPublication(Base):
    """A change the tracker must hear of: written in the transaction that makes the change, so a
    commit never leaves Redis without its copy. It is published right after the commit and
    deleted; one whose publish failed (Redis away) is published by the worker within seconds.
    `kind` is "link" (ref = tracked link id) or "brand_secrets" (ref = brand id)."""

    __tablename__ = "tracker_publications"
    __table_args__ = (Index("ix_tracker_publications_created_at", "created_at"),)

    id: Mapped[int] = pk()
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
