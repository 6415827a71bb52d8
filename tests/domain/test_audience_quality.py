from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from random import Random

import pytest

from api.domain.audience_quality import (
    AccountMetrics,
    Signal,
    SignalCode,
    Snapshot,
    account_quality,
    influencer_quality,
    peer_medians,
)
from api.domain.metrics import Tier, tier_for

START = datetime(2026, 1, 5, tzinfo=UTC)
WEEK = timedelta(days=7)
IG = "INSTAGRAM"
MID_MEDIANS = {(IG, Tier.MID): Decimal("1.50"), (IG, Tier.MICRO): Decimal("2.40")}


def account(**kwargs: object) -> AccountMetrics:
    values: dict[str, object] = {
        "platform": IG,
        "followers": 100_000,
        "following": 500,
        "posts": 300,
        "avg_likes": 1_450,
        "avg_comments": 50,  # 1.50 %: the median
    }
    values.update(kwargs)
    return AccountMetrics(**values)  # type: ignore[arg-type]


def weekly(*rows: tuple[int, int]) -> tuple[Snapshot, ...]:
    """(followers, avg likes) a week apart; comments fixed at 2 % of likes."""
    return tuple(
        Snapshot(START + i * WEEK, followers, likes, likes // 50)
        for i, (followers, likes) in enumerate(rows)
    )


def codes(
    a: AccountMetrics, medians: dict[tuple[str, Tier], Decimal] = MID_MEDIANS
) -> dict[SignalCode, int]:
    return {s.code: s.weight for s in account_quality(a, medians).signals}


def test_a_normal_account_scores_100() -> None:
    result = account_quality(account(), MID_MEDIANS)
    assert (result.score, result.signals) == (100, ())
    assert (result.engagement_rate, result.tier, result.peer_median) == (
        Decimal("1.50"),
        Tier.MID,
        Decimal("1.50"),
    )


# --- MASS_FOLLOWING ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("followers", "following", "weight"),
    [
        (8_300, 8_000, 35),  # follow-for-follow
        (1_000, 999, 0),  # under the 1,000-following floor: friends follow back
        (1_100, 1_000, 35),  # ratio 0.91
        (10_000, 9_000, 35),  # exactly 0.9
        (15_000, 6_500, 35),  # over 5,000 with under 20,000 followers
        (19_999, 5_001, 35),
        (20_000, 5_001, 0),  # 20k followers: mass rule no longer applies, ratio 0.25
        (12_000, 5_000, 0),  # exactly 5,000 is not "over"
        (4_000, 2_000, 15),  # ratio exactly 0.5
        (4_000, 1_999, 0),
        (0, 1_500, 35),  # following many, followed by nobody
    ],
)
def test_mass_following(followers: int, following: int, weight: int) -> None:
    assert (
        codes(account(followers=followers, following=following)).get(SignalCode.MASS_FOLLOWING, 0)
        == weight
    )


def test_mass_following_message_has_the_numbers() -> None:
    (signal,) = account_quality(account(followers=8_300, following=8_000), {}).signals
    assert signal == Signal(
        SignalCode.MASS_FOLLOWING,
        "follows 8,000 accounts with 8,300 followers (0.96 per follower): "
        "typical of follow-for-follow growth",
        35,
    )


# --- engagement vs peers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("likes", "expected"),
    [
        (250, {SignalCode.LOW_ENGAGEMENT: 35}),  # 0.25 %: 0.17x the median
        (490, {SignalCode.LOW_ENGAGEMENT: 35}),  # 0.49 %: 0.3267x
        (495, {SignalCode.LOW_ENGAGEMENT: 15}),  # 0.495 -> 0.50 %: 0.3333x, not below 0.33
        (700, {SignalCode.LOW_ENGAGEMENT: 15}),  # 0.70 %: 0.47x
        (750, {}),  # exactly half
        (3_000, {}),
        (6_000, {}),  # exactly 4x
        (6_010, {SignalCode.HIGH_ENGAGEMENT: 20}),
    ],
)
def test_engagement_against_the_peer_median(likes: int, expected: dict[SignalCode, int]) -> None:
    assert codes(account(avg_likes=likes, avg_comments=0)) == expected


def test_low_engagement_message() -> None:
    (signal,) = account_quality(account(avg_likes=240, avg_comments=10), MID_MEDIANS).signals
    assert signal.message == (
        "engagement rate 0.25% is 0.17x the 1.50% median of MID INSTAGRAM accounts in the roster: "
        "few of the followers are real or active"
    )


