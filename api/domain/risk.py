"""One creator-risk score, per influencer and per partnership, from audience, conversion and
coupon-leakage signals. No database here: `api.risk.loader` gathers the facts (from rollups and
small indexed queries) and passes them in.

Every signal has a weight (the points it adds), a threshold (when it fires) and a plain-language
message with its evidence. The score is the sum of the weights of the signals that fired, at most
100; its level: LOW below 25, MEDIUM from 25, HIGH from 50, CRITICAL from 75. Reasons are sorted
by weight, heaviest first.

Audience (the influencer's; `api.domain.audience_quality` decides the first two, reused as is):
- FOLLOWER_SPIKE (20): followers jumped between two snapshots while engagement did not follow
  (audience quality's FOLLOWER_JUMP).
- ENGAGEMENT_OFF_NORM (15): engagement rate far below or above the median of the roster's
  accounts of the same platform and tier (LOW_ENGAGEMENT / HIGH_ENGAGEMENT).
- FAKE_AUDIENCE (10-45): the audience snapshots' blended fake-follower share above 15 %:
  10 points, one more per percentage point above, at most 45.
- COMMENT_LIKE_RATIO (10): comments per like below 0.5 % or above 25 % on an account with at
  least 50 likes a post: bought likes do not comment; comment pods comment on everything.

Conversion (the partnership's orders; the influencer's are the worst of their partnerships'):
- SELF_REFERRAL (15, +5 an order after the first, at most 30): orders whose customer is the
  influencer.
- FAST_ORDERS (25): at least 3 click orders and a quarter or more of them placed under 10 s after
  the click (`api.domain.attribution.FAST_CONVERSION`): bots, or the creator buying.
- REPEATED_BUYER (20): at least 5 orders and one IP hash or customer id behind 4 or more of them
  and at least 30 % of them.
- REFUND_RATE (20): at least 5 orders and a refunded share of revenue at least 15 % and at least
  twice the rest of the campaign's (refunds and chargebacks both arrive as refunds).
- CODE_WITHOUT_CLICK (10): at least 10 orders on the creator's codes with no click from their
  links, more than the links had clicks.

Coupon leakage (each of the partnership's discount codes, `code_leakage`):
- COUPON_SITE_ORDERS (25): 2 or more of the code's orders came from a coupon or deal site
  (`api.domain.coupon_sites`).
- CODE_VOLUME_SPIKE (20): 10 or more orders on the code in the last 24 hours, at least 5 times
  its daily mean over the 28 days before (counted as at least one a day).
A code with either is a likely leak.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from api.domain import audience_quality as aq
from api.domain.attribution import FAST_CONVERSION

MAX_SCORE: Final = 100


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


# The lowest score of each level.
LEVEL_FLOORS: Final = (
    (RiskLevel.CRITICAL, 75),
    (RiskLevel.HIGH, 50),
    (RiskLevel.MEDIUM, 25),
    (RiskLevel.LOW, 0),
)
_RANK: Final = {level: i for i, level in enumerate(RiskLevel)}


class RiskCode(StrEnum):
    FOLLOWER_SPIKE = "FOLLOWER_SPIKE"
    ENGAGEMENT_OFF_NORM = "ENGAGEMENT_OFF_NORM"
    FAKE_AUDIENCE = "FAKE_AUDIENCE"
    COMMENT_LIKE_RATIO = "COMMENT_LIKE_RATIO"
    SELF_REFERRAL = "SELF_REFERRAL"
    FAST_ORDERS = "FAST_ORDERS"
    REPEATED_BUYER = "REPEATED_BUYER"
    REFUND_RATE = "REFUND_RATE"
    CODE_WITHOUT_CLICK = "CODE_WITHOUT_CLICK"
    COUPON_SITE_ORDERS = "COUPON_SITE_ORDERS"
    CODE_VOLUME_SPIKE = "CODE_VOLUME_SPIKE"


# Weights and thresholds (the module docstring says what each means).
FOLLOWER_SPIKE_WEIGHT: Final = 20
ENGAGEMENT_OFF_NORM_WEIGHT: Final = 15
FAKE_BASELINE_BPS: Final = 1_500
FAKE_MIN_WEIGHT: Final = 10
FAKE_MAX_WEIGHT: Final = 45
RATIO_MIN_LIKES: Final = 50
RATIO_LOW: Final = Decimal("0.005")
RATIO_HIGH: Final = Decimal("0.25")
COMMENT_LIKE_WEIGHT: Final = 10
SELF_REFERRAL_WEIGHT: Final = 15
SELF_REFERRAL_STEP: Final = 5
SELF_REFERRAL_MAX: Final = 30
FAST_MIN_ORDERS: Final = 3
FAST_SHARE: Final = Decimal("0.25")
FAST_ORDERS_WEIGHT: Final = 25
REPEAT_MIN_ORDERS: Final = 5
REPEAT_MIN_SAME: Final = 4
REPEAT_SHARE: Final = Decimal("0.30")
REPEATED_BUYER_WEIGHT: Final = 20
REFUND_MIN_ORDERS: Final = 5
REFUND_MIN_SHARE: Final = Decimal("0.15")
REFUND_MULTIPLE: Final = 2
REFUND_RATE_WEIGHT: Final = 20
NO_CLICK_MIN_ORDERS: Final = 10
CODE_WITHOUT_CLICK_WEIGHT: Final = 10
COUPON_SITE_MIN_ORDERS: Final = 2
COUPON_SITE_WEIGHT: Final = 25
SPIKE_MIN_ORDERS: Final = 10
SPIKE_MULTIPLE: Final = 5
SPIKE_BASELINE_DAYS: Final = 28
CODE_VOLUME_SPIKE_WEIGHT: Final = 20


@dataclass(frozen=True, slots=True)
class Reason:
    """One signal that fired: its points, what it means in words and the numbers behind it."""

    code: RiskCode
    weight: int
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "weight": self.weight,
            "message": self.message,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reason:
        return cls(RiskCode(data["code"]), int(data["weight"]), data["message"], data["evidence"])


@dataclass(frozen=True, slots=True)
class Assessment:
    score: int  # 0..100
    level: RiskLevel
    reasons: tuple[Reason, ...]  # heaviest first


def level_for(score: int) -> RiskLevel:
    for level, floor in LEVEL_FLOORS:
        if score >= floor:
            return level
    return RiskLevel.LOW


def at_least(level: RiskLevel | str, threshold: RiskLevel | str) -> bool:
    """Whether `level` is `threshold` or above (LOW < MEDIUM < HIGH < CRITICAL)."""
    return _RANK[RiskLevel(level)] >= _RANK[RiskLevel(threshold)]


def assess(reasons: Iterable[Reason]) -> Assessment:
    ordered = tuple(sorted(reasons, key=lambda r: (-r.weight, r.code.value, r.message)))
    score = min(MAX_SCORE, sum(r.weight for r in ordered))
    return Assessment(score, level_for(score), ordered)


def worst_by_code(reasons: Iterable[Reason]) -> list[Reason]:
    """The heaviest reason of each code: an influencer's over all their partnerships."""
    best: dict[RiskCode, Reason] = {}
    for reason in reasons:
        if reason.code not in best or reason.weight > best[reason.code].weight:
            best[reason.code] = reason
    return list(best.values())


