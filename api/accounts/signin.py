"""Signing people in: by password, by a one-time link, after a password reset or on accepting an
invitation. Each way ends in a new session (`api.accounts.sessions`) in the user's organization.

Asking for a link or a reset answers the same whether or not the address has an account, and
a wrong address costs the same argon2 verification as a wrong password: neither tells a
stranger who has an account here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.accounts import lockout, passwords, sessions, tokens, users
from api.accounts.keys import KeyError_
from api.db import utcnow
from api.mail import Mail, deliver
from api.models import User


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: int
    organization_id: int
    token: str  # for the cookie


def _open_session(session: Session, user: User, organization_id: int | None = None) -> SignedIn:
    member = (
        users.membership(session, user.id, organization_id)
        if organization_id is not None
        else users.first_membership(session, user.id)
    )
    if member is None:
        raise KeyError_("this account belongs to no organization any more", "FORBIDDEN", "email")
    user.last_sign_in_at = utcnow()
    _row, token = sessions.create(session, user.id, member.organization_id)
    return SignedIn(user.id, member.organization_id, token)


def with_password(
    session: Session, email: str, password: str, peer: str, forwarded_for: str = ""
) -> SignedIn | lockout.Limited | None:
    """A session for the right address and password; None for a wrong one (counted against
    the client and the account); `Limited` when either used up its failures."""
    key = users.email_key(email)
    refused = lockout.sign_in_refusal(key, peer, forwarded_for)
    if refused is not None:
        return refused
    user = users.find_by_email(session, email) if len(key) <= users.MAX_EMAIL else None
    stored = user.password_hash if user is not None else None
    ok = passwords.verify(stored or passwords.dummy_hash(), password)
    if user is None or stored is None or not ok:
        lockout.sign_in_failed(key, peer, forwarded_for)
        return None
    if users.first_membership(session, user.id) is None:
        return None
    if passwords.needs_rehash(stored):
        user.password_hash = passwords.hash_password(password)
    return _open_session(session, user)


def send_link(session: Session, email: str, after_commit: list[Callable[[], None]]) -> None:
    """Mails a one-time sign-in link to the address if it has an account (and says nothing
    either way)."""
    user = users.find_by_email(session, email) if len(email) <= users.MAX_EMAIL else None
    if user is None or users.first_membership(session, user.id) is None:
        return
    token = tokens.issue(session, user.id, tokens.SIGN_IN)
    body = (
        "Open this link to sign in to Vouch (it works once, for 15 minutes):\n\n"
        f"{users.link('/signin/link', token)}\n\nIf you did not ask for it, ignore this mail.\n"
    )
    deliver(session, Mail(user.email, "Your Vouch sign-in link", body), after_commit)


def send_reset(session: Session, email: str, after_commit: list[Callable[[], None]]) -> None:
    """Mails a one-time password-reset link to the address if it has an account."""
    user = users.find_by_email(session, email) if len(email) <= users.MAX_EMAIL else None
    if user is None:
        return
    token = tokens.issue(session, user.id, tokens.RESET)
    body = (
        "Open this link to choose a new Vouch password (it works once, for an hour):\n\n"
        f"{users.link('/reset/confirm', token)}\n\nIf you did not ask for it, ignore this mail: "
        "your password stays as it is.\n"
    )
    deliver(session, Mail(user.email, "Reset your Vouch password", body), after_commit)


def with_link(session: Session, token: str) -> SignedIn | None:
    """A session for a valid sign-in link, which is then used up."""
    row = tokens.consume(session, token, tokens.SIGN_IN)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return _open_session(session, user) if user is not None else None


def with_new_password(session: Session, token: str, purpose: str, password: str) -> SignedIn:
    """Sets the password of a RESET or INVITE link's user (its other sessions end) and signs it
    in (an invitation, in the organization it was for). KeyError_ for a bad password or link."""
    passwords.check_new(password)
    row = tokens.consume(session, token, purpose)
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None:
        raise KeyError_(
            "this link has expired or was already used: ask for a new one", "EXPIRED", "token"
        )
    users.set_password(session, user, passwords.hash_password(password))
    return _open_session(session, user, row.organization_id)