def test_no_engagement_signal_without_a_median_or_posts() -> None:
    assert codes(account(avg_likes=10), {}) == {}
    assert codes(account(platform="TIKTOK", avg_likes=10)) == {}
    assert codes(account(posts=0, avg_likes=0, avg_comments=0)) == {}
    assert account_quality(account(posts=0), MID_MEDIANS).engagement_rate is None


def test_peer_medians_by_platform_and_tier() -> None:
    roster = [
        account(avg_likes=1_000, avg_comments=0),  # 1.00
        account(avg_likes=2_000, avg_comments=0),  # 2.00
        account(avg_likes=5_000, avg_comments=0),  # 5.00
        account(followers=20_000, avg_likes=400, avg_comments=0),  # micro 2.00
        account(followers=30_000, avg_likes=900, avg_comments=0),  # micro 3.00
        account(followers=20_000, avg_likes=500, avg_comments=0),  # micro 2.50
        account(followers=40_000, avg_likes=500, avg_comments=0),  # micro 1.25
        account(platform="TIKTOK", avg_likes=9_000),  # one peer only: no median
        account(followers=0, avg_likes=50),  # no rate
    ]
    assert peer_medians(roster) == {
        (IG, Tier.MID): Decimal("2.00"),
        (IG, Tier.MICRO): Decimal("2.25"),
    }
    assert ("TIKTOK", Tier.MID) in peer_medians(roster, min_peers=1)


# --- FOLLOWER_JUMP ----------------------------------------------------------------------------


def test_a_jump_without_engagement_is_flagged() -> None:
    a = account(snapshots=weekly((20_000, 900), (20_300, 880), (80_000, 905)))
    (signal,) = [s for s in account_quality(a, {}).signals if s.code is SignalCode.FOLLOWER_JUMP]
    assert signal.weight == 35
    assert signal.message == (
        "followers jumped +294% (20,300 to 80,000) between 2026-01-12 and 2026-01-19 while likes "
        "and comments per post changed +3%: bought followers do not engage"
    )


@pytest.mark.parametrize(
    ("rows", "flagged"),
    [
        (((10_000, 500), (12_000, 500)), False),  # +20 % exactly is not more than 20 %
        (((10_000, 500), (12_001, 500)), True),
        # +50 % followers; likes + comments 510 -> 637 is +24.9 %, under half of it: flagged
        (((10_000, 500), (15_000, 625)), True),
        (((10_000, 500), (15_000, 626)), False),  # 510 -> 638 is +25.1 %: it matches
        (((10_000, 500), (30_000, 1_600)), False),  # a viral post: engagement grew along
        (((10_000, 0), (30_000, 0)), True),  # no engagement before or after
        (((0, 0), (30_000, 100)), False),  # nothing to compare with
        (((10_000, 500), (9_000, 500)), False),  # a purge of bots is not a jump
    ],
)
def test_follower_jump_thresholds(rows: tuple[tuple[int, int], ...], flagged: bool) -> None:
    snapshots = weekly(*rows)
    assert (SignalCode.FOLLOWER_JUMP in codes(account(snapshots=snapshots), {})) is flagged


def test_jump_threshold_scales_with_the_interval() -> None:
    four_weeks = (
        Snapshot(START, 10_000, 500, 10),
        Snapshot(START + 4 * WEEK, 17_900, 500, 10),  # +79 % in 4 weeks: under 4 x 20 %
    )
    assert SignalCode.FOLLOWER_JUMP not in codes(account(snapshots=four_weeks), {})
    a_day = (Snapshot(START, 10_000, 500, 10), Snapshot(START + timedelta(days=1), 12_100, 500, 10))
    assert SignalCode.FOLLOWER_JUMP in codes(account(snapshots=a_day), {})


def test_snapshots_are_ordered_by_time() -> None:
    shuffled = tuple(reversed(weekly((20_000, 900), (80_000, 900))))
    assert SignalCode.FOLLOWER_JUMP in codes(account(snapshots=shuffled), {})


# --- FLAT_ENGAGEMENT --------------------------------------------------------------------------


def test_flat_engagement() -> None:
    flat = weekly((50_000, 900), (50_400, 903), (50_900, 898), (51_300, 901))
    (signal,) = account_quality(account(snapshots=flat), {}).signals
    assert signal.code is SignalCode.FLAT_ENGAGEMENT and signal.weight == 20
    assert signal.message == (
        "likes and comments per post varied only 0.2% around 918 over 4 snapshots from "
        "2026-01-05 to 2026-01-26: real audiences react unevenly, bought engagement does not"
    )


