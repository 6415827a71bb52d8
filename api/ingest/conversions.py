"""Conversions and refunds into the database: attribution, commission, reversals.

Each function runs inside the caller's transaction and is idempotent: the unique constraints
(brand, order_id) and (brand, refund_id) turn a replayed event into a no-op, and the ledger's
idempotency keys do the same for its entries.

Refunds are always stored first as WAITING and then applied by `apply_waiting` when (or as soon
as) their order is in the database; so a refund that arrives before its order simply waits.
Because two workers may commit an order and its refund in parallel, the worker calls
`apply_waiting` again after each commit for every order it touched (the later of the two commits
always sees the other), and `sweep_waiting` periodically as a safety net.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.attribution import (
    ClickFacts,
    ConversionFacts,
    DiscountCodeFacts,
    PartnershipFacts,
    attribute,
)
from api.domain.campaign_status import CampaignStatus
from api.domain.commission import CommissionError
from api.ledger.posting import credit_conversion, insert_ignore, refunded_total, sync_reversals
from api.models import (
    Brand,
    Campaign,
    Click,
    Conversion,
    DiscountCode,
    Influencer,
    Partnership,
    Refund,
    TrackedLink,
)
from api.models.events import AttributedVia, ConversionStatus, RefundStatus, UnattributedReason
from tracker.conversions import (
    ConversionEvent,
    FieldError,
    RefundEvent,
    ms_to_datetime,
    to_minor,
)


class Outcome(StrEnum):
    INSERTED = "INSERTED"
    DUPLICATE = "DUPLICATE"  # already in the database: a replay
    DEAD = "DEAD"  # cannot be recorded: goes to the dead letters with `reason`
    DEFER = "DEFER"  # its click may still be in the click stream: try again a bit later


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str | None = None


@dataclass
class Context:
    """What a batch shares: the time, a brand -> organization cache and whether a click that
    is not in the database yet may still arrive (`click_may_arrive`)."""

    now: datetime
    brands: dict[int, int | None] = field(default_factory=dict)
    click_may_arrive: Callable[[ConversionEvent], bool] = lambda _e: False

    def organization_of(self, session: Session, brand_id: int) -> int | None:
        if brand_id not in self.brands:
            self.brands[brand_id] = session.scalar(
                select(Brand.organization_id).where(Brand.id == brand_id)
            )
        return self.brands[brand_id]


def _norm_customer(value: str) -> str:
    return value.strip().casefold()


def _partnership_facts(session: Session, partnership_id: int) -> PartnershipFacts | None:
    row = session.execute(
        select(Campaign.status, Campaign.attribution_window_days, Influencer.customer_ids)
        .select_from(Partnership)
        .join(Campaign, Campaign.id == Partnership.campaign_id)
        .join(Influencer, Influencer.id == Partnership.influencer_id)
        .where(Partnership.id == partnership_id)
    ).first()
    if row is None:
        return None
    return PartnershipFacts(
        campaign_status=CampaignStatus(row.status),
        attribution_window_days=row.attribution_window_days,
        influencer_customer_ids=frozenset(_norm_customer(c) for c in row.customer_ids or []),
    )


def ingest_conversion(session: Session, event: ConversionEvent, ctx: Context) -> Result:
    organization_id = ctx.organization_of(session, event.brand_id)
    if organization_id is None:
        return Result(Outcome.DEAD, f"unknown brand {event.brand_id}")
    existing = session.scalars(
        select(Conversion).where(
            Conversion.brand_id == event.brand_id, Conversion.order_id == event.order_id
        )
    ).first()
    if existing is not None:
        return _compare(existing, event)

    occurred = ms_to_datetime(event.occurred_at_ms)
    click = None
    if event.click_id is not None:
        row = session.execute(
            select(Click.occurred_at, Click.partnership_id, Click.campaign_id, TrackedLink.brand_id)
            .join(TrackedLink, TrackedLink.id == Click.link_id)
            .where(Click.click_id == event.click_id)
        ).first()
        if row is None and ctx.click_may_arrive(event):
            return Result(Outcome.DEFER)
        if row is not None and row.brand_id == event.brand_id:  # never another brand's click
            click = ClickFacts(row.occurred_at, row.partnership_id, row.campaign_id)
    code = None
    if event.discount_code is not None:
        dc = session.scalars(
            select(DiscountCode).where(
                DiscountCode.brand_id == event.brand_id,
                DiscountCode.code == event.discount_code.upper(),
            )
        ).first()
        if dc is not None:
            code = DiscountCodeFacts(dc.partnership_id, dc.campaign_id, dc.active)
    facts: dict[int, PartnershipFacts] = {}
    for candidate in (click, code):
        if candidate is not None and candidate.partnership_id not in facts:
            found = _partnership_facts(session, candidate.partnership_id)
            if found is None:
                return Result(Outcome.DEAD, f"partnership {candidate.partnership_id} not found")
            facts[candidate.partnership_id] = found
    customer = _norm_customer(event.customer_id) if event.customer_id else None
    attribution = attribute(
        ConversionFacts(occurred, customer, event.click_id, event.discount_code),
        click,
        code,
        facts,
    )

    influencer_id = None
    if attribution.partnership_id is not None:
        # One conversion of a partnership at a time: the month's tier depends on the others.
        partnership = session.scalars(
            select(Partnership)
            .where(Partnership.id == attribution.partnership_id)
            .with_for_update(key_share=True)
        ).one()
        influencer_id = partnership.influencer_id
        status = ConversionStatus.HELD if attribution.on_hold else ConversionStatus.APPROVED
    else:
        status = ConversionStatus.UNATTRIBUTED
    new_id = insert_ignore(
        session,
        Conversion,
        {
            "organization_id": organization_id,
            "brand_id": event.brand_id,
            "order_id": event.order_id,
            "amount": event.amount,
            "currency": event.currency,
            "occurred_at": occurred,
            "received_at": ms_to_datetime(event.received_at_ms),
            "click_id": event.click_id,
            "discount_code": event.discount_code,
            "customer_id": event.customer_id,
            "partnership_id": attribution.partnership_id,
            "influencer_id": influencer_id,
            "campaign_id": attribution.campaign_id,
            "attributed_via": AttributedVia(attribution.via) if attribution.via else None,
            "unattributed_reason": (
                UnattributedReason(attribution.unattributed_reason)
                if attribution.unattributed_reason
                else None
            ),
            "status": status,
            "hold_reasons": [str(r) for r in attribution.hold_reasons],
            "event_id": event.event_id[:64],
            "created_at": ctx.now,
            "updated_at": ctx.now,
        },
        ["brand_id", "order_id"],
    )
    if new_id is None:  # another worker inserted it meanwhile
        existing = session.scalars(
            select(Conversion).where(
                Conversion.brand_id == event.brand_id, Conversion.order_id == event.order_id
            )
        ).one()
        return _compare(existing, event)
    conversion = session.get_one(Conversion, new_id)
    if status == ConversionStatus.APPROVED:
        try:
            credit_conversion(session, conversion, now=ctx.now)
        except CommissionError as exc:  # e.g. an order in another currency than the plan's
            conversion.status = ConversionStatus.HELD
            conversion.hold_reasons = [*conversion.hold_reasons, exc.code]
            conversion.review_reason = str(exc)
            session.flush()
    apply_waiting(session, event.brand_id, event.order_id, ctx.now)
    return Result(Outcome.INSERTED)


def _compare(existing: Conversion, event: ConversionEvent) -> Result:
    if (existing.amount, existing.currency) == (event.amount, event.currency):
        return Result(Outcome.DUPLICATE)
    return Result(
        Outcome.DEAD,
        f"order {event.order_id!r} is already recorded with {existing.amount} "
        f"{existing.currency} (minor units); this event says {event.amount} {event.currency}",
    )


def ingest_refund(session: Session, event: RefundEvent, ctx: Context) -> Result:
    organization_id = ctx.organization_of(session, event.brand_id)
    if organization_id is None:
        return Result(Outcome.DEAD, f"unknown brand {event.brand_id}")
    existing = session.scalars(
        select(Refund).where(Refund.brand_id == event.brand_id, Refund.refund_id == event.refund_id)
    ).first()
    if existing is None:
        new_id = insert_ignore(
            session,
            Refund,
            {
                "organization_id": organization_id,
                "brand_id": event.brand_id,
                "refund_id": event.refund_id,
                "order_id": event.order_id,
                "amount_decimal": event.amount_decimal,
                "currency": event.currency,
                "occurred_at": ms_to_datetime(event.occurred_at_ms),
                "received_at": ms_to_datetime(event.received_at_ms),
                "status": RefundStatus.WAITING,
                "event_id": event.event_id[:64],
                "created_at": ctx.now,
                "updated_at": ctx.now,
            },
            ["brand_id", "refund_id"],
        )
        if new_id is not None:
            apply_waiting(session, event.brand_id, event.order_id, ctx.now)
            return Result(Outcome.INSERTED)
        existing = session.scalars(
            select(Refund).where(
                Refund.brand_id == event.brand_id, Refund.refund_id == event.refund_id
            )
        ).one()
    if (existing.order_id, existing.amount_decimal) != (event.order_id, event.amount_decimal):
        return Result(
            Outcome.DEAD,
            f"refund {event.refund_id!r} is already recorded for order {existing.order_id!r} "
            f"with amount {existing.amount_decimal}; this event says {event.order_id!r} "
            f"{event.amount_decimal}",
        )
    return Result(Outcome.DUPLICATE)


def apply_waiting(session: Session, brand_id: int, order_id: str, now: datetime) -> int:
    """Applies the WAITING refunds of an order that is in the database, oldest first: each is
    APPLIED, or REJECTED with the reason (more than what is left of the order, or an amount the
    order's currency cannot express); then the commission's share is reversed. Returns how many
    refunds changed."""
    conversion = session.scalars(
        select(Conversion)
        .where(Conversion.brand_id == brand_id, Conversion.order_id == order_id)
        .with_for_update(key_share=True)
    ).first()
    if conversion is None:
        return 0
    waiting = session.scalars(
        select(Refund)
        .where(
            Refund.brand_id == brand_id,
            Refund.order_id == order_id,
            Refund.status == RefundStatus.WAITING,
        )
        .order_by(Refund.id)
        .with_for_update(key_share=True)
    ).all()
    if not waiting:
        return 0
    refunded = refunded_total(session, conversion.id)
    for refund in waiting:
        refund.conversion_id = conversion.id
        refund.updated_at = now
        try:
            if refund.currency is not None and refund.currency != conversion.currency:
                raise FieldError(
                    "currency",
                    f"the refund is in {refund.currency} but the order is in {conversion.currency}",
                )
            minor = to_minor(Decimal(refund.amount_decimal), conversion.currency)
        except FieldError as exc:
            refund.status = RefundStatus.REJECTED
            refund.reason = exc.message
            continue
        refund.amount = minor
        refund.currency = conversion.currency
        left = conversion.amount - refunded
        if minor > left:
            refund.status = RefundStatus.REJECTED
            refund.reason = (
                f"REFUND_EXCEEDS_ORDER: {refund.amount_decimal} {conversion.currency} is more "
                f"than the {left} (minor units) left to refund of an order of {conversion.amount}"
            )
            continue
        refund.status = RefundStatus.APPLIED
        refunded += minor
    session.flush()
    if conversion.status == ConversionStatus.APPROVED:
        sync_reversals(session, conversion, now=now)
    return len(waiting)


def sweep_waiting(session: Session, now: datetime, limit: int = 500) -> int:
    """Applies WAITING refunds whose order has arrived (the safety net of the worker)."""
    orders = session.execute(
        select(Refund.brand_id, Refund.order_id)
        .join(
            Conversion,
            (Conversion.brand_id == Refund.brand_id) & (Conversion.order_id == Refund.order_id),
        )
        .where(Refund.status == RefundStatus.WAITING)
        .distinct()
        .limit(limit)
    ).all()
    return sum(apply_waiting(session, b, o, now) for b, o in orders)


def lock_partnerships(session: Session, events: list[ConversionEvent | RefundEvent]) -> None:
    """Locks every partnership the batch's conversions may credit, in id order, before any is
    processed: concurrent workers then always take these locks in the same order (no deadlock)."""
    click_ids = {e.click_id for e in events if isinstance(e, ConversionEvent) and e.click_id}
    codes = {
        (e.brand_id, e.discount_code.upper())
        for e in events
        if isinstance(e, ConversionEvent) and e.discount_code
    }
    ids: set[int] = set()
    if click_ids:
        ids.update(
            session.scalars(select(Click.partnership_id).where(Click.click_id.in_(click_ids)))
        )
    for brand_id in {b for b, _ in codes}:
        wanted = [c for b, c in codes if b == brand_id]
        ids.update(
            session.scalars(
                select(DiscountCode.partnership_id).where(
                    DiscountCode.brand_id == brand_id, DiscountCode.code.in_(wanted)
                )
            )
        )
    if ids:
        session.scalars(
            select(Partnership.id)
            .where(Partnership.id.in_(sorted(ids)))
            .order_by(Partnership.id)
            .with_for_update(key_share=True)
        ).all()
