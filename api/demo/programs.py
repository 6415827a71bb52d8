"""A demo ambassador program: the first EUR brand's, three levels, four members (one moved up
last month by the rule, one applied and waiting), monthly retainers credited for the closed
months, a bonus in progress this month, and two gifted-product shipments."""

from __future__ import annotations

from datetime import timedelta

from api.demo.state import Seeding
from api.domain.commission import Commission, CommissionKind, CompensationPlan
from api.domain.program_forms import Question, QuestionKind
from api.ledger.posting import credit_conversions
from api.models import Conversion, DiscountCode, ProgramBonus, Retainer
from api.models.events import AttributedVia, ConversionStatus
from api.models.programs import LevelChangeReason, LevelMetric, RetainerPeriod
from api.programs import jobs, service, shipments

LEVELS = (("Bronze", 0, 800), ("Silver", 50_000, 1200), ("Gold", 200_000, 1500))


def _plan(bps: int) -> CompensationPlan:
    return CompensationPlan(
        currency="EUR", commission=Commission(kind=CommissionKind.PERCENT, bps=bps)
    )


def seed_programs(state: Seeding) -> None:
    session = state.session
    brand = next(b for b in state.brands if b.default_currency == "EUR")
    org_index = next(i for i, o in enumerate(state.orgs) if o.id == brand.organization_id)
    program = service.create_program(
        session,
        organization_id=brand.organization_id,
        brand_id=brand.id,
        name=f"{brand.name} Ambassadors",
        description="Our long-term creators: a monthly retainer, levels and bonuses.",
        currency="EUR",
        landing_url=(brand.website or "https://shop.example.com") + "/ambassadors",
        level_metric=LevelMetric.REVENUE,
        questions=[
            Question("audience", "Who is your audience?", QuestionKind.TEXT, True),
            Question("portfolio", "A post you are proud of", QuestionKind.URL),
        ],
    )
    levels = [
        service.add_level(session, program, name=name, threshold=threshold, plan=_plan(bps))
        for name, threshold, bps in LEVELS
    ]
    pool = [p.model for p in state.influencers if p.org == org_index and not p.fake and p.model]
    # The organization's INFLUENCER key's creator is the member moved up, with the bonus in
    # progress: what that key reads of its own membership.
    keyed = state.result.key_influencer_ids.get(brand.organization_id)
    pool.sort(key=lambda influencer: influencer.id != keyed)
    joined = state.days(-75)
    members = []
    for influencer in pool[:4]:
        member = service.invite(session, program, influencer.id, "Join our ambassadors")
        service.review(session, member, approve=True, reviewer="demo", note=None, now=joined)
        members.append(member)
    applicant = service.apply(
        session, program, pool[4].id, {"audience": "runners and hikers in the Alps"}
    )
    assert applicant is not None
    # Last month the first member sold enough for Silver: the rule moved it up.
    last_month = jobs.last_closed_month(state.now)
    service.move(
        session,
        members[0],
        levels[1],
        reason=LevelChangeReason.RULE,
        changed_by=jobs.JOB,
        month=last_month,
        measured=64_500,
        note=f"REVENUE in {last_month:%Y-%m}: 64500",
        now=state.now.replace(day=1, hour=2),
    )
    start = (state.now - timedelta(days=75)).date()
    for member, amount in zip(members[:3], (25_000, 15_000, 15_000), strict=True):
        session.add(
            Retainer(
                organization_id=member.organization_id,
                member_id=member.id,
                amount=amount,
                currency="EUR",
                period=RetainerPeriod.MONTHLY,
                starts_on=start,
            )
        )
    session.add(
        ProgramBonus(
            organization_id=program.organization_id,
            program_id=program.id,
            description="10 sales this month",
            metric=LevelMetric.CONVERSIONS,
            target=10,
            amount=5_000,
            currency="EUR",
        )
    )
    session.flush()
    credited = jobs.run_retainers(session, state.now.date(), now=state.now)
    # This month so far: six orders with the first member's code (its bonus is 6 of 10).
    code = DiscountCode(
        organization_id=program.organization_id,
        brand_id=brand.id,
        campaign_id=program.campaign_id,
        partnership_id=members[0].partnership_id,
        code="AMBASSADOR10",
        percent_off_bps=1500,
    )
    session.add(code)
    orders = []
    for n in range(6):
        at = max(state.now.replace(day=1, hour=9), state.now - timedelta(hours=30)) + timedelta(
            hours=n
        )
        at = min(at, state.now)
        orders.append(
            Conversion.keyed(
                session,
                organization_id=program.organization_id,
                brand_id=brand.id,
                order_id=f"AMB-{n + 1:04d}",
                amount=6_500 + 500 * n,
                currency="EUR",
                occurred_at=at,
                received_at=at,
                status=ConversionStatus.APPROVED,
                partnership_id=members[0].partnership_id,
                influencer_id=members[0].influencer_id,
                campaign_id=program.campaign_id,
                discount_code=code.code,
                attributed_via=AttributedVia.DISCOUNT_CODE,
                hold_reasons=[],
            )
        )
    session.add_all(orders)
    session.flush()
    credit_conversions(session, orders, now=state.now)
    # Two shipments of gifted product: one delivered, one on its way.
    for row, status in zip(state.partnerships[:2], ("DELIVERED", "SHIPPED"), strict=True):
        partnership = row.partnership
        shipment = shipments.create(
            session,
            partnership,
            product="Discovery kit",
            value=4_500,
            currency=row.campaign.currency,
            quantity=2,
            address=f"{row.influencer.name}\n12 Market Street\nDublin D02 X285",
            carrier="DHL",
            tracking_number=f"JD01460000{partnership.id:08d}",
            now=state.now,
        )
        shipments.move(shipment, shipments.ShipmentStatus.SHIPPED)
        if status == "DELIVERED":
            shipments.move(shipment, shipments.ShipmentStatus.DELIVERED)
    session.flush()
    state.count("programs", 1)
    state.count("program_members", len(members) + 1)
    state.count("retainer_periods", credited)
    state.count("shipments", 2)


__all__ = ["seed_programs"]
