"""clicks_hot_path: no foreign keys and no single-column indexes on clicks

The ingest worker checks a click's link, partnership, campaign and organization itself before
inserting it; the per-row foreign-key checks (and their key-share row locks) and three indexes
no reader uses halved the insert rate. Kept: the unique click id and (link_id, occurred_at).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 11:45:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOREIGN_KEYS = (
    ('fk_clicks_campaign_id_campaigns', 'campaigns', 'campaign_id'),
    ('fk_clicks_link_id_tracked_links', 'tracked_links', 'link_id'),
    ('fk_clicks_organization_id_organizations', 'organizations', 'organization_id'),
    ('fk_clicks_partnership_id_partnerships', 'partnerships', 'partnership_id'),
)
_INDEXES = (
    ('ix_clicks_campaign_id', 'campaign_id'),
    ('ix_clicks_organization_id', 'organization_id'),
    ('ix_clicks_partnership_id', 'partnership_id'),
)


def upgrade() -> None:
    with op.batch_alter_table('clicks', schema=None) as batch_op:
        for name, _column in _INDEXES:
            batch_op.drop_index(name)
        for name, _table, _column in _FOREIGN_KEYS:
            batch_op.drop_constraint(name, type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('clicks', schema=None) as batch_op:
        for name, table, column in _FOREIGN_KEYS:
            batch_op.create_foreign_key(name, table, [column], ['id'])
        for name, column in _INDEXES:
            batch_op.create_index(name, [column], unique=False)
