"""One-time links: a random token mailed to a person, stored as its SHA-256, used once within
a short expiry. SIGN_IN signs in; RESET sets a new password; INVITE sets a first password and
joins the organization the invitation was for."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.accounts.keys import hash_key
from api.db import utcnow
from api.models import UserToken

SIGN_IN: Final = "SIGN_IN"
RESET: Final = "RESET"
INVITE: Final = "INVITE"
# How long a mailed link works: long enough to open the mail, short enough to be no standing key.
LIFETIME: Final = {
    SIGN_IN: timedelta(minutes=15),
    RESET: timedelta(hours=1),
    INVITE: timedelta(days=7),
}


def issue(
    session: Session,
    user_id: int,
    purpose: str,
    *,
    organization_id: int | None = None,
    now: datetime | None = None,
) -> str:
    """A new token (its clear text, for the mail); only its hash is kept."""
    clear = secrets.token_urlsafe(32)
    now = now or utcnow()
    session.add(
        UserToken(
            user_id=user_id,
            purpose=purpose,
            organization_id=organization_id,
            token_hash=hash_key(clear),
            created_at=now,
            expires_at=now + LIFETIME[purpose],
        )
    )
    session.flush()
    return clear


def peek(
    session: Session, clear: str, purpose: str, *, now: datetime | None = None
) -> UserToken | None:
    """The token's row if it is valid (unused, unexpired, of this purpose), without using it:
    what a page shows before the person submits its form."""
    if not clear or len(clear) > 100:
        return None
    row = session.scalar(select(UserToken).where(UserToken.token_hash == hash_key(clear)))
    now = now or utcnow()
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= now:
        return None
    return row


def consume(
    session: Session, clear: str, purpose: str, *, now: datetime | None = None
) -> UserToken | None:
    """Uses the token: its row, or None when it is unknown, expired, used or of another
    purpose. The UPDATE's condition makes two concurrent uses one success."""
    now = now or utcnow()
    row = peek(session, clear, purpose, now=now)
    if row is None:
        return None
    done = session.execute(
        update(UserToken)
        .where(UserToken.id == row.id, UserToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        return None
    session.refresh(row)
    return row
