"""Deliverables a partnership owes and the versions of content submitted for each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, Timestamps, utcnow
from api.domain.deliverable_status import DeliverableStatus
from api.models.columns import enum_column, fk, pk, status_column
from api.models.enums import ContentFormat, Platform, PlatformLabel


class Deliverable(Timestamps, Base):
    __tablename__ = "deliverables"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    partnership_id: Mapped[int] = fk("partnerships.id")
    platform: Mapped[Platform] = enum_column(Platform)
    format: Mapped[ContentFormat] = enum_column(ContentFormat)
    title: Mapped[str] = mapped_column(String(200), default="")
    brief: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # DRAFT/SUBMITTED/CHANGES_REQUESTED/APPROVED/PUBLISHED; rules in api.domain.deliverable_status.
    status: Mapped[str] = status_column(DeliverableStatus, DeliverableStatus.DRAFT, 24)
    published_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # An ADMIN may approve or publish despite a failing disclosure check; the reason is kept.
    disclosure_override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disclosure_override_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Set when a live post broke its approved disclosure and the campaign's liveBreachAction is
    # MARK_BREACHED (api.content.live_posts); cleared when the finding is resolved.
    breached_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ContentSubmission(Base):
    """One version of the content for a deliverable, with the disclosure it used. Immutable but
    for the review fields set once when it is reviewed."""

    __tablename__ = "content_submissions"
    __table_args__ = (UniqueConstraint("deliverable_id", "version"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    deliverable_id: Mapped[int] = fk("deliverables.id")
    version: Mapped[int] = mapped_column(Integer)
    caption: Mapped[str] = mapped_column(Text, default="")
    media_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    # The disclosure used: the platform's own label (if switched on) and the flags that need one.
    platform_label: Mapped[PlatformLabel | None] = enum_column(PlatformLabel, nullable=True)
    retouched: Mapped[bool] = mapped_column(Boolean, default=False)
    ai_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    # The creator's own first comment and replies, as submitted (None: not given): a label only
    # there does not count (LABEL_ONLY_IN_COMMENT), but the check names it.
    creator_comments: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # The disclosure checker's report for the campaign's jurisdictions, and its worst verdict.
    disclosure_report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    disclosure_verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    feedback: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    submitted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
