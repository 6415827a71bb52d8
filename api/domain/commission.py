"""Compensation plans and the commission maths of the ledger.

A plan is set on a campaign and may be overridden per partnership. Money is int minor units in the
plan's currency, rates are basis points (1 bp = 0.01 %), and every amount is rounded once,
half-even (`api.money`), where the ledger entry is computed:

- `commission_for_order` quotes the commission of one attributed order;
- `reversal_for_refund` quotes the part of it a refund takes back, cumulatively, so partial
  refunds never drift and a full refund reverses exactly the commission.

Gifted products are recorded as a cost of the partnership, never paid out. Bonuses and flat fees
per deliverable are paid by the finance flow, not per order; they live here so one plan holds the
whole deal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, Final, Literal, TypeVar

from api.domain.problems import Problem, ProblemCode
from api.money import (
    CURRENCIES,
    MoneyError,
    apply_basis_points,
    format_amount,
    normalize_currency,
    round_half_even,
)

MAX_BPS: Final = 10_000
_T = TypeVar("_T")
# The same ceiling as api.money.parse_amount: larger amounts are input mistakes.
MAX_MINOR: Final = 10**15 - 1


class CommissionKind(StrEnum):
    NONE = "NONE"
    PERCENT = "PERCENT"  # `bps` of the order amount
    FLAT_PER_CONVERSION = "FLAT_PER_CONVERSION"  # `flat_minor` per attributed order
    TIERED = "TIERED"  # `bps` of the tier reached by the month's revenue


@dataclass(frozen=True, slots=True)
class Tier:
    """A commission rate that applies once the influencer's attributed revenue in the calendar
    month (over all their partnerships) reaches a threshold."""

    min_monthly_revenue_minor: int
    bps: int


@dataclass(frozen=True, slots=True)
class Commission:
    """What an attributed order earns. Only the parameters of `kind` may be set."""

    kind: CommissionKind = CommissionKind.NONE
    bps: int | None = None  # PERCENT
    flat_minor: int | None = None  # FLAT_PER_CONVERSION
    tiers: tuple[Tier, ...] = ()  # TIERED: ascending thresholds, the first one 0

    def __post_init__(self) -> None:
        # Accept the stored string value ("PERCENT"); anything unknown is left for validate().
        if not isinstance(self.kind, CommissionKind) and self.kind in set(CommissionKind):
            object.__setattr__(self, "kind", CommissionKind(self.kind))
        object.__setattr__(self, "tiers", tuple(self.tiers))


@dataclass(frozen=True, slots=True)
class GiftedProduct:
    """Product sent to the influencer: a cost to record (value at cost price), never a payment."""

    description: str
    value_minor: int | None = None


@dataclass(frozen=True, slots=True)
class Bonus:
    """A one-off payment on a condition stated in words ("50 sales in June")."""

    amount_minor: int
    description: str


@dataclass(frozen=True, slots=True)
class CompensationPlan:
    """Everything an influencer gets from a campaign, in one currency.

    Build it from any input, then `validate()` before storing (the API turns the problems into
    userErrors). The currency is upper-cased on construction.
    """

    currency: str
    flat_fee_per_deliverable_minor: int | None = None
    commission: Commission = field(default_factory=Commission)
    gifted_product: GiftedProduct | None = None
    bonus: Bonus | None = None
    # The rate of a customer's repeat orders (`commission_for_order(repeat=True)`), e.g. 10%
    # on the first order and 5% after; None: repeat orders earn as the first did.
    repeat_order_bps: int | None = None
    # The rate of an order on a leaked discount code (`commission_for_order(leaked=...)`): from a
    # coupon site, or without the creator's click while the code is suspected of leaking. 0 pays
    # nothing; None: such orders earn as any other.
    leaked_order_bps: int | None = None

    @property
    def is_tiered(self) -> bool:
        """Whether an order's commission depends on the influencer's other orders this month."""
        return self.commission.kind is CommissionKind.TIERED

    def __post_init__(self) -> None:
        if isinstance(self.currency, str):
            object.__setattr__(self, "currency", self.currency.strip().upper())

    def validate(self) -> list[Problem]:
        """Every problem of the plan: [] means valid."""
        problems: list[Problem] = []
        if self.currency not in CURRENCIES:
            problems.append(
                Problem(
                    "currency",
                    f"unknown currency {self.currency!r}: expected an ISO 4217 code such as EUR",
                    ProblemCode.UNKNOWN_CURRENCY,
                )
            )
        if self.flat_fee_per_deliverable_minor is not None:
            _check_money(
                problems, "flat_fee_per_deliverable_minor", self.flat_fee_per_deliverable_minor
            )
        _check_commission(problems, self.commission)
        if self.repeat_order_bps is not None:
            _check_bps(problems, "repeat_order_bps", self.repeat_order_bps)
        if self.leaked_order_bps is not None:
            _check_bps(problems, "leaked_order_bps", self.leaked_order_bps)
        if self.gifted_product is not None:
            if not self.gifted_product.description.strip():
                problems.append(
                    Problem(
                        "gifted_product.description",
                        "describe the gifted product",
                        ProblemCode.REQUIRED,
                    )
                )
            if self.gifted_product.value_minor is not None:
                _check_money(
                    problems, "gifted_product.value_minor", self.gifted_product.value_minor
                )
        if self.bonus is not None:
            _check_money(problems, "bonus.amount_minor", self.bonus.amount_minor)
            if not self.bonus.description.strip():
                problems.append(
                    Problem(
                        "bonus.description",
                        "say what the bonus is paid for",
                        ProblemCode.REQUIRED,
                    )
                )
        return problems

    def to_dict(self) -> dict[str, Any]:
        """JSON for storage; unset optional parts are left out."""
        data: dict[str, Any] = {
            "currency": self.currency,
            "commission": _commission_to_dict(self.commission),
        }
        if self.flat_fee_per_deliverable_minor is not None:
            data["flat_fee_per_deliverable_minor"] = self.flat_fee_per_deliverable_minor
        if self.gifted_product is not None:
            data["gifted_product"] = _gift_to_dict(self.gifted_product)
        if self.bonus is not None:
            data["bonus"] = _bonus_to_dict(self.bonus)
        if self.repeat_order_bps is not None:
            data["repeat_order_bps"] = self.repeat_order_bps
        if self.leaked_order_bps is not None:
            data["leaked_order_bps"] = self.leaked_order_bps
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompensationPlan:
        """From `to_dict` JSON. A wrong shape raises PlanFormatError; rules are `validate()`'s."""
        _only_keys(data, _PLAN_KEYS, "plan")
        return cls(
            currency=_str(data, "currency", "plan"),
            flat_fee_per_deliverable_minor=_opt_int(data, "flat_fee_per_deliverable_minor", "plan"),
            commission=_commission_from_dict(data.get("commission")),
            gifted_product=_gift_from_dict(data.get("gifted_product")),
            bonus=_bonus_from_dict(data.get("bonus")),
            repeat_order_bps=_opt_int(data, "repeat_order_bps", "plan"),
            leaked_order_bps=_opt_int(data, "leaked_order_bps", "plan"),
        )


