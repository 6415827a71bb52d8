"""influencers: a partial index on (organization_id, max_followers) of the active ones, for
discovery's tier filter and its totalCount (an index-only count of a tier, not a heap scan)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 21:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("archived_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_influencers_tier",
        "influencers",
        ["organization_id", "max_followers"],
        unique=False,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_influencers_tier", table_name="influencers")
