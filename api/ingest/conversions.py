"""Conversions and refunds into the database: attribution, commission, reversals.

Each function runs inside the caller's transaction and is idempotent: the unique constraints
(brand, order_id) of `conversion_keys` and (brand, refund_id) turn a replayed event into a
no-op, and the ledger's idempotency keys do the same for its entries.

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
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from api.domain import risk
from api.domain.attribution import (
    AttributionVia,
    ClickFacts,
    ConversionFacts,
    CustomerClaimFacts,
    DiscountCodeFacts,
    HoldReason,
    PartnershipFacts,
    RepeatOrders,
    attribute,
    claim_is_live,
)
from api.domain.campaign_status import CampaignStatus
from api.domain.coupon_sites import is_coupon_site
from api.domain.dimensions import referrer_host
from api.ledger.posting import (
    Terms,
    credit_conversions,
    insert_ignore,
    lock_influencers,
    post_refunds,
    terms_query,
)
from api.ledger.sql import insert_many_ignore
from api.models import (
    Brand,
    Campaign,
    Click,
    Conversion,
    ConversionKey,
    CustomerClaim,
    DiscountCode,
    Influencer,
    Partnership,
    PartnershipRisk,
    Refund,
    TrackedLink,
)
from api.models.events import AttributedVia, ConversionStatus, RefundStatus, UnattributedReason
from api.models.live_posts import commission_hold
from api.money import format_money
from api.webhooks import events as webhook_events
from api.webhooks.outbox import emit
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


@dataclass(frozen=True)
class ClickRow:
    occurred_at: datetime
    partnership_id: int
    campaign_id: int
    brand_id: int
    link_id: int
    country: str
    device: str
    referrer_host: str
    ip_hash: str | None


@dataclass
class Context:
    """What a batch shares: the time, caches, and whether a click that is not in the database
    yet may still arrive (`click_may_arrive`). `prefetch` loads, in a few queries, what the
    batch's conversions will look up one by one otherwise; a key that was prefetched and not
    found is not in the database (as of the prefetch, in this transaction)."""

    now: datetime
    brands: dict[int, int | None] = field(default_factory=dict)
    click_may_arrive: Callable[[ConversionEvent], bool] = lambda _e: False
    existing: dict[tuple[int, str], tuple[int, str]] = field(default_factory=dict)
    clicks: dict[str, ClickRow | None] = field(default_factory=dict)
    codes: dict[tuple[int, str], DiscountCodeFacts | None] = field(default_factory=dict)
    # (brand, customer key) -> its claim; a customer claimed by an order of this batch too
    claims: dict[tuple[int, str], CustomerClaimFacts | None] = field(default_factory=dict)
    # (brand, order) -> (customer, the claim its order makes, whether it replaces an old one)
    new_claims: dict[tuple[int, str], tuple[str, CustomerClaimFacts, bool]] = field(
        default_factory=dict
    )
    facts: dict[int, tuple[PartnershipFacts, int] | None] = field(default_factory=dict)
    rows: dict[int, Any] = field(default_factory=dict)
    terms_cache: dict[int, Terms] = field(default_factory=dict)
    waiting: set[tuple[int, str]] = field(default_factory=set)
    prefetched_orders: set[tuple[int, str]] = field(default_factory=set)

    def organization_of(self, session: Session, brand_id: int) -> int | None:
        if brand_id not in self.brands:
            self.brands[brand_id] = session.scalar(
                select(Brand.organization_id).where(Brand.id == brand_id)
            )
        return self.brands[brand_id]

    def prefetch(self, session: Session, events: list[ConversionEvent | RefundEvent]) -> None:
        """Loads, in one query each, the stored orders, clicks, discount codes, partnerships
        (the influencers of tiered plans locked: `lock_influencers`) and WAITING refunds the
        batch's events need."""
        orders = sorted({(e.brand_id, e.order_id) for e in events})
        order_ids = sorted({o for _, o in orders})
        wanted = set(orders)
        for start in range(0, len(order_ids), 500):
            chunk = order_ids[start : start + 500]
            for b, o, amount, currency in session.execute(
                select(
                    Conversion.brand_id, Conversion.order_id, Conversion.amount, Conversion.currency
                ).where(Conversion.order_id.in_(chunk))
            ):
                if (b, o) in wanted:
                    self.existing[(b, o)] = (amount, currency)
            for b, o in session.execute(
                select(Refund.brand_id, Refund.order_id).where(
                    Refund.order_id.in_(chunk), Refund.status == RefundStatus.WAITING
                )
            ):
                if (b, o) in wanted:
                    self.waiting.add((b, o))
        self.prefetched_orders.update(orders)
        conversions = [e for e in events if isinstance(e, ConversionEvent)]
        click_ids = sorted({e.click_id for e in conversions if e.click_id})
        for start in range(0, len(click_ids), 500):
            chunk = click_ids[start : start + 500]
            self.clicks.update(dict.fromkeys(chunk))
            for row in session.execute(
                select(Click.click_id, *_click_columns())
                .join(TrackedLink, TrackedLink.id == Click.link_id)
                .where(Click.click_id.in_(chunk))
            ):
                self.clicks[row.click_id] = ClickRow(*row[1:])
        codes = {(e.brand_id, e.discount_code.upper()) for e in conversions if e.discount_code}
        for brand_id in sorted({b for b, _ in codes}):
            names = sorted(c for b, c in codes if b == brand_id)
            self.codes.update(dict.fromkeys((brand_id, c) for c in names))
            for dc in session.execute(
                select(
                    DiscountCode.code,
                    DiscountCode.partnership_id,
                    DiscountCode.campaign_id,
                    DiscountCode.active,
                    DiscountCode.commission_bps,
                    DiscountCode.leak_suspected_at,
                ).where(DiscountCode.brand_id == brand_id, DiscountCode.code.in_(names))
            ):
                self.codes[(brand_id, dc.code)] = DiscountCodeFacts(
                    dc.partnership_id,
                    dc.campaign_id,
                    dc.active,
                    dc.commission_bps,
                    dc.leak_suspected_at is not None,
                )
        customers = {
            (e.brand_id, _norm_customer(e.customer_id)) for e in conversions if e.customer_id
        }
        for brand_id in sorted({b for b, _ in customers}):
            names = sorted(c for b, c in customers if b == brand_id)
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                self.claims.update(dict.fromkeys((brand_id, c) for c in chunk))
                for row in session.execute(
                    _claims_query().where(
                        CustomerClaim.brand_id == brand_id, CustomerClaim.customer_key.in_(chunk)
                    )
                ):
                    self.claims[(brand_id, row.customer_key)] = _claim_of(row)
        partnership_ids = (
            {c.partnership_id for c in self.clicks.values() if c}
            | {c.partnership_id for c in self.codes.values() if c}
            | {c.partnership_id for c in self.claims.values() if c}
        )
        if partnership_ids:
            self.facts.update(dict.fromkeys(partnership_ids))
            for row in session.execute(_facts_query().where(Partnership.id.in_(partnership_ids))):
                self.facts[row.id] = (_facts_of(row), row.influencer_id)
                self.rows[row.id] = row
            # Before any conversion is priced, all at once and in id order: tiered plans price
            # one conversion of an influencer at a time (no two workers lock in other orders).
            lock_influencers(session, (row.influencer_id for row in self._tiered()))

    def click(self, session: Session, click_id: str) -> ClickRow | None:
        if click_id not in self.clicks:
            row = session.execute(
                select(*_click_columns())
                .join(TrackedLink, TrackedLink.id == Click.link_id)
                .where(Click.click_id == click_id)
            ).first()
            self.clicks[click_id] = ClickRow(*row) if row is not None else None
        return self.clicks[click_id]

    def code(self, session: Session, brand_id: int, code: str) -> DiscountCodeFacts | None:
        key = (brand_id, code.upper())
        if key not in self.codes:
            dc = session.scalars(
                select(DiscountCode).where(
                    DiscountCode.brand_id == brand_id, DiscountCode.code == key[1]
                )
            ).first()
            self.codes[key] = (
                DiscountCodeFacts(
                    dc.partnership_id,
                    dc.campaign_id,
                    dc.active,
                    dc.commission_bps,
                    dc.leak_suspected_at is not None,
                )
                if dc
                else None
            )
        return self.codes[key]

    def claim(self, session: Session, brand_id: int, customer: str) -> CustomerClaimFacts | None:
        key = (brand_id, customer)
        if key not in self.claims:
            row = session.execute(
                _claims_query().where(
                    CustomerClaim.brand_id == brand_id, CustomerClaim.customer_key == customer
                )
            ).first()
            self.claims[key] = _claim_of(row) if row is not None else None
        return self.claims[key]

    def repeat_rule(self, partnership_id: int) -> tuple[RepeatOrders, int | None]:
        """The repeat-order rule of a loaded partnership's campaign."""
        row = self.rows[partnership_id]
        return RepeatOrders(row.repeat_orders), row.repeat_months

    def partnership(
        self, session: Session, partnership_id: int
    ) -> tuple[PartnershipFacts, int] | None:
        if partnership_id not in self.facts:
            row = session.execute(_facts_query().where(Partnership.id == partnership_id)).first()
            self.facts[partnership_id] = (_facts_of(row), row.influencer_id) if row else None
            if row is not None:
                self.rows[partnership_id] = row
                lock_influencers(session, (r.influencer_id for r in self._tiered(partnership_id)))
        return self.facts[partnership_id]

    def _tiered(self, *partnership_ids: int) -> list[Any]:
        """The loaded partnership rows (or those of `partnership_ids`) with a tiered plan."""
        ids = partnership_ids or tuple(self.rows)
        tiered = []
        for pid in ids:
            terms = self.terms(pid)
            if terms is not None and terms.plan is not None and terms.plan.is_tiered:
                tiered.append(self.rows[pid])
        return tiered

    def terms(self, partnership_id: int) -> Terms | None:
        """The partnership's crediting terms from the prefetched row (None: load them)."""
        if partnership_id not in self.terms_cache:
            row = self.rows.get(partnership_id)
            if row is None:
                return None
            self.terms_cache[partnership_id] = Terms.of(row)
        return self.terms_cache[partnership_id]

    def stored_order(
        self, session: Session, brand_id: int, order_id: str
    ) -> tuple[int, str] | None:
        key = (brand_id, order_id)
        if key in self.existing or key in self.prefetched_orders:
            return self.existing.get(key)
        row = session.execute(
            select(Conversion.amount, Conversion.currency).where(
                Conversion.brand_id == brand_id, Conversion.order_id == order_id
            )
        ).first()
        return (row.amount, row.currency) if row else None

    def may_have_waiting(self, brand_id: int, order_id: str) -> bool:
        key = (brand_id, order_id)
        return key in self.waiting or key not in self.prefetched_orders


