"""Brands' postback secrets: rotation in the database (`api.tracking.publish` sends them on).

The tracker verifies each postback's HMAC with one of the secrets published at
`tracker.keys.brand_secrets(prefix, brand_id)`: a JSON list of `{"secret", "expires_at"}`
(ISO 8601 UTC, or null for the current secret). Rotating gives the previous secret 24 hours to
keep working, so a brand can switch without losing a postback.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.models import Brand, BrandPostbackSecret

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
            organization_id=brand.organization_id, brand_id=brand_id, secret=secret, created_at=now
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
                "secret": row.secret,
                "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            }
            for row in rows
        ],
        separators=(",", ":"),
    )
