"""shop connections and their sealed webhook secrets; customers who come back (campaign repeat
rules, customer claims, repeat orders counted apart in the performance rollups); per-code
commission rates

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db


revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The ways a conversion is attributed, as of this revision and the one before: CUSTOMER (a
# repeat order of a claimed customer) joins the CHECK constraint of 0002.
_VIA_BEFORE = ("CLICK", "DISCOUNT_CODE")
_VIA_AFTER = (*_VIA_BEFORE, "CUSTOMER")
_VIA_CHECK = "ck_conversions_attributedvia"


def _via(values: tuple[str, ...]) -> str:
    return "attributed_via IN ({})".format(", ".join(f"'{v}'" for v in values))


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, api.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "shop_connections",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("brand_id", _id(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        _ts("disconnected_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"],
            name=op.f("fk_shop_connections_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_shop_connections_brand_id_brands")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_connections")),
        sa.UniqueConstraint("public_id", name=op.f("uq_shop_connections_public_id")),
    )
    op.create_index(
        op.f("ix_shop_connections_organization_id"), "shop_connections", ["organization_id"]
    )
    op.create_index(op.f("ix_shop_connections_brand_id"), "shop_connections", ["brand_id"])
    op.create_table(
        "shop_connection_secrets",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("connection_id", _id(), nullable=False),
        sa.Column("secret", sa.String(length=512), nullable=False),
        _ts("created_at"),
        _ts("expires_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"],
            name=op.f("fk_shop_connection_secrets_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["shop_connections.id"],
            name=op.f("fk_shop_connection_secrets_connection_id_shop_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_connection_secrets")),
    )
    op.create_index(
        op.f("ix_shop_connection_secrets_organization_id"),
        "shop_connection_secrets",
        ["organization_id"],
    )
    op.create_index(
        op.f("ix_shop_connection_secrets_connection_id"),
        "shop_connection_secrets",
        ["connection_id"],
    )
    op.create_table(
        "customer_claims",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("brand_id", _id(), nullable=False),
        sa.Column("customer_key", sa.String(length=128), nullable=False),
        sa.Column("partnership_id", _id(), nullable=False),
        sa.Column("campaign_id", _id(), nullable=False),
        sa.Column("conversion_id", _id(), nullable=False),
        _ts("claimed_at"),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"],
            name=op.f("fk_customer_claims_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_customer_claims_brand_id_brands")
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"], ["partnerships.id"],
            name=op.f("fk_customer_claims_partnership_id_partnerships"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"],
            name=op.f("fk_customer_claims_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["conversion_id"], ["conversions.id"],
            name=op.f("fk_customer_claims_conversion_id_conversions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_claims")),
        sa.UniqueConstraint(
            "brand_id", "customer_key", name=op.f("uq_customer_claims_brand_id_customer_key")
        ),
    )
    op.create_index(
        op.f("ix_customer_claims_organization_id"), "customer_claims", ["organization_id"]
    )
    op.create_index(
        op.f("ix_customer_claims_partnership_id"), "customer_claims", ["partnership_id"]
    )
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.add_column(
            sa.Column(
                "repeat_orders",
                sa.String(length=16),
                nullable=False,
                server_default="FIRST_ORDER_ONLY",
            )
        )
        batch_op.add_column(sa.Column("repeat_months", sa.Integer(), nullable=True))
    with op.batch_alter_table("discount_codes") as batch_op:
        batch_op.add_column(sa.Column("commission_bps", sa.Integer(), nullable=True))
    with op.batch_alter_table("conversions") as batch_op:
        batch_op.add_column(
            sa.Column("repeat", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("commission_bps", sa.Integer(), nullable=True))
        batch_op.drop_constraint(op.f(_VIA_CHECK), type_="check")
        batch_op.create_check_constraint(op.f(_VIA_CHECK), _via(_VIA_AFTER))
    with op.batch_alter_table("performance_rollups_hourly") as batch_op:
        batch_op.add_column(
            sa.Column("repeat_revenue", _id(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("performance_rollups_hourly") as batch_op:
        batch_op.drop_column("repeat_revenue")
    # The old constraint has no CUSTOMER: a repeat order keeps its partnership, its via is
    # forgotten (as for an order attributed before vias were recorded).
    op.execute("UPDATE conversions SET attributed_via = NULL WHERE attributed_via = 'CUSTOMER'")
    with op.batch_alter_table("conversions") as batch_op:
        batch_op.drop_constraint(op.f(_VIA_CHECK), type_="check")
        batch_op.create_check_constraint(op.f(_VIA_CHECK), _via(_VIA_BEFORE))
        batch_op.drop_column("commission_bps")
        batch_op.drop_column("repeat")
    with op.batch_alter_table("discount_codes") as batch_op:
        batch_op.drop_column("commission_bps")
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.drop_column("repeat_months")
        batch_op.drop_column("repeat_orders")
    op.drop_table("customer_claims")
    op.drop_table("shop_connection_secrets")
    op.drop_table("shop_connections")
