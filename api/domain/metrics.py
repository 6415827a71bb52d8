"""Engagement rate and follower tiers.

Engagement rate is by followers (not by reach): (average likes + average comments per post) /
followers x 100, the HypeAuditor/Modash definition. It is a Decimal percentage quantised to two
decimal places, half-even (3.47 means 3.47 %); None when there are no followers to divide by.

Tiers have no industry standard, so the thresholds are per organization (`TierThresholds`, stored
as JSON). An influencer's tier is the tier of their largest account: that is the audience a brand
buys into, and it is how GRIN, Modash and most agencies label creators (summing accounts would
make a 9k Instagram + 9k TikTok creator "micro" although neither audience is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any

from api.domain.problems import Problem, ProblemCode

ENGAGEMENT_RATE_PLACES = 2
_QUANTUM = Decimal(1).scaleb(-ENGAGEMENT_RATE_PLACES)


@dataclass(frozen=True, slots=True)
class AccountEngagement:
    """One account's audience and its average interactions per recent post (HypeAuditor: 12)."""

    followers: int
    avg_likes: int | Decimal
    avg_comments: int | Decimal


def engagement_rate(
    followers: int, avg_likes: int | Decimal, avg_comments: int | Decimal
) -> Decimal | None:
    """(avg likes + avg comments per post) / followers x 100, in percent, 2 places half-even.

    None for zero followers. Negative inputs are a caller bug and raise ValueError.
    """
    _check_counts(followers=followers, avg_likes=avg_likes, avg_comments=avg_comments)
    if followers == 0:
        return None
    return _percent(Decimal(avg_likes) + Decimal(avg_comments), Decimal(followers))


def blended_engagement_rate(accounts: Iterable[AccountEngagement]) -> Decimal | None:
    """An influencer's rate across accounts: sum of engagements / sum of followers x 100.

    That is the follower-weighted mean of the account rates, so a 2M-follower account weighs more
    than a 5k one (a plain mean of rates would let a tiny, lively account dominate). Accounts
    without followers have no rate and are left out; None when no account has followers.
    """
    engagements = Decimal(0)
    followers = 0
    for account in accounts:
        _check_counts(
            followers=account.followers,
            avg_likes=account.avg_likes,
            avg_comments=account.avg_comments,
        )
        if account.followers:
            engagements += Decimal(account.avg_likes) + Decimal(account.avg_comments)
            followers += account.followers
    if followers == 0:
        return None
    return _percent(engagements, Decimal(followers))


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


def _check_counts(**counts: int | Decimal) -> None:
    for name, value in counts.items():
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")


class Tier(StrEnum):
    """Follower tiers, smallest first. UNDER_NANO: below the nano threshold (default 1,000).

    Under-1k accounts are not influencers by any common definition; calling them NANO would mix
    friends-and-family accounts into nano filters and peer medians.
    """

    UNDER_NANO = "UNDER_NANO"
    NANO = "NANO"
    MICRO = "MICRO"
    MID = "MID"
    MACRO = "MACRO"
    MEGA = "MEGA"


@dataclass(frozen=True, slots=True)
class TierThresholds:
    """Lower bounds (inclusive, in followers) of each tier; defaults are the common ones.

    nano 1k-10k, micro 10k-50k, mid 50k-500k, macro 500k-1M, mega 1M+: an account with exactly
    10,000 followers is MICRO. Construct freely, then `validate()` before storing.
    """

    nano: int = 1_000
    micro: int = 10_000
    mid: int = 50_000
    macro: int = 500_000
    mega: int = 1_000_000

    def validate(self) -> list[Problem]:
        """Positive integers, strictly ascending from nano to mega."""
        problems: list[Problem] = []
        values = self._items()
        for name, value in values:
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(
                    Problem(name, "must be a whole number of followers", ProblemCode.INVALID)
                )
            elif value <= 0:
                problems.append(
                    Problem(name, f"must be positive, got {value}", ProblemCode.OUT_OF_RANGE)
                )
        if problems:
            return problems
        for (lower_name, lower), (name, value) in pairwise(values):
            if value <= lower:
                problems.append(
                    Problem(
                        name,
                        f"the {name} threshold ({value:,}) must be above the {lower_name} "
                        f"threshold ({lower:,})",
                        ProblemCode.NOT_ASCENDING,
                    )
                )
        return problems

    def to_dict(self) -> dict[str, int]:
        return dict(self._items())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TierThresholds:
        """From stored JSON; missing keys take the defaults, unknown keys raise ValueError.

        Only the shape is checked here; call `validate()` for the rules.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown tier threshold(s): {', '.join(sorted(unknown))}")
        for name, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"tier threshold {name} must be an integer, got {value!r}")
        return cls(**data)

    def _items(self) -> list[tuple[str, int]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


DEFAULT_THRESHOLDS = TierThresholds()


def tier_for(followers: int, thresholds: TierThresholds = DEFAULT_THRESHOLDS) -> Tier:
    """The tier whose lower bound is the highest one not above `followers`."""
    if followers < 0:
        raise ValueError(f"followers must not be negative, got {followers}")
    if followers >= thresholds.mega:
        return Tier.MEGA
    if followers >= thresholds.macro:
        return Tier.MACRO
    if followers >= thresholds.mid:
        return Tier.MID
    if followers >= thresholds.micro:
        return Tier.MICRO
    if followers >= thresholds.nano:
        return Tier.NANO
    return Tier.UNDER_NANO


def influencer_tier(
    account_followers: Iterable[int], thresholds: TierThresholds = DEFAULT_THRESHOLDS
) -> Tier:
    """The tier of the largest account (UNDER_NANO for an influencer without accounts)."""
    return tier_for(max(account_followers, default=0), thresholds)