def _click_columns() -> tuple[Any, ...]:
    """What attribution needs of a stored click, in `ClickRow`'s order (join TrackedLink)."""
    return (
        Click.occurred_at,
        Click.partnership_id,
        Click.campaign_id,
        TrackedLink.brand_id,
        Click.link_id,
        Click.country,
        Click.device,
        Click.referrer_host,
        Click.ip_hash,
    )


def _norm_customer(value: str) -> str:
    return value.strip().casefold()


def _claims_query() -> Any:
    """A customer's claim with the repeat-order rule of the campaign that won them."""
    return select(
        CustomerClaim.customer_key,
        CustomerClaim.partnership_id,
        CustomerClaim.campaign_id,
        CustomerClaim.claimed_at,
        Campaign.repeat_orders,
        Campaign.repeat_months,
    ).join(Campaign, Campaign.id == CustomerClaim.campaign_id)


def _claim_of(row: Any) -> CustomerClaimFacts:
    return CustomerClaimFacts(
        row.partnership_id,
        row.campaign_id,
        row.claimed_at,
        RepeatOrders(row.repeat_orders),
        row.repeat_months,
    )


def _facts_query() -> Any:
    """What attribution and crediting read of a partnership: its terms, its campaign's status
    and window, its influencer's customer ids, its creator-risk and its brand's hold level."""
    return (
        terms_query()
        .add_columns(
            Campaign.status,
            Campaign.attribution_window_days,
            Campaign.repeat_orders,
            Campaign.repeat_months,
            Influencer.customer_ids,
            commission_hold(Partnership.id).label("live_post_breach"),
            PartnershipRisk.level.label("risk_level"),
            PartnershipRisk.score.label("risk_score"),
            PartnershipRisk.reasons.label("risk_reasons"),
            Brand.risk_hold_level,
        )
        .join(Influencer, Influencer.id == Partnership.influencer_id)
        .join(Brand, Brand.id == Campaign.brand_id)
        .outerjoin(PartnershipRisk, PartnershipRisk.partnership_id == Partnership.id)
    )


