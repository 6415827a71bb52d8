"""Posting to the ledger: commissions, reversals and clawbacks, flat fees, gifted costs, reviews.

Every function here appends rows (never updates a ledger row) and is idempotent: each business
fact has one `idempotency_key` and is inserted with INSERT ... ON CONFLICT DO NOTHING, so calling
it again, from a replayed event or a second worker, changes nothing. Callers own the transaction.

Rules (see also `api.models.ledger`):

- A COMMISSION is credited for an APPROVED, attributed conversion under the partnership's
  effective plan (`api.domain.commission`), the tier chosen by the influencer's APPROVED revenue
  (across all their partnerships) earlier in the same calendar month (UTC) in the plan's
  currency. Whoever credits a conversion under a tiered plan holds the influencer's row lock
  (`lock_influencers`), so two conversions of one influencer are priced one after the other.
  `available_at` is the posting time plus the campaign's `hold_days`. Held conversions get
  their commission when approved. Both go through `credit_conversions`, the one path by which
  conversions reach the books (price, hold, post, count in the rollups); `post_refunds` is the
  one for refunds applied to them.
- A refund reverses its share of the commission, cumulatively (`reversal_for_refund`), so partial
  refunds never drift and a full refund reverses exactly the commission. The reversal is a
  REVERSAL when the commission is not yet paid (available no earlier than the commission, so both
  land in the same payout), else a CLAWBACK available at once (netted against the next payout).
- "Paid" means covered by a PAID payout batch: `LedgerEntry.paid_by_batch()`.
- Rejecting an approved conversion appends a REVERSAL/CLAWBACK of what it still earned. REJECTED
  is final.
- Flat fees: one FLAT_FEE per published deliverable. Gifted product value goes to
  `campaign_costs`, never to the ledger, so it can't be paid out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.campaigns.plans import effective_plan, effective_plan_of
from api.db import utcnow
from api.domain.commission import (
    CommissionError,
    CompensationPlan,
    commission_for_order,
    reversal_for_refund,
)
from api.ledger import rollups
from api.ledger.sql import insert_ignore, insert_many_ignore
from api.models import (
    Campaign,
    CampaignCost,
    Conversion,
    Deliverable,
    Influencer,
    LedgerEntry,
    Partnership,
    Refund,
)
from api.models.events import ConversionStatus, RefundStatus
from api.models.ledger import CostKind, EntryKind, SourceType
from api.money import format_money
from api.webhooks import events
from api.webhooks.outbox import emit


class PostingError(ValueError):
    """A review or posting that cannot be done; `code` for the API's userErrors."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


# --- keys -------------------------------------------------------------------------------------


def commission_key(conversion_id: int) -> str:
    return f"conversion:{conversion_id}:commission"


def rejection_key(conversion_id: int) -> str:
    return f"conversion:{conversion_id}:rejection"


def reversal_key(refund_id: int) -> str:
    return f"refund:{refund_id}:reversal"


def flat_fee_key(deliverable_id: int) -> str:
    return f"deliverable:{deliverable_id}:flat_fee"


def gifted_cost_key(partnership_id: int) -> str:
    return f"partnership:{partnership_id}:gifted_product"


# --- SQL helpers ------------------------------------------------------------------------------


def post_entries(session: Session, entries: list[tuple[dict[str, Any], int | None]]) -> int:
    """Appends ledger entries (their values, and the tracked link of their conversion) in one
    statement, skipping those whose idempotency key exists; how many were new. What they add to
    a partnership's commission or fees is counted in the performance rollup, in the same
    transaction."""
    return len(_post(session, entries))


def _post(session: Session, entries: list[tuple[dict[str, Any], int | None]]) -> dict[str, int]:
    """`post_entries`: the idempotency keys of the entries that were new, and their ids. Each
    new entry is counted in the rollups and owed to webhooks (`ledger.entry.created`)."""
    by_key = {values["idempotency_key"]: (values, link) for values, link in entries}
    rows = insert_many_ignore(
        session,
        LedgerEntry,
        [values for values, _ in entries],
        ["idempotency_key"],
        [LedgerEntry.idempotency_key, LedgerEntry.id],
    )
    new = {key: entry_id for key, entry_id in rows}
    for key in sorted(new, key=new.__getitem__):
        values, link_id = by_key[key]
        rollups.count_entry(session, values, link_id)
        entry_created(session, values, new[key])
    return new


