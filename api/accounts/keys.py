"""API keys: creation (the key is shown once) and lookup by hash.

A key looks like `vch_<prefix>_<secret>`. Only SHA-256 of the whole key is stored; the prefix is
stored in clear so a key can be recognised in a list without revealing it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.models import ApiKey, Influencer, Organization
from api.models.enums import Role

KEY_PREFIX = "vch"


class KeyError_(ValueError):
    """A key that cannot be created as asked (message for the caller)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is calling: resolved once per request from the bearer key."""

    key_id: int
    organization_id: int
    role: Role
    influencer_id: int | None = None

    @property
    def label(self) -> str:
        return f"key:{self.key_id}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session,
    *,
    organization_id: int,
    role: Role,
    influencer_id: int | None = None,
    name: str = "",
) -> tuple[ApiKey, str]:
    """Creates a key and returns it with its clear text, which is never stored."""
    if session.get(Organization, organization_id) is None:
        raise KeyError_(f"organization {organization_id} does not exist")
    if role is Role.INFLUENCER:
        influencer = session.get(Influencer, influencer_id) if influencer_id else None
        if influencer is None or influencer.organization_id != organization_id:
            raise KeyError_(
                "an INFLUENCER key needs --influencer: an influencer of this organization"
            )
    elif influencer_id is not None:
        raise KeyError_("only INFLUENCER keys are bound to an influencer")
    prefix = secrets.token_hex(4)
    clear = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(24)}"
    key = ApiKey(
        organization_id=organization_id,
        role=role,
        influencer_id=influencer_id,
        name=name,
        prefix=prefix,
        key_hash=hash_key(clear),
    )
    session.add(key)
    session.flush()
    return key, clear


def authenticate(session: Session, authorization: str | None) -> Viewer | None:
    """The viewer for an `Authorization: Bearer <key>` header, or None for a missing/bad key."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(f"{KEY_PREFIX}_") or len(token) > 200:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(token)))
    if key is None or key.revoked_at is not None:
        return None
    return Viewer(
        key_id=key.id,
        organization_id=key.organization_id,
        role=key.role,
        influencer_id=key.influencer_id,
    )


def touch(session: Session, key_id: int) -> None:
    key = session.get(ApiKey, key_id)
    if key is not None:
        key.last_used_at = utcnow()
