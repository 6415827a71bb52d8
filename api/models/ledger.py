"""The commission ledger, payout batches, campaign costs and the brands' postback secrets.

The ledger is append-only: rows of `ledger_entries` are inserted and never updated or deleted.
Every balance is a sum over entries, and an entry's status is derived, never stored:

- HELD / REJECTED: never in the ledger. A held conversion gets its COMMISSION entry only when a
  reviewer approves it (the entry is created then); a rejected one never gets one. Rejecting an
  approved conversion appends a REVERSAL (or CLAWBACK once paid) of what it still earns.
- PENDING while `available_at` is in the future, AVAILABLE after it,
- PAID once a PAID payout batch covers it (`LedgerEntry.paid_by_batch`).

Double counting is stopped by `idempotency_key` (unique): one string per business fact, e.g.
`conversion:42:commission`, `refund:7:reversal`, `deliverable:3:flat_fee`,
`payout_batch:5:influencer:9`. A key rather than a (kind, source) tuple because the kind of a
fact may depend on timing (a refund is a REVERSAL before the payout and a CLAWBACK after it) and
must still be counted once whichever the worker that processed it decided.

Gifted product value is a cost of the campaign, never money owed to the influencer, so it lives in
its own table (`campaign_costs`) and no balance query can sum it by mistake.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    exists,
    false,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigId, Timestamps, UTCDateTime, utcnow
from api.models.columns import enum_column, fk, pk


class EntryKind(StrEnum):
    COMMISSION = "COMMISSION"  # earned on an approved conversion (+)
    FLAT_FEE = "FLAT_FEE"  # per published deliverable (+)
    BONUS = "BONUS"  # one-off, granted by finance (+)
    REVERSAL = "REVERSAL"  # a refund's share of a commission not yet paid out (-)
    CLAWBACK = "CLAWBACK"  # the same once it was paid: netted against the next payout (-)
    PAYOUT = "PAYOUT"  # money sent to the influencer (-)
    ADJUSTMENT = "ADJUSTMENT"  # a manual correction (+/-), with a memo
    RETAINER = "RETAINER"  # a program member's fixed fee for one period (+)


class SourceType(StrEnum):
    CONVERSION = "CONVERSION"
    REFUND = "REFUND"
    DELIVERABLE = "DELIVERABLE"
    PAYOUT_BATCH = "PAYOUT_BATCH"
    MANUAL = "MANUAL"
    RETAINER = "RETAINER"  # source_id: program_retainers.id
    PROGRAM_BONUS = "PROGRAM_BONUS"  # source_id: program_bonuses.id


class PayoutStatus(StrEnum):
    DRAFT = "DRAFT"
    PAID = "PAID"
    CANCELLED = "CANCELLED"  # a draft withdrawn before payment: its lines pay nothing


class CostKind(StrEnum):
    GIFTED_PRODUCT = "GIFTED_PRODUCT"


def payout_cutoff(as_of: date) -> datetime:
    """The end of a batch's `as_of` day (UTC): entries available before it are in the batch."""
    return datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)


@functools.cache
def _covering_aliases() -> tuple[Any, Any]:
    """The aliases `paid_by_batch` correlates, built once (building them costs more than
    running the query)."""
    return PayoutBatch.__table__.alias("covering_batch"), PayoutLine.__table__.alias(
        "covering_line"
    )


class LedgerEntry(Base):
    """One signed amount owed to (+) or taken from (-) an influencer. Never updated."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_influencer_id_currency", "influencer_id", "currency"),
        Index("ix_ledger_entries_source_type_source_id", "source_type", "source_id"),
    )

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    influencer_id: Mapped[int] = fk("influencers.id", index=False)
    partnership_id: Mapped[int | None] = fk("partnerships.id", nullable=True)
    campaign_id: Mapped[int | None] = fk("campaigns.id", nullable=True)
    kind: Mapped[EntryKind] = enum_column(EntryKind)
    amount: Mapped[int] = mapped_column(BigId)  # signed minor units
    currency: Mapped[str] = mapped_column(String(3))
    source_type: Mapped[SourceType] = enum_column(SourceType)
    source_id: Mapped[int | None] = mapped_column(BigId, nullable=True)  # None for MANUAL
    # The same source again as a typed foreign key, for joins and exports.
    conversion_id: Mapped[int | None] = fk("conversion_keys.id", nullable=True)
    refund_id: Mapped[int | None] = fk("refunds.id", nullable=True)
    deliverable_id: Mapped[int | None] = fk("deliverables.id", nullable=True)
    payout_batch_id: Mapped[int | None] = fk("payout_batches.id", nullable=True)
    # The entry that a REVERSAL/CLAWBACK corrects (the COMMISSION it takes back).
    reverses_entry_id: Mapped[int | None] = fk("ledger_entries.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # created_at + the campaign's hold days; clawbacks and payouts are available at once.
    available_at: Mapped[datetime] = mapped_column(index=True)
    memo: Mapped[str | None] = mapped_column(Text, nullable=True)
    basis_points: Mapped[int | None] = mapped_column(Integer, nullable=True)  # rate applied
    # One business fact, one entry (see the module docstring).
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return LedgerEntry.influencer_id == influencer_id

    @staticmethod
    def paid_by_batch(as_of: datetime | None = None) -> ColumnElement[bool]:
        """True for entries a PAID payout batch covers: same organization, influencer and
        currency, a line for the influencer in the batch, the entry available before the end of
        the batch's `as_of` day and created before the batch was (later entries go to the next
        batch). PAYOUT entries themselves are not "covered". With `as_of`, only batches paid by
        then count: a balance of last month does not show as paid what was paid since."""
        batch, line = _covering_aliases()
        conditions = [
            batch.c.organization_id == LedgerEntry.organization_id,
            batch.c.currency == LedgerEntry.currency,
            batch.c.status == PayoutStatus.PAID.value,
            line.c.influencer_id == LedgerEntry.influencer_id,
            batch.c.created_at >= LedgerEntry.created_at,
            # available_at < end of as_of day; SQL-side date arithmetic differs per
            # backend, so batches store `cutoff_at` (= payout_cutoff(as_of)).
            batch.c.cutoff_at > LedgerEntry.available_at,
        ]
        if as_of is not None:
            conditions.append(batch.c.paid_at <= as_of)
        return and_(
            LedgerEntry.kind != EntryKind.PAYOUT,
            exists(
                select(1)
                .select_from(batch.join(line, line.c.batch_id == batch.c.id))
                .where(*conditions)
            ),
        )


class CampaignCost(Base):
    """What a campaign cost the brand other than payments, e.g. gifted product at cost price.
    Never part of an influencer's balance, never paid out. Append-only like the ledger."""

    __tablename__ = "campaign_costs"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    campaign_id: Mapped[int] = fk("campaigns.id")
    partnership_id: Mapped[int] = fk("partnerships.id")
    influencer_id: Mapped[int] = fk("influencers.id")
    kind: Mapped[CostKind] = enum_column(CostKind)
    amount: Mapped[int] = mapped_column(BigId)  # minor units, >= 0 (corrections are new rows)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return CampaignCost.influencer_id == influencer_id