def _risk_hold(row: Any) -> bool:
    return bool(
        row.risk_hold_level
        and row.risk_level
        and risk.at_least(row.risk_level, row.risk_hold_level)
    )


def risk_hold_note(level: str, score: int, reasons: list[dict[str, Any]]) -> str:
    """What a reviewer reads on an order the creator-risk held: the level and its reasons."""
    said = "; ".join(f"{r['code']} (+{r['weight']}): {r['message']}" for r in reasons)
    return f"creator risk {level} ({score}/100): {said or 'no reasons recorded'}"[:2000]


def _facts_of(row: Any) -> PartnershipFacts:
    return PartnershipFacts(
        campaign_status=CampaignStatus(row.status),
        attribution_window_days=row.attribution_window_days,
        influencer_customer_ids=frozenset(_norm_customer(c) for c in row.customer_ids or []),
        live_post_breach=bool(row.live_post_breach),
        risk_hold=_risk_hold(row),
    )


def ingest_conversions(
    session: Session, events: list[ConversionEvent], ctx: Context
) -> list[Result]:
    """Records a batch of orders (in the order given: by the time they happened) and credits
    their commissions, in a few statements whatever the batch size: the orders in one INSERT,
    their commission entries in another, the performance rollups at commit. The result of each
    event, in the same order."""
    results: list[Result | None] = [None] * len(events)
    seen: dict[tuple[int, str], tuple[int, str]] = {}  # orders of this batch: the same twice
    pending: list[tuple[int, dict[str, Any]]] = []
    for i, event in enumerate(events):
        key = (event.brand_id, event.order_id)
        if key in seen:
            results[i] = _compare(seen[key], event)
            continue
        prepared = _prepare(session, event, ctx)
        if isinstance(prepared, Result):
            results[i] = prepared
            continue
        seen[key] = (event.amount, event.currency)
        pending.append((i, prepared))

    # The orders' keys first (`ConversionKey`: unique by brand and order id across every
    # month), then the rows of the orders whose key is new, under the key's id.
    table = ConversionKey.__table__
    inserted = {
        (b, o): new_id
        for new_id, b, o in insert_many_ignore(
            session,
            ConversionKey,
            [
                {k: values[k] for k in ("brand_id", "order_id", "occurred_at")}
                for _, values in pending
            ],
            ["brand_id", "order_id"],
            [table.c.id, table.c.brand_id, table.c.order_id],
        )
    }
    rows = [
        {**values, "id": inserted[(values["brand_id"], values["order_id"])]}
        for _, values in pending
        if (values["brand_id"], values["order_id"]) in inserted
    ]
    if rows:
        session.connection().execute(insert(Conversion), rows)
    credited: list[Conversion] = []
    for i, values in pending:
        event = events[i]
        key = (event.brand_id, event.order_id)
        new_id = inserted.get(key)
        if new_id is None:  # another worker stored it meanwhile
            ctx.prefetched_orders.discard(key)
            ctx.existing.pop(key, None)
            stored = ctx.stored_order(session, event.brand_id, event.order_id)
            assert stored is not None
            results[i] = _compare(stored, event)
            continue
        ctx.existing[key] = (event.amount, event.currency)
        results[i] = Result(Outcome.INSERTED)
        _announce(session, values, new_id)
        if values["status"] == ConversionStatus.APPROVED:
            # A detached copy of the row just inserted: what crediting reads, without a SELECT.
            credited.append(Conversion(id=new_id, **values))
    _store_claims(
        session,
        ctx,
        [(events[i], inserted.get((events[i].brand_id, events[i].order_id))) for i, _ in pending],
    )
    credit_conversions(session, credited, now=ctx.now, terms=ctx.terms, new=True)
    for i, _values in pending:
        event = events[i]
        if results[i] == Result(Outcome.INSERTED) and ctx.may_have_waiting(
            event.brand_id, event.order_id
        ):
            apply_waiting(session, event.brand_id, event.order_id, ctx.now)
    answered = [r for r in results if r is not None]
    assert len(answered) == len(events)  # every event got its answer above
    return answered