class _Inherit(Enum):
    INHERIT = "INHERIT"

    def __repr__(self) -> str:
        return "INHERIT"


INHERIT: Final = _Inherit.INHERIT
"""A PlanOverride field left at INHERIT takes the campaign plan's value (None clears it)."""
Inherit = Literal[_Inherit.INHERIT]


@dataclass(frozen=True, slots=True)
class PlanOverride:
    """A partnership's changes to its campaign's plan, merged field by field by `effective_plan`.

    INHERIT (the default) keeps the campaign's value; None removes an optional part; anything else
    replaces it. `commission`, `gifted_product` and `bonus` are replaced as a whole: a commission
    kind never mixes with another kind's parameters. JSON: a missing key is INHERIT, null is None.
    """

    currency: str | Inherit = INHERIT
    flat_fee_per_deliverable_minor: int | Inherit | None = INHERIT
    commission: Commission | Inherit = INHERIT
    gifted_product: GiftedProduct | Inherit | None = INHERIT
    bonus: Bonus | Inherit | None = INHERIT
    repeat_order_bps: int | Inherit | None = INHERIT
    leaked_order_bps: int | Inherit | None = INHERIT

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.currency is not INHERIT:
            data["currency"] = self.currency
        if self.flat_fee_per_deliverable_minor is not INHERIT:
            data["flat_fee_per_deliverable_minor"] = self.flat_fee_per_deliverable_minor
        if self.commission is not INHERIT:
            data["commission"] = _commission_to_dict(self.commission)
        if self.gifted_product is not INHERIT:
            gift = self.gifted_product
            data["gifted_product"] = None if gift is None else _gift_to_dict(gift)
        if self.bonus is not INHERIT:
            data["bonus"] = None if self.bonus is None else _bonus_to_dict(self.bonus)
        if self.repeat_order_bps is not INHERIT:
            data["repeat_order_bps"] = self.repeat_order_bps
        if self.leaked_order_bps is not INHERIT:
            data["leaked_order_bps"] = self.leaked_order_bps
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanOverride:
        _only_keys(data, _PLAN_KEYS, "override")
        return cls(
            currency=_str(data, "currency", "override") if "currency" in data else INHERIT,
            flat_fee_per_deliverable_minor=(
                _opt_int(data, "flat_fee_per_deliverable_minor", "override")
                if "flat_fee_per_deliverable_minor" in data
                else INHERIT
            ),
            commission=(
                _commission_from_dict(data["commission"]) if "commission" in data else INHERIT
            ),
            gifted_product=(
                _gift_from_dict(data["gifted_product"]) if "gifted_product" in data else INHERIT
            ),
            bonus=_bonus_from_dict(data["bonus"]) if "bonus" in data else INHERIT,
            repeat_order_bps=(
                _opt_int(data, "repeat_order_bps", "override")
                if "repeat_order_bps" in data
                else INHERIT
            ),
            leaked_order_bps=(
                _opt_int(data, "leaked_order_bps", "override")
                if "leaked_order_bps" in data
                else INHERIT
            ),
        )