def entry_created(session: Session, values: dict[str, Any], entry_id: int) -> None:
    emit(
        session,
        "ledger.entry.created",
        values["organization_id"],
        lambda: {"entry": events.entry(values, entry_id)},
    )


def post_entry(
    session: Session, values: dict[str, Any], *, link_id: int | None = None
) -> int | None:
    """`post_entries` of one: the new entry's id, or None when it existed."""
    return _post(session, [(values, link_id)]).get(values["idempotency_key"])


def locked(session: Session, model: Any, row_id: int) -> Any:
    """The row, re-read and locked FOR NO KEY UPDATE (PostgreSQL; SQLite serialises writers
    anyway). NO KEY: rows inserted elsewhere that merely reference it (KEY SHARE) don't block."""
    return session.scalars(
        select(model)
        .where(model.id == row_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()


def entry_by_key(session: Session, key: str) -> LedgerEntry | None:
    return session.scalars(select(LedgerEntry).where(LedgerEntry.idempotency_key == key)).first()


def is_paid(session: Session, entry_id: int) -> bool:
    """Whether a PAID payout batch covers the entry (`LedgerEntry.paid_by_batch`)."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.id == entry_id, LedgerEntry.paid_by_batch())
        )
    )


# --- plans ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Terms:
    """What crediting a partnership's conversion needs of it and its campaign."""

    partnership_id: int
    influencer_id: int
    campaign_id: int
    hold_days: int
    plan: CompensationPlan | None

    @classmethod
    def of(cls, row: Any) -> Terms:
        """The terms from a row of `terms_query` (or of a query that extends it)."""
        return cls(
            row.id,
            row.influencer_id,
            row.campaign_id,
            row.hold_days,
            effective_plan_of(row.compensation, row.currency, row.compensation_override),
        )

    @classmethod
    def load(cls, session: Session, partnership_id: int) -> Terms:
        return cls.of(session.execute(terms_query().where(Partnership.id == partnership_id)).one())


def terms_query() -> Any:
    """The columns `Terms.of` reads: a partnership joined with its campaign."""
    return (
        select(
            Partnership.id,
            Partnership.influencer_id,
            Partnership.compensation_override,
            Campaign.id.label("campaign_id"),
            Campaign.hold_days,
            Campaign.compensation,
            Campaign.currency,
        )
        .select_from(Partnership)
        .join(Campaign, Campaign.id == Partnership.campaign_id)
    )


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def lock_influencers(session: Session, influencer_ids: Iterable[int]) -> None:
    """Locks the influencers' rows FOR NO KEY UPDATE, in id order (concurrent workers take them
    in the same order, so never deadlock): tiers depend on the month's other conversions of the
    same influencer. Rows that merely reference an influencer (KEY SHARE) are not blocked."""
    ids = sorted(set(influencer_ids))
    if ids:
        session.scalars(
            select(Influencer.id)
            .where(Influencer.id.in_(ids))
            .order_by(Influencer.id)
            .with_for_update(key_share=True)
        ).all()


def month_revenue_before(session: Session, conversion: Conversion, currency: str) -> int:
    """The influencer's APPROVED attributed revenue, over all their partnerships, in the
    conversion's calendar month (UTC) before it: what its tier is chosen by."""
    occurred = conversion.occurred_at
    earlier = (Conversion.occurred_at < occurred) | (
        (Conversion.occurred_at == occurred) & (Conversion.id < conversion.id)
    )
    total = session.scalar(
        select(func.coalesce(func.sum(Conversion.amount), 0)).where(
            Conversion.influencer_id == conversion.influencer_id,
            Conversion.status == ConversionStatus.APPROVED,
            Conversion.currency == currency,
            Conversion.occurred_at >= month_start(occurred),
            Conversion.id != conversion.id,
            earlier,
        )
    )
    return int(total or 0)


# --- commissions and refunds ------------------------------------------------------------------


def _no_terms(_partnership_id: int) -> Terms | None:
    return None


def credit_conversions(
    session: Session,
    conversions: Sequence[Conversion],
    *,
    now: datetime,
    terms: Callable[[int], Terms | None] = _no_terms,
    new: bool = False,
    hold: bool = True,
) -> None:
    """The one way APPROVED attributed conversions reach the books. Each is priced under its
    partnership's terms, in the order given (a month's tiers see its earlier orders first); an
    order its plan cannot price (another currency, an invalid plan) is HELD with the reason, or,
    unless `hold`, CommissionError is raised before anything is written. Then the batch's
    commissions are posted in one statement, the conversions counted in the performance
    rollups (net of refunds already applied) and those refunds' shares reversed.

    `terms` gives what the caller has loaded already (None: read it). `new`: the caller has just
    inserted the rows (the worker), so none has a commission or a refund yet: no query for
    them. Callers hold `lock_influencers` of tiered plans, and the rows' locks unless `new`.
    """
    credited: list[Conversion] = []
    entries: list[tuple[dict[str, Any], int | None]] = []
    for conversion in conversions:
        if conversion.status != ConversionStatus.APPROVED or conversion.partnership_id is None:
            continue
        if not new and entry_by_key(session, commission_key(conversion.id)) is not None:
            credited.append(conversion)
            continue
        pid = conversion.partnership_id
        try:
            values = commission_values(
                session, conversion, terms(pid) or Terms.load(session, pid), now
            )
        except CommissionError as exc:
            if not hold:
                raise
            _hold(session, conversion, exc)
            continue
        credited.append(conversion)
        if values is not None:
            entries.append((values, conversion.link_id))
    post_entries(session, entries)
    for conversion in credited:
        refunded = 0 if new else refunded_total(session, conversion.id)
        rollups.count_conversion(session, conversion, sign=1, refunded=refunded)
        if not new:
            sync_reversals(session, conversion, now=now)


def _hold(session: Session, conversion: Conversion, exc: CommissionError) -> None:
    """Holds an order its plan cannot price, with the reason, for finance to review. An UPDATE
    by id: the worker's rows are detached copies of what it inserted."""
    reasons = [*conversion.hold_reasons, exc.code]
    session.execute(
        update(Conversion)
        .where(Conversion.id == conversion.id)
        .values(status=ConversionStatus.HELD, hold_reasons=reasons, review_reason=str(exc))
    )
    held = {"status": ConversionStatus.HELD.value, "holdReasons": reasons}
    emit(
        session,
        "conversion.held",
        conversion.organization_id,
        lambda: {"conversion": {**events.conversion(conversion), **held}},
    )


def commission_values(
    session: Session, conversion: Conversion, terms: Terms, now: datetime
) -> dict[str, Any] | None:
    """The COMMISSION entry an approved conversion earns under `terms` (None: nothing), priced
    but not posted. Tiered plans read the influencer's earlier revenue this month (hold
    `lock_influencers`). Raises CommissionError when the plan cannot price the order."""
    if terms.plan is None:
        return None
    quote = commission_for_order(
        terms.plan,
        conversion.amount,
        conversion.currency,
        month_revenue_before(session, conversion, terms.plan.currency)
        if terms.plan.is_tiered
        else 0,
        repeat=bool(conversion.repeat),
        rate_bps=conversion.commission_bps,
        leaked=conversion.leak_reason,
    )
    if quote.amount_minor == 0 and conversion.leak_reason is None:
        return None  # a leaked order's entry of 0 stays: it says why the order earned nothing
    return {
        "organization_id": conversion.organization_id,
        "influencer_id": terms.influencer_id,
        "partnership_id": terms.partnership_id,
        "campaign_id": terms.campaign_id,
        "kind": EntryKind.COMMISSION,
        "amount": quote.amount_minor,
        "currency": quote.currency,
        "source_type": SourceType.CONVERSION,
        "source_id": conversion.id,
        "conversion_id": conversion.id,
        "created_at": now,
        "available_at": now + timedelta(days=terms.hold_days),
        "memo": f"Commission on order {conversion.order_id}: {quote.explanation}",
        "basis_points": quote.bps_applied,
        "idempotency_key": commission_key(conversion.id),
    }


def refunded_total(session: Session, conversion_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.conversion_id == conversion_id, Refund.status == RefundStatus.APPLIED
            )
        )
        or 0
    )