def _store_claims(
    session: Session, ctx: Context, stored: list[tuple[ConversionEvent, int | None]]
) -> None:
    """Writes the customer claims the batch's new orders make: new claims in one INSERT that
    ignores a claim another worker made meanwhile (the first stays), expired ones replaced."""
    fresh: list[dict[str, Any]] = []
    replaced: list[dict[str, Any]] = []
    for event, conversion_id in stored:
        made = ctx.new_claims.pop((event.brand_id, event.order_id), None)
        if made is None or conversion_id is None:
            continue
        customer, claim, replaces = made
        values = {
            "organization_id": ctx.brands[event.brand_id],
            "brand_id": event.brand_id,
            "customer_key": customer[:128],
            "partnership_id": claim.partnership_id,
            "campaign_id": claim.campaign_id,
            "conversion_id": conversion_id,
            "claimed_at": claim.claimed_at,
        }
        (replaced if replaces else fresh).append(values)
    if fresh:
        table = CustomerClaim.__table__
        insert_many_ignore(
            session, CustomerClaim, fresh, ["brand_id", "customer_key"], [table.c.id]
        )
    for values in replaced:
        session.execute(
            update(CustomerClaim)
            .where(
                CustomerClaim.brand_id == values["brand_id"],
                CustomerClaim.customer_key == values["customer_key"],
            )
            .values(
                partnership_id=values["partnership_id"],
                campaign_id=values["campaign_id"],
                conversion_id=values["conversion_id"],
                claimed_at=values["claimed_at"],
            )
        )


