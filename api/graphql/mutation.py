"""Running a mutation: one transaction, user errors instead of exceptions, effects after commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from api.graphql.context import Info
from api.graphql.errors import UserErrors, to_errors

P = TypeVar("P")
log = logging.getLogger("vouch.api")


def run_mutation(
    info: Info,
    payload: Callable[..., P],
    errors: tuple[Any, Any],
    body: Callable[[], dict[str, Any]],
) -> P:
    """Calls `body` (which returns the payload's fields) and commits; on `UserErrors` rolls back
    everything it did and returns the errors. `errors` is the domain's (ErrorType, CodeEnum)."""
    ctx = info.context
    session = ctx.session
    try:
        fields = body()
        session.commit()
    except UserErrors as exc:
        session.rollback()
        ctx.after_commit.clear()
        return payload(user_errors=to_errors(errors[0], errors[1], exc.problems))
    except Exception:
        session.rollback()
        ctx.after_commit.clear()
        raise
    ctx.clear_loaders()
    for effect in ctx.after_commit:
        try:
            effect()
        except Exception:  # the commit stands; republishing repairs a failed side effect
            log.exception("after-commit effect failed")
    ctx.after_commit.clear()
    return payload(user_errors=[], **fields)
