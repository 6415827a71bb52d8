"""Demo campaigns, their partnerships with influencers and the contracts of accepted ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from api.demo.catalog import BRANDS, CAMPAIGNS, CampaignSpec
from api.demo.influencers import InfluencerPlan
from api.demo.state import PartnershipRow, Seeding
from api.domain.commission import Commission, CommissionKind, PlanOverride
from api.models import Campaign, Contract, Partnership
from api.models.enums import CampaignObjective, MaterialConnection, UsageRights

DECLINE_NOTES = [
    "Fully booked until next quarter, sorry!",
    "Not quite the right fit for my audience.",
    "The rate doesn't work for me for this scope.",
    "I already work with a competing brand in this category.",
]


def seed_campaigns(state: Seeding) -> None:
    state.progress("campaigns", 0, len(CAMPAIGNS))
    for spec in CAMPAIGNS:
        brand = state.brands[spec.brand]
        brand_spec = BRANDS[spec.brand]
        assert brand.website is not None
        starts = state.days(spec.starts_in_days).replace(hour=8)
        campaign = Campaign(
            organization_id=brand.organization_id,
            brand_id=brand.id,
            name=spec.name,
            objective=spec.objective,
            brief=spec.brief,
            status=spec.status,
            starts_at=starts,
            ends_at=starts + timedelta(days=spec.runs_days),
            currency=brand.default_currency,
            budget_amount=spec.budget,
            landing_url=f"{brand.website}/{spec.path}",
            allowed_domains=[brand.website.removeprefix("https://www.")],
            required_hashtags=list(spec.hashtags),
            required_mentions=[brand_spec.mention.lstrip("@")],  # handles, as the API keeps them
            jurisdictions=list(spec.jurisdictions),
            required_labels=list(spec.required_labels),
            attribution_window_days=spec.attribution_window_days,
            hold_days=spec.hold_days,
            compensation=spec.plan.to_dict(),
            # Sales campaigns credit a customer's repeat orders for six months.
            repeat_orders="WITHIN_MONTHS"
            if spec.objective == CampaignObjective.CONVERSIONS
            else "FIRST_ORDER_ONLY",
            repeat_months=6 if spec.objective == CampaignObjective.CONVERSIONS else None,
            created_at=min(starts - timedelta(days=21), state.days(-state.rng.randint(3, 10))),
        )
        state.campaigns.append((spec, campaign))
    state.session.add_all([c for _, c in state.campaigns])
    state.session.flush()
    state.count("campaigns", len(state.campaigns))
    state.progress("campaigns", len(CAMPAIGNS), len(CAMPAIGNS))


def _statuses(campaign_status: str, n: int) -> list[str]:
    """Partnership statuses consistent with the campaign's."""
    if campaign_status == "DRAFT":
        return ["INVITED"] * n
    if campaign_status == "COMPLETED":
        return ["COMPLETED"] * n
    if campaign_status == "CANCELLED":  # the open invitations were withdrawn with it
        third = n // 3
        return ["TERMINATED"] * third + ["DECLINED"] * third + ["WITHDRAWN"] * (n - 2 * third)
    if campaign_status == "PAUSED":
        return ["INVITED"] * 2 + ["ACCEPTED"] * 2 + ["ACTIVE"] * (n - 4)
    declined, invited, accepted = round(n * 0.1), round(n * 0.15), round(n * 0.15)
    active = n - declined - invited - accepted
    return (
        ["DECLINED"] * declined
        + ["INVITED"] * invited
        + ["ACCEPTED"] * accepted
        + ["ACTIVE"] * active
    )


