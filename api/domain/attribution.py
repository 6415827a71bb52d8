"""Attribution of a conversion to a partnership: last click wins, a discount code beats a click.

The ingest worker looks up the click of the conversion's click id and the discount code it used,
plus the facts of the partnerships they point at, and calls `attribute()`. Rules:

- A click attributes when the conversion happened within the campaign's attribution window after
  it (inclusive: exactly `attribution_window_days` later still counts). A conversion up to
  `CLOCK_SKEW_TOLERANCE` (60 s) *before* its click is accepted: merchants' order times come from
  another clock and are often truncated to the second or minute. Such a conversion is also less
  than 10 s after the click, so it goes on hold (FAST_CONVERSION) for a person to look at. Earlier
  than that, the click cannot have caused it: NO_MATCH.
- An active discount code attributes to its partnership, with no window.
- When both attribute, to different partnerships, the code wins: typing it at checkout is the
  shopper's last, deliberate touch. When both point to the same partnership, `via` is CLICK.
- Campaigns credit conversions while ACTIVE or PAUSED. Pausing stops new work, not the pay for
  traffic the influencer already drove (most networks credit clicks converting within the window
  during a pause). DRAFT, COMPLETED and CANCELLED campaigns credit nothing: CAMPAIGN_NOT_ACTIVE.
- A candidate failing a rule is dropped and the other one may still attribute. With none left,
  the reason is the most specific failure: CAMPAIGN_NOT_ACTIVE (it matched but its campaign does
  not credit) > INACTIVE_CODE > EXPIRED_CLICK > NO_MATCH (unknown click id or code, or neither).
- Customers who come back: the first attributed order of a customer (the shop's customer id,
  or a keyed hash of their e-mail) claims them for its partnership (`CustomerClaimFacts`). The
  campaign that won them says how long the claim credits their later orders (`RepeatOrders`):
  FIRST_ORDER_ONLY (never: each order needs its own click or code), WITHIN_MONTHS(n) (orders
  placed before n calendar months after the claim) or LIFETIME. While a claim is live (and its
  campaign credits), the customer's order goes to the claiming partnership (via CUSTOMER) even
  when it came through another influencer's click: a later click does not re-attribute a
  claimed customer. Another partnership's active discount code still wins, as a code beats a
  click (typing it is the shopper's deliberate choice). An order of a claimed customer that is
  attributed to the claiming partnership, by whatever route, is a repeat order (`repeat`: the
  plan's repeat-order rate applies).
- An attributed conversion goes on hold when the customer is the influencer (SELF_REFERRAL,
  exact customer-id match: normalise e.g. e-mails before) or it came less than 10 s after the
  attributing click (FAST_CONVERSION: bots, or the influencer buying through their own link),
  or while a live post of the partnership broke its approved disclosure and the brand chose to
  hold commissions for it (LIVE_POST_BREACH, until the finding is resolved), or while the
  partnership's creator-risk level is at or above the brand's hold level (RISK_SCORE,
  `api.domain.risk`; the reasons go with the order for the reviewer).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from api.domain.campaign_status import CampaignStatus

CLOCK_SKEW_TOLERANCE: Final = timedelta(seconds=60)
FAST_CONVERSION: Final = timedelta(seconds=10)
CREDITING_STATUSES: Final = frozenset({CampaignStatus.ACTIVE, CampaignStatus.PAUSED})


class AttributionVia(StrEnum):
    CLICK = "CLICK"
    DISCOUNT_CODE = "DISCOUNT_CODE"
    CUSTOMER = "CUSTOMER"  # a repeat order of a customer the partnership claimed


class RepeatOrders(StrEnum):
    """Whether a campaign credits the later orders of a customer its influencer brought."""

    FIRST_ORDER_ONLY = "FIRST_ORDER_ONLY"
    WITHIN_MONTHS = "WITHIN_MONTHS"
    LIFETIME = "LIFETIME"


MAX_REPEAT_MONTHS: Final = 120


class UnattributedReason(StrEnum):
    NO_MATCH = "NO_MATCH"
    EXPIRED_CLICK = "EXPIRED_CLICK"
    INACTIVE_CODE = "INACTIVE_CODE"
    CAMPAIGN_NOT_ACTIVE = "CAMPAIGN_NOT_ACTIVE"


class HoldReason(StrEnum):
    SELF_REFERRAL = "SELF_REFERRAL"
    FAST_CONVERSION = "FAST_CONVERSION"
    LIVE_POST_BREACH = "LIVE_POST_BREACH"
    RISK_SCORE = "RISK_SCORE"


# Most specific first: the reason reported when nothing attributes.
_SPECIFICITY = (
    UnattributedReason.CAMPAIGN_NOT_ACTIVE,
    UnattributedReason.INACTIVE_CODE,
    UnattributedReason.EXPIRED_CLICK,
    UnattributedReason.NO_MATCH,
)


@dataclass(frozen=True, slots=True)
class ConversionFacts:
    """The conversion as reported by the merchant. Datetimes must be timezone-aware."""

    occurred_at: datetime
    customer_id: str | None = None
    click_id: str | None = None
    discount_code: str | None = None


@dataclass(frozen=True, slots=True)
class ClickFacts:
    """The click found for the conversion's click id."""

    clicked_at: datetime
    partnership_id: int
    campaign_id: int


