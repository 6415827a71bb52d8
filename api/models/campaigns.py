"""Campaigns: a brand's programme with its dates, budget, landing page and rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId, Timestamps
from api.domain.campaign_status import CampaignStatus
from api.domain.live_posts import BreachAction
from api.models.columns import enum_column, fk, pk, status_column
from api.models.enums import CampaignObjective


class Campaign(Timestamps, Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    brand_id: Mapped[int] = fk("brands.id")
    name: Mapped[str] = mapped_column(String(200))
    objective: Mapped[CampaignObjective] = enum_column(CampaignObjective)
    brief: Mapped[str | None] = mapped_column(Text, nullable=True)
    # DRAFT/ACTIVE/PAUSED/COMPLETED/CANCELLED; transitions in api.domain.campaign_status.
    status: Mapped[str] = status_column(CampaignStatus, CampaignStatus.DRAFT, 16)
    starts_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    budget_amount: Mapped[int | None] = mapped_column(BigId, nullable=True)  # minor units
    landing_url: Mapped[str] = mapped_column(String(2048))
    # Hosts a tracked link may point at; empty means the landing URL's host only.
    allowed_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    required_hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    required_mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Disclosure: jurisdictions whose rules apply and any labels the brand requires on top.
    jurisdictions: Mapped[list[str]] = mapped_column(JSON, default=list)
    required_labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=30)
    hold_days: Mapped[int] = mapped_column(Integer, default=30)
    # Whether a customer's later orders credit the influencer who brought them
    # (`api.domain.attribution.RepeatOrders`), and for how many months (WITHIN_MONTHS).
    repeat_orders: Mapped[str] = mapped_column(
        String(16), default="FIRST_ORDER_ONLY", server_default="FIRST_ORDER_ONLY"
    )
    repeat_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The compensation plan (api.domain.commission.CompensationPlan.to_dict()).
    compensation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    archived_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # What a live post that lost its approved disclosure triggers (api.models.live_posts
    # BreachAction): NOTIFY, HOLD_COMMISSION or MARK_BREACHED.
    live_breach_action: Mapped[BreachAction] = enum_column(
        BreachAction, default=BreachAction.NOTIFY, server_default=BreachAction.NOTIFY.value
    )
