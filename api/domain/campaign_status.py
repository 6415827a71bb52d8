"""Campaign lifecycle: DRAFT -> ACTIVE <-> PAUSED -> COMPLETED, or CANCELLED along the way."""

from __future__ import annotations

from enum import StrEnum

from api.domain.state_machine import StateMachine, TransitionError

__all__ = [
    "CAMPAIGN_STATUS",
    "CampaignStatus",
    "TransitionError",
    "allowed_targets",
    "can_transition",
    "is_terminal",
    "transition",
]


class CampaignStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


_S = CampaignStatus
CAMPAIGN_STATUS = StateMachine(
    "campaign",
    CampaignStatus,
    {
        _S.DRAFT: frozenset({_S.ACTIVE, _S.CANCELLED}),
        _S.ACTIVE: frozenset({_S.PAUSED, _S.COMPLETED, _S.CANCELLED}),
        _S.PAUSED: frozenset({_S.ACTIVE, _S.COMPLETED, _S.CANCELLED}),
        _S.COMPLETED: frozenset(),
        _S.CANCELLED: frozenset(),
    },
)


def can_transition(source: CampaignStatus | str, target: CampaignStatus | str) -> bool:
    return CAMPAIGN_STATUS.can_transition(source, target)


def transition(source: CampaignStatus | str, target: CampaignStatus | str) -> CampaignStatus:
    """The new status, or TransitionError naming the statuses reachable from `source`."""
    return CAMPAIGN_STATUS.transition(source, target)


def allowed_targets(source: CampaignStatus | str) -> tuple[CampaignStatus, ...]:
    return CAMPAIGN_STATUS.allowed_targets(source)


def is_terminal(status: CampaignStatus | str) -> bool:
    return CAMPAIGN_STATUS.is_terminal(status)
