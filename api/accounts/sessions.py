"""Sessions of people signed in: a random token in an HttpOnly cookie, stored as its SHA-256
with an expiry, in one organization; revocable one by one (sign out), all at once (sign out
everywhere, a new password) or for one organization (the user removed from it).

Every request reads the session's row with its user and membership, as every request reads its
API key's: a revoked session, or a removed membership, is refused by the very next request.

CSRF: a state-changing request authorized by the cookie must also carry `csrf_token(token)`,
an HMAC of the session's token. A page has it (it is in the HTML the server rendered for the
session); another site has neither the cookie's value nor the page, so it cannot make one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.accounts.keys import Viewer, hash_key
from api.db import utcnow
from api.models import Membership, User, UserSession
from api.settings import get_settings

COOKIE = "vouch_session"
MAX_TOKEN = 100


def create(
    session: Session, user_id: int, organization_id: int, *, now: datetime | None = None
) -> tuple[UserSession, str]:
    """A new session and its token (for the cookie), which is never stored."""
    now = now or utcnow()
    clear = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user_id,
        organization_id=organization_id,
        token_hash=hash_key(clear),
        created_at=now,
        expires_at=now + timedelta(hours=get_settings().session_hours),
    )
    session.add(row)
    session.flush()
    return row, clear


def csrf_token(token: str) -> str:
    """The token that pages put in their forms and scripts send as X-CSRF-Token."""
    return hmac.new(token.encode(), b"vouch csrf", hashlib.sha256).hexdigest()


def csrf_matches(token: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(token), presented or "")


def authenticate(
    session: Session, token: str | None, *, now: datetime | None = None
) -> Viewer | None:
    """The viewer of a session cookie: None when it is unknown, expired, revoked, or its user is
    no longer a member of the session's organization."""
    if not token or len(token) > MAX_TOKEN:
        return None
    now = now or utcnow()
    found = session.execute(
        select(UserSession, User, Membership)
        .join(User, User.id == UserSession.user_id)
        .join(
            Membership,
            (Membership.user_id == UserSession.user_id)
            & (Membership.organization_id == UserSession.organization_id),
        )
        .where(UserSession.token_hash == hash_key(token))
    ).first()
    if found is None:
        return None
    row, user, member = found
    if row.revoked_at is not None or row.expires_at <= now:
        return None
    return Viewer(
        key_id=0,
        organization_id=member.organization_id,
        role=member.role,
        influencer_id=member.influencer_id,
        name=user.name,
        user_id=user.id,
        email=user.email,
        session_id=row.id,
    )


def revoke(session: Session, token: str, *, now: datetime | None = None) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == hash_key(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def revoke_all(
    session: Session,
    user_id: int,
    *,
    organization_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Ends every open session of the user (in one organization): how many."""
    stmt = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if organization_id is not None:
        stmt = stmt.where(UserSession.organization_id == organization_id)
    done = session.execute(
        stmt.values(revoked_at=now or utcnow()).execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)