def _announce(session: Session, values: dict[str, Any], conversion_id: int) -> None:
    """Owes webhooks the new order (`conversion.created`, and `conversion.held` when it is
    held for review); one whose plan cannot price it is held later, by `credit_conversions`."""

    def data() -> dict[str, Any]:
        return {"conversion": webhook_events.conversion(values, conversion_id)}

    emit(session, "conversion.created", values["organization_id"], data)
    if values["status"] == ConversionStatus.HELD:
        emit(session, "conversion.held", values["organization_id"], data)


def ingest_conversion(session: Session, event: ConversionEvent, ctx: Context) -> Result:
    """One order: `ingest_conversions` of a batch of one."""
    return ingest_conversions(session, [event], ctx)[0]


def _prepare(session: Session, event: ConversionEvent, ctx: Context) -> Result | dict[str, Any]:
    """The row to insert for a new order (attributed, or with the reason it is not), or the
    event's result when there is none to insert (a duplicate, a conflict, a click to wait for)."""
    organization_id = ctx.organization_of(session, event.brand_id)
    if organization_id is None:
        return Result(Outcome.DEAD, f"unknown brand {event.brand_id}")
    stored = ctx.stored_order(session, event.brand_id, event.order_id)
    if stored is not None:
        return _compare(stored, event)

    occurred = ms_to_datetime(event.occurred_at_ms)
    click = None
    click_link = None
    click_ip = None
    dims = ("", "", "")
    if event.click_id is not None:
        row = ctx.click(session, event.click_id)
        if row is None and ctx.click_may_arrive(event):
            return Result(Outcome.DEFER)
        if row is not None and row.brand_id == event.brand_id:  # never another brand's click
            click = ClickFacts(row.occurred_at, row.partnership_id, row.campaign_id)
            click_link = row.link_id
            click_ip = row.ip_hash
            dims = (row.country, row.device, row.referrer_host)
    code = None
    if event.discount_code is not None:
        code = ctx.code(session, event.brand_id, event.discount_code)
    customer = _norm_customer(event.customer_id) if event.customer_id else None
    claim = ctx.claim(session, event.brand_id, customer) if customer else None
    facts: dict[int, PartnershipFacts] = {}
    influencers: dict[int, int] = {}
    for candidate in (click, code, claim):
        if candidate is not None and candidate.partnership_id not in facts:
            found = ctx.partnership(session, candidate.partnership_id)
            if found is None:
                return Result(Outcome.DEAD, f"partnership {candidate.partnership_id} not found")
            facts[candidate.partnership_id], influencers[candidate.partnership_id] = found
    attribution = attribute(
        ConversionFacts(occurred, customer, event.click_id, event.discount_code),
        click,
        code,
        facts,
        claim,
    )
    if attribution.partnership_id is not None:
        influencer_id = influencers[attribution.partnership_id]
        status = ConversionStatus.HELD if attribution.on_hold else ConversionStatus.APPROVED
    else:
        influencer_id = None
        status = ConversionStatus.UNATTRIBUTED
    if customer and status == ConversionStatus.APPROVED and not attribution.repeat:
        assert attribution.partnership_id is not None and attribution.campaign_id is not None
        if claim is None or not claim_is_live(claim, occurred):
            # The customer's first credited order (or the first since their claim ran out)
            # claims them; later orders of the batch see the claim at once.
            new = CustomerClaimFacts(
                attribution.partnership_id,
                attribution.campaign_id,
                occurred,
                *ctx.repeat_rule(attribution.partnership_id),
            )
            ctx.claims[(event.brand_id, customer)] = new
            ctx.new_claims[(event.brand_id, event.order_id)] = (customer, new, claim is not None)
    code_rate = code.commission_bps if code is not None else None
    via_click = attribution.via == AttributedVia.CLICK
    order_host = _order_referrer_host(event.referrer)
    leak = risk.leaked_order_reason(
        via_code=attribution.via == AttributionVia.DISCOUNT_CODE,
        referrer_host=order_host,
        is_coupon_site=is_coupon_site(order_host),
        code_suspected=code is not None and code.leak_suspected,
    )
    review_reason = None
    if HoldReason.RISK_SCORE in attribution.hold_reasons:
        assert attribution.partnership_id is not None
        row = ctx.rows[attribution.partnership_id]
        review_reason = risk_hold_note(row.risk_level, row.risk_score, row.risk_reasons or [])
    return {
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
        "link_id": click_link if attribution.via == AttributedVia.CLICK else None,
        # The click's dimensions when attributed through it (`api.domain.dimensions`).
        **dict(
            zip(
                ("country", "device", "referrer_host"),
                dims if attribution.via == AttributedVia.CLICK else ("", "", ""),
                strict=True,
            )
        ),
        "attributed_via": AttributedVia(attribution.via) if attribution.via else None,
        "unattributed_reason": (
            UnattributedReason(attribution.unattributed_reason)
            if attribution.unattributed_reason
            else None
        ),
        "status": status,
        "hold_reasons": [str(r) for r in attribution.hold_reasons],
        "repeat": attribution.repeat,
        "commission_bps": code_rate if attribution.via == AttributionVia.DISCOUNT_CODE else None,
        "click_seconds": (
            int((occurred - click.clicked_at).total_seconds())
            if via_click and click is not None
            else None
        ),
        "ip_hash": click_ip if via_click else None,
        "order_referrer_host": order_host,
        "leak_reason": leak,
        "review_reason": review_reason,
        "reviewed_at": None,
        "reviewed_by": None,
        "event_id": event.event_id[:64],
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }


