"""Brands' postback secrets: rotation in the database (`api.tracking.publish` sends them on).

The tracker verifies each postback's HMAC with one of the secrets published at
`tracker.keys.brand_secrets(prefix, brand_id)`: a JSON list of `{"sealed", "expires_at"}`
(ISO 8601 UTC, or null for the current secret). Rotating gives the previous secret 24 hours to
keep working, so a brand can switch without losing a postback.

A secret is in clear only in the payload of the rotation that made it (shown once to the
brand). The `secret` column holds it sealed (`tracker.sealing`, keys from `VOUCH_SECRET_KEYS`),
and Redis gets that same token: the API never unseals it, the tracker does, to check an HMAC.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.models import Brand, BrandPostbackSecret
from api.settings import get_settings
from tracker.sealing import VARIABLE, Sealer, Unsealable, sealer

GRACE: Final = timedelta(hours=24)


class UnknownBrand(LookupError):
    pass


def rotate(session: Session, brand_id: int, *, now: datetime | None = None) -> str:
    """Creates a new secret for the brand, gives the current ones 24 hours and returns the new
    secret in clear (shown once to the brand). The caller publishes the brand's secrets in the
    same transaction (`publish.after_commit(..., publish.BRAND_SECRETS, brand_id)`) and commits."""
    now = now or utcnow()
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise UnknownBrand(f"no brand {brand_id}")
    current = session.scalars(
        select(BrandPostbackSecret).where(
            BrandPostbackSecret.brand_id == brand_id,
            or_(BrandPostbackSecret.expires_at.is_(None), BrandPostbackSecret.expires_at > now),
        )
    ).all()
    for old in current:
        if old.expires_at is None or old.expires_at > now + GRACE:
            old.expires_at = now + GRACE
    secret = "whsec_" + secrets.token_urlsafe(32)
    session.add(
        BrandPostbackSecret(
            organization_id=brand.organization_id,
            brand_id=brand_id,
            secret=sealer(get_settings().secret_keys).seal(secret),
            created_at=now,
        )
    )
    session.flush()
    return secret


def valid_secrets(
    session: Session, brand_id: int, now: datetime | None = None
) -> list[BrandPostbackSecret]:
    now = now or utcnow()
    return list(
        session.scalars(
            select(BrandPostbackSecret)
            .where(
                BrandPostbackSecret.brand_id == brand_id,
                or_(BrandPostbackSecret.expires_at.is_(None), BrandPostbackSecret.expires_at > now),
            )
            .order_by(BrandPostbackSecret.id)
        )
    )


def record(rows: list[BrandPostbackSecret]) -> str:
    return json.dumps(
        [
            {
                "sealed": row.secret,
                "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            }
            for row in rows
        ],
        separators=(",", ":"),
    )


def _batches(session: Session, model: Any, size: int) -> Iterator[list[Any]]:
    last = 0
    while True:
        stmt = select(model).where(model.id > last).order_by(model.id).limit(size)
        rows = list(session.scalars(stmt))
        if not rows:
            return
        last = rows[-1].id
        yield rows


def reencrypt(
    session: Session,
    keys: Sealer,
    changed_brand: Callable[[Session, int], object],
    batch_size: int = 500,
) -> int:
    """Seals every stored secret that is not under the newest key again with it, `batch_size`
    rows a transaction, and returns how many rows changed. `changed_brand(session, brand_id)`
    is called in the transaction that changes a brand's rows (it marks the brand's published
    secrets for republishing, so the tracker is never left with tokens of a key about to go).

    Raises `tracker.sealing.Unsealable`, before changing anything, when a row is sealed with
    none of the keys: its secret would be lost for good once the old key is dropped."""
    return reseal(
        session,
        BrandPostbackSecret,
        ("postback secret", "brand_id", "brand"),
        keys,
        changed_brand,
        batch_size,
    )


def reseal(
    session: Session,
    model: Any,
    names: tuple[str, str, str],
    keys: Sealer,
    changed: Callable[[Session, int], object],
    batch_size: int = 500,
) -> int:
    """`reencrypt` of any table of sealed secrets (`secret` column). `names`: what a row is
    called, the column of its owner's id (a brand, a shop connection) and what the owner is
    called; `changed(session, owner_id)` is called for each owner whose rows changed, in that
    transaction."""
    what, owner, owner_name = names
    for rows in _batches(session, model, batch_size):
        for row in rows:
            if keys.key_index(row.secret) is None:
                session.rollback()
                raise Unsealable(
                    f"{what} {row.id} of {owner_name} {getattr(row, owner)} is sealed with none "
                    f"of the {len(keys.keys)} keys of {VARIABLE} (a key dropped too soon, or "
                    "keys of another deployment?)"
                )
    session.rollback()
    count = 0
    for rows in _batches(session, model, batch_size):
        owners = set()
        for row in rows:
            if keys.key_index(row.secret) != 0:
                row.secret = keys.reseal(row.secret)
                owners.add(getattr(row, owner))
                count += 1
        for owner_id in sorted(owners):
            changed(session, owner_id)
        session.commit()
    return count
