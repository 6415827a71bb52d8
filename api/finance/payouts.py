"""Payout batches: who gets paid what for one organization, currency and `as_of` day.

A batch has one line per influencer whose unpaid, available balance (clawbacks netted) reaches
the minimum. Line amounts are computed with exactly the rule that later decides what the batch
covers once PAID (`LedgerEntry.paid_by_batch`): non-PAYOUT entries, not yet paid, available before
the end of `as_of` and created before the batch. So after `mark_paid` the paid bucket of every
balance grows by its line and the PAYOUT entries cancel it: balances stay sums over entries.

Only one DRAFT batch per organization and currency at a time: two drafts would pay the same
entries twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, not_, select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.finance.errors import FinanceError
from api.ledger.posting import insert_ignore, locked
from api.models import LedgerEntry, PayoutBatch, PayoutLine
from api.models.ledger import EntryKind, PayoutStatus, SourceType, payout_cutoff
from api.money import MoneyError, normalize_currency


def payout_key(batch_id: int, influencer_id: int) -> str:
    return f"payout_batch:{batch_id}:influencer:{influencer_id}"


def _currency(code: str) -> str:
    try:
        return normalize_currency(code)
    except MoneyError as exc:
        raise FinanceError("INVALID_CURRENCY", str(exc), "currency") from None


def find_batch(session: Session, org_id: int, currency: str, as_of: date) -> PayoutBatch | None:
    return session.scalar(
        select(PayoutBatch).where(
            PayoutBatch.organization_id == org_id,
            PayoutBatch.currency == currency,
            PayoutBatch.as_of == as_of,
        )
    )


def payable_amounts(
    session: Session, org_id: int, currency: str, cutoff: datetime, created_before: datetime
) -> dict[int, int]:
    """Per influencer, the sum of entries a batch with this cutoff would cover and that no PAID
    batch covers yet (may be negative after a clawback)."""
    rows = session.execute(
        select(LedgerEntry.influencer_id, func.sum(LedgerEntry.amount))
        .where(
            LedgerEntry.organization_id == org_id,
            LedgerEntry.currency == currency,
            LedgerEntry.kind != EntryKind.PAYOUT,
            LedgerEntry.available_at < cutoff,
            LedgerEntry.created_at <= created_before,
            not_(LedgerEntry.paid_by_batch()),
        )
        .group_by(LedgerEntry.influencer_id)
    ).all()
    return {int(i): int(total or 0) for i, total in rows}


def create_payout_batch(
    session: Session,
    org_id: int,
    currency: str,
    as_of: date,
    minimum_amount: int,
    *,
    now: datetime | None = None,
) -> PayoutBatch:
    """The batch for (org, currency, as_of), created with its lines if it does not exist yet.
    Calling it again returns the same batch unchanged. Raises FinanceError on bad input."""
    now = now or utcnow()
    currency = _currency(currency)
    if isinstance(minimum_amount, bool) or not isinstance(minimum_amount, int):
        raise FinanceError("INVALID_AMOUNT", "minimumAmount must be money", "minimumAmount")
    if minimum_amount < 0:
        raise FinanceError("NEGATIVE", "minimumAmount must not be negative", "minimumAmount")
    if as_of > now.date():
        raise FinanceError("INVALID", "asOf must not be in the future", "asOf")
    existing = find_batch(session, org_id, currency, as_of)
    if existing is not None:
        return existing
    draft = session.scalar(
        select(PayoutBatch.id).where(
            PayoutBatch.organization_id == org_id,
            PayoutBatch.currency == currency,
            PayoutBatch.status == PayoutStatus.DRAFT,
        )
    )
    if draft is not None:
        raise FinanceError(
            "DRAFT_BATCH_EXISTS",
            f"payout batch {draft} in {currency} is still a draft: mark it paid first",
            "asOf",
        )
    cutoff = payout_cutoff(as_of)
    batch_id = insert_ignore(
        session,
        PayoutBatch,
        {
            "organization_id": org_id,
            "currency": currency,
            "as_of": as_of,
            "cutoff_at": cutoff,
            "minimum_amount": minimum_amount,
            "status": PayoutStatus.DRAFT,
            "created_at": now,
            "updated_at": now,
        },
        ["organization_id", "currency", "as_of"],
    )
    if batch_id is None:  # created concurrently: same answer as the idempotent path
        found = find_batch(session, org_id, currency, as_of)
        assert found is not None
        return found
    threshold = max(minimum_amount, 1)  # a line of 0 pays nothing
    payable = payable_amounts(session, org_id, currency, cutoff, now)
    for influencer_id, amount in sorted(payable.items()):
        if amount >= threshold:
            session.add(
                PayoutLine(
                    organization_id=org_id,
                    batch_id=batch_id,
                    influencer_id=influencer_id,
                    amount=amount,
                    currency=currency,
                    created_at=now,
                )
            )
    session.flush()
    return session.get_one(PayoutBatch, batch_id)


def lines_of(session: Session, batch: PayoutBatch) -> list[PayoutLine]:
    return list(
        session.scalars(
            select(PayoutLine).where(PayoutLine.batch_id == batch.id).order_by(PayoutLine.id)
        )
    )


def mark_paid(
    session: Session, batch: PayoutBatch, reference: str, *, now: datetime | None = None
) -> PayoutBatch:
    """Marks a DRAFT batch PAID and appends one PAYOUT entry (minus the line) per line. Old
    entries are never touched. A second call raises ALREADY_PAID and changes nothing."""
    reference = (reference or "").strip()
    if not reference:
        raise FinanceError("REQUIRED", "reference is required (the transfer's id)", "reference")
    if len(reference) > 200:
        raise FinanceError("TOO_LONG", "reference must be at most 200 characters", "reference")
    now = now or utcnow()
    batch = locked(session, PayoutBatch, batch.id)
    if batch.status == PayoutStatus.PAID:
        raise FinanceError(
            "ALREADY_PAID", f"payout batch {batch.id} is already paid", "payoutBatchId"
        )
    for line in lines_of(session, batch):
        insert_ignore(
            session,
            LedgerEntry,
            {
                "organization_id": batch.organization_id,
                "influencer_id": line.influencer_id,
                "kind": EntryKind.PAYOUT,
                "amount": -line.amount,
                "currency": batch.currency,
                "source_type": SourceType.PAYOUT_BATCH,
                "source_id": batch.id,
                "payout_batch_id": batch.id,
                "created_at": now,
                "available_at": now,
                "memo": f"Paid in payout batch {batch.id} of {batch.as_of}, transfer {reference}",
                "idempotency_key": payout_key(batch.id, line.influencer_id),
            },
            ["idempotency_key"],
        )
    batch.status = PayoutStatus.PAID
    batch.reference = reference
    batch.paid_at = now
    session.flush()
    return batch
