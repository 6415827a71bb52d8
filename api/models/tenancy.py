"""Organizations (tenants), their API keys and their brands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, Timestamps
from api.models.columns import enum_column, fk, pk
from api.models.enums import Role


class Organization(Timestamps, Base):
    __tablename__ = "organizations"

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(String(200))
    # Follower thresholds of the influencer tiers; None means the defaults (api.domain.metrics).
    tier_thresholds: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ApiKey(Timestamps, Base):
    """A bearer key. Only its SHA-256 is stored; the prefix identifies it in lists and logs."""

    __tablename__ = "api_keys"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = enum_column(Role)
    # An INFLUENCER key is bound to one influencer and sees only its own data.
    influencer_id: Mapped[int | None] = fk("influencers.id", nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Brand(Timestamps, Base):
    __tablename__ = "brands"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    default_currency: Mapped[str] = mapped_column(String(3))
    # The categories the brand sells in ("skincare"): what creators' exclusivities are checked on.
    categories: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # IANA name: the zone of its reports' days, weeks and months (`performanceSeries`).
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    archived_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # How the pages write its money and dates (a CLDR locale, `api.pages.formatting`).
    locale: Mapped[str] = mapped_column(String(35), default="en_US", server_default="en_US")
    # Origins whose pages may embed the influencer portal in an iframe (CSP frame-ancestors).
    portal_origins: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # The creator-risk level (`api.domain.risk.RiskLevel`) from which new commissions of a
    # partnership are HELD for review; None: risk never holds.
    risk_hold_level: Mapped[str | None] = mapped_column(String(16), nullable=True)