@dataclass(frozen=True, slots=True)
class DiscountCodeFacts:
    """The discount code found for the conversion's code."""

    partnership_id: int
    campaign_id: int
    active: bool
    commission_bps: int | None = None  # the code's own rate (`commission_for_order(rate_bps)`)
    leak_suspected: bool = False  # `DiscountCode.leak_suspected_at` is set


@dataclass(frozen=True, slots=True)
class CustomerClaimFacts:
    """The partnership that claimed the conversion's customer, and its campaign's rule."""

    partnership_id: int
    campaign_id: int
    claimed_at: datetime
    repeat_orders: RepeatOrders = RepeatOrders.FIRST_ORDER_ONLY
    repeat_months: int | None = None


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later (the month's last day if shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def claim_is_live(claim: CustomerClaimFacts, occurred_at: datetime) -> bool:
    """Whether the claim credits an order placed at `occurred_at`."""
    _require_aware("claimed_at", claim.claimed_at)
    if claim.repeat_orders is RepeatOrders.LIFETIME:
        return True
    if claim.repeat_orders is RepeatOrders.WITHIN_MONTHS:
        months = claim.repeat_months
        if months is None or not 1 <= months <= MAX_REPEAT_MONTHS:
            raise ValueError(f"WITHIN_MONTHS needs 1-{MAX_REPEAT_MONTHS} months, got {months}")
        return occurred_at < add_months(claim.claimed_at, months)
    return False


def repeat_rule_problem(mode: RepeatOrders, months: int | None) -> str | None:
    """Why a campaign's repeat-order setting is invalid, or None."""
    if mode is RepeatOrders.WITHIN_MONTHS:
        if months is None or not 1 <= months <= MAX_REPEAT_MONTHS:
            return f"WITHIN_MONTHS needs repeatOrderMonths between 1 and {MAX_REPEAT_MONTHS}"
    elif months is not None:
        return f"repeatOrderMonths is for WITHIN_MONTHS, not {mode}"
    return None


@dataclass(frozen=True, slots=True)
class PartnershipFacts:
    """What attribution needs of a partnership and its campaign."""

    campaign_status: CampaignStatus
    attribution_window_days: int
    influencer_customer_ids: frozenset[str] = frozenset()
    live_post_breach: bool = False  # an open finding holds the partnership's commissions
    risk_hold: bool = False  # the creator-risk level reaches the brand's hold level


@dataclass(frozen=True, slots=True)
class Attribution:
    """The outcome. Attributed: partnership_id, campaign_id and via are set and
    unattributed_reason is None; otherwise the reverse. Non-empty hold_reasons: credit on hold."""

    partnership_id: int | None
    campaign_id: int | None
    via: AttributionVia | None
    unattributed_reason: UnattributedReason | None
    hold_reasons: tuple[HoldReason, ...] = ()
    repeat: bool = False  # a later order of a customer this partnership claimed

    @property
    def attributed(self) -> bool:
        return self.partnership_id is not None

    @property
    def on_hold(self) -> bool:
        return bool(self.hold_reasons)


@dataclass(frozen=True, slots=True)
class _Candidate:
    partnership_id: int
    campaign_id: int
    via: AttributionVia
    failure: UnattributedReason | None
    click_age: timedelta | None = None


def attribute(
    conversion: ConversionFacts,
    click: ClickFacts | None,
    code: DiscountCodeFacts | None,
    partnerships: Mapping[int, PartnershipFacts],
    claim: CustomerClaimFacts | None = None,
) -> Attribution:
    """Attributes a conversion (see the module docstring for the rules).

    `click`/`code` are None when the conversion has no click id/code or it matched nothing;
    `claim` is the claim on the conversion's customer, if any; `partnerships` holds the facts
    of every partnership `click`, `code` and `claim` point at.
    Raises ValueError for inconsistent input (a caller bug, never a data condition).
    """
    _require_aware("occurred_at", conversion.occurred_at)
    if click is not None and conversion.click_id is None:
        raise ValueError("a click was given for a conversion without a click id")
    if code is not None and conversion.discount_code is None:
        raise ValueError("a discount code was given for a conversion without a code")

    failures: list[UnattributedReason] = []
    click_candidate = None
    if conversion.click_id is not None:
        if click is None:
            failures.append(UnattributedReason.NO_MATCH)
        else:
            click_candidate = _judge_click(conversion, click, partnerships)
    code_candidate = None
    if conversion.discount_code is not None:
        if code is None:
            failures.append(UnattributedReason.NO_MATCH)
        else:
            code_candidate = _judge_code(code, partnerships)

    valid_click = click_candidate if click_candidate and not click_candidate.failure else None
    valid_code = code_candidate if code_candidate and not code_candidate.failure else None
    if valid_click and valid_code and valid_click.partnership_id != valid_code.partnership_id:
        winner: _Candidate | None = valid_code
    else:
        winner = valid_click or valid_code
    repeat = False
    if claim is not None:
        if winner is not None and winner.partnership_id == claim.partnership_id:
            repeat = True
        elif (winner is None or winner.via is AttributionVia.CLICK) and _claims(
            claim, conversion.occurred_at, partnerships
        ):
            winner = _Candidate(
                claim.partnership_id, claim.campaign_id, AttributionVia.CUSTOMER, None
            )
            repeat = True
    if winner is None:
        failures += [c.failure for c in (click_candidate, code_candidate) if c and c.failure]
        reason = min(failures, key=_SPECIFICITY.index, default=UnattributedReason.NO_MATCH)
        return Attribution(None, None, None, reason)

    facts = partnerships[winner.partnership_id]
    holds: list[HoldReason] = []
    if conversion.customer_id is not None and (
        conversion.customer_id in facts.influencer_customer_ids
    ):
        holds.append(HoldReason.SELF_REFERRAL)
    if winner.click_age is not None and winner.click_age < FAST_CONVERSION:
        holds.append(HoldReason.FAST_CONVERSION)
    if facts.live_post_breach:
        holds.append(HoldReason.LIVE_POST_BREACH)
    if facts.risk_hold:
        holds.append(HoldReason.RISK_SCORE)
    return Attribution(
        winner.partnership_id, winner.campaign_id, winner.via, None, tuple(holds), repeat
    )


def _claims(
    claim: CustomerClaimFacts, occurred_at: datetime, partnerships: Mapping[int, PartnershipFacts]
) -> bool:
    """Whether the claim takes the order: live, and its campaign still credits."""
    facts = _facts(partnerships, claim.partnership_id)
    return claim_is_live(claim, occurred_at) and facts.campaign_status in CREDITING_STATUSES


def _judge_click(
    conversion: ConversionFacts, click: ClickFacts, partnerships: Mapping[int, PartnershipFacts]
) -> _Candidate:
    _require_aware("clicked_at", click.clicked_at)
    facts = _facts(partnerships, click.partnership_id)
    age = conversion.occurred_at - click.clicked_at
    if age < -CLOCK_SKEW_TOLERANCE:
        failure: UnattributedReason | None = UnattributedReason.NO_MATCH
    elif age > timedelta(days=facts.attribution_window_days):
        failure = UnattributedReason.EXPIRED_CLICK
    elif facts.campaign_status not in CREDITING_STATUSES:
        failure = UnattributedReason.CAMPAIGN_NOT_ACTIVE
    else:
        failure = None
    return _Candidate(click.partnership_id, click.campaign_id, AttributionVia.CLICK, failure, age)


def _judge_code(
    code: DiscountCodeFacts, partnerships: Mapping[int, PartnershipFacts]
) -> _Candidate:
    facts = _facts(partnerships, code.partnership_id)
    if not code.active:
        failure: UnattributedReason | None = UnattributedReason.INACTIVE_CODE
    elif facts.campaign_status not in CREDITING_STATUSES:
        failure = UnattributedReason.CAMPAIGN_NOT_ACTIVE
    else:
        failure = None
    return _Candidate(code.partnership_id, code.campaign_id, AttributionVia.DISCOUNT_CODE, failure)


def _facts(partnerships: Mapping[int, PartnershipFacts], partnership_id: int) -> PartnershipFacts:
    try:
        facts = partnerships[partnership_id]
    except KeyError:
        raise ValueError(f"no facts given for partnership {partnership_id}") from None
    if facts.attribution_window_days < 0:
        raise ValueError(
            f"partnership {partnership_id}: attribution window must not be negative, "
            f"got {facts.attribution_window_days} days"
        )
    return facts


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")
