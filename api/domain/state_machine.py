"""A tiny state machine over a StrEnum: the legal transitions and nothing else.

Campaign, partnership and deliverable statuses each declare their transition table with it; the
database and GraphQL layers call `transition()` before writing a new status, and turn a
`TransitionError` into a userError (code `INVALID_TRANSITION`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)


class TransitionError(ValueError):
    """An illegal status change. The message names the allowed targets and is meant for users."""

    code = "INVALID_TRANSITION"

    def __init__(self, entity: str, source: StrEnum, target: StrEnum, allowed: tuple[str, ...]):
        self.entity = entity
        self.source = source
        self.target = target
        self.allowed = allowed
        if not allowed:
            detail = f"{source.value} is final"
        else:
            detail = f"from {source.value} a {entity} can move to {', '.join(allowed)}"
        super().__init__(
            f"cannot change {entity} status from {source.value} to {target.value}: {detail}"
        )


class StateMachine(Generic[S]):
    """The legal transitions of one status enum; states absent from the table are refused."""

    def __init__(self, entity: str, states: type[S], transitions: Mapping[S, frozenset[S]]):
        missing = set(states) - set(transitions)
        if missing:
            raise ValueError(f"{entity}: no transition entry for {sorted(missing)}")
        self.entity = entity
        self.states = states
        self._transitions = dict(transitions)

    def coerce(self, state: S | str) -> S:
        """The enum member for a member or its string value (as stored in the database)."""
        try:
            return self.states(state)
        except ValueError:
            names = ", ".join(s.value for s in self.states)
            raise ValueError(
                f"unknown {self.entity} status {state!r}: expected one of {names}"
            ) from None

    def allowed_targets(self, source: S | str) -> tuple[S, ...]:
        """Targets reachable in one step, in declaration order of the enum (stable for messages)."""
        targets = self._transitions[self.coerce(source)]
        return tuple(s for s in self.states if s in targets)

    def is_terminal(self, state: S | str) -> bool:
        return not self._transitions[self.coerce(state)]

    def can_transition(self, source: S | str, target: S | str) -> bool:
        return self.coerce(target) in self._transitions[self.coerce(source)]

    def transition(self, source: S | str, target: S | str) -> S:
        """Returns the new status, or raises TransitionError (staying put is not a transition)."""
        src, dst = self.coerce(source), self.coerce(target)
        if dst not in self._transitions[src]:
            allowed = tuple(s.value for s in self.allowed_targets(src))
            raise TransitionError(self.entity, src, dst, allowed)
        return dst
