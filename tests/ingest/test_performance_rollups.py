"""The performance rollup equals the sums over raw rows it replaces, after the worker, reviews,
refunds (early, partial, full, refused) and replays: per campaign, partnership, influencer and
link, in and out of a time range."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select

from api.db import utcnow
from api.finance.performance import Scope, performance
from api.ledger.posting import approve_conversion, reject_conversion
from api.ledger.rollups import hour_of
from api.models import Conversion, LedgerEntry, Refund
from api.models.events import ConversionStatus, RefundStatus
from tests.ingest import seed
from tests.ingest.helpers import drain, push

COMMISSION = ("COMMISSION", "REVERSAL", "CLAWBACK")


def _raw(session, scope: Scope, currency: str, start: datetime, end: datetime) -> tuple:
    """conversions, revenue net of refunds and commission, summed from the raw rows."""
    where = [
        Conversion.organization_id == scope.organization_id,
        Conversion.status == ConversionStatus.APPROVED,
        Conversion.currency == currency,
        Conversion.occurred_at >= start,
        Conversion.occurred_at < end,
    ]
    entry_where = [
        LedgerEntry.organization_id == scope.organization_id,
        LedgerEntry.currency == currency,
        LedgerEntry.created_at >= start,
        LedgerEntry.created_at < end,
        LedgerEntry.kind.in_(COMMISSION),
    ]
    for name in ("campaign_id", "partnership_id", "influencer_id", "link_id"):
        value = getattr(scope, name)
        if value is not None:
            where.append(getattr(Conversion, name) == value)
            if name == "link_id":
                entry_where.append(
                    LedgerEntry.conversion_id.in_(
                        select(Conversion.id).where(Conversion.link_id == value)
                    )
                )
            else:
                entry_where.append(getattr(LedgerEntry, name) == value)
    count, gross = session.execute(
        select(func.count(), func.coalesce(func.sum(Conversion.amount), 0)).where(*where)
    ).one()
    refunded = session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.status == RefundStatus.APPLIED,
            Refund.conversion_id.in_(select(Conversion.id).where(*where)),
        )
    )
    commission = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(*entry_where)
    )
    return int(count), int(gross) - int(refunded), int(commission)


def test_rollups_equal_the_raw_sums(rds, prefix, sessions, session):
    rng = random.Random(7)
    w = seed.world(session, partners=3, customer_ids=["self@example.com"])
    second = seed.add_campaign(session, w, plan=seed.percent(bps=1500))
    seed.add_partner(session, w, second, influencer_id=w.p.influencer_id)
    session.commit()
    now = seed.now_ms()
    events: list = []
    orders: list[tuple[str, int]] = []
    for n in range(60):
        partner = rng.choice(w.partners)
        ts = now - rng.randint(2, 72) * 3_600_000
        click = seed.click(w, partner, ts_ms=ts)
        events.append(click)
        amount = rng.randint(100, 50_000)
        order = f"o-{n}"
        how = rng.random()
        if how < 0.45:
            events.append(
                seed.conversion(w, order, amount, click_id=click.event_id, occurred=ts + 60_000)
            )
        elif how < 0.85:
            events.append(
                seed.conversion(w, order, amount, code=partner.discount_code, occurred=ts + 5_000)
            )
        else:  # self-referral: held for review
            events.append(
                seed.conversion(
                    w, order, amount, code=partner.discount_code, customer_id="self@example.com"
                )
            )
        orders.append((order, amount))
    for i, (order, amount) in enumerate(orders):
        if i % 3 == 0:  # partial refunds, a full one, one too big, one before its order
            events.append(seed.refund(w, f"r-{i}", order, f"{amount // 300}.{amount % 100:02d}"))
        if i % 7 == 0:
            events.append(seed.refund(w, f"r-full-{i}", order, "999999.00"))
    early = seed.refund(w, "r-early", "o-late", "10.00")
    push(rds, prefix, early, *events)
    drain(rds, sessions, prefix)
    push(rds, prefix, seed.conversion(w, "o-late", 5_000, code=w.p.discount_code))
    drain(rds, sessions, prefix)
    push(rds, prefix, *events)  # a replay of everything: counts nothing
    drain(rds, sessions, prefix)

    session.expire_all()
    held = session.scalars(select(Conversion).where(Conversion.status == "HELD")).all()
    assert held, "the sample has held conversions to review"
    for i, conversion in enumerate(held):
        if i % 2:
            approve_conversion(session, conversion, "reviewer")
        else:
            reject_conversion(session, conversion, "reviewer", "self-referral")
    approved = session.scalars(select(Conversion).where(Conversion.status == "APPROVED")).all()
    for conversion in approved[:5]:  # rejected after all: reversed
        reject_conversion(session, conversion, "reviewer", "fraud")
    session.commit()

    scopes = [
        Scope(w.org_id),
        Scope(w.org_id, campaign_id=w.p.campaign_id),
        Scope(w.org_id, campaign_id=second.id),
        *(Scope(w.org_id, partnership_id=p.partnership_id) for p in w.partners),
        *(Scope(w.org_id, influencer_id=p.influencer_id) for p in w.partners[:3]),
        *(Scope(w.org_id, link_id=p.link_id) for p in w.partners),
    ]
    end = hour_of(utcnow()) + timedelta(hours=1)  # hourly rollups: whole hours
    ranges = [
        (end - timedelta(days=10), end),
        (end - timedelta(hours=30), end - timedelta(hours=5)),
    ]
    checked = 0
    for scope in scopes:
        for start, stop in ranges:
            p = performance(session, scope, "EUR", start, stop)
            raw = _raw(session, scope, "EUR", start, stop)
            assert (p.conversions, p.revenue, p.commission) == raw, (scope, start, stop)
            checked += raw[0]
    assert checked > 0
