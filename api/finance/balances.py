"""An influencer's balance: four sums over ledger entries, by derived status.

An entry's status is never stored (see `api.models.ledger`); it is derived here, as of a moment:

- PAID: a payout batch paid by the moment covers it (`LedgerEntry.paid_by_batch`, the posting
  module's rule);
- PENDING: not paid and `available_at` is after the moment;
- AVAILABLE: not paid and `available_at` is at or before it (clawbacks, negative, land here at
  once and are netted against the next payout);
- REJECTED / HELD (listings only): entries of a conversion rejected or under review. A rejected
  conversion's commission and the reversal that cancels it sum to 0, so balances keep them in
  pending/available, where they cancel out.

PAYOUT entries (negative) are the counterpart of PAID: they cancel the paid bucket, so the net of
all entries always equals `pending + available` (tests prove it). `held` sums entries of
conversions still under review: the posting rules give a HELD conversion no entry until it is
approved, so it is 0 unless the worker ever credits before the review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, exists, func, not_, select
from sqlalchemy.orm import Session, aliased

from api.db import utcnow
from api.models import Conversion, LedgerEntry
from api.models.events import ConversionStatus
from api.models.ledger import EntryKind


class EntryStatus:
    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"
    PAID = "PAID"
    HELD = "HELD"
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    pending: int  # minor units
    available: int
    paid: int
    held: int

    @property
    def net(self) -> int:
        """What is still owed: the sum of all entries (payouts included)."""
        return self.pending + self.available + self.held


def status_expression(as_of: datetime) -> ColumnElement[str]:
    """The derived status of a ledger row as of `as_of`, as SQL (for listings and exports).
    Unpaid entries of a conversion a reviewer rejected (its commission and the reversal that
    cancels it) are REJECTED; of one under review, HELD."""
    reviewed = aliased(Conversion)  # the caller may join Conversion itself (the export does)
    review = (
        select(reviewed.status)
        .where(reviewed.id == LedgerEntry.conversion_id)
        .correlate(LedgerEntry)
        .scalar_subquery()
    )
    return case(
        (LedgerEntry.kind == EntryKind.PAYOUT, EntryStatus.PAID),
        (LedgerEntry.paid_by_batch(as_of), EntryStatus.PAID),
        (review == ConversionStatus.REJECTED, EntryStatus.REJECTED),
        (review == ConversionStatus.HELD, EntryStatus.HELD),
        (LedgerEntry.available_at > as_of, EntryStatus.PENDING),
        else_=EntryStatus.AVAILABLE,
    )


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, LedgerEntry.amount), else_=0)), 0)


def balance(
    session: Session,
    org_id: int,
    influencer_id: int,
    currency: str,
    as_of: datetime | None = None,
) -> Balance:
    """The influencer's balance in one currency, from one aggregate statement over entries."""
    as_of = as_of or utcnow()
    not_payout = LedgerEntry.kind != EntryKind.PAYOUT
    paid = LedgerEntry.paid_by_batch(as_of)
    # EXISTS, not IN: `NULL IN (...)` is NULL, which would drop every entry without a
    # conversion (fees, bonuses, adjustments) from all buckets while any order is held.
    under_review = exists().where(
        Conversion.id == LedgerEntry.conversion_id, Conversion.status == ConversionStatus.HELD
    )
    unpaid = and_(not_payout, not_(paid), not_(under_review))
    row = session.execute(
        select(
            _sum(and_(unpaid, LedgerEntry.available_at > as_of)),
            _sum(and_(unpaid, LedgerEntry.available_at <= as_of)),
            _sum(paid),
            _sum(and_(not_payout, not_(paid), under_review)),
        ).where(
            LedgerEntry.organization_id == org_id,
            LedgerEntry.influencer_id == influencer_id,
            LedgerEntry.currency == currency,
            LedgerEntry.created_at <= as_of,
        )
    ).one()
    pending, available, paid_total, held = (int(v or 0) for v in row)
    return Balance(currency, pending, available, paid_total, held)


def net_total(session: Session, org_id: int, influencer_id: int, currency: str) -> int:
    """The plain sum of every entry: what reconciles with pending + available."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.organization_id == org_id,
                LedgerEntry.influencer_id == influencer_id,
                LedgerEntry.currency == currency,
            )
        )
        or 0
    )
