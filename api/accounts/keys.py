"""API keys: creation (the key is shown once), listing, revocation and lookup by hash.

A key looks like `vch_<prefix>_<secret>`. Only SHA-256 of the whole key is stored; the prefix is
stored in clear so a key can be recognised in a list without revealing it.

A verified key is kept in the process for `CACHE_SECONDS` (`VerifiedKeys`), so that a busy key
costs no database round trip per request. A revoked key is still refused by the very next
request on every API process: each request reads the keys' version from Redis (in the same
round trip as its client's failure counter, `api.accounts.lockout`), and a commit that changed a
key's row sets a new version, so every process's cached entries stop matching. Without an
answer from Redis nothing is cached and every request reads its key's row, as it always did.
The read of a row also records when the key was last used, written at most once per
`TOUCH_EVERY` per key (a write per request would make every read a write).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api.db import get_sessionmaker, utcnow
from api.models import ApiKey, Influencer, Organization
from api.models.enums import Role

KEY_PREFIX = "vch"
# How stale `last_used_at` may be: "last used" is for people deciding which keys to revoke.
TOUCH_EVERY = timedelta(minutes=1)
MAX_NAME = 200
# How long a verified key is believed without its row (the version check aside).
CACHE_SECONDS = 10.0
CACHE_MAX = 10_000

log = logging.getLogger("vouch.api")


class KeyError_(ValueError):
    """A key that cannot be created or revoked as asked. `code`: an error code of the accounts
    domain; `field`: the input at fault (camelCase); the message is for the caller."""

    def __init__(self, message: str, code: str = "INVALID", field: str | None = None) -> None:
        self.message = message
        self.code = code
        self.field = field
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is calling: resolved once per request from the bearer key."""

    key_id: int
    organization_id: int
    role: Role
    influencer_id: int | None = None
    prefix: str = ""
    name: str = ""
    # A person signed in with a session cookie (`api.accounts.sessions`), not a key: key_id is
    # then 0 and `name`/`email` are the user's.
    user_id: int | None = None
    email: str = ""
    session_id: int | None = None

    @property
    def is_user(self) -> bool:
        return self.user_id is not None

    @property
    def kind(self) -> str:
        """What the viewer is, as refusals name it: "key" or "user"."""
        return "user" if self.is_user else "key"

    @property
    def label(self) -> str:
        """Who did something, as rows and memos record it: "Ana's laptop (FINANCE key 1a2b3c4d)"
        or "FINANCE key 1a2b3c4d" for an unnamed key, "Ana Lima <ana@example.com> (FINANCE
        user)" for a person. The prefix is what `vouch keys list` shows, so a reader can tell
        which key it was; it fits the 200-character `…_by` columns."""
        name = " ".join(self.name.split())
        if self.is_user:
            who = f"{name[:80]} <{self.email[:80]}>" if name else self.email[:160]
            return f"{who} ({self.role.value} user)"
        key = f"{self.role.value} key {self.prefix or self.key_id}"
        name = name[:150]
        return f"{name} ({key})" if name else key


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_binding(
    session: Session, organization_id: int, role: Role, influencer_id: int | None, what: str
) -> None:
    """An INFLUENCER key (or membership: `what`) is bound to one influencer of its organization;
    no other role is bound to any."""
    if role is Role.INFLUENCER:
        influencer = session.get(Influencer, influencer_id) if influencer_id else None
        if influencer is None or influencer.organization_id != organization_id:
            raise KeyError_(
                f"an INFLUENCER {what} is bound to one influencer: name an influencer of this "
                "organization",
                "REQUIRED" if influencer_id is None else "NOT_FOUND",
                "influencerId",
            )
    elif influencer_id is not None:
        raise KeyError_(
            f"only INFLUENCER {what}s are bound to an influencer, not {role.value} {what}s",
            "INVALID",
            "influencerId",
        )


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
        raise KeyError_(f"organization {organization_id} does not exist", "NOT_FOUND")
    name = " ".join((name or "").split())
    if len(name) > MAX_NAME:
        raise KeyError_(f"a key's label must be at most {MAX_NAME} characters", "TOO_LONG", "label")
    check_binding(session, organization_id, role, influencer_id, "key")
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


@dataclass(frozen=True, slots=True)
class KeyListing:
    key: ApiKey
    organization: str
    influencer: str | None


def list_keys(session: Session, organization_id: int | None = None) -> list[KeyListing]:
    """Every key (of one organization) with its organization's and influencer's names, oldest
    first, in one statement."""
    stmt = (
        select(ApiKey, Organization.name, Influencer.name)
        .join(Organization, Organization.id == ApiKey.organization_id)
        .outerjoin(Influencer, Influencer.id == ApiKey.influencer_id)
        .order_by(ApiKey.organization_id, ApiKey.id)
    )
    if organization_id is not None:
        stmt = stmt.where(ApiKey.organization_id == organization_id)
    return [KeyListing(key, org, person) for key, org, person in session.execute(stmt)]


def prefix_of(value: str) -> str:
    """The prefix in what a person pastes: the prefix itself, or a whole `vch_<prefix>_…` key."""
    value = value.strip()
    head, _, rest = value.partition("_")
    if head == KEY_PREFIX and rest:
        return rest.partition("_")[0]
    return value