def sync_reversals(session: Session, conversion: Conversion, *, now: datetime | None = None) -> int:
    """Posts the reversal of every APPLIED refund of the conversion that has none yet, in the
    order the refunds were recorded, cumulatively. A reversal entry (possibly of 0) marks a refund
    as accounted for. Call with the conversion row locked. Returns how many it posted."""
    entries = session.scalars(
        select(LedgerEntry).where(LedgerEntry.conversion_id == conversion.id)
    ).all()
    by_key = {e.idempotency_key: e for e in entries}
    commission = by_key.get(commission_key(conversion.id))
    if commission is None or rejection_key(conversion.id) in by_key:
        return 0
    now = now or utcnow()
    reversals = [e for e in entries if e.reverses_entry_id == commission.id]
    accounted = {e.refund_id for e in reversals if e.refund_id is not None}
    reversed_total = -sum(e.amount for e in reversals)
    refunds = session.scalars(
        select(Refund)
        .where(Refund.conversion_id == conversion.id, Refund.status == RefundStatus.APPLIED)
        .order_by(Refund.id)
    ).all()
    refunded = sum(r.amount or 0 for r in refunds if r.id in accounted)
    pending = [r for r in refunds if r.id not in accounted]
    if not pending:
        return 0
    paid = is_paid(session, commission.id)
    posted = 0
    for refund in pending:
        amount = refund.amount or 0
        reversal = reversal_for_refund(
            commission.amount, conversion.amount, refunded, amount, reversed_total
        )
        new = post_entry(
            session,
            _reversal_values(
                commission,
                amount=-reversal,
                paid=paid,
                now=now,
                key=reversal_key(refund.id),
                source_type=SourceType.REFUND,
                source_id=refund.id,
                refund_id=refund.id,
                memo=(
                    f"Refund {refund.refund_id} of {format_money(amount, conversion.currency)} "
                    f"on order {conversion.order_id} "
                    f"({format_money(refunded + amount, conversion.currency)} of "
                    f"{format_money(conversion.amount, conversion.currency)} refunded so far): "
                    f"{_taken_back(reversal, commission, paid)}"
                ),
            ),
            link_id=conversion.link_id,
        )
        if not new:  # posted concurrently: the next sync starts from the new state
            break
        conversion_reversed(session, conversion, "REFUND", new)
        refunded += amount
        reversed_total += reversal
        posted += 1
    return posted