# --- audience ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountEngagement:
    label: str  # "INSTAGRAM @maya"
    avg_likes: int
    avg_comments: int


@dataclass(frozen=True, slots=True)
class AudienceFacts:
    """The influencer's audience: audience quality's signals (computed against the stored peer
    medians), the blended fake share of its audience snapshots (basis points, None: unknown) and
    each account's likes and comments per post."""

    quality_signals: Sequence[aq.Signal] = ()
    fake_share_bps: int | None = None
    accounts: Sequence[AccountEngagement] = ()


def audience_reasons(facts: AudienceFacts) -> list[Reason]:
    out: list[Reason] = []
    spikes = [s for s in facts.quality_signals if s.code is aq.SignalCode.FOLLOWER_JUMP]
    if spikes:
        out.append(
            Reason(
                RiskCode.FOLLOWER_SPIKE,
                FOLLOWER_SPIKE_WEIGHT,
                spikes[0].message,
                {"signals": [s.message for s in spikes]},
            )
        )
    off = [
        s
        for s in facts.quality_signals
        if s.code in (aq.SignalCode.LOW_ENGAGEMENT, aq.SignalCode.HIGH_ENGAGEMENT)
    ]
    if off:
        worst = max(off, key=lambda s: s.weight)
        out.append(
            Reason(
                RiskCode.ENGAGEMENT_OFF_NORM,
                ENGAGEMENT_OFF_NORM_WEIGHT,
                worst.message,
                {"signals": [s.message for s in off]},
            )
        )
    fake = facts.fake_share_bps
    if fake is not None and fake > FAKE_BASELINE_BPS:
        points = (fake - FAKE_BASELINE_BPS) // 100
        weight = min(FAKE_MAX_WEIGHT, FAKE_MIN_WEIGHT + points)
        out.append(
            Reason(
                RiskCode.FAKE_AUDIENCE,
                weight,
                f"{_bps_pct(fake)} of the audience looks fake (bots, inactive or bought "
                f"followers), above the {_bps_pct(FAKE_BASELINE_BPS)} genuine audiences show",
                {"fakeShareBps": fake, "baselineBps": FAKE_BASELINE_BPS},
            )
        )
    odd = []
    for account in facts.accounts:
        if account.avg_likes < RATIO_MIN_LIKES:
            continue
        ratio = Decimal(account.avg_comments) / account.avg_likes
        if ratio < RATIO_LOW or ratio > RATIO_HIGH:
            odd.append((account, ratio))
    if odd:
        account, ratio = odd[0]
        why = (
            "likes without comments: bought likes do not comment"
            if ratio < RATIO_LOW
            else "comments on everything: comment pods or bought comments"
        )
        out.append(
            Reason(
                RiskCode.COMMENT_LIKE_RATIO,
                COMMENT_LIKE_WEIGHT,
                f"{account.label}: {account.avg_comments:,} comments per {account.avg_likes:,} "
                f"likes a post ({_pct(ratio)}), outside the "
                f"{_pct(RATIO_LOW)}-{_pct(RATIO_HIGH)} real audiences show: {why}",
                {
                    "accounts": [
                        {
                            "account": a.label,
                            "avgLikes": a.avg_likes,
                            "avgComments": a.avg_comments,
                            "ratio": str(r.quantize(Decimal("0.0001"))),
                        }
                        for a, r in odd
                    ]
                },
            )
        )
    return out


