"""Compensation plans in GraphQL: amounts as Decimal strings in the plan's currency."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from api.domain import commission as c
from api.graphql import inputs
from api.graphql.errors import from_domain, problem
from api.graphql.money import Money, amount_or_error, currency_or_error


@strawberry.enum(name="CommissionKind")
class CommissionKind(Enum):
    NONE = "NONE"
    PERCENT = "PERCENT"
    FLAT_PER_CONVERSION = "FLAT_PER_CONVERSION"
    TIERED = "TIERED"


@strawberry.type(name="CommissionTier")
class CommissionTier:
    min_monthly_revenue: Money
    rate_bps: int


@strawberry.type(name="Commission")
class Commission:
    kind: CommissionKind
    rate_bps: int | None = strawberry.field(description="Basis points of revenue (PERCENT).")
    flat_per_conversion: Money | None
    tiers: list[CommissionTier]


@strawberry.type(name="GiftedProduct")
class GiftedProduct:
    description: str
    value: Money | None


@strawberry.type(name="Bonus")
class Bonus:
    amount: Money
    description: str


@strawberry.type(name="CompensationPlan")
class CompensationPlan:
    currency: str
    flat_fee_per_deliverable: Money | None
    commission: Commission
    gifted_product: GiftedProduct | None
    bonus: Bonus | None
    repeat_order_rate_bps: int | None = strawberry.field(
        description="The rate of a customer's repeat orders (when the campaign credits them: "
        "`Campaign.repeatOrders`); null: they earn as a first order does."
    )
    leaked_order_rate_bps: int | None = strawberry.field(
        description="The rate of orders on a leaked discount code (from a coupon or deal site, "
        "or with no click from the creator while the code is suspected of leaking); 0 pays "
        "nothing. Their ledger entry says why. Null: they earn as any order."
    )

    @classmethod
    def of(cls, plan: c.CompensationPlan) -> CompensationPlan:
        cur = plan.currency
        com = plan.commission
        return cls(
            currency=cur,
            flat_fee_per_deliverable=Money.of(plan.flat_fee_per_deliverable_minor, cur),
            commission=Commission(
                kind=CommissionKind(com.kind.value),
                rate_bps=com.bps,
                flat_per_conversion=Money.of(com.flat_minor, cur),
                tiers=[
                    CommissionTier(
                        min_monthly_revenue=Money.of(t.min_monthly_revenue_minor, cur),  # type: ignore[arg-type]
                        rate_bps=t.bps,
                    )
                    for t in com.tiers
                ],
            ),
            gifted_product=GiftedProduct(
                description=plan.gifted_product.description,
                value=Money.of(plan.gifted_product.value_minor, cur),
            )
            if plan.gifted_product
            else None,
            bonus=Bonus(
                amount=Money.of(plan.bonus.amount_minor, cur),  # type: ignore[arg-type]
                description=plan.bonus.description,
            )
            if plan.bonus
            else None,
            repeat_order_rate_bps=plan.repeat_order_bps,
            leaked_order_rate_bps=plan.leaked_order_bps,
        )


@strawberry.input
class CommissionTierInput:
    min_monthly_revenue: Decimal
    rate_bps: int


@strawberry.input
class CommissionInput:
    kind: CommissionKind
    rate_bps: int | None = None
    flat_per_conversion: Decimal | None = None
    tiers: list[CommissionTierInput] | None = None


@strawberry.input
class GiftedProductInput:
    description: str
    value: Decimal | None = None


@strawberry.input
class BonusInput:
    amount: Decimal
    description: str


@strawberry.input(description='A whole plan; amounts are in its currency, e.g. "12.50".')
class CompensationPlanInput:
    currency: str
    flat_fee_per_deliverable: Decimal | None = None
    commission: CommissionInput | None = None
    gifted_product: GiftedProductInput | None = None
    bonus: BonusInput | None = None
    repeat_order_rate_bps: int | None = strawberry.field(
        default=None,
        description="The rate of repeat orders, e.g. 500 (5%) after a first order at 10%.",
    )
    leaked_order_rate_bps: int | None = strawberry.field(
        default=None,
        description="The rate of orders on a leaked discount code, e.g. 0 (nothing) or 200.",
    )


def to_domain(value: CompensationPlanInput, field: str) -> c.CompensationPlan:
    """Parses and validates a plan; every problem is a user error under `field`."""
    currency = currency_or_error(value.currency, f"{field}.currency")

    def minor(amount: Decimal | None, path: str) -> int | None:
        if amount is None:
            return None
        return amount_or_error(amount, currency, f"{field}.{path}", allow_negative=True)

    com_in = value.commission or CommissionInput(kind=CommissionKind.NONE)
    tiers = tuple(
        c.Tier(
            min_monthly_revenue_minor=minor(
                t.min_monthly_revenue, f"commission.tiers[{i}].minMonthlyRevenue"
            )
            or 0,
            bps=t.rate_bps,
        )
        for i, t in enumerate(com_in.tiers or [])
    )
    try:
        commission = c.Commission(
            kind=c.CommissionKind(com_in.kind.value),
            bps=com_in.rate_bps,
            flat_minor=minor(com_in.flat_per_conversion, "commission.flatPerConversion"),
            tiers=tiers,
        )
    except (ValueError, TypeError) as exc:
        raise problem(f"{field}.commission", str(exc), "INVALID") from None
    gift = value.gifted_product
    bonus = value.bonus
    if gift:
        inputs.no_controls(gift.description, f"{field}.giftedProduct.description", multiline=True)
    if bonus:
        inputs.no_controls(bonus.description, f"{field}.bonus.description", multiline=True)
    plan = c.CompensationPlan(
        currency=currency,
        flat_fee_per_deliverable_minor=minor(
            value.flat_fee_per_deliverable, "flatFeePerDeliverable"
        ),
        commission=commission,
        gifted_product=c.GiftedProduct(gift.description, minor(gift.value, "giftedProduct.value"))
        if gift
        else None,
        bonus=c.Bonus(minor(bonus.amount, "bonus.amount") or 0, bonus.description)
        if bonus
        else None,
        repeat_order_bps=value.repeat_order_rate_bps,
        leaked_order_bps=value.leaked_order_rate_bps,
    )
    problems = plan.validate()
    if problems:
        raise from_domain([p._replace(field=_input_path(p.field)) for p in problems], f"{field}.")
    return plan


# Domain field names (minor units, bps) -> the names of this input.
_INPUT_NAMES = {
    "flat_fee_per_deliverable_minor": "flat_fee_per_deliverable",
    "bps": "rate_bps",
    "flat_minor": "flat_per_conversion",
    "min_monthly_revenue_minor": "min_monthly_revenue",
    "value_minor": "value",
    "amount_minor": "amount",
    "repeat_order_bps": "repeat_order_rate_bps",
    "leaked_order_bps": "leaked_order_rate_bps",
}


def _input_path(path: str | None) -> str | None:
    if path is None:
        return None
    parts = []
    for part in path.split("."):
        name, bracket, index = part.partition("[")
        parts.append(_INPUT_NAMES.get(name, name) + bracket + index)
    return ".".join(parts)