def post_refunds(
    session: Session, conversion: Conversion, amounts: Sequence[int], *, now: datetime
) -> None:
    """What refunds just applied to a conversion (their minor units) do to the books: an
    APPROVED conversion's revenue drops in the performance rollups and its commission's share is
    reversed (`sync_reversals`); a HELD one is counted net of them when approved. Call with the
    conversion row locked and the refunds flushed."""
    if conversion.status != ConversionStatus.APPROVED:
        return
    for amount in amounts:
        rollups.count_refund(session, conversion, amount)
    sync_reversals(session, conversion, now=now)


def _taken_back(amount: int, commission: LedgerEntry, paid: bool) -> str:
    """What a reversal or clawback does to a commission, in words for its statement."""
    part = (
        f"{format_money(amount, commission.currency)} of the "
        f"{format_money(commission.amount, commission.currency)} commission"
    )
    return f"{part}, already paid, taken back from the next payout" if paid else f"{part} reversed"


def _reversal_values(
    commission: LedgerEntry,
    *,
    amount: int,
    paid: bool,
    now: datetime,
    key: str,
    source_type: SourceType,
    source_id: int,
    memo: str,
    refund_id: int | None = None,
) -> dict[str, Any]:
    return {
        "organization_id": commission.organization_id,
        "influencer_id": commission.influencer_id,
        "partnership_id": commission.partnership_id,
        "campaign_id": commission.campaign_id,
        "kind": EntryKind.CLAWBACK if paid else EntryKind.REVERSAL,
        "amount": amount,
        "currency": commission.currency,
        "source_type": source_type,
        "source_id": source_id,
        "conversion_id": commission.conversion_id,
        "refund_id": refund_id,
        "reverses_entry_id": commission.id,
        "created_at": now,
        # A clawback is due at once; a reversal never before the commission it cancels, so an
        # unpaid commission and its reversal always fall into the same payout.
        "available_at": now if paid else max(now, commission.available_at),
        "memo": memo,
        "basis_points": commission.basis_points,
        "idempotency_key": key,
    }