def effective_plan(
    campaign_plan: CompensationPlan, partnership_override: PlanOverride | None
) -> CompensationPlan:
    """The plan that applies to a partnership: the campaign's, merged with the override.

    Merge by field where set (see PlanOverride). An override in another currency cannot inherit
    amounts counted in the campaign's currency, so it is then a whole plan by itself: the fields it
    leaves at INHERIT are empty. Validate the result before storing an override.
    """
    override = partnership_override
    if override is None:
        return campaign_plan
    base = campaign_plan
    if override.currency is not INHERIT and override.currency.strip().upper() != base.currency:
        base = CompensationPlan(currency=override.currency)
    return CompensationPlan(
        currency=base.currency,
        flat_fee_per_deliverable_minor=_pick(
            override.flat_fee_per_deliverable_minor, base.flat_fee_per_deliverable_minor
        ),
        commission=_pick(override.commission, base.commission),
        gifted_product=_pick(override.gifted_product, base.gifted_product),
        bonus=_pick(override.bonus, base.bonus),
        repeat_order_bps=_pick(override.repeat_order_bps, base.repeat_order_bps),
        leaked_order_bps=_pick(override.leaked_order_bps, base.leaked_order_bps),
    )


def _pick(value: _T | Inherit, inherited: _T) -> _T:
    return inherited if isinstance(value, _Inherit) else value


class CommissionError(ValueError):
    """An order or refund that cannot be priced; `code` is for the worker's error record."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


class PlanFormatError(ValueError):
    """Stored plan JSON of the wrong shape (a bug or a bad migration, not user input)."""


@dataclass(frozen=True, slots=True)
class CommissionQuote:
    """The commission of one order, in the plan's currency, with why in plain words."""

    amount_minor: int
    currency: str
    bps_applied: int | None  # the rate used (PERCENT, TIERED); None for flat or no commission
    tier_index: int | None  # 0-based index into plan.commission.tiers (TIERED only)
    explanation: str