def seed_partnerships(state: Seeding) -> None:
    rng = state.rng
    total = sum(spec.partnerships for spec, _ in state.campaigns)
    state.progress("partnerships", 0, total)
    contracts: list[tuple[Partnership, Contract]] = []
    fakes_invited = 0
    for index, (spec, campaign) in enumerate(state.campaigns):
        org_index = BRANDS[spec.brand].org
        pool = [p for p in state.influencers if p.org == org_index and not p.fake]
        matching = [p for p in pool if spec.niches & set(p.niches)]
        others = [p for p in pool if not spec.niches & set(p.niches)]
        chosen = rng.sample(matching, k=min(spec.partnerships, len(matching)))
        chosen += rng.sample(others, k=spec.partnerships - len(chosen))
        statuses = _statuses(spec.status, spec.partnerships)
        rng.shuffle(statuses)
        if spec.status == "ACTIVE" and org_index == 0 and fakes_invited == 0:
            # Two planted fakes were invited before anyone checked their audience.
            fakes = [p for p in state.influencers if p.fake][:2]
            invited = [i for i, s in enumerate(statuses) if s == "INVITED"][: len(fakes)]
            for slot, fake in zip(invited, fakes, strict=False):
                chosen[slot] = fake
                fakes_invited += 1
        for plan, status in zip(chosen, statuses, strict=True):
            assert plan.model is not None
            invited_at = min(
                campaign.created_at + timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 9)),
                state.now - timedelta(hours=rng.randint(2, 48)),
            )
            responded = (
                None
                if status in ("INVITED", "WITHDRAWN")
                else min(invited_at + timedelta(hours=rng.randint(3, 120)), state.now)
            )
            partnership = Partnership(
                organization_id=campaign.organization_id,
                campaign_id=campaign.id,
                influencer_id=plan.model.id,
                status=status,
                connection=spec.connection,
                responded_at=responded,
                response_note=rng.choice(DECLINE_NOTES) if status == "DECLINED" else None,
                created_at=invited_at,
            )
            if status in ("ACCEPTED", "ACTIVE") and rng.random() < 0.08:
                partnership.compensation_override = _override(spec, plan)
            state.partnerships.append(PartnershipRow(spec, campaign, partnership, plan))
            if status in ("ACCEPTED", "ACTIVE", "COMPLETED", "TERMINATED"):
                contracts.append((partnership, _contract(state, spec, plan, responded)))
        state.progress(
            "partnerships", sum(s.partnerships for s, _ in state.campaigns[: index + 1]), total
        )
    state.session.add_all([row.partnership for row in state.partnerships])
    state.session.flush()
    for partnership, contract in contracts:
        contract.organization_id = partnership.organization_id
        contract.partnership_id = partnership.id
    state.session.add_all([c for _, c in contracts])
    state.session.flush()
    state.count("partnerships", len(state.partnerships))
    state.count("contracts", len(contracts))


def _override(spec: CampaignSpec, plan: InfluencerPlan) -> dict[str, Any]:
    """A negotiated exception: a bigger creator's higher fee or a better commission."""
    fee = spec.plan.flat_fee_per_deliverable_minor
    commission = spec.plan.commission
    if fee and max(a.followers for a in plan.accounts) >= 100_000:
        override = PlanOverride(flat_fee_per_deliverable_minor=fee * 3)
    elif commission.kind is CommissionKind.PERCENT and commission.bps is not None:
        override = PlanOverride(
            commission=Commission(CommissionKind.PERCENT, bps=commission.bps + 500)
        )
    else:
        override = PlanOverride(flat_fee_per_deliverable_minor=max(fee or 0, 10_000) * 2)
    return override.to_dict()


def _contract(
    state: Seeding, spec: CampaignSpec, plan: InfluencerPlan, accepted_at: datetime | None
) -> Contract:
    rng = state.rng
    category = BRANDS[spec.brand].category
    gifted = spec.connection is MaterialConnection.GIFTED
    if gifted:
        rights, days = UsageRights.ORGANIC, 90
    else:
        rights = rng.choice([UsageRights.ORGANIC, UsageRights.PAID_WHITELISTING])
        days = 90 if rights is UsageRights.ORGANIC else rng.choice([30, 60, 180])
    fee = spec.plan.flat_fee_per_deliverable_minor
    return Contract(
        version=1,
        deliverables_due=f"Content featuring the {spec.product}, live within 21 days of "
        "product delivery; drafts 5 working days before posting.",
        usage_rights=rights,
        usage_rights_days=days,
        usage_rights_regions=[j for j in spec.jurisdictions if j != "EU"] or ["US"],
        exclusivity_days=None if gifted else rng.choice([None, 30, 60]),
        exclusivity_categories=[] if gifted else [category],
        payment_terms_days=30,
        approval_rounds=2,
        kill_fee_amount=fee // 2 if fee else None,
        accepted_at=accepted_at,
        accepted_by=plan.model.email if plan.model and plan.model.email else plan.name,
        created_at=accepted_at - timedelta(hours=1) if accepted_at else state.now,
    )