# --- reviews ----------------------------------------------------------------------------------


def approve_conversion(
    session: Session,
    conversion: Conversion,
    reviewer: str,
    reason: str | None = None,
    *,
    now: datetime | None = None,
) -> bool:
    """Approves a HELD conversion and credits its commission (and reversals of refunds applied
    meanwhile). True when something changed; approving an APPROVED conversion changes nothing.
    Raises PostingError for REJECTED/UNATTRIBUTED conversions or a plan that cannot price it."""
    now = now or utcnow()
    if conversion.influencer_id is not None:
        lock_influencers(session, [conversion.influencer_id])  # tiers: one at a time
    conversion = locked(session, Conversion, conversion.id)
    if conversion.status == ConversionStatus.APPROVED:
        return False
    if conversion.status == ConversionStatus.REJECTED:
        raise PostingError("ALREADY_REJECTED", "a rejected conversion cannot be approved")
    if conversion.status == ConversionStatus.UNATTRIBUTED:
        raise PostingError(
            "NOT_ATTRIBUTED", "the conversion is not attributed to a partnership: nothing to pay"
        )
    conversion.status = ConversionStatus.APPROVED
    try:  # prices the order before writing anything: on error nothing was posted
        credit_conversions(session, [conversion], now=now, hold=False)
    except CommissionError as exc:
        conversion.status = ConversionStatus.HELD
        raise PostingError(exc.code, str(exc)) from None
    conversion.reviewed_at = now
    conversion.reviewed_by = reviewer
    conversion.review_reason = reason
    session.flush()
    emit(
        session,
        "conversion.approved",
        conversion.organization_id,
        lambda: {"conversion": events.conversion(conversion)},
    )
    return True


def conversion_reversed(
    session: Session, conversion: Conversion, reason: str, entry_id: int | None
) -> None:
    """Owes webhooks `conversion.reversed`: commission taken back by a refund (REFUND) or a
    rejection (REJECTED), with the reversal or clawback entry (none: nothing was earned)."""

    def data() -> dict[str, Any]:
        entry = session.get(LedgerEntry, entry_id) if entry_id is not None else None
        return {
            "conversion": events.conversion(conversion),
            "reason": reason,
            "entry": events.entry(entry) if entry is not None else None,
        }

    emit(session, "conversion.reversed", conversion.organization_id, data)


