"""live posts watched: content_findings, content_events, deliverable_usage_rights, job_cursors;
brands.categories, campaigns.live_breach_action, contracts.exclusivity_competitors,
deliverables.breached_at

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 19:22:25.982411
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db


revision: str = '0019'
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_cursors',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('position', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_cursors'))
    )
    op.create_table('content_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_content_events_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_events')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_content_events_dedupe_key'))
    )
    with op.batch_alter_table('content_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_events_organization_id'), ['organization_id'], unique=False)

    op.create_table('content_findings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('partnership_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('deliverable_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.Enum('DISCLOSURE_REMOVED', 'CAPTION_CHANGED', 'EXCLUSIVITY_CONFLICT', 'USAGE_RIGHTS_EXPIRED', name='findingkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Enum('SELF_REPORTED', 'IMPORT', 'PLATFORM_API', 'MANUAL', 'RECHECK', 'SUBMISSION', 'INVITATION', 'SCHEDULE', name='evidencesource', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('consequence', sa.Enum('NOTIFY', 'HOLD_COMMISSION', 'MARK_BREACHED', name='breachaction', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('OPEN', 'RESOLVED', name='findingstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('detected_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_content_findings_brand_id_brands')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_content_findings_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['deliverable_id'], ['deliverables.id'], name=op.f('fk_content_findings_deliverable_id_deliverables')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_content_findings_organization_id_organizations')),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], name=op.f('fk_content_findings_partnership_id_partnerships')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_findings')),
    sa.UniqueConstraint('organization_id', 'kind', 'subject', 'fingerprint', name=op.f('uq_content_findings_organization_id_kind_subject_fingerprint'))
    )
    with op.batch_alter_table('content_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_findings_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_content_findings_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_content_findings_deliverable_id'), ['deliverable_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_content_findings_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_content_findings_partnership_id'), ['partnership_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_content_findings_status'), ['status'], unique=False)

    op.create_table('deliverable_usage_rights',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('deliverable_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('paid_use', sa.Boolean(), nullable=False),
    sa.Column('allowlisting', sa.Boolean(), nullable=False),
    sa.Column('territories', sa.JSON(), nullable=False),
    sa.Column('expires_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('basis', sa.Enum('CONTRACT', 'EXPLICIT', name='basis', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('set_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deliverable_id'], ['deliverables.id'], name=op.f('fk_deliverable_usage_rights_deliverable_id_deliverables')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_deliverable_usage_rights_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliverable_usage_rights')),
    sa.UniqueConstraint('deliverable_id', name=op.f('uq_deliverable_usage_rights_deliverable_id'))
    )
    with op.batch_alter_table('deliverable_usage_rights', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliverable_usage_rights_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliverable_usage_rights_organization_id'), ['organization_id'], unique=False)

    with op.batch_alter_table('brands', schema=None) as batch_op:
        batch_op.add_column(sa.Column('categories', sa.JSON(), server_default='[]', nullable=False))

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_breach_action', sa.Enum('NOTIFY', 'HOLD_COMMISSION', 'MARK_BREACHED', name='breachaction', native_enum=False, create_constraint=True, length=32), server_default='NOTIFY', nullable=False))

    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exclusivity_competitors', sa.JSON(), server_default='[]', nullable=False))

    with op.batch_alter_table('deliverables', schema=None) as batch_op:
        batch_op.add_column(sa.Column('breached_at', api.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('deliverables', schema=None) as batch_op:
        batch_op.drop_column('breached_at')

    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_column('exclusivity_competitors')

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_campaigns_breachaction'), type_='check')
        batch_op.drop_column('live_breach_action')

    with op.batch_alter_table('brands', schema=None) as batch_op:
        batch_op.drop_column('categories')

    with op.batch_alter_table('deliverable_usage_rights', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliverable_usage_rights_organization_id'))
        batch_op.drop_index(batch_op.f('ix_deliverable_usage_rights_expires_at'))

    op.drop_table('deliverable_usage_rights')
    with op.batch_alter_table('content_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_content_findings_status'))
        batch_op.drop_index(batch_op.f('ix_content_findings_partnership_id'))
        batch_op.drop_index(batch_op.f('ix_content_findings_organization_id'))
        batch_op.drop_index(batch_op.f('ix_content_findings_deliverable_id'))
        batch_op.drop_index(batch_op.f('ix_content_findings_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_content_findings_brand_id'))

    op.drop_table('content_findings')
    with op.batch_alter_table('content_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_content_events_organization_id'))

    op.drop_table('content_events')
    op.drop_table('job_cursors')