def commission_for_order(
    plan: CompensationPlan,
    order_amount_minor: int,
    order_currency: str,
    month_revenue_before_minor: int = 0,
    *,
    repeat: bool = False,
    rate_bps: int | None = None,
    leaked: str | None = None,
) -> CommissionQuote:
    """The commission an attributed order earns under `plan`.

    `rate_bps`: the discount code's own rate, which overrides the plan's commission (a code for
    a giveaway, for a second audience): that percentage of the order. Else `repeat` (a later
    order of a customer the influencer brought) earns the plan's `repeat_order_bps` when it has
    one. Otherwise the plan's commission, as below. `leaked` (why the order is a leaked-code
    sale) comes before all of them when the plan has a `leaked_order_bps`.

    `month_revenue_before_minor`: the influencer's attributed revenue (over all their
    partnerships) earlier in the same month (TIERED only). The tier is the one reached by that
    revenue plus this order, and the whole order earns that tier's rate: the order that crosses a
    threshold and every later one in the month get the higher rate; earlier orders are not
    repriced.

    Raises CommissionError for an invalid plan, a negative amount, or an order in another currency
    than the plan's (code CURRENCY_MISMATCH): converting is the caller's decision, never implicit.
    """
    problems = plan.validate()
    if problems:
        detail = "; ".join(f"{p.field}: {p.message}" for p in problems)
        raise CommissionError("INVALID_PLAN", f"the compensation plan is invalid: {detail}")
    try:
        currency = normalize_currency(order_currency)
    except MoneyError as exc:
        raise CommissionError("UNKNOWN_CURRENCY", str(exc)) from None
    if currency != plan.currency:
        raise CommissionError(
            "CURRENCY_MISMATCH",
            f"the order is in {currency} but the compensation plan pays in {plan.currency}",
        )
    _require_amount("order_amount_minor", order_amount_minor)
    _require_amount("month_revenue_before_minor", month_revenue_before_minor)

    commission = plan.commission
    order = _fmt(order_amount_minor, currency)
    if leaked is not None and plan.leaked_order_bps is not None:
        leaked_bps = plan.leaked_order_bps
        amount = apply_basis_points(order_amount_minor, leaked_bps)
        return CommissionQuote(
            amount,
            currency,
            leaked_bps,
            None,
            f"leaked discount code ({leaked}): the plan's leaked-order rate, "
            f"{_pct(leaked_bps)} of {order} = {_fmt(amount, currency)}",
        )
    if rate_bps is not None or (repeat and plan.repeat_order_bps is not None):
        bps = rate_bps if rate_bps is not None else plan.repeat_order_bps
        assert bps is not None
        if not 0 <= bps <= MAX_BPS:
            raise CommissionError("INVALID_PLAN", f"a rate of {bps} basis points is out of range")
        amount = apply_basis_points(order_amount_minor, bps)
        why = "the discount code's own rate" if rate_bps is not None else "repeat order"
        return CommissionQuote(
            amount, currency, bps, None, f"{why}: {_pct(bps)} of {order} = {_fmt(amount, currency)}"
        )
    if commission.kind is CommissionKind.NONE:
        return CommissionQuote(0, currency, None, None, "the plan pays no commission on orders")
    if commission.kind is CommissionKind.FLAT_PER_CONVERSION:
        assert commission.flat_minor is not None
        return CommissionQuote(
            commission.flat_minor,
            currency,
            None,
            None,
            f"flat {_fmt(commission.flat_minor, currency)} per conversion (order {order})",
        )
    if commission.kind is CommissionKind.PERCENT:
        assert commission.bps is not None
        amount = apply_basis_points(order_amount_minor, commission.bps)
        return CommissionQuote(
            amount,
            currency,
            commission.bps,
            None,
            f"{_pct(commission.bps)} of {order} = {_fmt(amount, currency)}",
        )
    reached = month_revenue_before_minor + order_amount_minor
    index = tier_index_for(commission.tiers, reached)
    tier = commission.tiers[index]
    amount = apply_basis_points(order_amount_minor, tier.bps)
    return CommissionQuote(
        amount,
        currency,
        tier.bps,
        index,
        f"tier {index + 1} of {len(commission.tiers)} (monthly revenue from "
        f"{_fmt(tier.min_monthly_revenue_minor, currency)}; {_fmt(reached, currency)} this month "
        f"with this order): {_pct(tier.bps)} of {order} = {_fmt(amount, currency)}",
    )


def tier_index_for(tiers: tuple[Tier, ...], monthly_revenue_minor: int) -> int:
    """The index of the highest tier whose threshold `monthly_revenue_minor` reaches (>=)."""
    index = 0
    for i, tier in enumerate(tiers):
        if monthly_revenue_minor >= tier.min_monthly_revenue_minor:
            index = i
    return index


