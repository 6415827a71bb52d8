"""Payout batches: who gets paid what for one organization, currency and `as_of` day.

A batch has one line per influencer whose unpaid, available balance (clawbacks netted) reaches
the minimum. Line amounts are computed with exactly the rule that later decides what the batch
covers once PAID (`LedgerEntry.paid_by_batch`): non-PAYOUT entries, not yet paid, available before
the end of `as_of` and created before the batch. So after `mark_paid` the paid bucket of every
balance grows by its line and the PAYOUT entries cancel it: balances stay sums over entries.

Only one DRAFT batch per organization and currency at a time: two drafts would pay the same
entries twice. A batch with no line is refused (it would pay nothing and, as a draft, block every
later batch). A DRAFT can be cancelled: it stays, CANCELLED, with who cancelled it and when, and
since only PAID batches cover entries, its lines are payable again by the next batch. Neither
creating nor cancelling a draft writes to the ledger (only `mark_paid` does), so cancelling has
nothing to reverse.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, not_, select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.finance import fx, invoices
from api.finance.errors import FinanceError
from api.ledger.posting import entry_created, insert_ignore, locked
from api.ledger.sql import dialect_insert
from api.models import LedgerEntry, Organization, PayoutBatch, PayoutLine
from api.models.ledger import EntryKind, PayoutStatus, SourceType, payout_cutoff
from api.money import MoneyError, format_amount, normalize_currency
from api.webhooks import events
from api.webhooks.outbox import emit


def payout_key(batch_id: int, influencer_id: int) -> str:
    return f"payout_batch:{batch_id}:influencer:{influencer_id}"


def _currency(code: str) -> str:
    try:
        return normalize_currency(code)
    except MoneyError as exc:
        raise FinanceError("INVALID_CURRENCY", str(exc), "currency") from None


def find_batch(session: Session, org_id: int, currency: str, as_of: date) -> PayoutBatch | None:
    """The live (not cancelled) batch of the day, if any."""
    return session.scalar(
        select(PayoutBatch).where(
            PayoutBatch.organization_id == org_id,
            PayoutBatch.currency == currency,
            PayoutBatch.as_of == as_of,
            PayoutBatch.status != PayoutStatus.CANCELLED,
        )
    )


def _refuse_second_draft(session: Session, org_id: int, currency: str) -> None:
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
            f"payout batch {draft} in {currency} is still a draft: mark it paid or cancel it first",
            "asOf",
        )


def _money(minor: int, currency: str) -> str:
    return f"{format_amount(minor, currency)} {currency}"


def _nothing_payable(
    session: Session,
    org_id: int,
    currency: str,
    as_of: date,
    payable: dict[int, int],
    minimum_amount: int,
    created_before: datetime,
) -> FinanceError:
    """Why a batch would have no line, in words for the finance person who asked for it."""
    org = session.get(Organization, org_id)
    who = org.name if org else f"organization {org_id}"
    head = f"nothing is payable in {currency} as of {as_of.isoformat()} for {who}"
    best = max(payable.values(), default=0)
    if best > 0:  # someone is owed money, only less than the minimum asked for
        return FinanceError(
            "NOTHING_PAYABLE",
            f"{head}: the largest unpaid balance, {_money(best, currency)}, is below the minimum "
            f"of {_money(minimum_amount, currency)}",
            "minimumAmount",
        )
    cutoff = payout_cutoff(as_of)
    upcoming = session.scalar(
        select(func.min(LedgerEntry.available_at)).where(
            LedgerEntry.organization_id == org_id,
            LedgerEntry.currency == currency,
            LedgerEntry.kind != EntryKind.PAYOUT,
            LedgerEntry.amount > 0,
            LedgerEntry.available_at >= cutoff,
            LedgerEntry.created_at <= created_before,
            not_(LedgerEntry.paid_by_batch()),
        )
    )
    reason = "no influencer is owed money available by the end of that day"
    if upcoming is not None:
        reason += f"; the next earnings become available on {upcoming.date().isoformat()}"
    return FinanceError("NOTHING_PAYABLE", f"{head}: {reason}", "asOf")


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
    _refuse_second_draft(session, org_id, currency)
    cutoff = payout_cutoff(as_of)
    threshold = max(minimum_amount, 1)  # a line of 0 pays nothing
    payable = payable_amounts(session, org_id, currency, cutoff, now)
    lines = {i: amount for i, amount in sorted(payable.items()) if amount >= threshold}
    if not lines:
        raise _nothing_payable(session, org_id, currency, as_of, payable, minimum_amount, now)
    # ON CONFLICT DO NOTHING without a target: it covers both partial unique indexes (the day's
    # live batch, the currency's one draft), which a concurrent request may have just taken.
    session.flush()
    batch_id = session.connection().scalar(
        dialect_insert(session, PayoutBatch.__table__)
        .values(
            organization_id=org_id,
            currency=currency,
            as_of=as_of,
            cutoff_at=cutoff,
            minimum_amount=minimum_amount,
            status=PayoutStatus.DRAFT.value,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
        .returning(PayoutBatch.__table__.c.id)
    )
    if batch_id is None:  # lost the race: the same answers as if we had come second
        found = find_batch(session, org_id, currency, as_of)
        if found is not None:
            return found
        _refuse_second_draft(session, org_id, currency)
        raise FinanceError("INVALID", "a payout batch was being created at the same time: retry")
    for influencer_id, amount in lines.items():
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
    batch = session.get_one(PayoutBatch, batch_id)
    _announce(session, "payout_batch.created", batch, sum(lines.values()), len(lines))
    return batch


def _announce(
    session: Session, event_type: str, batch: PayoutBatch, total: int, lines: int
) -> None:
    emit(
        session,
        event_type,
        batch.organization_id,
        lambda: {"payoutBatch": events.payout_batch(batch, total, lines)},
    )


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
    if batch.status == PayoutStatus.CANCELLED:
        raise FinanceError(
            "ALREADY_CANCELLED",
            f"payout batch {batch.id} was cancelled: create a new batch to pay its lines",
            "payoutBatchId",
        )
    lines = lines_of(session, batch)
    fx.freeze(session, batch, lines)  # what each payee receives, in its currency
    for line in lines:
        values = {
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
        }
        entry_id = insert_ignore(session, LedgerEntry, values, ["idempotency_key"])
        if entry_id is not None:
            entry_created(session, values, entry_id)
    batch.status = PayoutStatus.PAID
    batch.reference = reference
    batch.paid_at = now
    session.flush()
    invoices.issue(session, batch, lines, now=now)  # numbered in this transaction: no gaps
    _announce(session, "payout_batch.paid", batch, sum(x.amount for x in lines), len(lines))
    return batch


def cancel_batch(
    session: Session, batch: PayoutBatch, cancelled_by: str, *, now: datetime | None = None
) -> PayoutBatch:
    """Cancels a DRAFT batch: it stays, CANCELLED, with who and when. Its lines are kept as the
    record of what it would have paid, but only PAID batches cover entries, so the next batch
    pays them. No ledger entry exists for a draft, so none is written or reversed. A PAID batch
    (money was sent: correct it with a ledger adjustment) or a CANCELLED one raises."""
    now = now or utcnow()
    batch = locked(session, PayoutBatch, batch.id)
    if batch.status == PayoutStatus.PAID:
        paid_on = batch.paid_at.date().isoformat() if batch.paid_at else "an earlier day"
        raise FinanceError(
            "ALREADY_PAID",
            f"payout batch {batch.id} was paid on {paid_on} (reference {batch.reference}) and "
            "cannot be cancelled: correct a payment with a ledger adjustment",
            "payoutBatchId",
        )
    if batch.status == PayoutStatus.CANCELLED:
        raise FinanceError(
            "ALREADY_CANCELLED",
            f"payout batch {batch.id} was already cancelled by {batch.cancelled_by}",
            "payoutBatchId",
        )
    batch.status = PayoutStatus.CANCELLED
    batch.cancelled_at = now
    batch.cancelled_by = cancelled_by
    session.flush()
    return batch
