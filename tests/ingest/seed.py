"""Rows and events for the ingest tests: a brand with campaigns, partnerships, links and codes."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from api.domain.commission import Commission, CommissionKind, CompensationPlan, Tier
from api.models import (
    Brand,
    Campaign,
    DiscountCode,
    Influencer,
    Organization,
    Partnership,
    TrackedLink,
)
from tracker.conversions import ConversionEvent, RefundEvent
from tracker.events import KIND_CLICK, KIND_ORPHAN, ClickEvent, new_id

_seq = itertools.count(1)


def percent(bps: int = 1000, currency: str = "EUR", **kw: Any) -> dict[str, Any]:
    return CompensationPlan(
        currency=currency, commission=Commission(CommissionKind.PERCENT, bps=bps), **kw
    ).to_dict()


def tiered(tiers: list[tuple[int, int]], currency: str = "EUR") -> dict[str, Any]:
    return CompensationPlan(
        currency=currency,
        commission=Commission(CommissionKind.TIERED, tiers=tuple(Tier(m, b) for m, b in tiers)),
    ).to_dict()


@dataclass
class Partner:
    """A partnership with its link and discount code."""

    partnership_id: int
    influencer_id: int
    campaign_id: int
    link_id: int
    link_code: str
    discount_code: str


@dataclass
class World:
    org_id: int
    brand_id: int
    partners: list[Partner] = field(default_factory=list)

    @property
    def p(self) -> Partner:
        return self.partners[0]


def world(
    session: Session,
    *,
    plan: dict[str, Any] | None = None,
    partners: int = 1,
    hold_days: int = 30,
    window_days: int = 30,
    campaign_status: str = "ACTIVE",
    customer_ids: list[str] | None = None,
    code_active: bool = True,
    currency: str = "EUR",
) -> World:
    n = next(_seq)
    org = Organization(name=f"Org {n}")
    session.add(org)
    session.flush()
    brand = Brand(organization_id=org.id, name=f"Brand {n}", default_currency=currency)
    session.add(brand)
    session.flush()
    w = World(org.id, brand.id)
    campaign = add_campaign(
        session,
        w,
        plan=plan if plan is not None else percent(currency=currency),
        status=campaign_status,
        hold_days=hold_days,
        window_days=window_days,
        currency=currency,
    )
    for _ in range(partners):
        add_partner(session, w, campaign, customer_ids=customer_ids, code_active=code_active)
    session.commit()
    return w


def add_campaign(
    session: Session,
    w: World,
    *,
    plan: dict[str, Any],
    status: str = "ACTIVE",
    hold_days: int = 30,
    window_days: int = 30,
    currency: str = "EUR",
) -> Campaign:
    campaign = Campaign(
        organization_id=w.org_id,
        brand_id=w.brand_id,
        name=f"Campaign {next(_seq)}",
        objective="CONVERSIONS",
        status=status,
        currency=currency,
        landing_url="https://shop.example.com/",
        hold_days=hold_days,
        attribution_window_days=window_days,
        compensation=plan,
    )
    session.add(campaign)
    session.flush()
    return campaign


def add_partner(
    session: Session,
    w: World,
    campaign: Campaign,
    *,
    customer_ids: list[str] | None = None,
    code_active: bool = True,
    override: dict[str, Any] | None = None,
    influencer_id: int | None = None,
) -> Partner:
    """A partnership (of a new influencer, or of `influencer_id`) with a link and a code."""
    n = next(_seq)
    if influencer_id is None:
        influencer = Influencer(
            organization_id=w.org_id, name=f"Creator {n}", customer_ids=customer_ids or []
        )
        session.add(influencer)
        session.flush()
        influencer_id = influencer.id
    partnership = Partnership(
        organization_id=w.org_id,
        campaign_id=campaign.id,
        influencer_id=influencer_id,
        status="ACTIVE",
        connection="AFFILIATE",
        compensation_override=override,
    )
    session.add(partnership)
    session.flush()
    link = TrackedLink(
        organization_id=w.org_id,
        brand_id=w.brand_id,
        campaign_id=campaign.id,
        partnership_id=partnership.id,
        code=f"L{n}x{w.brand_id}",
        destination_url="https://shop.example.com/",
    )
    session.add(link)
    code = DiscountCode(
        organization_id=w.org_id,
        brand_id=w.brand_id,
        campaign_id=campaign.id,
        partnership_id=partnership.id,
        code=f"SAVE{n}",
        percent_off_bps=1000,
        active=code_active,
    )
    session.add(code)
    session.flush()
    partner = Partner(
        partnership.id, influencer_id, campaign.id, link.id, link.code or "", code.code
    )
    w.partners.append(partner)
    return partner


def now_ms() -> int:
    return int(time.time() * 1000)


def click(
    w: World,
    partner: Partner | None = None,
    *,
    ts_ms: int | None = None,
    event_id: str | None = None,
    click_id: str | None = None,
    bot: bool = False,
    unique: bool = True,
) -> ClickEvent:
    p = partner or w.p
    ts = ts_ms if ts_ms is not None else now_ms()
    eid = event_id or new_id(ts)
    return ClickEvent(
        kind=KIND_CLICK,
        event_id=eid,
        click_id=click_id or eid,
        code=p.link_code,
        ts=ts,
        ip="203.0.113.0",
        ip_hash="ab" * 32,
        user_agent="Mozilla/5.0",
        referer="https://instagram.com/",
        bot=bot,
        unique=unique,
        link_id=p.link_id,
        partnership_id=p.partnership_id,
        campaign_id=p.campaign_id,
        brand_id=w.brand_id,
        organization_id=w.org_id,
    )


def orphan(code: str, ts_ms: int | None = None) -> ClickEvent:
    ts = ts_ms if ts_ms is not None else now_ms()
    return ClickEvent(
        kind=KIND_ORPHAN, event_id=new_id(ts), click_id="", code=code, ts=ts, ip="", ip_hash=""
    )


def conversion(
    w: World,
    order_id: str,
    amount: int,
    *,
    click_id: str | None = None,
    code: str | None = None,
    occurred: datetime | int | None = None,
    customer_id: str | None = None,
    currency: str = "EUR",
) -> ConversionEvent:
    if isinstance(occurred, datetime):
        occurred_ms = int(occurred.timestamp() * 1000)
    else:
        occurred_ms = occurred if occurred is not None else now_ms()
    return ConversionEvent(
        event_id=new_id(),
        brand_id=w.brand_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        occurred_at_ms=occurred_ms,
        received_at_ms=now_ms(),
        click_id=click_id,
        discount_code=code,
        customer_id=customer_id,
    )


def refund(
    w: World, refund_id: str, order_id: str, amount: str, currency: str | None = None
) -> RefundEvent:
    return RefundEvent(
        event_id=new_id(),
        brand_id=w.brand_id,
        refund_id=refund_id,
        order_id=order_id,
        amount_decimal=amount,
        currency=currency,
        occurred_at_ms=now_ms(),
        received_at_ms=now_ms(),
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def rotate_secret(
    session: Session, brand_id: int, rds: Any, prefix: str, now: datetime | None = None
) -> str:
    """A new postback secret for the brand, committed and published as the API does."""
    from api.tracking import postback_secrets, publish

    secret = postback_secrets.rotate(session, brand_id, now=now)
    publish.mark(session, publish.BRAND_SECRETS, brand_id)
    session.commit()
    publish.publish_pending(session, rds, prefix=prefix, now=now)
    return secret
