"""tracker_publications: the changes the tracker must hear of, written in the transaction that
makes them (an outbox), so a Redis that is away at commit time is caught up by the worker

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tracker_publications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracker_publications'))
    )
    op.create_index('ix_tracker_publications_created_at', 'tracker_publications', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tracker_publications_created_at', table_name='tracker_publications')
    op.drop_table('tracker_publications')
