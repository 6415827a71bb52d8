"""Snapshots of a published deliverable's results (impressions, reach, likes...), one per
(deliverable, captured_at): recording the same moment twice is the same fact. Rules and derived
figures in `api.domain.post_metrics`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ColumnElement, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId, UTCDateTime, utcnow
from api.domain.post_metrics import MetricSource
from api.models.columns import enum_column, fk, pk
from api.models.content import Deliverable
from api.models.partnerships import Partnership


class PostMetricSnapshot(Base):
    """A post's lifetime totals as of `captured_at`; never updated (a later reading is a new
    row). Counters are None when the source did not report them."""

    __tablename__ = "post_metric_snapshots"
    __table_args__ = (UniqueConstraint("deliverable_id", "captured_at"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    # The unique (deliverable_id, captured_at) index serves the lookups by deliverable.
    deliverable_id: Mapped[int] = fk("deliverables.id", index=False)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    impressions: Mapped[int | None] = mapped_column(BigId, nullable=True)
    reach: Mapped[int | None] = mapped_column(BigId, nullable=True)
    views: Mapped[int | None] = mapped_column(BigId, nullable=True)
    likes: Mapped[int | None] = mapped_column(BigId, nullable=True)
    comments: Mapped[int | None] = mapped_column(BigId, nullable=True)
    shares: Mapped[int | None] = mapped_column(BigId, nullable=True)
    saves: Mapped[int | None] = mapped_column(BigId, nullable=True)
    link_clicks: Mapped[int | None] = mapped_column(BigId, nullable=True)
    # The account's followers when the post went live, if known (engagement rate by followers).
    followers_at_posting: Mapped[int | None] = mapped_column(BigId, nullable=True)
    source: Mapped[MetricSource] = enum_column(MetricSource)
    # The caption as it read when captured, if given (a later check compares live captions).
    caption: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The creator's own comments and replies on the post as they read then, if given.
    creator_comments: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    recorded_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        own = select(Deliverable.id).where(
            Deliverable.partnership_id.in_(
                select(Partnership.id).where(Partnership.influencer_id == influencer_id)
            )
        )
        return PostMetricSnapshot.deliverable_id.in_(own)
