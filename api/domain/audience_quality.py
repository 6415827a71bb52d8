"""Audience quality: a 0-100 score per account and per influencer, with the signals behind it.

Every account starts at 100; each signal deducts its `weight` in points and says why, with the
numbers, in plain words. Score = 100 - sum of weights, clamped to 0..100. The influencer's score
is the follower-weighted mean of their accounts' scores (an account with a tenth of the audience
moves it a tenth as much), and their signals are all the accounts' signals, each message prefixed
with the account ("INSTAGRAM @handle: ...") and its weight kept as the points it cost that account.

Signals (weights and thresholds are the constants below):
- MASS_FOLLOWING: following about as many accounts as follow back (ratio >= 0.9) or over 5,000
  while under 20,000 followers: follow-for-follow growth. A ratio >= 0.5 costs less. Accounts
  following fewer than 1,000 are never flagged (friends follow each other back).
- LOW_ENGAGEMENT / HIGH_ENGAGEMENT: engagement rate (by followers) far below or far above the
  median of accounts of the same platform and tier in the organization's roster
  (`peer_medians`). Bought followers do not like posts; bought likes or engagement pods inflate
  the rate. No signal without a median (fewer than `min_peers` peers) or without posts.
- FOLLOWER_JUMP: followers grew more than 20 % per week between two consecutive snapshots while
  likes + comments per post grew less than half as fast: bought followers.
- FLAT_ENGAGEMENT: likes + comments per post varying less than 2 % over 4+ snapshots spanning 3+
  weeks: real audiences react unevenly, bought engagement packages do not.
- SUSPICIOUS_AUDIENCE: the share of suspicious followers from the brand's audit tool above the
  15 % that genuine audiences typically show; one point per percentage point, at most 50.

Deterministic: Decimal arithmetic only, and snapshots are ordered by time before use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Final

from api.domain.metrics import (
    DEFAULT_THRESHOLDS,
    Tier,
    TierThresholds,
    engagement_rate,
    tier_for,
)

MAX_SCORE: Final = 100

# MASS_FOLLOWING
FOLLOWING_FLOOR: Final = 1_000  # following fewer accounts than this is never suspicious
FOLLOW_BACK_RATIO: Final = Decimal("0.9")
FOLLOW_BACK_WEIGHT: Final = 35
MASS_FOLLOWING_MIN_FOLLOWING: Final = 5_000  # over this many followed ...
MASS_FOLLOWING_MAX_FOLLOWERS: Final = 20_000  # ... by an account with fewer followers than this
MASS_FOLLOWING_WEIGHT: Final = 35
HIGH_FOLLOW_RATIO: Final = Decimal("0.5")
HIGH_FOLLOW_RATIO_WEIGHT: Final = 15

# LOW_ENGAGEMENT / HIGH_ENGAGEMENT, as multiples of the peer median
VERY_LOW_ENGAGEMENT: Final = Decimal("0.33")
VERY_LOW_ENGAGEMENT_WEIGHT: Final = 35
LOW_ENGAGEMENT: Final = Decimal("0.5")
LOW_ENGAGEMENT_WEIGHT: Final = 15
HIGH_ENGAGEMENT: Final = Decimal(4)
HIGH_ENGAGEMENT_WEIGHT: Final = 20
MIN_PEERS: Final = 3

# FOLLOWER_JUMP
JUMP_GROWTH_PER_WEEK: Final = Decimal("0.20")  # scaled up for snapshots further apart
JUMP_ENGAGEMENT_SHARE: Final = Decimal("0.5")  # engagement growth needed to "match" it
FOLLOWER_JUMP_WEIGHT: Final = 35

# FLAT_ENGAGEMENT
FLAT_MIN_SNAPSHOTS: Final = 4
FLAT_MIN_SPAN: Final = timedelta(days=21)
FLAT_MAX_VARIATION: Final = Decimal("0.02")  # coefficient of variation of likes + comments
FLAT_ENGAGEMENT_WEIGHT: Final = 20

# SUSPICIOUS_AUDIENCE
SUSPICIOUS_BASELINE_PCT: Final = Decimal(15)
SUSPICIOUS_MAX_WEIGHT: Final = 50

_WEEK_SECONDS: Final = Decimal(7 * 24 * 3600)


class SignalCode(StrEnum):
    MASS_FOLLOWING = "MASS_FOLLOWING"
    LOW_ENGAGEMENT = "LOW_ENGAGEMENT"
    HIGH_ENGAGEMENT = "HIGH_ENGAGEMENT"
    FOLLOWER_JUMP = "FOLLOWER_JUMP"
    FLAT_ENGAGEMENT = "FLAT_ENGAGEMENT"
    SUSPICIOUS_AUDIENCE = "SUSPICIOUS_AUDIENCE"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An observation of an account; averages are per post over the recent posts sampled."""

    captured_at: datetime
    followers: int
    avg_likes: int
    avg_comments: int
    avg_views: int = 0


