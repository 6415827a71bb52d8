"""payout_batch_cancelled: a DRAFT payout batch can be CANCELLED (who and when are kept), and the
one-batch-per-day and one-draft-per-currency rules become partial unique indexes that ignore
cancelled batches, so a cancelled day can be batched again

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The enum's CHECK (sa.Enum(create_constraint=True), named by the naming convention).
_CHECK = 'ck_payout_batches_payoutstatus'
_OLD_UNIQUE = 'uq_payout_batches_organization_id_currency_as_of'
_NOT_CANCELLED = sa.text("status <> 'CANCELLED'")
_DRAFT = sa.text("status = 'DRAFT'")


def upgrade() -> None:
    # On SQLite batch mode copies the table once, with the new columns and constraints.
    with op.batch_alter_table('payout_batches', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('cancelled_at', api.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('cancelled_by', sa.String(length=200), nullable=True))
        batch_op.drop_constraint(_OLD_UNIQUE, type_='unique')
        batch_op.drop_constraint(op.f(_CHECK), type_='check')
        batch_op.create_check_constraint(
            op.f(_CHECK), "status IN ('DRAFT', 'PAID', 'CANCELLED')"
        )
    op.create_index(
        'uq_payout_batches_live_as_of',
        'payout_batches',
        ['organization_id', 'currency', 'as_of'],
        unique=True,
        sqlite_where=_NOT_CANCELLED,
        postgresql_where=_NOT_CANCELLED,
    )
    op.create_index(
        'uq_payout_batches_one_draft',
        'payout_batches',
        ['organization_id', 'currency'],
        unique=True,
        sqlite_where=_DRAFT,
        postgresql_where=_DRAFT,
    )


def downgrade() -> None:
    # Before 0009 a batch could not be cancelled and a day had one batch whatever its status:
    # cancelled batches (and their lines, which paid nothing and no ledger entry references)
    # are dropped so that the old constraints hold again.
    op.execute(
        "DELETE FROM payout_lines WHERE batch_id IN "
        "(SELECT id FROM payout_batches WHERE status = 'CANCELLED')"
    )
    op.execute("DELETE FROM payout_batches WHERE status = 'CANCELLED'")
    op.drop_index('uq_payout_batches_one_draft', table_name='payout_batches')
    op.drop_index('uq_payout_batches_live_as_of', table_name='payout_batches')
    with op.batch_alter_table('payout_batches', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_CHECK), type_='check')
        batch_op.create_check_constraint(op.f(_CHECK), "status IN ('DRAFT', 'PAID')")
        batch_op.create_unique_constraint(
            _OLD_UNIQUE, ['organization_id', 'currency', 'as_of']
        )
        batch_op.drop_column('cancelled_by')
        batch_op.drop_column('cancelled_at')
