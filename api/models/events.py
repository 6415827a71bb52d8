"""What the tracker saw: clicks, their hourly rollups, conversions (orders) and refunds.

Rows here are written by the ingest worker (`api.ingest`) from the Redis streams. Natural keys
(click_id + its time, brand + order_id in `conversion_keys`, brand + refund_id) are unique, so a
replayed event inserts nothing. On PostgreSQL clicks, conversions and orphan visits are
partitioned by month (`api.ingest.partitions`); the rollups are not, and keep every figure.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Select,
    String,
    Text,
    UniqueConstraint,
    false,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.db import Base, BigId, Timestamps, UTCDateTime, utcnow
from api.models.columns import enum_column, fk, pk
from api.models.partnerships import Partnership


def _own_partnerships(influencer_id: int) -> Select[Any]:
    return select(Partnership.id).where(Partnership.influencer_id == influencer_id)


class AttributedVia(StrEnum):
    CLICK = "CLICK"
    DISCOUNT_CODE = "DISCOUNT_CODE"
    CUSTOMER = "CUSTOMER"  # a repeat order of a claimed customer (`api.domain.attribution`)


class UnattributedReason(StrEnum):
    NO_MATCH = "NO_MATCH"  # unknown click id and unknown code (or neither given)
    EXPIRED_CLICK = "EXPIRED_CLICK"  # the click is older than the campaign's window
    INACTIVE_CODE = "INACTIVE_CODE"  # the code exists but was deactivated
    CAMPAIGN_NOT_ACTIVE = "CAMPAIGN_NOT_ACTIVE"  # the campaign was not running at order time


class ConversionStatus(StrEnum):
    APPROVED = "APPROVED"  # commission credited to the ledger
    HELD = "HELD"  # waits for a review (self-referral, too fast after the click, ...)
    REJECTED = "REJECTED"  # a reviewer refused it: never earns commission
    UNATTRIBUTED = "UNATTRIBUTED"  # no partnership to credit; kept for reporting


class RefundStatus(StrEnum):
    APPLIED = "APPLIED"  # matched to its order; reversal posted when a commission exists
    REJECTED = "REJECTED"  # refused with `reason` (e.g. more than what is left of the order)
    WAITING = "WAITING"  # arrived before its order; applied when the order arrives


class Click(Base):
    """One visit of a tracked link. Written once, never updated. The full IP is never stored.

    The ingest hot path: two indexes only (click id, link and time: what conversions and
    performance read) and no foreign keys, whose per-row checks and key-share locks cost as much
    as the insert itself. The worker checks instead, before inserting, that the link exists and
    that the click's partnership, campaign and organization are the link's (`api.ingest.clicks`);
    links are never deleted."""

    __tablename__ = "clicks"
    __table_args__ = (
        # With the time: on PostgreSQL the table is partitioned by month of `occurred_at`
        # (`api.ingest.partitions`), and a unique key there must hold the partition key. The
        # tracker writes both once per visit, so a redelivered click carries both unchanged.
        UniqueConstraint("click_id", "occurred_at"),
        Index("ix_clicks_link_id_occurred_at", "link_id", "occurred_at"),
    )

    id: Mapped[int] = pk()
    click_id: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[int] = mapped_column(BigId)
    link_id: Mapped[int] = mapped_column(BigId)
    partnership_id: Mapped[int] = mapped_column(BigId)
    campaign_id: Mapped[int] = mapped_column(BigId)
    occurred_at: Mapped[datetime] = mapped_column()
    # The IP with its host part zeroed (/24 or /48) and a keyed hash of the full address.
    ip_trunc: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(512), nullable=True)
    referer: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    # First visit of this visitor (IP + UA hash) to this link in the hour.
    is_unique: Mapped[bool] = mapped_column(Boolean, default=True)
    # Decided once at ingest (`api.domain.dimensions`), '' when unknown: kept so conversions
    # attributed to the click inherit them.
    country: Mapped[str] = mapped_column(String(2), default="", server_default="")
    device: Mapped[str] = mapped_column(String(8), default="", server_default="")
    referrer_host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    USER_AGENT_MAX = 512
    REFERER_MAX = 1024

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return Click.partnership_id.in_(_own_partnerships(influencer_id))


class ClickRollup(Base):
    """Counters per link and hour (UTC), so reports never COUNT raw clicks. Bots are counted
    apart and never as clicks."""

    __tablename__ = "click_rollups_hourly"
    __table_args__ = (
        PrimaryKeyConstraint("link_id", "hour"),
        # A campaign's series, breakdowns and leaderboard: an index-only scan on PostgreSQL.
        Index(
            "ix_click_rollups_hourly_campaign_id_hour",
            "campaign_id",
            "hour",
            postgresql_include=["organization_id", "partnership_id", "clicks", "unique_clicks"],
        ),
    )

    link_id: Mapped[int] = fk("tracked_links.id", index=False)
    hour: Mapped[datetime] = mapped_column()
    organization_id: Mapped[int] = fk("organizations.id")
    partnership_id: Mapped[int] = fk("partnerships.id")
    campaign_id: Mapped[int] = fk("campaigns.id")
    clicks: Mapped[int] = mapped_column(BigId, default=0)
    unique_clicks: Mapped[int] = mapped_column(BigId, default=0)
    bot_hits: Mapped[int] = mapped_column(BigId, default=0)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return ClickRollup.partnership_id.in_(_own_partnerships(influencer_id))


class OrphanVisit(Base):
    """One visit of an unknown or inactive code, by its event id: what makes the hourly orphan
    counter exactly once (a replayed event inserts nothing, so counts nothing)."""

    __tablename__ = "orphan_visits"
    # The hour too: partitioned by month of `hour` on PostgreSQL, like clicks.
    __table_args__ = (PrimaryKeyConstraint("event_id", "hour"),)

    event_id: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    hour: Mapped[datetime] = mapped_column()


class OrphanVisitRollup(Base):
    """Visits of unknown or inactive codes per hour: scanning and broken links show up here.
    No organization is known for them, so only admins of the deployment see this table."""

    __tablename__ = "orphan_visits_hourly"
    __table_args__ = (PrimaryKeyConstraint("code", "hour"),)

    code: Mapped[str] = mapped_column(String(64))
    hour: Mapped[datetime] = mapped_column()
    count: Mapped[int] = mapped_column(BigId, default=0)


class ConversionKey(Base):
    """The identity of an order, kept apart from its row: its id is the conversion's, and the
    brand's order id is unique here. On PostgreSQL `conversions` is partitioned by month of
    `occurred_at` (`api.ingest.partitions`), where neither the order id nor the id alone can be
    unique (a unique key must hold the partition key, and a brand's order may come again with
    another time); this small table keeps both exact across every month, and the ledger,
    refunds and customer claims refer to it. Insert the key first (`Conversion.keyed`)."""

    __tablename__ = "conversion_keys"
    __table_args__ = (UniqueConstraint("brand_id", "order_id"),)

    id: Mapped[int] = pk()
    brand_id: Mapped[int] = fk("brands.id", index=False)
    order_id: Mapped[str] = mapped_column(String(128))
    # The conversion's `occurred_at`: which partition its row is in.
    occurred_at: Mapped[datetime] = mapped_column()


class Conversion(Timestamps, Base):
    """An order reported by a brand's postback, attributed (or not) to a partnership.

    Only the review fields and `status` change after insert. Money owed is never stored here: it
    is the ledger's (`LedgerEntry` rows pointing at this conversion). Its id and uniqueness are
    its `ConversionKey`'s.
    """

    __tablename__ = "conversions"
    __table_args__ = (
        Index("ix_conversions_brand_id_order_id", "brand_id", "order_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_conversions_partnership_id_occurred_at", "partnership_id", "occurred_at"),
        # Tiers: the influencer's revenue earlier in the month (`month_revenue_before`).
        Index("ix_conversions_influencer_id_occurred_at", "influencer_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversion_keys.id"), primary_key=True, autoincrement=False
    )
    organization_id: Mapped[int] = fk("organizations.id")
    brand_id: Mapped[int] = fk("brands.id", index=False)
    order_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigId)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column()
    click_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    discount_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    customer_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    partnership_id: Mapped[int | None] = fk("partnerships.id", nullable=True, index=False)
    influencer_id: Mapped[int | None] = fk("influencers.id", nullable=True, index=False)
    campaign_id: Mapped[int | None] = fk("campaigns.id", nullable=True)
    # The tracked link of the click it was attributed through (None for discount codes).
    link_id: Mapped[int | None] = fk("tracked_links.id", nullable=True, index=False)
    attributed_via: Mapped[AttributedVia | None] = enum_column(AttributedVia, nullable=True)
    unattributed_reason: Mapped[UnattributedReason | None] = enum_column(
        UnattributedReason, nullable=True
    )
    status: Mapped[ConversionStatus] = enum_column(ConversionStatus, index=True)
    # Why the worker held it (e.g. "SELF_REFERRAL", "FAST_AFTER_CLICK"); [] when not held.
    hold_reasons: Mapped[list[str]] = mapped_column(default=list)
    review_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The idempotency id of the stream event that created it (the Redis stream entry id).
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # A later order of a customer an influencer brought (`api.domain.attribution.claim_of`).
    repeat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The discount code's own rate, overriding the plan's (None: the plan's).
    commission_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Its click's dimensions (`Click.country` ...) when attributed through a click, else ''.
    country: Mapped[str] = mapped_column(String(2), default="", server_default="")
    device: Mapped[str] = mapped_column(String(8), default="", server_default="")
    referrer_host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # Risk facts kept at ingest (`api.domain.risk`): seconds from the attributing click to the
    # order, the click's IP hash, the host of the referrer the order postback gave.
    click_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ip_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    order_referrer_host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # Why the order counts as a leaked-code sale (it earns the plan's leaked-order rate), or None.
    leak_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return Conversion.partnership_id.in_(_own_partnerships(influencer_id))

    @classmethod
    def keyed(cls, session: Session, **values: Any) -> Conversion:
        """A new conversion with its key inserted (flushed) first: how an order is added outside
        the ingest worker, which inserts keys in bulk (`api.ingest.conversions`). A brand's
        order id that is already recorded raises IntegrityError."""
        key = ConversionKey(
            brand_id=values["brand_id"],
            order_id=values["order_id"],
            occurred_at=values["occurred_at"],
        )
        session.add(key)
        session.flush()
        return cls(id=key.id, **values)


class Refund(Timestamps, Base):
    """A (partial) refund of an order. Several per order; their sum never exceeds the order."""

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("brand_id", "refund_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_refunds_brand_id_order_id", "brand_id", "order_id"),
    )

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    brand_id: Mapped[int] = fk("brands.id", index=False)
    refund_id: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[str] = mapped_column(String(128))
    # Null while WAITING for its order.
    conversion_id: Mapped[int | None] = fk("conversion_keys.id", nullable=True)
    # The amount as sent ("12.50"); a refund may come without a currency and before its order,
    # so minor units are known only once the currency is: then `amount` and `currency` are set.
    amount_decimal: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int | None] = mapped_column(BigId, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column()
    status: Mapped[RefundStatus] = enum_column(RefundStatus, index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        own = select(Conversion.id).where(
            Conversion.partnership_id.in_(_own_partnerships(influencer_id))
        )
        return Refund.conversion_id.in_(own)


__all__ = [
    "AttributedVia",
    "Click",
    "ClickRollup",
    "Conversion",
    "ConversionKey",
    "ConversionStatus",
    "OrphanVisitRollup",
    "Refund",
    "RefundStatus",
    "UnattributedReason",
]
