"""Ambassador programs: a brand's long-running program, its levels, members, level history,
retainers, bonuses, and gifted-product shipments.

A program runs on an evergreen campaign of its own (`Program.campaign_id`, created with it):
every approved member gets a partnership on that campaign whose compensation override is the
member's level plan, so links, codes, commissions, refunds, statements and payouts flow through
the existing machinery unchanged. A level move rewrites that override (`api.programs.service`).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    exists,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId, Timestamps, UTCDateTime, utcnow
from api.models.columns import enum_column, fk, pk


class ProgramStatus(StrEnum):
    ACTIVE = "ACTIVE"  # open for applications, jobs run
    PAUSED = "PAUSED"  # no applications; retainers and moves still run for members
    CLOSED = "CLOSED"  # nothing runs any more


class LevelMetric(StrEnum):
    REVENUE = "REVENUE"  # attributed revenue net of refunds in the month (minor units)
    CONVERSIONS = "CONVERSIONS"  # approved conversions in the month


class MemberStatus(StrEnum):
    INVITED = "INVITED"
    APPLIED = "APPLIED"
    ACTIVE = "ACTIVE"
    DECLINED = "DECLINED"
    LEFT = "LEFT"


class LevelChangeReason(StrEnum):
    RULE = "RULE"  # the monthly move (`run_level_moves`)
    MANUAL = "MANUAL"  # setMemberLevel
    JOINED = "JOINED"  # the first level, on approval


class RetainerPeriod(StrEnum):
    MONTHLY = "MONTHLY"  # calendar months (UTC)
    WEEKLY = "WEEKLY"  # ISO weeks, Monday to Sunday


class ShipmentStatus(StrEnum):
    ORDERED = "ORDERED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    RETURNED = "RETURNED"


class Program(Timestamps, Base):
    __tablename__ = "programs"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    brand_id: Mapped[int] = fk("brands.id")
    # The evergreen campaign the members' partnerships belong to.
    campaign_id: Mapped[int] = fk("campaigns.id")
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[ProgramStatus] = enum_column(ProgramStatus, default=ProgramStatus.ACTIVE)
    currency: Mapped[str] = mapped_column(String(3))
    # What the monthly level rules measure; each level has its threshold of it.
    level_metric: Mapped[LevelMetric] = enum_column(LevelMetric, default=LevelMetric.REVENUE)
    # The application form: [{"key", "label", "kind": TEXT|CHOICE|URL, "required", "choices"}]
    # (`api.domain.program_forms`).
    application_form: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        """An influencer sees the programs it belongs to, and those open for applications."""
        return or_(Program.status == ProgramStatus.ACTIVE, _member_of(Program.id, influencer_id))


def _member_of(program_id: Any, influencer_id: int) -> ColumnElement[bool]:
    return exists(
        select(1).where(
            ProgramMember.program_id == program_id, ProgramMember.influencer_id == influencer_id
        )
    )


def _visible_programs(influencer_id: int) -> Any:
    return select(Program.id).where(Program.influencer_scope(influencer_id))


class ProgramLevel(Timestamps, Base):
    """A level of a program: its rank (0 the lowest), plan and monthly threshold."""

    __tablename__ = "program_levels"
    __table_args__ = (
        UniqueConstraint("program_id", "rank"),
        UniqueConstraint("program_id", "name"),
    )

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    program_id: Mapped[int] = fk("programs.id", index=False)
    name: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer)
    # A CompensationPlan's `to_dict`, in the program's currency.
    compensation: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The month's metric (program.level_metric) at which a member is at least this level.
    threshold: Mapped[int] = mapped_column(BigId, default=0)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return ProgramLevel.program_id.in_(_visible_programs(influencer_id))


class ProgramMember(Timestamps, Base):
    __tablename__ = "program_members"
    __table_args__ = (UniqueConstraint("program_id", "influencer_id"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    program_id: Mapped[int] = fk("programs.id", index=False)
    influencer_id: Mapped[int] = fk("influencers.id")
    status: Mapped[MemberStatus] = enum_column(MemberStatus)
    level_id: Mapped[int | None] = fk("program_levels.id", nullable=True)
    # Set on approval: the member's partnership on the program's campaign.
    partnership_id: Mapped[int | None] = fk("partnerships.id", nullable=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return ProgramMember.influencer_id == influencer_id


_RULE = text("reason = 'RULE'")


class ProgramLevelChange(Base):
    """Every level decision, append-only: a RULE row per (member, month) reviewed (from and to
    may be equal: the month was reviewed and the level kept), MANUAL and JOINED rows."""

    __tablename__ = "program_level_changes"
    __table_args__ = (
        Index(
            "uq_program_level_changes_rule_month",
            "member_id",
            "month",
            unique=True,
            sqlite_where=_RULE,
            postgresql_where=_RULE,
        ),
    )

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    member_id: Mapped[int] = fk("program_members.id")
    from_level_id: Mapped[int | None] = fk("program_levels.id", nullable=True, index=False)
    to_level_id: Mapped[int] = fk("program_levels.id", index=False)
    reason: Mapped[LevelChangeReason] = enum_column(LevelChangeReason)
    month: Mapped[date | None] = mapped_column(Date, nullable=True)  # RULE: the month measured
    measured: Mapped[int | None] = mapped_column(BigId, nullable=True)  # RULE: its metric
    changed_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return exists(
            select(1).where(
                ProgramMember.id == ProgramLevelChange.member_id,
                ProgramMember.influencer_id == influencer_id,
            )
        )


class Retainer(Timestamps, Base):
    """A recurring fixed fee of a member, credited in arrears once per period
    (`api.programs.retainers`)."""

    __tablename__ = "program_retainers"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    member_id: Mapped[int] = fk("program_members.id")
    amount: Mapped[int] = mapped_column(BigId)  # minor units per full period
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[RetainerPeriod] = enum_column(RetainerPeriod)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # exclusive

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return exists(
            select(1).where(
                ProgramMember.id == Retainer.member_id,
                ProgramMember.influencer_id == influencer_id,
            )
        )


class ProgramBonus(Timestamps, Base):
    """ "`target` of the metric in a calendar month -> `amount`", for every ACTIVE member (or
    those of one level)."""

    __tablename__ = "program_bonuses"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    program_id: Mapped[int] = fk("programs.id")
    level_id: Mapped[int | None] = fk("program_levels.id", nullable=True, index=False)
    description: Mapped[str] = mapped_column(String(200))
    metric: Mapped[LevelMetric] = enum_column(LevelMetric)
    target: Mapped[int] = mapped_column(BigId)
    amount: Mapped[int] = mapped_column(BigId)
    currency: Mapped[str] = mapped_column(String(3))

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return ProgramBonus.program_id.in_(_visible_programs(influencer_id))


class Shipment(Timestamps, Base):
    """Gifted product sent to an influencer of a partnership. Its value x quantity is a
    campaign cost (`campaign_costs`, recorded once when the shipment is created)."""

    __tablename__ = "shipments"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    partnership_id: Mapped[int] = fk("partnerships.id")
    campaign_id: Mapped[int] = fk("campaigns.id")
    influencer_id: Mapped[int] = fk("influencers.id")
    product: Mapped[str] = mapped_column(String(200))
    value: Mapped[int] = mapped_column(BigId)  # minor units per item, at cost price
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(Integer)
    # Personal data: sealed (`tracker.sealing`), shown masked, in clear only to MANAGER/ADMIN.
    address_sealed: Mapped[str] = mapped_column(Text)
    status: Mapped[ShipmentStatus] = enum_column(ShipmentStatus, default=ShipmentStatus.ORDERED)
    carrier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    tracking_number: Mapped[str | None] = mapped_column(String(100), nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return Shipment.influencer_id == influencer_id


__all__ = [
    "LevelChangeReason",
    "LevelMetric",
    "MemberStatus",
    "Program",
    "ProgramBonus",
    "ProgramLevel",
    "ProgramLevelChange",
    "ProgramMember",
    "ProgramStatus",
    "Retainer",
    "RetainerPeriod",
    "Shipment",
    "ShipmentStatus",
]
