"""Partnership (influencer x campaign) lifecycle: INVITED -> ACCEPTED -> ACTIVE -> COMPLETED.

DECLINED (by the influencer, from INVITED), WITHDRAWN (by the brand, from INVITED: an invitation
not answered yet, also when its campaign is cancelled or completed) and TERMINATED (by either
side, once accepted) end it.
"""

from __future__ import annotations

from enum import StrEnum

from api.domain.state_machine import StateMachine, TransitionError

__all__ = [
    "PARTNERSHIP_STATUS",
    "PartnershipStatus",
    "TransitionError",
    "allowed_targets",
    "can_transition",
    "is_terminal",
    "transition",
]


class PartnershipStatus(StrEnum):
    INVITED = "INVITED"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"
    WITHDRAWN = "WITHDRAWN"


_S = PartnershipStatus
PARTNERSHIP_STATUS = StateMachine(
    "partnership",
    PartnershipStatus,
    {
        _S.INVITED: frozenset({_S.ACCEPTED, _S.DECLINED, _S.WITHDRAWN}),
        _S.ACCEPTED: frozenset({_S.ACTIVE, _S.TERMINATED}),
        _S.ACTIVE: frozenset({_S.COMPLETED, _S.TERMINATED}),
        _S.DECLINED: frozenset(),
        _S.COMPLETED: frozenset(),
        _S.TERMINATED: frozenset(),
        _S.WITHDRAWN: frozenset(),
    },
)


def can_transition(source: PartnershipStatus | str, target: PartnershipStatus | str) -> bool:
    return PARTNERSHIP_STATUS.can_transition(source, target)


def transition(
    source: PartnershipStatus | str, target: PartnershipStatus | str
) -> PartnershipStatus:
    """The new status, or TransitionError naming the statuses reachable from `source`."""
    return PARTNERSHIP_STATUS.transition(source, target)


def allowed_targets(source: PartnershipStatus | str) -> tuple[PartnershipStatus, ...]:
    return PARTNERSHIP_STATUS.allowed_targets(source)


def is_terminal(status: PartnershipStatus | str) -> bool:
    return PARTNERSHIP_STATUS.is_terminal(status)