def reversal_for_refund(
    commission_minor: int,
    order_amount_minor: int,
    refunded_before_minor: int,
    refund_minor: int,
    reversed_before_minor: int,
) -> int:
    """The commission to reverse for a refund (minor units, >= 0), all in the order's currency.

    Cumulative: target = round_half_even(commission x (refunded_before + refund) / order_amount),
    reversal = target - reversed_before. Each refund corrects the rounding of the previous ones,
    so a sequence of partial refunds never drifts and refunding the whole order reverses exactly
    the commission. Raises CommissionError for negative amounts, a refund larger than what is left
    of the order (REFUND_EXCEEDS_ORDER) or more already reversed than the refunds justify.
    """
    for name, value in (
        ("commission_minor", commission_minor),
        ("order_amount_minor", order_amount_minor),
        ("refunded_before_minor", refunded_before_minor),
        ("refund_minor", refund_minor),
        ("reversed_before_minor", reversed_before_minor),
    ):
        _require_amount(name, value)
    remaining = order_amount_minor - refunded_before_minor
    if refund_minor > remaining:
        raise CommissionError(
            "REFUND_EXCEEDS_ORDER",
            f"a refund of {refund_minor} exceeds the {max(remaining, 0)} left to refund of an "
            f"order of {order_amount_minor} (minor units; {refunded_before_minor} refunded before)",
        )
    if order_amount_minor == 0:
        target = 0
    else:
        refunded = refunded_before_minor + refund_minor
        target = round_half_even(
            Decimal(commission_minor) * Decimal(refunded) / Decimal(order_amount_minor)
        )
    if reversed_before_minor > target:
        raise CommissionError(
            "INCONSISTENT_REVERSAL",
            f"{reversed_before_minor} already reversed but the refunds only justify {target}",
        )
    return target - reversed_before_minor


# --- validation -------------------------------------------------------------------------------


