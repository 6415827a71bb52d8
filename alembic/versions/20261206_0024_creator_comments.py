"""the creator's own comments and replies on a post: content_submissions.creator_comments,
post_metric_snapshots.creator_comments (a label only there is LABEL_ONLY_IN_COMMENT)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 21:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("content_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("creator_comments", sa.JSON(), nullable=True))
    with op.batch_alter_table("post_metric_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("creator_comments", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("post_metric_snapshots", schema=None) as batch_op:
        batch_op.drop_column("creator_comments")
    with op.batch_alter_table("content_submissions", schema=None) as batch_op:
        batch_op.drop_column("creator_comments")