# --- conversions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderStats:
    """A partnership's attributed orders (HELD, APPROVED or REJECTED), as counted by the loader.

    `top_ip` / `top_customer`: the IP hash (of the order's click) and the customer id behind the
    most orders, with their count. Amounts in minor units of `currency`; refunds applied."""

    orders: int = 0
    click_orders: int = 0
    fast_click_orders: int = 0
    self_referrals: int = 0
    top_ip: tuple[str, int] | None = None
    top_customer: tuple[str, int] | None = None
    currency: str | None = None
    revenue: int = 0
    refunded: int = 0
    campaign_revenue: int = 0  # the other partnerships of the campaign, same currency
    campaign_refunded: int = 0
    code_orders_without_click: int = 0
    clicks: int = 0  # the partnership's links' clicks (bots excluded)


def conversion_reasons(stats: OrderStats) -> list[Reason]:
    out: list[Reason] = []
    if stats.self_referrals:
        weight = min(
            SELF_REFERRAL_MAX,
            SELF_REFERRAL_WEIGHT + SELF_REFERRAL_STEP * (stats.self_referrals - 1),
        )
        out.append(
            Reason(
                RiskCode.SELF_REFERRAL,
                weight,
                f"{stats.self_referrals} of {stats.orders} orders were placed by the creator "
                "(their own customer id): commission on their own purchases",
                {"selfReferrals": stats.self_referrals, "orders": stats.orders},
            )
        )
    if stats.click_orders >= FAST_MIN_ORDERS and stats.fast_click_orders:
        share = Decimal(stats.fast_click_orders) / stats.click_orders
        if share >= FAST_SHARE:
            seconds = FAST_CONVERSION.seconds
            out.append(
                Reason(
                    RiskCode.FAST_ORDERS,
                    FAST_ORDERS_WEIGHT,
                    f"{stats.fast_click_orders} of {stats.click_orders} orders through the "
                    f"creator's links ({_pct(share)}) came less than {seconds} s after the "
                    "click: no shopper browses and pays that fast (bots, or the creator buying)",
                    {
                        "fastOrders": stats.fast_click_orders,
                        "clickOrders": stats.click_orders,
                        "underSeconds": seconds,
                    },
                )
            )
    if stats.orders >= REPEAT_MIN_ORDERS:
        for what, top in (("IP address", stats.top_ip), ("customer", stats.top_customer)):
            if top is None:
                continue
            key, count = top
            share = Decimal(count) / stats.orders
            if count >= REPEAT_MIN_SAME and share >= REPEAT_SHARE:
                out.append(
                    Reason(
                        RiskCode.REPEATED_BUYER,
                        REPEATED_BUYER_WEIGHT,
                        f"one {what} is behind {count} of {stats.orders} orders ({_pct(share)}): "
                        "a click farm, or one buyer cycling orders",
                        {"kind": what, "key": key[:16], "orders": count, "of": stats.orders},
                    )
                )
                break
    if stats.orders >= REFUND_MIN_ORDERS and stats.revenue > 0:
        rate = Decimal(stats.refunded) / stats.revenue
        others = (
            Decimal(stats.campaign_refunded) / stats.campaign_revenue
            if stats.campaign_revenue > 0
            else Decimal(0)
        )
        if rate >= REFUND_MIN_SHARE and rate >= others * REFUND_MULTIPLE:
            out.append(
                Reason(
                    RiskCode.REFUND_RATE,
                    REFUND_RATE_WEIGHT,
                    f"{_pct(rate)} of the revenue was refunded or charged back, against "
                    f"{_pct(others)} for the rest of the campaign: orders placed to earn "
                    "commission and then returned",
                    {
                        "refundedShare": str(rate.quantize(Decimal("0.0001"))),
                        "campaignShare": str(others.quantize(Decimal("0.0001"))),
                        "orders": stats.orders,
                        "currency": stats.currency,
                    },
                )
            )
    no_click = stats.code_orders_without_click
    if no_click >= NO_CLICK_MIN_ORDERS and no_click > stats.clicks:
        out.append(
            Reason(
                RiskCode.CODE_WITHOUT_CLICK,
                CODE_WITHOUT_CLICK_WEIGHT,
                f"{no_click} orders used the creator's codes with no click from their links, "
                f"more than the {stats.clicks} clicks the links had: the codes travel "
                "without the creator",
                {"ordersWithoutClick": no_click, "clicks": stats.clicks},
            )
        )
    return out


