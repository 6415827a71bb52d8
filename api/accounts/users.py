"""Users and their memberships: invitation by an ADMIN, a role change, removal.

A user is one person (one e-mail address, unique whatever its case) who may belong to several
organizations, with one role in each, as an API key has one. Removing a user from an
organization deletes the membership and revokes its sessions there at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts import sessions, tokens
from api.accounts.keys import KeyError_, check_binding
from api.db import utcnow
from api.domain import validation
from api.mail import Mail
from api.models import Membership, Organization, User
from api.models.enums import Role
from api.settings import get_settings

MAX_EMAIL = 320
MAX_NAME = 200


def email_key(email: str) -> str:
    return email.strip().casefold()


def check_email(email: str, field: str = "email") -> str:
    email = email.strip()
    # enough to refuse typos and garbage; deliverability is what the invitation mail proves
    if validation.email(email) is None or any(c in email for c in '<>",;'):
        raise KeyError_(f"{email[:80]!r} is not an e-mail address", "INVALID", field)
    return email


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email_key == email_key(email)))


def membership(session: Session, user_id: int, organization_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.user_id == user_id, Membership.organization_id == organization_id
        )
    )


def first_membership(session: Session, user_id: int) -> Membership | None:
    """The organization a sign-in opens: the user's oldest membership."""
    return session.scalar(
        select(Membership).where(Membership.user_id == user_id).order_by(Membership.id).limit(1)
    )


@dataclass(frozen=True, slots=True)
class Invitation:
    user: User
    membership: Membership
    mail: Mail


def link(path: str, token: str) -> str:
    return f"{get_settings().public_url}{path}?token={quote(token)}"


def invite(
    session: Session,
    *,
    organization_id: int,
    email: str,
    name: str,
    role: Role,
    influencer_id: int | None = None,
    invited_by: str = "",
) -> Invitation:
    """Adds the person to the organization with `role` (creating the user when the address is
    new) and returns the mail to send: a one-time link to set a password (a new user) or to
    sign in (someone who has one)."""
    email = check_email(email)
    name = " ".join((name or "").split())
    if len(name) > MAX_NAME:
        raise KeyError_(f"a name must be at most {MAX_NAME} characters", "TOO_LONG", "name")
    check_binding(session, organization_id, role, influencer_id, "user")
    org = session.get(Organization, organization_id)
    if org is None:
        raise KeyError_(f"organization {organization_id} does not exist", "NOT_FOUND")
    user = find_by_email(session, email)
    if user is None:
        user = User(email=email, email_key=email_key(email), name=name)
        session.add(user)
        session.flush()
    elif membership(session, user.id, organization_id) is not None:
        raise KeyError_(f"{email} is already a user of {org.name}", "DUPLICATE", "email")
    elif name and not user.name:
        user.name = name
    member = Membership(
        user_id=user.id, organization_id=organization_id, role=role, influencer_id=influencer_id
    )
    session.add(member)
    session.flush()
    by = f" by {invited_by}" if invited_by else ""
    if user.password_hash is None:
        token = tokens.issue(session, user.id, tokens.INVITE, organization_id=organization_id)
        url = link("/accept", token)
        action = f"Choose a password to accept it (the link works for 7 days, once):\n\n{url}"
    else:
        token = tokens.issue(session, user.id, tokens.SIGN_IN)
        url = link("/signin/link", token)
        action = f"Sign in with your password, or with this link (15 minutes, once):\n\n{url}"
    body = (
        f"Hello{' ' + user.name if user.name else ''},\n\n"
        f"You were invited{by} to {org.name} on Vouch as {role.value}.\n{action}\n"
    )
    return Invitation(user, member, Mail(user.email, f"You are invited to {org.name}", body))


def update_role(
    session: Session, member: Membership, role: Role, influencer_id: int | None
) -> Membership:
    check_binding(session, member.organization_id, role, influencer_id, "user")
    if member.role is Role.ADMIN and role is not Role.ADMIN:
        _keep_an_admin(session, member)
    member.role = role
    member.influencer_id = influencer_id
    session.flush()
    return member


def remove(session: Session, member: Membership) -> None:
    """Removes the user from the organization; its sessions there end now."""
    if member.role is Role.ADMIN:
        _keep_an_admin(session, member)
    sessions.revoke_all(session, member.user_id, organization_id=member.organization_id)
    session.delete(member)
    session.flush()


def _keep_an_admin(session: Session, member: Membership) -> None:
    """An organization whose users sign in keeps one ADMIN user: nobody could invite again."""
    others = session.scalar(
        select(Membership.id)
        .where(
            Membership.organization_id == member.organization_id,
            Membership.role == Role.ADMIN,
            Membership.id != member.id,
        )
        .limit(1)
    )
    if others is None:
        raise KeyError_(
            "this is the organization's last ADMIN user: make another user ADMIN first",
            "LAST_ADMIN",
            "userId",
        )


def set_password(session: Session, user: User, password_hash: str) -> None:
    """A new password (after a reset or an invitation): every other session of the user ends."""
    user.password_hash = password_hash
    sessions.revoke_all(session, user.id)
    user.last_sign_in_at = utcnow()
    session.flush()