def reject_conversion(
    session: Session,
    conversion: Conversion,
    reviewer: str,
    reason: str | None = None,
    *,
    now: datetime | None = None,
) -> bool:
    """Rejects a HELD or APPROVED conversion. An approved one gets a REVERSAL (or CLAWBACK once
    paid) of what its commission still earns. True when something changed."""
    now = now or utcnow()
    conversion = locked(session, Conversion, conversion.id)
    if conversion.status == ConversionStatus.REJECTED:
        return False
    if conversion.status == ConversionStatus.UNATTRIBUTED:
        raise PostingError(
            "NOT_ATTRIBUTED", "the conversion is not attributed to a partnership: nothing to reject"
        )
    commission = entry_by_key(session, commission_key(conversion.id))
    entry_id = None
    if commission is not None:
        reversed_total = -int(
            session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                    LedgerEntry.reverses_entry_id == commission.id
                )
            )
            or 0
        )
        remaining = commission.amount - reversed_total
        if remaining > 0:
            paid = is_paid(session, commission.id)
            entry_id = post_entry(
                session,
                _reversal_values(
                    commission,
                    amount=-remaining,
                    paid=paid,
                    now=now,
                    key=rejection_key(conversion.id),
                    source_type=SourceType.CONVERSION,
                    source_id=conversion.id,
                    memo=(
                        f"Order {conversion.order_id} rejected by {reviewer}: "
                        f"{reason or 'no reason given'}; "
                        f"{_taken_back(remaining, commission, paid)}"
                    ),
                ),
                link_id=conversion.link_id,
            )
    if conversion.status == ConversionStatus.APPROVED:
        rollups.count_conversion(
            session, conversion, sign=-1, refunded=refunded_total(session, conversion.id)
        )
    conversion.status = ConversionStatus.REJECTED
    conversion.reviewed_at = now
    conversion.reviewed_by = reviewer
    conversion.review_reason = reason
    session.flush()
    conversion_reversed(session, conversion, "REJECTED", entry_id)
    return True


