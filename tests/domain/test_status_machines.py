"""Every (source, target) pair of every status enum is checked against the declared tables."""

from __future__ import annotations

from enum import StrEnum
from itertools import product
from types import ModuleType

import pytest

from api.domain import campaign_status, deliverable_status, partnership_status
from api.domain.campaign_status import CampaignStatus as C
from api.domain.deliverable_status import DeliverableStatus as D
from api.domain.partnership_status import PartnershipStatus as P
from api.domain.state_machine import StateMachine, TransitionError

LEGAL: dict[ModuleType, set[tuple[StrEnum, StrEnum]]] = {
    campaign_status: {
        (C.DRAFT, C.ACTIVE),
        (C.DRAFT, C.CANCELLED),
        (C.ACTIVE, C.PAUSED),
        (C.ACTIVE, C.COMPLETED),
        (C.ACTIVE, C.CANCELLED),
        (C.PAUSED, C.ACTIVE),
        (C.PAUSED, C.CANCELLED),
        (C.PAUSED, C.COMPLETED),
    },
    partnership_status: {
        (P.INVITED, P.ACCEPTED),
        (P.INVITED, P.DECLINED),
        (P.INVITED, P.WITHDRAWN),
        (P.ACCEPTED, P.ACTIVE),
        (P.ACCEPTED, P.TERMINATED),
        (P.ACTIVE, P.COMPLETED),
        (P.ACTIVE, P.TERMINATED),
    },
    deliverable_status: {
        (D.DRAFT, D.SUBMITTED),
        (D.SUBMITTED, D.APPROVED),
        (D.SUBMITTED, D.CHANGES_REQUESTED),
        (D.CHANGES_REQUESTED, D.SUBMITTED),
        (D.APPROVED, D.PUBLISHED),
        (D.APPROVED, D.SUBMITTED),
    },
}
ENUMS: dict[ModuleType, type[StrEnum]] = {
    campaign_status: C,
    partnership_status: P,
    deliverable_status: D,
}
TERMINAL: dict[ModuleType, set[StrEnum]] = {
    campaign_status: {C.COMPLETED, C.CANCELLED},
    partnership_status: {P.DECLINED, P.COMPLETED, P.TERMINATED, P.WITHDRAWN},
    deliverable_status: {D.PUBLISHED},
}

PAIRS = [
    pytest.param(module, a, b, id=f"{module.__name__.rsplit('.', 1)[1]}:{a}->{b}")
    for module, enum in ENUMS.items()
    for a, b in product(enum, enum)
]


@pytest.mark.parametrize(("module", "source", "target"), PAIRS)
def test_every_pair_follows_the_table(module: ModuleType, source: StrEnum, target: StrEnum) -> None:
    legal = (source, target) in LEGAL[module]
    assert module.can_transition(source, target) is legal
    if legal:
        assert module.transition(source, target) is target
    else:
        with pytest.raises(TransitionError) as err:
            module.transition(source, target)
        assert err.value.source is source and err.value.target is target
        assert err.value.code == "INVALID_TRANSITION"


@pytest.mark.parametrize("module", list(ENUMS))
def test_terminal_states(module: ModuleType) -> None:
    for state in ENUMS[module]:
        assert module.is_terminal(state) is (state in TERMINAL[module])
        assert (module.allowed_targets(state) == ()) is (state in TERMINAL[module])


def test_error_message_lists_allowed_targets() -> None:
    with pytest.raises(TransitionError) as err:
        campaign_status.transition(C.DRAFT, C.PAUSED)
    assert str(err.value) == (
        "cannot change campaign status from DRAFT to PAUSED: "
        "from DRAFT a campaign can move to ACTIVE, CANCELLED"
    )
    assert err.value.allowed == ("ACTIVE", "CANCELLED")


def test_error_message_for_a_final_status() -> None:
    with pytest.raises(TransitionError, match="PUBLISHED is final"):
        deliverable_status.transition(D.PUBLISHED, D.SUBMITTED)


def test_only_an_unanswered_invitation_can_be_withdrawn() -> None:
    assert partnership_status.allowed_targets(P.INVITED) == (P.ACCEPTED, P.DECLINED, P.WITHDRAWN)
    with pytest.raises(TransitionError) as err:
        partnership_status.transition("ACCEPTED", "WITHDRAWN")
    assert str(err.value) == (
        "cannot change partnership status from ACCEPTED to WITHDRAWN: "
        "from ACCEPTED a partnership can move to ACTIVE, TERMINATED"
    )
    with pytest.raises(TransitionError, match="WITHDRAWN is final"):
        partnership_status.transition(P.WITHDRAWN, P.ACCEPTED)


def test_staying_put_is_not_a_transition() -> None:
    assert not partnership_status.can_transition(P.ACTIVE, P.ACTIVE)
    with pytest.raises(TransitionError):
        partnership_status.transition(P.ACTIVE, P.ACTIVE)


def test_string_values_from_the_database_are_accepted() -> None:
    assert campaign_status.transition("PAUSED", "ACTIVE") is C.ACTIVE
    assert campaign_status.allowed_targets("ACTIVE") == (C.PAUSED, C.COMPLETED, C.CANCELLED)


def test_unknown_status_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown campaign status 'LIVE'"):
        campaign_status.can_transition("LIVE", C.ACTIVE)


def test_a_table_must_cover_every_state() -> None:
    with pytest.raises(ValueError, match="no transition entry"):
        StateMachine("campaign", C, {C.DRAFT: frozenset({C.ACTIVE})})