def find_by_prefix(session: Session, value: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.prefix == prefix_of(value)))


def revoke_key(session: Session, key: ApiKey, *, now: datetime | None = None) -> ApiKey:
    """Revokes the key from its next request on. A revoked key stays listed (who had access, and
    until when); revoking it again raises ALREADY_REVOKED and keeps the first date."""
    if key.revoked_at is not None:
        raise KeyError_(
            f"key {key.prefix} was already revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC",
            "ALREADY_REVOKED",
        )
    key.revoked_at = now or utcnow()
    session.flush()
    return key


def bearer_token(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer vch_...` header, or None when it holds none."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(f"{KEY_PREFIX}_") or len(token) > 200:
        return None
    return token


def authenticate(
    session: Session, authorization: str | None, *, now: datetime | None = None
) -> Viewer | None:
    """The viewer for an `Authorization: Bearer <key>` header, or None for a missing, unknown
    or revoked key. Records the key's last use (at most once per TOUCH_EVERY); the caller
    commits."""
    token = bearer_token(authorization)
    if token is None:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(token)))
    if key is None or key.revoked_at is not None:
        return None
    now = now or utcnow()
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        try:
            touch(session, key.id, now)
        except SQLAlchemyError:  # e.g. SQLite busy: the date is a hint, the request matters
            session.rollback()
            log.warning("could not record the last use of API key %s", key.prefix, exc_info=True)
    return Viewer(
        key_id=key.id,
        organization_id=key.organization_id,
        role=key.role,
        influencer_id=key.influencer_id,
        prefix=key.prefix,
        name=key.name,
    )


def touch(session: Session, key_id: int, now: datetime | None = None) -> None:
    """Sets `last_used_at` unless a concurrent request set it within TOUCH_EVERY already (the
    condition is in the UPDATE, so parallel requests of one key write it once)."""
    now = now or utcnow()
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - TOUCH_EVERY),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def viewer_for(authorization: str | None, version: str | None = None) -> Viewer | None:
    """`authenticate` in a session of its own, for the HTTP endpoints (run in a worker thread).
    Failing to record the last use never refuses a valid key.

    `version`: the keys' version read from Redis for this request (`version_key`), or None
    when Redis did not answer. With a version, a key verified within CACHE_SECONDS at that
    same version is taken from the cache, without a database round trip."""
    token = bearer_token(authorization)
    digest = None
    if version is None:
        verified.clear()  # no version to check the entries against: none may be believed
    elif token is not None:
        digest = hash_key(token)
        cached = verified.get(digest, version)
        if cached is not None:
            return cached
    with get_sessionmaker()() as session:
        viewer = authenticate(session, authorization)
        try:
            session.commit()
        except SQLAlchemyError:
            session.rollback()
            log.warning("could not record the last use of an API key", exc_info=True)
    if viewer is not None and digest is not None and version is not None:
        verified.put(digest, viewer, version)
    return viewer


# --- the cache of verified keys --------------------------------------------------------------


def version_key(redis_prefix: str) -> str:
    """The Redis key of the keys' version: a new random value whenever a key's row changed."""
    return f"{redis_prefix}:api-keys:version"


def version_of(raw: bytes | str | None) -> str:
    """The version as a GET of `version_key` answers it (no value yet: the empty version)."""
    if raw is None:
        return ""
    return raw.decode() if isinstance(raw, bytes) else raw


class VerifiedKeys:
    """Keys verified by this process: the hash of the key, its viewer, the keys' version it was
    read at and until when it may be believed. An entry is used only while the version is
    still the one read from Redis for the request, which the reader reads before the row, so
    a revocation committed in between leaves the entry stale from the next request on."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Viewer, str, float]] = {}
        self.clock = time.monotonic  # tests move it on

    def get(self, digest: str, version: str) -> Viewer | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        viewer, seen, until = entry
        if seen != version or self.clock() >= until:
            self._entries.pop(digest, None)
            return None
        return viewer

    def put(self, digest: str, viewer: Viewer, version: str) -> None:
        if len(self._entries) >= CACHE_MAX:  # a guesser cannot fill it: only valid keys go in
            self._entries.clear()
        self._entries[digest] = (viewer, version, self.clock() + CACHE_SECONDS)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


verified = VerifiedKeys()

_CHANGED = "vouch.api_keys_changed"


def bump_version() -> None:
    """A new keys' version in Redis (every process's cached keys stop matching) and this
    process's cache emptied. If Redis does not answer, the other API processes may believe a
    revoked key for up to CACHE_SECONDS more: logged."""
    verified.clear()
    from api.settings import get_settings
    from api.tracking.publish import redis_client

    try:
        redis_client().set(version_key(get_settings().redis.prefix), secrets.token_hex(8))
    except Exception:
        log.warning(
            "Redis unavailable after an API key changed: other API processes may accept it for "
            "up to %.0f s",
            CACHE_SECONDS,
            exc_info=True,
        )


@event.listens_for(Session, "after_flush")
def _note_key_changes(session: Session, _context: Any) -> None:
    if any(isinstance(row, ApiKey) for row in (*session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _publish_key_changes(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        bump_version()


@event.listens_for(Session, "after_rollback")
def _forget_key_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)