def _order_referrer_host(referrer: str | None) -> str:
    """The host of the postback's `referrer`, a URL or a bare host ('' when absent)."""
    if not referrer:
        return ""
    return referrer_host(referrer if "://" in referrer else f"https://{referrer}")


def _compare(stored: tuple[int, str], event: ConversionEvent) -> Result:
    if stored == (event.amount, event.currency):
        return Result(Outcome.DUPLICATE)
    return Result(
        Outcome.DEAD,
        f"order {event.order_id!r} is already recorded with {format_money(*stored)}; this event "
        f"says {format_money(event.amount, event.currency)}",
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
            if not apply_waiting(session, event.brand_id, event.order_id, ctx.now):
                ctx.waiting.add((event.brand_id, event.order_id))  # for its order, later
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
    refunds = session.scalars(
        select(Refund)
        .where(
            Refund.brand_id == brand_id,
            Refund.order_id == order_id,
            Refund.status.in_([RefundStatus.WAITING, RefundStatus.APPLIED]),
        )
        .order_by(Refund.id)
        .with_for_update(key_share=True)
    ).all()
    waiting = [r for r in refunds if r.status == RefundStatus.WAITING]
    if not waiting:
        return 0
    refunded = sum(r.amount or 0 for r in refunds if r.status == RefundStatus.APPLIED)
    applied: list[int] = []
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
            currency = conversion.currency
            refund.reason = (
                f"REFUND_EXCEEDS_ORDER: {format_money(minor, currency)} is more than the "
                f"{format_money(left, currency)} left to refund of order {order_id} "
                f"({format_money(conversion.amount, currency)})"
            )
            continue
        refund.status = RefundStatus.APPLIED
        refunded += minor
        applied.append(minor)
    session.flush()
    post_refunds(session, conversion, applied, now=now)
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
