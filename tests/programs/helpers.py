"""Building a program with members, orders and refunds for the programs tests."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

from api.domain.commission import Commission, CommissionKind, CompensationPlan
from api.ledger.posting import credit_conversions, post_refunds
from api.models import Conversion, Refund, Retainer
from api.models.events import ConversionStatus, RefundStatus
from api.models.programs import LevelMetric, ProgramBonus, RetainerPeriod
from api.programs import service

_seq = itertools.count(1)


def plan(bps: int, currency: str = "EUR") -> CompensationPlan:
    return CompensationPlan(
        currency=currency, commission=Commission(kind=CommissionKind.PERCENT, bps=bps)
    )


def program_with_levels(db: Any, factory: Any, org: Any = None) -> dict[str, Any]:
    org = org or factory.org()
    brand = factory.brand(org)
    program = service.create_program(
        db,
        organization_id=org.id,
        brand_id=brand.id,
        name="Ambassadors",
        description="Our long-term creators",
        currency="EUR",
        landing_url="https://shop.example.com/",
        level_metric=LevelMetric.REVENUE,
        questions=[],
    )
    levels = [
        service.add_level(db, program, name="BRONZE", threshold=0, plan=plan(1000)),
        service.add_level(db, program, name="SILVER", threshold=50_000, plan=plan(1500)),
        service.add_level(db, program, name="GOLD", threshold=150_000, plan=plan(2000)),
    ]
    db.commit()
    return {"org": org, "brand": brand, "program": program, "levels": levels}


def member(db: Any, factory: Any, w: dict[str, Any], **kw: Any) -> Any:
    influencer = factory.influencer(w["org"])
    row = service.invite(db, w["program"], influencer.id, None)
    service.review(db, row, approve=True, reviewer="test", note=None, **kw)
    db.commit()
    return row


def revenue_bonus(db: Any, w: dict[str, Any], target: int, amount: int) -> ProgramBonus:
    bonus = ProgramBonus(
        organization_id=w["org"].id,
        program_id=w["program"].id,
        description=f"{target // 100} EUR of sales in a month",
        metric=LevelMetric.REVENUE,
        target=target,
        amount=amount,
        currency="EUR",
    )
    db.add(bonus)
    db.commit()
    return bonus


def order(db: Any, w: dict[str, Any], m: Any, amount: int, at: datetime) -> Conversion:
    """An approved order of the member at `at`, credited (commission, rollups) at `at`."""
    program = w["program"]
    row = Conversion.keyed(
        db,
        organization_id=w["org"].id,
        brand_id=w["brand"].id,
        order_id=f"p-{next(_seq)}",
        amount=amount,
        currency="EUR",
        occurred_at=at,
        received_at=at,
        status=ConversionStatus.APPROVED,
        partnership_id=m.partnership_id,
        influencer_id=m.influencer_id,
        campaign_id=program.campaign_id,
        hold_reasons=[],
    )
    db.add(row)
    db.flush()
    credit_conversions(db, [row], now=at)
    db.commit()
    return row


def refund(db: Any, conversion: Conversion, amount: int, at: datetime) -> Refund:
    row = Refund(
        organization_id=conversion.organization_id,
        brand_id=conversion.brand_id,
        refund_id=f"r-{next(_seq)}",
        order_id=conversion.order_id,
        conversion_id=conversion.id,
        amount_decimal=str(amount / 100),
        amount=amount,
        currency=conversion.currency,
        occurred_at=at,
        received_at=at,
        status=RefundStatus.APPLIED,
    )
    db.add(row)
    db.flush()
    post_refunds(db, conversion, [amount], now=at)
    db.commit()
    return row


def retainer(
    db: Any,
    m: Any,
    amount: int,
    starts_on: date,
    period: RetainerPeriod = RetainerPeriod.MONTHLY,
    ends_on: date | None = None,
) -> Retainer:
    row = Retainer(
        organization_id=m.organization_id,
        member_id=m.id,
        amount=amount,
        currency="EUR",
        period=period,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    db.add(row)
    db.commit()
    return row
