"""Shop connections: a brand's Shopify shop, Stripe account or WooCommerce store whose order
webhooks the tracker takes (`tracker.shops`), with the signing secrets it checks them with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, String, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, Timestamps, UTCDateTime, utcnow
from api.models.columns import fk, pk
from api.models.partnerships import Partnership


class ShopConnection(Timestamps, Base):
    """One shop of a brand. `public_id` names it in the webhook URL (random, so the URL says
    nothing of the brand); a disconnected connection keeps its row (and its orders their
    history) and is no longer published."""

    __tablename__ = "shop_connections"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    brand_id: Mapped[int] = fk("brands.id")
    kind: Mapped[str] = mapped_column(String(16))  # tracker.shops.KINDS
    shop_domain: Mapped[str] = mapped_column(String(255))
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    disconnected_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return false()


class ShopConnectionSecret(Base):
    """A webhook signing secret of a connection, sealed (`tracker.sealing`); on rotation the
    previous one stays valid for a while (`expires_at`), as the platforms roll theirs."""

    __tablename__ = "shop_connection_secrets"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    connection_id: Mapped[int] = fk("shop_connections.id")
    secret: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return false()


class CustomerClaim(Base):
    """Which partnership brought a brand's customer: the first attributed order of a customer
    claims them, and a campaign that credits repeat orders (`Campaign.repeat_orders`) credits
    their later orders to that partnership (`api.domain.attribution.claim_of`). The customer is
    the shop's customer id or a keyed hash of the e-mail the shop reports, never the e-mail."""

    __tablename__ = "customer_claims"
    __table_args__ = (UniqueConstraint("brand_id", "customer_key"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    brand_id: Mapped[int] = fk("brands.id", index=False)
    customer_key: Mapped[str] = mapped_column(String(128))
    partnership_id: Mapped[int] = fk("partnerships.id")
    campaign_id: Mapped[int] = fk("campaigns.id", index=False)
    conversion_id: Mapped[int] = fk("conversion_keys.id", index=False)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return CustomerClaim.partnership_id.in_(
            select(Partnership.id).where(Partnership.influencer_id == influencer_id)
        )
