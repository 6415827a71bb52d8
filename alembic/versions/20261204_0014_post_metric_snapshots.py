"""post_metric_snapshots: a published deliverable's results (impressions, reach, views, likes,
comments, shares, saves, link clicks) as of a moment, unique per (deliverable, captured_at)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 18:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db


revision: str = '0014'
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('post_metric_snapshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('deliverable_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('captured_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('impressions', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reach', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('views', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('likes', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('comments', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('shares', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('saves', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('link_clicks', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('followers_at_posting', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('source', sa.Enum('MANUAL', 'IMPORT', 'PLATFORM_API', 'SELF_REPORTED', name='metricsource', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('caption', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deliverable_id'], ['deliverables.id'], name=op.f('fk_post_metric_snapshots_deliverable_id_deliverables')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_post_metric_snapshots_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post_metric_snapshots')),
    sa.UniqueConstraint('deliverable_id', 'captured_at', name=op.f('uq_post_metric_snapshots_deliverable_id_captured_at'))
    )
    with op.batch_alter_table('post_metric_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_metric_snapshots_organization_id'), ['organization_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('post_metric_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_metric_snapshots_organization_id'))

    op.drop_table('post_metric_snapshots')
