"""per-campaign daily (UTC) rollups by dimension: campaign_click_dimension_rollups_daily and
campaign_performance_dimension_rollups_daily, the daily dimension rollups summed over each
campaign's links and partnerships (no link or partnership in the key), backfilled here from the
daily rows (in this transaction: on a large database a scan of each daily dimension table);
from here on the writers of the dimension rollups keep them in step.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaign_click_dimension_rollups_daily",
        sa.Column("campaign_id", _id(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("day", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("clicks", _id(), nullable=False),
        sa.Column("unique_clicks", _id(), nullable=False),
        sa.PrimaryKeyConstraint(
            "campaign_id",
            "dimension",
            "day",
            "value",
            name=op.f("pk_campaign_click_dimension_rollups_daily"),
        ),
    )
    op.create_table(
        "campaign_performance_dimension_rollups_daily",
        sa.Column("campaign_id", _id(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("day", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("conversions", _id(), nullable=False),
        sa.Column("revenue", _id(), nullable=False),
        sa.Column("commission", _id(), nullable=False),
        sa.PrimaryKeyConstraint(
            "campaign_id",
            "dimension",
            "day",
            "currency",
            "value",
            name=op.f("pk_campaign_performance_dimension_rollups_daily"),
        ),
    )
    for statement in BACKFILL:
        op.execute(statement)


# Each per-campaign table from its daily one, in one INSERT ... SELECT ... GROUP BY each (a row
# whose counters sum to zero is left out, as the writers leave it out). bench/analytics.py
# seeds its rollups with the same statements.
BACKFILL = (
    "INSERT INTO campaign_click_dimension_rollups_daily (campaign_id, dimension, day, value, "
    "organization_id, clicks, unique_clicks) "
    "SELECT campaign_id, dimension, day, value, min(organization_id), sum(clicks), "
    "sum(unique_clicks) FROM click_dimension_rollups_daily "
    "GROUP BY campaign_id, dimension, day, value "
    "HAVING sum(clicks) <> 0 OR sum(unique_clicks) <> 0",
    "INSERT INTO campaign_performance_dimension_rollups_daily (campaign_id, dimension, day, "
    "currency, value, organization_id, conversions, revenue, commission) "
    "SELECT campaign_id, dimension, day, currency, value, min(organization_id), "
    "sum(conversions), sum(revenue), sum(commission) FROM performance_dimension_rollups_daily "
    "GROUP BY campaign_id, dimension, day, currency, value "
    "HAVING sum(conversions) <> 0 OR sum(revenue) <> 0 OR sum(commission) <> 0",
)


def downgrade() -> None:
    op.drop_table("campaign_performance_dimension_rollups_daily")
    op.drop_table("campaign_click_dimension_rollups_daily")
