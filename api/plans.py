"""The compensation plan in effect for a partnership, read from the stored JSON."""

from __future__ import annotations

from api.domain import commission
from api.models import Campaign, Partnership


def effective_plan(
    campaign: Campaign, partnership: Partnership
) -> commission.CompensationPlan | None:
    """The campaign's plan merged with the partnership's override (None when neither has one)."""
    override = (
        commission.PlanOverride.from_dict(partnership.compensation_override)
        if partnership.compensation_override
        else None
    )
    if campaign.compensation:
        base = commission.CompensationPlan.from_dict(campaign.compensation)
    elif override is not None:
        base = commission.CompensationPlan(currency=campaign.currency)
    else:
        return None
    return commission.effective_plan(base, override)