_NOT_CANCELLED = text("status <> 'CANCELLED'")
_DRAFT = text("status = 'DRAFT'")


class PayoutBatch(Timestamps, Base):
    """The payouts of one organization in one currency for entries available up to `as_of`.
    One live batch per (organization, currency, as_of): creating it twice returns the same batch;
    once it is CANCELLED the day is free again. At most one DRAFT per (organization, currency):
    two drafts would pay the same entries twice. Both rules are partial unique indexes, so the
    database holds them even against concurrent requests."""

    __tablename__ = "payout_batches"
    __table_args__ = (
        Index(
            "uq_payout_batches_live_as_of",
            "organization_id",
            "currency",
            "as_of",
            unique=True,
            sqlite_where=_NOT_CANCELLED,
            postgresql_where=_NOT_CANCELLED,
        ),
        Index(
            "uq_payout_batches_one_draft",
            "organization_id",
            "currency",
            unique=True,
            sqlite_where=_DRAFT,
            postgresql_where=_DRAFT,
        ),
        CheckConstraint("minimum_amount >= 0", name="minimum_not_negative"),
    )

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id", index=False)
    currency: Mapped[str] = mapped_column(String(3))
    as_of: Mapped[date] = mapped_column(Date)
    # payout_cutoff(as_of), stored so SQL can compare it with available_at on every backend.
    cutoff_at: Mapped[datetime] = mapped_column()
    # Influencers whose balance is below this (minor units) are left for a later batch.
    minimum_amount: Mapped[int] = mapped_column(BigId, default=0)
    status: Mapped[PayoutStatus] = enum_column(PayoutStatus, default=PayoutStatus.DRAFT)
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Who cancelled it, as the other "…_by" columns record a caller (`Viewer.label`).
    cancelled_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return exists(
            select(1).where(
                PayoutLine.batch_id == PayoutBatch.id, PayoutLine.influencer_id == influencer_id
            )
        )


class PayoutLine(Base):
    """What one influencer is paid in a batch."""

    __tablename__ = "payout_lines"
    __table_args__ = (
        UniqueConstraint("batch_id", "influencer_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    batch_id: Mapped[int] = fk("payout_batches.id", index=False)
    influencer_id: Mapped[int] = fk("influencers.id")
    amount: Mapped[int] = mapped_column(BigId)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when the batch is paid (`api.finance.fx`): what the payee received, in its payout
    # currency; with a rate when that differs from the batch's (`amount` x `fx_rate`, rounded
    # half-even once). The ledger's PAYOUT entry stays `amount` in the batch currency.
    paid_amount: Mapped[int | None] = mapped_column(BigId, nullable=True)
    paid_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    fx_rate: Mapped[Decimal | None] = mapped_column(Numeric(20, 8), nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return PayoutLine.influencer_id == influencer_id


class BrandPostbackSecret(Base):
    """A brand's key for signing postbacks, `secret` sealed (`tracker.sealing`: the tracker
    unseals it to compute the HMAC); on rotation the previous one stays valid for 24 hours
    (`expires_at`)."""

    __tablename__ = "brand_postback_secrets"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    brand_id: Mapped[int] = fk("brands.id")
    secret: Mapped[str] = mapped_column(String(512))  # a Fernet token, about 164 characters
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return false()


__all__ = [
    "BrandPostbackSecret",
    "CampaignCost",
    "CostKind",
    "EntryKind",
    "LedgerEntry",
    "PayoutBatch",
    "PayoutLine",
    "PayoutStatus",
    "SourceType",
    "payout_cutoff",
]
