"""creator risk and coupon leakage: partnership_risk, influencer_risk, conversion_reviews;
brands.risk_hold_level, conversions.click_seconds/ip_hash/order_referrer_host/leak_reason,
discount_codes.leak_suspected_at/rotated_from_id

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-04 21:44:19.664268
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db


revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "influencer_risk",
        sa.Column(
            "influencer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("computed_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["influencer_id"],
            ["influencers.id"],
            name=op.f("fk_influencer_risk_influencer_id_influencers"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_influencer_risk_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("influencer_id", name=op.f("pk_influencer_risk")),
    )
    with op.batch_alter_table("influencer_risk", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_influencer_risk_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "partnership_risk",
        sa.Column(
            "partnership_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "influencer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("computed_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["influencer_id"],
            ["influencers.id"],
            name=op.f("fk_partnership_risk_influencer_id_influencers"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_partnership_risk_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
            name=op.f("fk_partnership_risk_partnership_id_partnerships"),
        ),
        sa.PrimaryKeyConstraint("partnership_id", name=op.f("pk_partnership_risk")),
    )
    with op.batch_alter_table("partnership_risk", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partnership_risk_influencer_id"), ["influencer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partnership_risk_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "conversion_reviews",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "conversion_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("status_before", sa.String(length=16), nullable=False),
        sa.Column("status_after", sa.String(length=16), nullable=False),
        sa.Column("hold_reasons", sa.JSON(), nullable=False),
        sa.Column("held_because", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=False),
        sa.Column("reviewed_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversion_id"],
            ["conversion_keys.id"],  # a conversion's id (0021: conversions are partitioned)
            name=op.f("fk_conversion_reviews_conversion_id_conversion_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_conversion_reviews_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversion_reviews")),
    )
    with op.batch_alter_table("conversion_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversion_reviews_conversion_id"), ["conversion_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversion_reviews_organization_id"), ["organization_id"], unique=False
        )

    with op.batch_alter_table("brands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk_hold_level", sa.String(length=16), nullable=True))

    with op.batch_alter_table("conversions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("click_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ip_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "order_referrer_host", sa.String(length=255), server_default="", nullable=False
            )
        )
        batch_op.add_column(sa.Column("leak_reason", sa.Text(), nullable=True))

    with op.batch_alter_table("discount_codes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("leak_suspected_at", api.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "rotated_from_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_discount_codes_rotated_from_id_discount_codes"),
            "discount_codes",
            ["rotated_from_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("discount_codes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_discount_codes_rotated_from_id_discount_codes"), type_="foreignkey"
        )
        batch_op.drop_column("rotated_from_id")
        batch_op.drop_column("leak_suspected_at")

    with op.batch_alter_table("conversions", schema=None) as batch_op:
        batch_op.drop_column("leak_reason")
        batch_op.drop_column("order_referrer_host")
        batch_op.drop_column("ip_hash")
        batch_op.drop_column("click_seconds")

    with op.batch_alter_table("brands", schema=None) as batch_op:
        batch_op.drop_column("risk_hold_level")

    with op.batch_alter_table("conversion_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversion_reviews_organization_id"))
        batch_op.drop_index(batch_op.f("ix_conversion_reviews_conversion_id"))

    op.drop_table("conversion_reviews")
    with op.batch_alter_table("partnership_risk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partnership_risk_organization_id"))
        batch_op.drop_index(batch_op.f("ix_partnership_risk_influencer_id"))

    op.drop_table("partnership_risk")
    with op.batch_alter_table("influencer_risk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_influencer_risk_organization_id"))

    op.drop_table("influencer_risk")
