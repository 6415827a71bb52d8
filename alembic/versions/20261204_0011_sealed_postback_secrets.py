"""brand_postback_secrets.secret sealed: every secret stored in clear is sealed with the newest
key of VOUCH_SECRET_KEYS (tracker.sealing), and its brand queued for the worker to publish the
sealed record to Redis (tracker_publications), so the tracker's copy is sealed too

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db
from tracker.sealing import VARIABLE, Unsealable, sealer
from tracker.settings import SettingError, secret_keys


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

secrets_table = sa.table(
    "brand_postback_secrets",
    sa.column("id", sa.BigInteger()),
    sa.column("brand_id", sa.BigInteger()),
    sa.column("secret", sa.String()),
)
publications = sa.table(
    "tracker_publications",
    sa.column("kind", sa.String()),
    sa.column("ref_id", sa.BigInteger()),
    sa.column("created_at", api.db.UTCDateTime(timezone=True)),
)


def _rewrite(change) -> None:
    """Applies `change(secret) -> new secret or None (leave it)` to every row, and queues the
    brands whose rows changed for publishing (the worker writes them to Redis)."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(secrets_table.c.id, secrets_table.c.brand_id, secrets_table.c.secret)
    ).all()
    brands = set()
    for row_id, brand_id, secret in rows:
        new = change(row_id, secret)
        if new is not None:
            conn.execute(
                secrets_table.update().where(secrets_table.c.id == row_id).values(secret=new)
            )
            brands.add(brand_id)
    if brands:
        now = api.db.utcnow()
        conn.execute(
            publications.insert(),
            [{"kind": "brand_secrets", "ref_id": b, "created_at": now} for b in sorted(brands)],
        )


def _resize(old: int, new: int) -> None:
    with op.batch_alter_table("brand_postback_secrets", schema=None) as batch_op:
        batch_op.alter_column(
            "secret",
            existing_type=sa.String(length=old),
            type_=sa.String(length=new),
            existing_nullable=False,
        )


def upgrade() -> None:
    _resize(128, 512)  # a token is about 164 characters
    keys = sealer(secret_keys())
    # A row that unseals already stays as it is (an upgrade run again on a half-sealed table).
    _rewrite(lambda _id, secret: None if keys.key_index(secret) is not None else keys.seal(secret))


def downgrade() -> None:
    keys = sealer(secret_keys())

    def unseal(row_id, secret):
        try:
            return keys.unseal(secret)
        except Unsealable:  # one line from `vouch migrate`, as a bad setting is
            raise SettingError(
                VARIABLE,
                "***",
                f"postback secret {row_id} is sealed with none of its keys: cannot downgrade it "
                "to clear",
            ) from None

    _rewrite(unseal)
    _resize(512, 128)