@pytest.mark.parametrize(
    "rows",
    [
        ((50_000, 900), (50_400, 900), (50_900, 900)),  # 3 snapshots are not enough
        ((50_000, 900), (50_400, 980), (50_900, 860), (51_300, 940)),  # normal variation
        ((50_000, 0), (50_400, 0), (50_900, 0), (51_300, 0)),  # no engagement at all
    ],
)
def test_not_flat(rows: tuple[tuple[int, int], ...]) -> None:
    assert SignalCode.FLAT_ENGAGEMENT not in codes(account(snapshots=weekly(*rows)), {})


def test_flat_needs_three_weeks_of_history() -> None:
    daily = tuple(Snapshot(START + timedelta(days=i), 50_000, 900, 18) for i in range(20))
    assert SignalCode.FLAT_ENGAGEMENT not in codes(account(snapshots=daily), {})
    daily += (Snapshot(START + timedelta(days=21), 50_000, 900, 18),)
    assert SignalCode.FLAT_ENGAGEMENT in codes(account(snapshots=daily), {})


# --- SUSPICIOUS_AUDIENCE ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "weight"),
    [
        (None, 0),
        (Decimal(0), 0),
        (Decimal(15), 0),
        (Decimal("15.4"), 0),  # rounds to 0 points
        (Decimal("15.5"), 0),  # half-even: 0.5 -> 0
        (Decimal("16.5"), 2),  # 1.5 -> 2
        (Decimal(40), 25),
        (Decimal(65), 50),
        (Decimal(100), 50),  # capped
    ],
)
def test_suspicious_audience(share: Decimal | None, weight: int) -> None:
    assert (
        codes(account(suspicious_share_pct=share), {}).get(SignalCode.SUSPICIOUS_AUDIENCE, 0)
        == weight
    )


def test_suspicious_message() -> None:
    (signal,) = account_quality(account(suspicious_share_pct=Decimal("40")), {}).signals
    assert signal.message == (
        "the brand's audit tool rates 40.00% of the audience suspicious "
        "(15% is typical of genuine accounts)"
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"suspicious_share_pct": Decimal(101)},
        {"suspicious_share_pct": Decimal(-1)},
        {"followers": -1},
        {"snapshots": (Snapshot(START, -5, 0, 0),)},
    ],
)
def test_bad_input_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        account_quality(account(**bad), {})


# --- scores -----------------------------------------------------------------------------------


def test_score_is_100_minus_weights_clamped_and_signals_heaviest_first() -> None:
    worst = account(
        followers=60_000,
        following=58_000,  # 35
        avg_likes=100,
        avg_comments=0,  # 0.17 %: 35
        snapshots=weekly((15_000, 100), (60_000, 100), (60_000, 100), (60_000, 100)),  # 35 + 20
        suspicious_share_pct=Decimal(70),  # 50
    )
    result = account_quality(worst, MID_MEDIANS)
    assert result.score == 0
    assert [s.weight for s in result.signals] == [50, 35, 35, 35, 20]
    assert [s.code for s in result.signals][1:4] == [
        SignalCode.FOLLOWER_JUMP,
        SignalCode.LOW_ENGAGEMENT,
        SignalCode.MASS_FOLLOWING,
    ]


def test_influencer_score_is_follower_weighted() -> None:
    big = account(followers=900_000, avg_likes=13_000, avg_comments=500, handle="big")
    small = account(followers=100_000, following=95_000, handle="small")  # 65
    result = influencer_quality([big, small], {})
    assert result is not None
    assert [a.score for a in result.accounts] == [100, 65]
    assert result.score == 96  # (100 x 900k + 65 x 100k) / 1M = 96.5 -> 96 half-even
    assert result.signals == (
        Signal(
            SignalCode.MASS_FOLLOWING,
            "INSTAGRAM @small: follows 95,000 accounts with 100,000 followers "
            "(0.95 per follower): typical of follow-for-follow growth",
            35,
        ),
    )


def test_influencer_without_followers_or_accounts() -> None:
    assert influencer_quality([], {}) is None
    zero = [account(followers=0, following=0), account(followers=0, following=2_000)]
    result = influencer_quality(zero, {})
    assert result is not None and result.score == 82  # (100 + 65) / 2 = 82.5 -> 82


def test_results_are_deterministic() -> None:
    roster = build_roster(Random(7))
    medians = peer_medians(roster)
    first = [account_quality(a, medians) for a in roster]
    again = [account_quality(a, peer_medians(list(reversed(roster)))) for a in roster]
    assert first == again


# --- a realistic roster with planted fakes ----------------------------------------------------

# Typical engagement rate (%) by tier; TikTok runs higher, YouTube (by subscribers) lower.
BASE_RATE = {Tier.NANO: 4.0, Tier.MICRO: 2.4, Tier.MID: 1.6, Tier.MACRO: 1.2, Tier.MEGA: 0.9}
PLATFORM_FACTOR = {"INSTAGRAM": 1.0, "TIKTOK": 2.2, "YOUTUBE": 0.7}