# --- coupon leakage ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeFacts:
    """One discount code's orders: `coupon_sites` counts them by coupon-site host;
    `last_day` is the last 24 hours' orders, `baseline` the 28 days' before them."""

    discount_code_id: int
    code: str
    orders_without_click: int = 0
    coupon_sites: dict[str, int] = field(default_factory=dict)
    last_day: int = 0
    baseline: int = 0


@dataclass(frozen=True, slots=True)
class Leakage:
    likely: bool
    reasons: tuple[Reason, ...]


def code_leakage(facts: CodeFacts) -> Leakage:
    reasons = []
    evidence = {"discountCodeId": facts.discount_code_id, "code": facts.code}
    from_sites = sum(facts.coupon_sites.values())
    if from_sites >= COUPON_SITE_MIN_ORDERS:
        hosts = sorted(facts.coupon_sites, key=lambda h: (-facts.coupon_sites[h], h))
        reasons.append(
            Reason(
                RiskCode.COUPON_SITE_ORDERS,
                COUPON_SITE_WEIGHT,
                f"{from_sites} orders on code {facts.code} came from coupon and deal sites "
                f"({', '.join(hosts[:3])}): the code leaked and earns commission on sales the "
                "creator did not drive",
                {**evidence, "orders": from_sites, "hosts": facts.coupon_sites},
            )
        )
    daily = Decimal(facts.baseline) / SPIKE_BASELINE_DAYS
    if facts.last_day >= SPIKE_MIN_ORDERS and facts.last_day >= SPIKE_MULTIPLE * max(
        Decimal(1), daily
    ):
        reasons.append(
            Reason(
                RiskCode.CODE_VOLUME_SPIKE,
                CODE_VOLUME_SPIKE_WEIGHT,
                f"code {facts.code} had {facts.last_day} orders in the last 24 hours against "
                f"{daily.quantize(Decimal('0.1'))} a day over the {SPIKE_BASELINE_DAYS} days "
                "before: sudden volume, typical of a code shared on deal sites",
                {
                    **evidence,
                    "lastDay": facts.last_day,
                    "dailyMean": str(daily.quantize(Decimal("0.01"))),
                    "ordersWithoutClick": facts.orders_without_click,
                },
            )
        )
    return Leakage(bool(reasons), tuple(reasons))


def leaked_order_reason(
    *, via_code: bool, referrer_host: str, is_coupon_site: bool, code_suspected: bool
) -> str | None:
    """Why an order on a discount code counts as leaked (it earns the plan's leaked-order rate),
    or None: it came from a coupon or deal site, or with no click from the creator while its code
    is suspected of leaking."""
    if not via_code:
        return None
    if is_coupon_site:
        return f"the order came from the coupon site {referrer_host}"
    if code_suspected:
        return "the order used a code suspected of leaking, with no click from the creator"
    return None


def _pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.1'))}%"


def _bps_pct(bps: int) -> str:
    return f"{Decimal(bps).scaleb(-2).quantize(Decimal('0.1'))}%"
