"""Brands' shop connections: connecting, rotating the webhook secret, disconnecting
(`api.tracking.publish` sends each change on to the tracker after commit).

The tracker takes a connected shop's order webhooks at `<TRACKER_PUBLIC_URL>/shops/<public id>/
<kind>` and checks each one's signature with a secret published at
`tracker.keys.shop_connection(prefix, public_id)` (`record`). The platform makes the secret
(Shopify's app secret, Stripe's `whsec_...`, the secret typed into WooCommerce), the brand gives
it to Vouch once: it is sealed at once (`tracker.sealing`) and never returned. Rotating to the
platform's new secret gives the previous one `GRACE` to keep working, since a platform rolls its
secret over some time (Shopify takes up to an hour, Stripe lets the old one live up to a day).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.models import ShopConnection, ShopConnectionSecret
from api.settings import get_settings
from api.tracking import postback_secrets
from tracker.sealing import Sealer, sealer
from tracker.shop_record import KINDS, ShopRecord

GRACE: Final = timedelta(hours=24)
SECRET_MIN_LENGTH: Final = 16
SECRET_MAX_LENGTH: Final = 256

__all__ = ["GRACE", "KINDS", "connect", "disconnect", "record", "rotate", "webhook_url"]


def webhook_url(connection: ShopConnection) -> str:
    """The address to paste into the shop's webhook settings."""
    base = get_settings().tracker.public_url.rstrip("/")
    return f"{base}/shops/{connection.public_id}/{connection.kind.lower()}"


def _seal(secret: str) -> str:
    return sealer(get_settings().secret_keys).seal(secret)


def connect(
    session: Session,
    *,
    organization_id: int,
    brand_id: int,
    kind: str,
    shop_domain: str,
    secret: str,
    now: datetime | None = None,
) -> ShopConnection:
    """A new connection with its first secret (the caller publishes it after commit)."""
    now = now or utcnow()
    row = ShopConnection(
        organization_id=organization_id,
        brand_id=brand_id,
        kind=kind,
        shop_domain=shop_domain,
        public_id=secrets.token_urlsafe(16),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    session.add(
        ShopConnectionSecret(
            organization_id=organization_id,
            connection_id=row.id,
            secret=_seal(secret),
            created_at=now,
        )
    )
    session.flush()
    return row


def rotate(
    session: Session, connection: ShopConnection, secret: str, *, now: datetime | None = None
) -> None:
    """Makes `secret` the connection's current one; the others stay valid for `GRACE`."""
    now = now or utcnow()
    for old in valid_secrets(session, connection.id, now):
        if old.expires_at is None or old.expires_at > now + GRACE:
            old.expires_at = now + GRACE
    session.add(
        ShopConnectionSecret(
            organization_id=connection.organization_id,
            connection_id=connection.id,
            secret=_seal(secret),
            created_at=now,
        )
    )
    connection.updated_at = now
    session.flush()


def disconnect(
    session: Session, connection: ShopConnection, *, now: datetime | None = None
) -> None:
    """Stops intake: the connection is no longer published (its key is deleted after commit)."""
    now = now or utcnow()
    connection.disconnected_at = now
    connection.updated_at = now
    session.flush()


def reencrypt(
    session: Session,
    keys: Sealer,
    changed_connection: Callable[[Session, int], object],
    batch_size: int = 500,
) -> int:
    """Seals every shop secret not under the newest key again (`postback_secrets.reseal`)."""
    return postback_secrets.reseal(
        session,
        ShopConnectionSecret,
        ("shop webhook secret", "connection_id", "shop connection"),
        keys,
        changed_connection,
        batch_size,
    )


def valid_secrets(
    session: Session, connection_id: int, now: datetime | None = None
) -> list[ShopConnectionSecret]:
    now = now or utcnow()
    return list(
        session.scalars(
            select(ShopConnectionSecret)
            .where(
                ShopConnectionSecret.connection_id == connection_id,
                or_(
                    ShopConnectionSecret.expires_at.is_(None),
                    ShopConnectionSecret.expires_at > now,
                ),
            )
            .order_by(ShopConnectionSecret.id)
        )
    )


def record(connection: ShopConnection, rows: Sequence[ShopConnectionSecret]) -> str | None:
    """The JSON the tracker reads, or None (delete the key): disconnected, or no valid secret."""
    if connection.disconnected_at is not None or not rows:
        return None
    return ShopRecord(
        brand_id=connection.brand_id,
        kind=connection.kind,
        shop_domain=connection.shop_domain,
        secrets=tuple(
            (row.secret, row.expires_at.isoformat() if row.expires_at else None) for row in rows
        ),
    ).to_json()
