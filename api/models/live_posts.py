"""After a post goes live: findings about it (a disclosure removed, a caption changed, an
exclusivity broken, usage rights expired), the events they raise, each deliverable's usage
rights, and the cursor of the resumable recheck. Rules in `api.domain.live_posts`,
`api.domain.exclusivity` and `api.domain.usage_rights`; the work in `api.content.live_posts`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    String,
    Text,
    UniqueConstraint,
    exists,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId, Timestamps, UTCDateTime, utcnow
from api.domain.live_posts import BreachAction
from api.domain.usage_rights import Basis
from api.models.columns import enum_column, fk, pk
from api.models.content import Deliverable
from api.models.partnerships import Partnership


class FindingKind(StrEnum):
    DISCLOSURE_REMOVED = "DISCLOSURE_REMOVED"  # the approved disclosure is gone live
    CAPTION_CHANGED = "CAPTION_CHANGED"  # required tags removed, the label moved
    EXCLUSIVITY_CONFLICT = "EXCLUSIVITY_CONFLICT"  # a competitor mentioned, or invited anyway
    USAGE_RIGHTS_EXPIRED = "USAGE_RIGHTS_EXPIRED"  # the licence to use the content ended


class FindingStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class EvidenceSource(StrEnum):
    SELF_REPORTED = "SELF_REPORTED"
    IMPORT = "IMPORT"
    PLATFORM_API = "PLATFORM_API"
    MANUAL = "MANUAL"
    RECHECK = "RECHECK"
    SUBMISSION = "SUBMISSION"  # a version submitted for review
    INVITATION = "INVITATION"  # createPartnership overriding an exclusivity
    SCHEDULE = "SCHEDULE"  # the usage-rights job


def _own(influencer_id: int) -> Any:
    return select(Partnership.id).where(Partnership.influencer_id == influencer_id)


class ContentFinding(Base):
    """One thing a brand should know about a live post or a partnership. Written once per
    (kind, subject, fingerprint): the same caption seen again is the same finding. Only the
    resolution fields change later."""

    __tablename__ = "content_findings"
    __table_args__ = (UniqueConstraint("organization_id", "kind", "subject", "fingerprint"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    brand_id: Mapped[int] = fk("brands.id")
    campaign_id: Mapped[int] = fk("campaigns.id")
    partnership_id: Mapped[int] = fk("partnerships.id")
    deliverable_id: Mapped[int | None] = fk("deliverables.id", nullable=True)
    kind: Mapped[FindingKind] = enum_column(FindingKind)
    # "Deliverable:42" or "Partnership:7": what the finding is about (the idempotency key).
    subject: Mapped[str] = mapped_column(String(40))
    # The SHA-256 (hex) of the text seen, or of what makes the finding unique.
    fingerprint: Mapped[str] = mapped_column(String(64))
    source: Mapped[EvidenceSource] = enum_column(EvidenceSource)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    consequence: Mapped[BreachAction] = enum_column(BreachAction, default=BreachAction.NOTIFY)
    status: Mapped[FindingStatus] = enum_column(
        FindingStatus, default=FindingStatus.OPEN, index=True
    )
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return ContentFinding.partnership_id.in_(_own(influencer_id))


class ContentEvent(Base):
    """An event for the brand (`content.disclosure_removed`, `usage_rights.expiring`...), kept
    until the outgoing webhooks deliver them. `dedupe_key` is unique: an event is raised once."""

    __tablename__ = "content_events"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    type: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeliverableUsageRights(Timestamps, Base):
    """Where and until when the brand may use a deliverable's content; one row a deliverable,
    derived from the contract at publication (CONTRACT) or set by a manager (EXPLICIT)."""

    __tablename__ = "deliverable_usage_rights"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    deliverable_id: Mapped[int] = fk("deliverables.id", index=False)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    paid_use: Mapped[bool] = mapped_column(Boolean, default=False)
    allowlisting: Mapped[bool] = mapped_column(Boolean, default=False)
    territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    basis: Mapped[Basis] = enum_column(Basis)
    set_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (UniqueConstraint("deliverable_id"),)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        own = select(Deliverable.id).where(Deliverable.partnership_id.in_(_own(influencer_id)))
        return DeliverableUsageRights.deliverable_id.in_(own)


def commission_hold(partnership_id: Any) -> ColumnElement[bool]:
    """Whether an open finding holds the partnership's new commissions (the ingest reads it)."""
    f = ContentFinding
    return exists(
        select(1).where(
            f.partnership_id == partnership_id,
            f.consequence == BreachAction.HOLD_COMMISSION,
            f.status == FindingStatus.OPEN,
        )
    )


class JobCursor(Base):
    """Where a resumable job stopped (`vouch content recheck`): the last id it finished."""

    __tablename__ = "job_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigId, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