@dataclass(frozen=True, slots=True)
class AccountMetrics:
    """An account now, its history, and optionally the audit tool's suspicious share (0-100 %).

    `handle` only labels the influencer's merged signals. `platform` is the peer-group key.
    """

    platform: str
    followers: int
    following: int
    posts: int
    avg_likes: int
    avg_comments: int
    snapshots: tuple[Snapshot, ...] = ()
    suspicious_share_pct: Decimal | None = None
    handle: str | None = None

    @property
    def label(self) -> str:
        return f"{self.platform} @{self.handle}" if self.handle else str(self.platform)


@dataclass(frozen=True, slots=True)
class Signal:
    """One reason for a lower score: `weight` is the points it deducts from the account."""

    code: SignalCode
    message: str
    weight: int


@dataclass(frozen=True, slots=True)
class AccountQuality:
    score: int  # 0..100
    signals: tuple[Signal, ...]  # heaviest first
    engagement_rate: Decimal | None  # percent, 2 places (api.domain.metrics)
    tier: Tier
    peer_median: Decimal | None  # the engagement-rate median compared against, if any


@dataclass(frozen=True, slots=True)
class InfluencerQuality:
    score: int  # 0..100, follower-weighted mean of the account scores
    signals: tuple[Signal, ...]  # the accounts' signals, messages prefixed with the account
    accounts: tuple[AccountQuality, ...]  # in the order given


PeerMedians = Mapping[tuple[str, Tier], Decimal]


def peer_medians(
    accounts: Iterable[AccountMetrics],
    thresholds: TierThresholds = DEFAULT_THRESHOLDS,
    *,
    min_peers: int = MIN_PEERS,
) -> dict[tuple[str, Tier], Decimal]:
    """Median engagement rate per (platform, tier) over a roster (the organization's accounts).

    Accounts without followers or posts have no rate and are left out; groups with fewer than
    `min_peers` rated accounts get no median (too few to say what is normal).
    """
    groups: dict[tuple[str, Tier], list[Decimal]] = defaultdict(list)
    for account in accounts:
        rate = _rate(account)
        if rate is not None:
            groups[(account.platform, tier_for(account.followers, thresholds))].append(rate)
    return {key: _median(rates) for key, rates in groups.items() if len(rates) >= min_peers}


def account_quality(
    account: AccountMetrics,
    medians: PeerMedians,
    thresholds: TierThresholds = DEFAULT_THRESHOLDS,
) -> AccountQuality:
    _check(account)
    tier = tier_for(account.followers, thresholds)
    rate = _rate(account)
    median = medians.get((account.platform, tier))
    found = [
        _mass_following(account),
        _engagement_vs_peers(account, tier, rate, median),
        _follower_jump(account),
        _flat_engagement(account),
        _suspicious_audience(account),
    ]
    signals = sorted((s for s in found if s is not None), key=lambda s: (-s.weight, s.code))
    score = max(0, MAX_SCORE - sum(s.weight for s in signals))
    return AccountQuality(score, tuple(signals), rate, tier, median)


