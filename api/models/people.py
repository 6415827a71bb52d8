"""People who sign in: users, their memberships of organizations, their sessions, the one-time
links mailed to them, and the local mail outbox used when no SMTP server is set.

Every secret here (a session cookie, a link's token) is stored as its SHA-256 only, as API keys
are: a copy of the database lets nobody sign in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, Timestamps, utcnow
from api.models.columns import enum_column, fk, pk
from api.models.enums import Role


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[int] = pk()
    email: Mapped[str] = mapped_column(String(320))
    # The address folded to lower case: e-mail addresses are unique whatever their case.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # argon2id (`api.accounts.passwords`); None until an invited user sets one.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Membership(Timestamps, Base):
    """A user's role in one organization, as an API key has one; an INFLUENCER membership is
    bound to one influencer of that organization."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)

    id: Mapped[int] = pk()
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    organization_id: Mapped[int] = fk("organizations.id")
    role: Mapped[Role] = enum_column(Role)
    influencer_id: Mapped[int | None] = fk("influencers.id", nullable=True)


class UserSession(Base):
    """A signed-in browser: the cookie's hash, in one organization, until it expires or is
    revoked (sign out, sign out everywhere, the membership removed)."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    organization_id: Mapped[int] = fk("organizations.id")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class UserToken(Base):
    """A one-time link's token: SIGN_IN, RESET (password) or INVITE (set a first password and
    join `organization_id`). Used once, within its expiry."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    purpose: Mapped[str] = mapped_column(String(16))
    organization_id: Mapped[int | None] = fk("organizations.id", nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class OutboxMail(Base):
    """A message written here instead of sent, when no SMTP server is set (`vouch mail list`)."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = pk()
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