def review_conversion(
    session: Session,
    conversion: Conversion,
    approve: bool,
    reviewer: str,
    note: str | None = None,
    *,
    batch_id: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Approves or rejects the conversion (`approve_conversion`, `reject_conversion`) and
    keeps the decision's audit record (`ConversionReview`: who, when, why, the status before and
    after and the hold reasons shown), whether or not it changed anything. The one way reviews
    are made (`reviewConversion`, `reviewConversions`)."""
    from api.models import ConversionReview

    now = now or utcnow()
    before = conversion.status
    reasons = list(conversion.hold_reasons or [])
    shown = conversion.review_reason if before == ConversionStatus.HELD else None
    decide = approve_conversion if approve else reject_conversion
    changed = decide(session, conversion, reviewer, note, now=now)
    after = session.get_one(Conversion, conversion.id)
    session.add(
        ConversionReview(
            organization_id=conversion.organization_id,
            conversion_id=conversion.id,
            decision="APPROVE" if approve else "REJECT",
            status_before=str(before),
            status_after=str(after.status),
            hold_reasons=reasons,
            held_because=shown,
            note=note,
            reviewed_by=reviewer,
            reviewed_at=now,
            batch_id=batch_id,
        )
    )
    session.flush()
    return changed


# --- flat fees and costs ----------------------------------------------------------------------


def credit_flat_fee(
    session: Session, deliverable: Deliverable, *, now: datetime | None = None
) -> LedgerEntry | None:
    """Credits the plan's flat fee for a PUBLISHED deliverable, once. None when the plan has no
    flat fee. Raises PostingError if the deliverable is not published."""
    if deliverable.status != "PUBLISHED":
        raise PostingError("NOT_PUBLISHED", "flat fees are credited for published deliverables")
    existing = entry_by_key(session, flat_fee_key(deliverable.id))
    if existing is not None:
        return existing
    now = now or utcnow()
    partnership = session.get(Partnership, deliverable.partnership_id)
    assert partnership is not None
    campaign = session.get(Campaign, partnership.campaign_id)
    assert campaign is not None
    plan = effective_plan(campaign, partnership)
    fee = plan.flat_fee_per_deliverable_minor if plan is not None else None
    if plan is None or not fee:
        return None
    post_entry(
        session,
        {
            "organization_id": deliverable.organization_id,
            "influencer_id": partnership.influencer_id,
            "partnership_id": partnership.id,
            "campaign_id": campaign.id,
            "kind": EntryKind.FLAT_FEE,
            "amount": fee,
            "currency": plan.currency,
            "source_type": SourceType.DELIVERABLE,
            "source_id": deliverable.id,
            "deliverable_id": deliverable.id,
            "created_at": now,
            "available_at": now + timedelta(days=campaign.hold_days),
            "memo": (
                f'Flat fee for the deliverable "{deliverable.title}"'
                if deliverable.title
                else f"Flat fee for an untitled deliverable (number {deliverable.id})"
            ),
            "idempotency_key": flat_fee_key(deliverable.id),
        },
    )
    return entry_by_key(session, flat_fee_key(deliverable.id))


def record_gifted_cost(
    session: Session, partnership: Partnership, *, now: datetime | None = None
) -> CampaignCost | None:
    """Records the plan's gifted product (at its value) as a campaign cost, once per
    partnership. Never a ledger entry: gifted value is not money owed to the influencer."""
    campaign = session.get(Campaign, partnership.campaign_id)
    assert campaign is not None
    plan = effective_plan(campaign, partnership)
    gift = plan.gifted_product if plan is not None else None
    if plan is None or gift is None or gift.value_minor is None:
        return None
    key = gifted_cost_key(partnership.id)
    insert_ignore(
        session,
        CampaignCost,
        {
            "organization_id": partnership.organization_id,
            "campaign_id": campaign.id,
            "partnership_id": partnership.id,
            "influencer_id": partnership.influencer_id,
            "kind": CostKind.GIFTED_PRODUCT,
            "amount": gift.value_minor,
            "currency": plan.currency,
            "description": gift.description,
            "created_at": now or utcnow(),
            "idempotency_key": key,
        },
        ["idempotency_key"],
    )
    return session.scalars(select(CampaignCost).where(CampaignCost.idempotency_key == key)).one()


# --- manual entries ---------------------------------------------------------------------------

MANUAL_KINDS = (EntryKind.BONUS, EntryKind.ADJUSTMENT)


def manual_key(organization_id: int, client_key: str) -> str:
    return f"manual:{organization_id}:{client_key}"


def post_manual_entry(
    session: Session,
    *,
    organization_id: int,
    influencer_id: int,
    partnership: Partnership | None,
    kind: EntryKind,
    amount: int,
    currency: str,
    memo: str,
    client_key: str,
    author: str,
    now: datetime | None = None,
) -> tuple[LedgerEntry, bool]:
    """A BONUS (> 0) or an ADJUSTMENT (either sign, never 0) granted by finance, available at
    once: how a mistake is corrected in an append-only ledger. `client_key` makes it idempotent
    (a retried request returns the first entry, False); reusing it for different figures is an
    IDEMPOTENCY_KEY_REUSED error. Raises PostingError for bad amounts or a partnership of
    another influencer."""
    if kind not in MANUAL_KINDS:
        raise PostingError("INVALID", f"{kind} entries are posted by Vouch, not by hand")
    if amount == 0:
        raise PostingError("INVALID_AMOUNT", "amount must not be zero")
    if kind is EntryKind.BONUS and amount < 0:
        raise PostingError("NEGATIVE", "a bonus is positive: use an ADJUSTMENT to take back")
    if partnership is not None and partnership.influencer_id != influencer_id:
        raise PostingError("INVALID", "the partnership is not the influencer's")
    now = now or utcnow()
    key = manual_key(organization_id, client_key)
    values = {
        "organization_id": organization_id,
        "influencer_id": influencer_id,
        "partnership_id": partnership.id if partnership is not None else None,
        "campaign_id": partnership.campaign_id if partnership is not None else None,
        "kind": kind,
        "amount": amount,
        "currency": currency,
        "source_type": SourceType.MANUAL,
        "source_id": None,
        "created_at": now,
        "available_at": now,
        "memo": f"{memo}; posted by {author}",
        "idempotency_key": key,
    }
    created = post_entry(session, values) is not None
    entry = entry_by_key(session, key)
    assert entry is not None
    same = (entry.influencer_id, entry.partnership_id, entry.kind, entry.amount, entry.currency)
    if not created and same != (influencer_id, values["partnership_id"], kind, amount, currency):
        raise PostingError(
            "IDEMPOTENCY_KEY_REUSED",
            f"idempotency key {client_key!r} was used for another entry: {entry.kind} of "
            f"{format_money(entry.amount, entry.currency)}",
        )
    return entry, created