def genuine(rng: Random, index: int) -> AccountMetrics:
    platform = rng.choices(list(PLATFORM_FACTOR), weights=[6, 3, 1])[0]
    followers = int(math.exp(rng.uniform(math.log(1_500), math.log(3_000_000))))
    tier = tier_for(followers)
    rate = BASE_RATE[tier] * PLATFORM_FACTOR[platform] * rng.lognormvariate(0, 0.3)
    engaged = followers * rate / 100
    comment_share = rng.uniform(0.02, 0.06)
    snapshots = []
    size, level = float(followers), engaged
    for week in range(8):  # backwards from now: growth of -0.5 % to +3 % a week, noisy likes
        noisy = level * rng.gauss(1, 0.08)
        snapshots.append(
            Snapshot(
                START + (7 - week) * WEEK,
                int(size),
                int(noisy * (1 - comment_share)),
                int(noisy * comment_share),
            )
        )
        growth = rng.uniform(-0.005, 0.03)
        size /= 1 + growth
        level /= 1 + growth * rng.uniform(0.5, 1.2)
    latest = snapshots[0]
    return AccountMetrics(
        platform=platform,
        followers=latest.followers,
        # genuine creators follow a few hundred, rarely more than 60 % of their own audience
        following=rng.randint(80, min(1_500, latest.followers * 6 // 10)),
        posts=rng.randint(40, 2_000),
        avg_likes=latest.avg_likes,
        avg_comments=latest.avg_comments,
        snapshots=tuple(snapshots),
        suspicious_share_pct=(
            None if rng.random() < 0.5 else Decimal(rng.randint(300, 1_800)) / 100
        ),
        handle=f"genuine{index}",
    )


def steady(followers: int, likes: int, rng: Random, weeks: int = 8) -> tuple[Snapshot, ...]:
    return tuple(
        Snapshot(
            START + w * WEEK,
            int(followers * (1 - 0.01 * (weeks - 1 - w))),
            int(likes * rng.gauss(1, 0.08)),
            int(likes * 0.03 * rng.gauss(1, 0.08)),
        )
        for w in range(weeks)
    )


def fakes(rng: Random) -> list[AccountMetrics]:
    jump = tuple(Snapshot(START + w * WEEK, 20_000 if w < 5 else 80_000, 900, 25) for w in range(8))
    everything = tuple(
        Snapshot(START + w * WEEK, 16_000 if w < 4 else 64_000, 140, 6) for w in range(8)
    )
    return [
        # follow-for-follow: following about equal to followers
        AccountMetrics(IG, 8_300, 8_050, 420, 280, 11, steady(8_300, 280, rng), None, "f4f"),
        # mass following: over 5,000 followed with under 20,000 followers
        AccountMetrics(
            "TIKTOK", 15_000, 6_500, 210, 750, 30, steady(15_000, 750, rng), None, "mass"
        ),
        # bought followers at mid tier: engagement rate under 0.3 %
        AccountMetrics(IG, 120_000, 400, 650, 300, 12, steady(120_000, 300, rng), None, "ghosts"),
        # +300 % followers in one snapshot with flat likes
        AccountMetrics(IG, 80_000, 350, 380, 900, 25, jump, None, "jumper"),
        # all of it at once, plus an audit tool's verdict
        AccountMetrics(IG, 64_000, 6_000, 300, 140, 6, everything, Decimal(45), "everything"),
    ]


def build_roster(rng: Random) -> list[AccountMetrics]:
    return [genuine(rng, i) for i in range(50)]


@pytest.mark.parametrize("seed", [1, 2, 3, 2026, 424242])
def test_planted_fakes_rank_below_every_genuine_account(seed: int) -> None:
    rng = Random(seed)
    roster = build_roster(rng)
    planted = fakes(rng)
    medians = peer_medians(roster + planted)
    assert len([a for a in roster if a.platform == IG and tier_for(a.followers) is Tier.MID]) >= 3

    genuine_scores = sorted(account_quality(a, medians).score for a in roster)
    fake_results = [account_quality(a, medians) for a in planted]
    assert all(r.signals for r in fake_results)
    assert max(r.score for r in fake_results) < genuine_scores[0], (
        [
            (a.handle, r.score, [s.code for s in r.signals])
            for a, r in zip(planted, fake_results, strict=True)
        ],
        genuine_scores[:5],
    )
    assert sum(score == 100 for score in genuine_scores) >= 40  # most genuine accounts are clean
