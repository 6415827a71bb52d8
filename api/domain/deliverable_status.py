"""Deliverable (a piece of content owed by a partnership) review cycle.

DRAFT -> SUBMITTED -> APPROVED -> PUBLISHED, with CHANGES_REQUESTED -> SUBMITTED rounds.
APPROVED -> SUBMITTED is allowed: the creator may submit a new version after approval (a fixed
typo, a re-cut video); the new version needs approval again, so an approval always covers the
version that gets published. PUBLISHED is final: edits to live content are a new deliverable.
"""

from __future__ import annotations

from enum import StrEnum

from api.domain.state_machine import StateMachine, TransitionError

__all__ = [
    "DELIVERABLE_STATUS",
    "DeliverableStatus",
    "TransitionError",
    "allowed_targets",
    "can_transition",
    "is_terminal",
    "transition",
]


class DeliverableStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    APPROVED = "APPROVED"
    PUBLISHED = "PUBLISHED"


_S = DeliverableStatus
DELIVERABLE_STATUS = StateMachine(
    "deliverable",
    DeliverableStatus,
    {
        _S.DRAFT: frozenset({_S.SUBMITTED}),
        _S.SUBMITTED: frozenset({_S.APPROVED, _S.CHANGES_REQUESTED}),
        _S.CHANGES_REQUESTED: frozenset({_S.SUBMITTED}),
        _S.APPROVED: frozenset({_S.PUBLISHED, _S.SUBMITTED}),
        _S.PUBLISHED: frozenset(),
    },
)


def can_transition(source: DeliverableStatus | str, target: DeliverableStatus | str) -> bool:
    return DELIVERABLE_STATUS.can_transition(source, target)


def transition(
    source: DeliverableStatus | str, target: DeliverableStatus | str
) -> DeliverableStatus:
    """The new status, or TransitionError naming the statuses reachable from `source`."""
    return DELIVERABLE_STATUS.transition(source, target)


def allowed_targets(source: DeliverableStatus | str) -> tuple[DeliverableStatus, ...]:
    return DELIVERABLE_STATUS.allowed_targets(source)


def is_terminal(status: DeliverableStatus | str) -> bool:
    return DELIVERABLE_STATUS.is_terminal(status)