def influencer_quality(
    accounts: Sequence[AccountMetrics],
    medians: PeerMedians,
    thresholds: TierThresholds = DEFAULT_THRESHOLDS,
) -> InfluencerQuality | None:
    """The influencer's score over their accounts; None for an influencer without accounts.

    Follower-weighted mean of the account scores, rounded half-even; a plain mean when no account
    has followers.
    """
    if not accounts:
        return None
    results = [account_quality(a, medians, thresholds) for a in accounts]
    total = sum(a.followers for a in accounts)
    if total:
        mean = Decimal(sum(r.score * a.followers for r, a in zip(results, accounts, strict=True)))
        score = _round(mean / total)
    else:
        score = _round(Decimal(sum(r.score for r in results)) / len(results))
    signals = tuple(
        Signal(s.code, f"{a.label}: {s.message}", s.weight)
        for r, a in zip(results, accounts, strict=True)
        for s in r.signals
    )
    return InfluencerQuality(score, signals, tuple(results))


# --- signals ----------------------------------------------------------------------------------


def _mass_following(account: AccountMetrics) -> Signal | None:
    following, followers = account.following, account.followers
    if following < FOLLOWING_FLOOR:
        return None
    ratio = Decimal(following) / followers if followers else None
    said = f"follows {following:,} accounts with {followers:,} followers"
    if ratio is None or ratio >= FOLLOW_BACK_RATIO:
        per = "" if ratio is None else f" ({_num(ratio)} per follower)"
        return Signal(
            SignalCode.MASS_FOLLOWING,
            f"{said}{per}: typical of follow-for-follow growth",
            FOLLOW_BACK_WEIGHT,
        )
    if following > MASS_FOLLOWING_MIN_FOLLOWING and followers < MASS_FOLLOWING_MAX_FOLLOWERS:
        return Signal(
            SignalCode.MASS_FOLLOWING,
            f"{said}: following over {MASS_FOLLOWING_MIN_FOLLOWING:,} with fewer than "
            f"{MASS_FOLLOWING_MAX_FOLLOWERS:,} followers is mass following",
            MASS_FOLLOWING_WEIGHT,
        )
    if ratio >= HIGH_FOLLOW_RATIO:
        return Signal(
            SignalCode.MASS_FOLLOWING,
            f"{said} ({_num(ratio)} per follower): a high share of follow-backs",
            HIGH_FOLLOW_RATIO_WEIGHT,
        )
    return None


def _engagement_vs_peers(
    account: AccountMetrics, tier: Tier, rate: Decimal | None, median: Decimal | None
) -> Signal | None:
    if rate is None or median is None or median == 0:
        return None
    multiple = rate / median
    said = (
        f"engagement rate {rate}% is {_num(multiple)}x the {median}% median of "
        f"{tier} {account.platform} accounts in the roster"
    )
    if multiple < VERY_LOW_ENGAGEMENT:
        return Signal(
            SignalCode.LOW_ENGAGEMENT,
            f"{said}: few of the followers are real or active",
            VERY_LOW_ENGAGEMENT_WEIGHT,
        )
    if multiple < LOW_ENGAGEMENT:
        return Signal(
            SignalCode.LOW_ENGAGEMENT,
            f"{said}: many followers do not engage",
            LOW_ENGAGEMENT_WEIGHT,
        )
    if multiple > HIGH_ENGAGEMENT:
        return Signal(
            SignalCode.HIGH_ENGAGEMENT,
            f"{said}: likes or comments may be bought or traded in engagement pods",
            HIGH_ENGAGEMENT_WEIGHT,
        )
    return None


def _follower_jump(account: AccountMetrics) -> Signal | None:
    worst: tuple[Decimal, Decimal, Snapshot, Snapshot] | None = None
    for before, after in pairwise(_ordered(account.snapshots)):
        if before.followers == 0:
            continue
        growth = Decimal(after.followers - before.followers) / before.followers
        seconds = (after.captured_at - before.captured_at) // timedelta(seconds=1)
        weeks = Decimal(seconds) / _WEEK_SECONDS
        if growth <= JUMP_GROWTH_PER_WEEK * max(Decimal(1), weeks):
            continue
        engaged_before = before.avg_likes + before.avg_comments
        engaged_after = after.avg_likes + after.avg_comments
        if engaged_before == 0:
            if engaged_after > 0:
                continue  # engagement appeared with the followers: it matches
            engagement_growth = Decimal(0)
        else:
            engagement_growth = Decimal(engaged_after - engaged_before) / engaged_before
        if engagement_growth >= growth * JUMP_ENGAGEMENT_SHARE:
            continue
        if worst is None or growth > worst[0]:
            worst = (growth, engagement_growth, before, after)
    if worst is None:
        return None
    growth, engagement_growth, before, after = worst
    return Signal(
        SignalCode.FOLLOWER_JUMP,
        f"followers jumped {_pct(growth)} ({before.followers:,} to {after.followers:,}) between "
        f"{before.captured_at:%Y-%m-%d} and {after.captured_at:%Y-%m-%d} while likes and "
        f"comments per post changed {_pct(engagement_growth)}: bought followers do not engage",
        FOLLOWER_JUMP_WEIGHT,
    )


