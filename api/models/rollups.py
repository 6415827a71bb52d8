"""Performance counters per partnership, link, hour and currency, so reports never scan
conversions or the ledger (clicks have their own rollup, `ClickRollup`).

Rows are only ever incremented (`api.ledger.rollups.bump`), in the same transaction as the fact
they count, by the code that records it: a conversion approved, a refund applied to an approved
conversion, a ledger entry posted. A replayed event records nothing and so counts nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Index, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId
from api.models.columns import fk

NO_LINK = 0  # link_id of what did not come through a tracked link (discount codes, flat fees)


class PerformanceRollup(Base):
    """Conversions and revenue net of refunds are counted at the hour the order was placed;
    commission (net of reversals and clawbacks) and fees (flat fees, bonuses) at the hour their
    ledger entry was made, as `performance()` reports them."""

    __tablename__ = "performance_rollups_hourly"
    __table_args__ = (
        PrimaryKeyConstraint("partnership_id", "link_id", "hour", "currency"),
        Index("ix_performance_rollups_hourly_campaign_id_hour", "campaign_id", "hour"),
        Index("ix_performance_rollups_hourly_influencer_id_hour", "influencer_id", "hour"),
    )

    partnership_id: Mapped[int] = fk("partnerships.id", index=False)
    # The tracked link the conversion's click came through, or NO_LINK (so never NULL: part of
    # the key). Not a foreign key for that reason.
    link_id: Mapped[int] = mapped_column(BigId, default=NO_LINK)
    hour: Mapped[datetime] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    organization_id: Mapped[int] = fk("organizations.id")
    campaign_id: Mapped[int] = fk("campaigns.id", index=False)
    influencer_id: Mapped[int] = fk("influencers.id", index=False)
    conversions: Mapped[int] = mapped_column(BigId, default=0)
    revenue: Mapped[int] = mapped_column(BigId, default=0)  # minor units, net of refunds
    # The part of `revenue` from repeat orders (customers who came back).
    repeat_revenue: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    commission: Mapped[int] = mapped_column(BigId, default=0)
    fees: Mapped[int] = mapped_column(BigId, default=0)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return PerformanceRollup.influencer_id == influencer_id


class ClickDimensionRollup(Base):
    """Clicks per link, hour (UTC) and value of each click dimension (`api.domain.dimensions`:
    COUNTRY, DEVICE, REFERRER; '' for unknown): three rows' increments per group of clicks, so a
    breakdown by country reads at most (countries) rows per link and hour, never raw clicks.
    Incremented with `ClickRollup`, by the same statement (`api.ingest.clicks`). No foreign keys
    (the ingest hot path, as `clicks`): the worker checks the link before it counts."""

    __tablename__ = "click_dimension_rollups_hourly"
    __table_args__ = (
        PrimaryKeyConstraint("link_id", "hour", "dimension", "value"),
        # A campaign's breakdown by one dimension: an index-only scan on PostgreSQL.
        Index(
            "ix_click_dimension_rollups_hourly_campaign_id_dimension_hour",
            "campaign_id",
            "dimension",
            "hour",
            postgresql_include=[
                "organization_id",
                "partnership_id",
                "value",
                "clicks",
                "unique_clicks",
            ],
        ),
    )

    link_id: Mapped[int] = mapped_column(BigId)
    hour: Mapped[datetime] = mapped_column()
    dimension: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int] = mapped_column(BigId)
    partnership_id: Mapped[int] = mapped_column(BigId)
    campaign_id: Mapped[int] = mapped_column(BigId)
    clicks: Mapped[int] = mapped_column(BigId, default=0)
    unique_clicks: Mapped[int] = mapped_column(BigId, default=0)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        from api.models.events import _own_partnerships

        return ClickDimensionRollup.partnership_id.in_(_own_partnerships(influencer_id))


class PerformanceDimensionRollup(Base):
    """`PerformanceRollup`'s conversions, revenue and commission per value of each conversion
    dimension (COUNTRY, DEVICE, REFERRER inherited from the conversion's click; DISCOUNT_CODE
    the code it came through), bumped where `PerformanceRollup` is (`api.ledger.rollups`).
    Fees and gifts belong to no click: a breakdown shows them in its remainder row."""

    __tablename__ = "performance_dimension_rollups_hourly"
    __table_args__ = (
        PrimaryKeyConstraint("partnership_id", "hour", "currency", "dimension", "value"),
        Index(
            "ix_perf_dimension_rollups_hourly_campaign_id_dimension_hour",
            "campaign_id",
            "dimension",
            "hour",
            postgresql_include=[
                "organization_id",
                "influencer_id",
                "currency",
                "value",
                "conversions",
                "revenue",
                "commission",
            ],
        ),
    )

    partnership_id: Mapped[int] = mapped_column(BigId)
    hour: Mapped[datetime] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    dimension: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int] = mapped_column(BigId)
    campaign_id: Mapped[int] = mapped_column(BigId)
    influencer_id: Mapped[int] = mapped_column(BigId)
    conversions: Mapped[int] = mapped_column(BigId, default=0)
    revenue: Mapped[int] = mapped_column(BigId, default=0)
    commission: Mapped[int] = mapped_column(BigId, default=0)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return PerformanceDimensionRollup.influencer_id == influencer_id


# --- daily (UTC) rollups -------------------------------------------------------------------------
# The same counters summed per UTC day, kept in step with the hourly rows by the same writers in
# the same transaction (`api.ledger.rollups`, `api.ingest.clicks`): a report reads them for the
# whole UTC days of its range and the hourly rows only for the partial days at its edges, 24
# times fewer rows (`api.finance.analytics`). `day` is the day's first instant (00:00 UTC).
# No foreign keys, as the dimension rollups: the writers checked what they count.


class ClickRollupDaily(Base):
    """`ClickRollup` per link and UTC day."""

    __tablename__ = "click_rollups_daily"
    __table_args__ = (
        PrimaryKeyConstraint("link_id", "day"),
        Index(
            "ix_click_rollups_daily_campaign_id_day",
            "campaign_id",
            "day",
            postgresql_include=["organization_id", "partnership_id", "clicks", "unique_clicks"],
        ),
    )

    link_id: Mapped[int] = mapped_column(BigId)
    day: Mapped[datetime] = mapped_column()
    organization_id: Mapped[int] = mapped_column(BigId)
    partnership_id: Mapped[int] = mapped_column(BigId)
    campaign_id: Mapped[int] = mapped_column(BigId)
    clicks: Mapped[int] = mapped_column(BigId, default=0)
    unique_clicks: Mapped[int] = mapped_column(BigId, default=0)
    bot_hits: Mapped[int] = mapped_column(BigId, default=0)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        from api.models.events import _own_partnerships

        return ClickRollupDaily.partnership_id.in_(_own_partnerships(influencer_id))


class ClickDimensionRollupDaily(Base):
    """`ClickDimensionRollup` per link, UTC day and dimension value."""

    __tablename__ = "click_dimension_rollups_daily"
    __table_args__ = (
        PrimaryKeyConstraint("link_id", "day", "dimension", "value"),
        Index(
            "ix_click_dimension_rollups_daily_campaign_id_dimension_day",
            "campaign_id",
            "dimension",
            "day",
            postgresql_include=[
                "organization_id",
                "partnership_id",
                "value",
                "clicks",
                "unique_clicks",
            ],
        ),
    )

    link_id: Mapped[int] = mapped_column(BigId)
    day: Mapped[datetime] = mapped_column()
    dimension: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int] = mapped_column(BigId)
    partnership_id: Mapped[int] = mapped_column(BigId)
    campaign_id: Mapped[int] = mapped_column(BigId)
    clicks: Mapped[int] = mapped_column(BigId, default=0)
    unique_clicks: Mapped[int] = mapped_column(BigId, default=0)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        from api.models.events import _own_partnerships

        return ClickDimensionRollupDaily.partnership_id.in_(_own_partnerships(influencer_id))


class PerformanceRollupDaily(Base):
    """`PerformanceRollup` per partnership, link, UTC day and currency."""

    __tablename__ = "performance_rollups_daily"
    __table_args__ = (
        PrimaryKeyConstraint("partnership_id", "link_id", "day", "currency"),
        # A campaign's breakdowns and leaderboard: an index-only scan on PostgreSQL.
        Index(
            "ix_performance_rollups_daily_campaign_id_day",
            "campaign_id",
            "day",
            postgresql_include=[
                "organization_id",
                "influencer_id",
                "currency",
                "conversions",
                "revenue",
                "commission",
                "fees",
            ],
        ),
        Index("ix_performance_rollups_daily_influencer_id_day", "influencer_id", "day"),
    )

    partnership_id: Mapped[int] = mapped_column(BigId)
    link_id: Mapped[int] = mapped_column(BigId, default=NO_LINK)
    day: Mapped[datetime] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    organization_id: Mapped[int] = mapped_column(BigId)
    campaign_id: Mapped[int] = mapped_column(BigId)
    influencer_id: Mapped[int] = mapped_column(BigId)
    conversions: Mapped[int] = mapped_column(BigId, default=0)
    revenue: Mapped[int] = mapped_column(BigId, default=0)
    repeat_revenue: Mapped[int] = mapped_column(BigId, default=0)
    commission: Mapped[int] = mapped_column(BigId, default=0)
    fees: Mapped[int] = mapped_column(BigId, default=0)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return PerformanceRollupDaily.influencer_id == influencer_id


class PerformanceDimensionRollupDaily(Base):
    """`PerformanceDimensionRollup` per partnership, UTC day, currency and dimension value."""

    __tablename__ = "performance_dimension_rollups_daily"
    __table_args__ = (
        PrimaryKeyConstraint("partnership_id", "day", "currency", "dimension", "value"),
        Index(
            "ix_perf_dimension_rollups_daily_campaign_id_dimension_day",
            "campaign_id",
            "dimension",
            "day",
            postgresql_include=[
                "organization_id",
                "influencer_id",
                "currency",
                "value",
                "conversions",
                "revenue",
                "commission",
            ],
        ),
    )

    partnership_id: Mapped[int] = mapped_column(BigId)
    day: Mapped[datetime] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    dimension: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int] = mapped_column(BigId)
    campaign_id: Mapped[int] = mapped_column(BigId)
    influencer_id: Mapped[int] = mapped_column(BigId)
    conversions: Mapped[int] = mapped_column(BigId, default=0)
    revenue: Mapped[int] = mapped_column(BigId, default=0)
    commission: Mapped[int] = mapped_column(BigId, default=0)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return PerformanceDimensionRollupDaily.influencer_id == influencer_id


# --- per-campaign daily (UTC) rollups by dimension -----------------------------------------------
# The daily dimension rollups summed over a campaign's links and partnerships: a campaign's (or a
# brand's) breakdown by country, device, referrer or discount code reads (days x values) rows,
# however many links the campaign has. Kept in step by the same writers in the same transaction
# (`api.ingest.clicks`, `api.ledger.rollups`). An influencer's share of a campaign still reads the
# link- and partnership-keyed rows (it needs their partnership).


class CampaignClickDimensionRollupDaily(Base):
    """`ClickDimensionRollupDaily` per campaign, dimension, UTC day and value."""

    __tablename__ = "campaign_click_dimension_rollups_daily"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "dimension", "day", "value"),)

    campaign_id: Mapped[int] = mapped_column(BigId)
    dimension: Mapped[str] = mapped_column(String(16))
    day: Mapped[datetime] = mapped_column()
    value: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int] = mapped_column(BigId)
    clicks: Mapped[int] = mapped_column(BigId, default=0)
    unique_clicks: Mapped[int] = mapped_column(BigId, default=0)


class CampaignPerformanceDimensionRollupDaily(Base):
    """`PerformanceDimensionRollupDaily` per campaign, dimension, UTC day, currency and value."""

    __tablename__ = "campaign_performance_dimension_rollups_daily"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "dimension", "day", "currency", "value"),)

    campaign_id: Mapped[int] = mapped_column(BigId)
    dimension: Mapped[str] = mapped_column(String(16))
    day: Mapped[datetime] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    value: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int] = mapped_column(BigId)
    conversions: Mapped[int] = mapped_column(BigId, default=0)
    revenue: Mapped[int] = mapped_column(BigId, default=0)
    commission: Mapped[int] = mapped_column(BigId, default=0)
