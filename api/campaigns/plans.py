"""The compensation plan in effect for a partnership, read from the stored JSON."""

from __future__ import annotations

from typing import Any

from api.domain import commission
from api.models import Campaign, Partnership


def effective_plan(
    campaign: Campaign, partnership: Partnership
) -> commission.CompensationPlan | None:
    """The campaign's plan merged with the partnership's override (None when neither has one)."""
    return effective_plan_of(
        campaign.compensation, campaign.currency, partnership.compensation_override
    )


def effective_plan_of(
    compensation: dict[str, Any] | None, currency: str, override: dict[str, Any] | None
) -> commission.CompensationPlan | None:
    """`effective_plan` from the stored JSON columns (what the ingest worker selects)."""
    if not compensation and not override:
        return None
    base = (
        commission.CompensationPlan.from_dict(compensation)
        if compensation
        else commission.CompensationPlan(currency=currency)
    )
    return commission.effective_plan(
        base, commission.PlanOverride.from_dict(override) if override else None
    )