def _flat_engagement(account: AccountMetrics) -> Signal | None:
    snapshots = _ordered(account.snapshots)
    if len(snapshots) < FLAT_MIN_SNAPSHOTS:
        return None
    first, last = snapshots[0].captured_at, snapshots[-1].captured_at
    if last - first < FLAT_MIN_SPAN:
        return None
    values = [Decimal(s.avg_likes + s.avg_comments) for s in snapshots]
    mean = sum(values, Decimal(0)) / len(values)
    if mean == 0:
        return None  # no engagement at all: the engagement-rate signal speaks for that
    variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / len(values)
    variation = variance.sqrt() / mean
    if variation >= FLAT_MAX_VARIATION:
        return None
    return Signal(
        SignalCode.FLAT_ENGAGEMENT,
        f"likes and comments per post varied only {_pct1(variation)} around "
        f"{_round(mean):,} over {len(snapshots)} snapshots from {first:%Y-%m-%d} to "
        f"{last:%Y-%m-%d}: real audiences react unevenly, bought engagement does not",
        FLAT_ENGAGEMENT_WEIGHT,
    )


def _suspicious_audience(account: AccountMetrics) -> Signal | None:
    share = account.suspicious_share_pct
    if share is None or share <= SUSPICIOUS_BASELINE_PCT:
        return None
    weight = min(SUSPICIOUS_MAX_WEIGHT, _round(share - SUSPICIOUS_BASELINE_PCT))
    if weight == 0:
        return None
    return Signal(
        SignalCode.SUSPICIOUS_AUDIENCE,
        f"the brand's audit tool rates {_num(share)}% of the audience suspicious "
        f"({SUSPICIOUS_BASELINE_PCT}% is typical of genuine accounts)",
        weight,
    )


# --- helpers ----------------------------------------------------------------------------------


def _rate(account: AccountMetrics) -> Decimal | None:
    if account.posts == 0:
        return None
    return engagement_rate(account.followers, account.avg_likes, account.avg_comments)


def _check(account: AccountMetrics) -> None:
    for name in ("followers", "following", "posts", "avg_likes", "avg_comments"):
        if getattr(account, name) < 0:
            raise ValueError(f"{name} must not be negative, got {getattr(account, name)}")
    for snapshot in account.snapshots:
        if min(snapshot.followers, snapshot.avg_likes, snapshot.avg_comments) < 0:
            raise ValueError(f"snapshot of {snapshot.captured_at:%Y-%m-%d} has a negative count")
    share = account.suspicious_share_pct
    if share is not None and not 0 <= share <= 100:
        raise ValueError(f"suspicious_share_pct must be between 0 and 100, got {share}")


def _ordered(snapshots: Iterable[Snapshot]) -> list[Snapshot]:
    return sorted(snapshots, key=lambda s: s.captured_at)


def _median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return ((ordered[middle - 1] + ordered[middle]) / 2).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )


def _round(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def _num(value: Decimal) -> str:
    """Two decimals for ratios and multiples in messages: 0.96, 4.50."""
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN)}"


def _pct(fraction: Decimal) -> str:
    """A growth fraction as a signed whole percentage: 3 -> "+300%"."""
    return f"{_round(fraction * 100):+d}%"


def _pct1(fraction: Decimal) -> str:
    """A small fraction as a percentage with one decimal: 0.004 -> "0.4%"."""
    return f"{(fraction * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN)}%"