def _check_money(problems: list[Problem], path: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(Problem(path, "must be a whole number of minor units", ProblemCode.INVALID))
    elif value < 0:
        problems.append(Problem(path, f"must not be negative, got {value}", ProblemCode.NEGATIVE))
    elif value > MAX_MINOR:
        problems.append(Problem(path, f"{value} is too large", ProblemCode.OUT_OF_RANGE))


def _check_bps(problems: list[Problem], path: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(
            Problem(path, "must be a whole number of basis points", ProblemCode.INVALID)
        )
    elif not 0 <= value <= MAX_BPS:
        problems.append(
            Problem(
                path,
                f"must be between 0 and 10000 basis points (0-100 %), got {value}",
                ProblemCode.OUT_OF_RANGE,
            )
        )


def _check_commission(problems: list[Problem], commission: Commission) -> None:
    kind = commission.kind
    if kind not in set(CommissionKind):
        names = ", ".join(CommissionKind)
        problems.append(
            Problem(
                "commission.kind", f"unknown kind {kind!r}: one of {names}", ProblemCode.INVALID
            )
        )
        return
    params = {
        "bps": (commission.bps is not None, CommissionKind.PERCENT),
        "flat_minor": (commission.flat_minor is not None, CommissionKind.FLAT_PER_CONVERSION),
        "tiers": (bool(commission.tiers), CommissionKind.TIERED),
    }
    for name, (is_set, owner) in params.items():
        if is_set and kind is not owner:
            problems.append(
                Problem(
                    f"commission.{name}",
                    f"{name} belongs to {owner} commissions, not {kind}",
                    ProblemCode.NOT_ALLOWED,
                )
            )
        if not is_set and kind is owner:
            problems.append(
                Problem(
                    f"commission.{name}", f"{kind} commissions need {name}", ProblemCode.REQUIRED
                )
            )
    if kind is CommissionKind.PERCENT and commission.bps is not None:
        _check_bps(problems, "commission.bps", commission.bps)
    if kind is CommissionKind.FLAT_PER_CONVERSION and commission.flat_minor is not None:
        _check_money(problems, "commission.flat_minor", commission.flat_minor)
    if kind is CommissionKind.TIERED:
        _check_tiers(problems, commission.tiers)


def _check_tiers(problems: list[Problem], tiers: tuple[Tier, ...]) -> None:
    previous: int | None = None
    for i, tier in enumerate(tiers):
        path = f"commission.tiers[{i}]"
        before = len(problems)
        _check_money(problems, f"{path}.min_monthly_revenue_minor", tier.min_monthly_revenue_minor)
        _check_bps(problems, f"{path}.bps", tier.bps)
        if len(problems) > before:
            previous = None
            continue
        threshold = tier.min_monthly_revenue_minor
        if i == 0 and threshold != 0:
            problems.append(
                Problem(
                    f"{path}.min_monthly_revenue_minor",
                    f"the first tier must start at 0 so every order has a rate, got {threshold}",
                    ProblemCode.INVALID,
                )
            )
        elif previous is not None and threshold == previous:
            problems.append(
                Problem(
                    f"{path}.min_monthly_revenue_minor",
                    f"tiers {i} and {i + 1} have the same threshold ({threshold})",
                    ProblemCode.DUPLICATE,
                )
            )
        elif previous is not None and threshold < previous:
            problems.append(
                Problem(
                    f"{path}.min_monthly_revenue_minor",
                    f"thresholds must ascend: {threshold} comes after {previous}",
                    ProblemCode.NOT_ASCENDING,
                )
            )
        previous = threshold


def _require_amount(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CommissionError("INVALID_AMOUNT", f"{name} must be an integer of minor units")
    if value < 0:
        raise CommissionError("INVALID_AMOUNT", f"{name} must not be negative, got {value}")


def _fmt(minor: int, currency: str) -> str:
    return f"{format_amount(minor, currency)} {currency}"


def _pct(bps: int) -> str:
    """Basis points as a percentage for people: 1250 -> "12.5%", 1000 -> "10%"."""
    text = f"{Decimal(bps).scaleb(-2):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


# --- JSON -------------------------------------------------------------------------------------

_PLAN_KEYS = frozenset(
    {
        "currency",
        "flat_fee_per_deliverable_minor",
        "commission",
        "gifted_product",
        "bonus",
        "repeat_order_bps",
        "leaked_order_bps",
    }
)


def _commission_to_dict(commission: Commission) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": str(commission.kind)}
    if commission.bps is not None:
        data["bps"] = commission.bps
    if commission.flat_minor is not None:
        data["flat_minor"] = commission.flat_minor
    if commission.tiers:
        data["tiers"] = [
            {"min_monthly_revenue_minor": t.min_monthly_revenue_minor, "bps": t.bps}
            for t in commission.tiers
        ]
    return data


def _commission_from_dict(data: Any) -> Commission:
    if data is None:
        return Commission()
    where = "commission"
    _only_keys(data, frozenset({"kind", "bps", "flat_minor", "tiers"}), where)
    kind_text = _str(data, "kind", where)
    try:
        kind = CommissionKind(kind_text)
    except ValueError:
        raise PlanFormatError(f"{where}.kind: unknown kind {kind_text!r}") from None
    raw_tiers = [] if data.get("tiers") is None else data["tiers"]
    if not isinstance(raw_tiers, list):
        raise PlanFormatError(f"{where}.tiers must be a list")
    tiers = []
    for i, raw in enumerate(raw_tiers):
        tier_where = f"{where}.tiers[{i}]"
        _only_keys(raw, frozenset({"min_monthly_revenue_minor", "bps"}), tier_where)
        tiers.append(
            Tier(
                min_monthly_revenue_minor=_int(raw, "min_monthly_revenue_minor", tier_where),
                bps=_int(raw, "bps", tier_where),
            )
        )
    return Commission(
        kind=kind,
        bps=_opt_int(data, "bps", where),
        flat_minor=_opt_int(data, "flat_minor", where),
        tiers=tuple(tiers),
    )


def _gift_to_dict(gift: GiftedProduct) -> dict[str, Any]:
    data: dict[str, Any] = {"description": gift.description}
    if gift.value_minor is not None:
        data["value_minor"] = gift.value_minor
    return data


def _gift_from_dict(data: Any) -> GiftedProduct | None:
    if data is None:
        return None
    _only_keys(data, frozenset({"description", "value_minor"}), "gifted_product")
    return GiftedProduct(
        description=_str(data, "description", "gifted_product"),
        value_minor=_opt_int(data, "value_minor", "gifted_product"),
    )


def _bonus_to_dict(bonus: Bonus) -> dict[str, Any]:
    return {"amount_minor": bonus.amount_minor, "description": bonus.description}


def _bonus_from_dict(data: Any) -> Bonus | None:
    if data is None:
        return None
    _only_keys(data, frozenset({"amount_minor", "description"}), "bonus")
    return Bonus(
        amount_minor=_int(data, "amount_minor", "bonus"),
        description=_str(data, "description", "bonus"),
    )


def _only_keys(data: Any, allowed: frozenset[str], where: str) -> None:
    if not isinstance(data, Mapping):
        raise PlanFormatError(f"{where} must be an object, got {type(data).__name__}")
    unknown = set(data) - allowed
    if unknown:
        raise PlanFormatError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise PlanFormatError(f"{where}.{key} must be a string, got {value!r}")
    return value


def _int(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanFormatError(f"{where}.{key} must be an integer, got {value!r}")
    return value


def _opt_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    return None if data.get(key) is None else _int(data, key, where)
