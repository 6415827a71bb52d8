"""Product seeding: gifted-product shipments, their status rules, sealed addresses and cost.

A shipment's value x quantity is recorded once, when it is created, as a GIFTED_PRODUCT campaign
cost (`campaign_costs`, key `shipment:<id>:gifted_product`): `Performance.cost` counts it as it
counts a plan's gifted product, and it never reaches an influencer's balance. A RETURNED product
was still sent: the cost stays (campaign costs are append-only).

The shipping address is personal data: sealed at rest (`tracker.sealing`), shown masked, and in
clear only to MANAGER and ADMIN keys.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.db import utcnow
from api.ledger.sql import insert_ignore
from api.models import CampaignCost, Partnership, Shipment
from api.models.ledger import CostKind
from api.models.programs import ShipmentStatus
from api.programs.errors import ProgramError
from api.settings import get_settings
from tracker.sealing import sealer

_S = ShipmentStatus
TRANSITIONS = {
    _S.ORDERED: {_S.SHIPPED},
    _S.SHIPPED: {_S.DELIVERED, _S.RETURNED},
    _S.DELIVERED: {_S.RETURNED},
    _S.RETURNED: set(),
}


def shipment_cost_key(shipment_id: int) -> str:
    return f"shipment:{shipment_id}:gifted_product"


def seal_address(address: str) -> str:
    return sealer(get_settings().secret_keys).seal(address)


def unseal_address(token: str) -> str:
    return sealer(get_settings().secret_keys).unseal(token)


def mask_address(address: str) -> str:
    """Each word's first character and ***: enough to tell two addresses apart, no more."""
    lines = [" ".join(f"{w[0]}***" for w in line.split()) for line in address.splitlines()]
    return ", ".join(line for line in lines if line)


def create(
    session: Session,
    partnership: Partnership,
    *,
    product: str,
    value: int,
    currency: str,
    quantity: int,
    address: str,
    carrier: str | None,
    tracking_number: str | None,
    now: datetime | None = None,
) -> Shipment:
    if quantity < 1 or quantity > 10_000:
        raise ProgramError("OUT_OF_RANGE", "quantity is 1 to 10,000", "quantity")
    shipment = Shipment(
        organization_id=partnership.organization_id,
        partnership_id=partnership.id,
        campaign_id=partnership.campaign_id,
        influencer_id=partnership.influencer_id,
        product=product,
        value=value,
        currency=currency,
        quantity=quantity,
        address_sealed=seal_address(address),
        status=ShipmentStatus.ORDERED,
        carrier=carrier,
        tracking_number=tracking_number,
    )
    session.add(shipment)
    session.flush()
    insert_ignore(
        session,
        CampaignCost,
        {
            "organization_id": partnership.organization_id,
            "campaign_id": partnership.campaign_id,
            "partnership_id": partnership.id,
            "influencer_id": partnership.influencer_id,
            "kind": CostKind.GIFTED_PRODUCT,
            "amount": value * quantity,
            "currency": currency,
            "description": f"{quantity} x {product} (shipment {shipment.id})",
            "created_at": now or utcnow(),
            "idempotency_key": shipment_cost_key(shipment.id),
        },
        ["idempotency_key"],
    )
    return shipment


def move(shipment: Shipment, status: ShipmentStatus) -> None:
    if status is shipment.status:
        return
    if status not in TRANSITIONS[shipment.status]:
        raise ProgramError(
            "INVALID_TRANSITION",
            f"a {shipment.status.value} shipment cannot become {status.value}",
            "status",
        )
    shipment.status = status
