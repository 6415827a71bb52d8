"""Demo influencers: their social accounts with metrics that look real, and metric history.

The numbers follow how the industry measures creators (see `api.domain.metrics`): followers drawn
from a log-normal so every tier from nano to mega appears, engagement falling with audience size
and per platform (Instagram ~1-5 %, TikTok ~3-9 %, YouTube by views). A few influencers with fake
audiences are planted for the audience-quality feature (`catalog.FAKES`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from api.demo.audience import audience_snapshots
from api.demo.catalog import (
    AGENCIES,
    DEFAULT_PRIMARY,
    FAKES,
    FIRST_NAMES,
    HANDLE_WORDS,
    LANGUAGES,
    LAST_NAMES,
    ORGS,
    PRIMARY_PLATFORMS,
    RELATED_NICHES,
    SECONDARY,
    TIER_BOUNDS,
    OrgSpec,
    ascii_fold,
    profile_url,
    slug,
    weighted,
)
from api.demo.state import Seeding
from api.domain.metrics import Tier, influencer_tier
from api.influencers.stats import influencer_stats
from api.models import Influencer, MetricSnapshot, SocialAccount
from api.models.enums import Platform

INFLUENCER_BATCH = 50  # influencers (with their accounts and snapshots) per flush


def account_metrics(rng: random.Random, platform: Platform, followers: int) -> dict[str, int]:
    """Following, posts and per-post averages that look like a real account of this size.

    Engagement by followers falls with audience size (a power law fitted to the usual
    benchmarks): Instagram ~5 % for a nano account to ~1 % for a mega one, TikTok higher, YouTube
    measured on views.
    """
    size = max(followers, 1_000) / 1_000
    likes = comments = views = 0.0
    following = 0
    if platform is Platform.INSTAGRAM:
        rate = max(1.0, rng.uniform(3.2, 5.5) * size**-0.2) / 100
        engagements = followers * rate
        comments = engagements * rng.uniform(0.015, 0.04)
        likes = engagements - comments
        views = followers * rng.uniform(0.25, 0.8)
        following = rng.randint(150, 1_400)
        posts = rng.randint(150, 2_500)
    elif platform is Platform.TIKTOK:
        rate = max(3.0, rng.uniform(6.0, 10.0) * size**-0.12) / 100
        engagements = followers * rate
        comments = engagements * rng.uniform(0.008, 0.02)
        likes = engagements - comments
        views = followers * rng.uniform(0.3, 1.5)
        following = rng.randint(20, 900)
        posts = rng.randint(60, 1_200)
    elif platform is Platform.YOUTUBE:
        views = followers * rng.uniform(0.2, 0.35)
        likes = views * rng.uniform(0.035, 0.05)
        comments = views * rng.uniform(0.002, 0.006)
        posts = rng.randint(40, 900)
    elif platform is Platform.X:
        engagements = followers * rng.uniform(0.0035, 0.008)
        comments = engagements * 0.15
        likes = engagements - comments
        views = followers * rng.uniform(0.05, 0.25)
        following = rng.randint(150, 1_200)
        posts = rng.randint(800, 20_000)
    elif platform is Platform.TWITCH:
        views = followers * rng.uniform(0.01, 0.04)  # average concurrent viewers
        comments = followers * rng.uniform(0.004, 0.008)  # chat messages per stream
        following = rng.randint(50, 300)
        posts = rng.randint(50, 600)  # past broadcasts
    elif platform is Platform.BLOG:
        views = followers * rng.uniform(0.3, 1.2)  # page views per post, from subscribers
        comments = followers * rng.uniform(0.002, 0.004)
        posts = rng.randint(40, 600)
    else:  # PODCAST: subscribers, downloads per episode
        views = followers * rng.uniform(0.4, 0.9)
        posts = rng.randint(20, 300)
    # Genuine creators follow far fewer accounts than follow them (else: follow-for-follow).
    following = min(following, int(followers * 0.3))
    return {
        "following": following,
        "posts": posts,
        "avg_likes": round(likes),
        "avg_comments": round(comments),
        "avg_views": round(views),
    }


@dataclass
class AccountPlan:
    platform: Platform
    followers: int
    metrics: dict[str, int]
    verified: bool = False
    suspicious_pct: Decimal | None = None
    # Snapshot index at which followers jumped (+300 %) while likes stayed flat.
    jump_at: int | None = None
    handle: str = ""


@dataclass
class InfluencerPlan:
    org: int
    name: str
    country: str
    niches: list[str]
    accounts: list[AccountPlan]
    fake: bool = False
    model: Influencer | None = None


def seed_influencers(state: Seeding) -> None:
    plans: list[InfluencerPlan] = []
    for org_index, spec in enumerate(ORGS):
        fakes = [_fake_plan(state, org_index, f) for f in FAKES] if org_index == 0 else []
        org_plans = [
            _influencer_plan(state, org_index, spec) for _ in range(spec.influencers - len(fakes))
        ]
        _cover_tiers(state, org_plans)
        # Fakes sit at spread-out positions among the others, not in a block of their own.
        for n, fake in enumerate(fakes):
            org_plans.insert(17 + n * 31, fake)
        plans.extend(org_plans)
    handles: set[tuple[int, str]] = set()  # (org index, base handle or "x:" handle)
    for plan in plans:
        _assign_handles(state, plan, handles)
    state.influencers = plans
    total = len(plans)
    state.progress("influencers", 0, total)
    for start in range(0, total, INFLUENCER_BATCH):
        _insert_influencers(state, plans[start : start + INFLUENCER_BATCH])
        state.progress("influencers", min(start + INFLUENCER_BATCH, total), total)
    state.result.planted_fakes = [p.model.id for p in plans if p.fake and p.model]


def _influencer_plan(state: Seeding, org_index: int, spec: OrgSpec) -> InfluencerPlan:
    rng = state.rng
    country = weighted(rng, spec.countries)
    name = f"{rng.choice(FIRST_NAMES[country])} {rng.choice(LAST_NAMES[country])}"
    primary_niche = weighted(rng, spec.niches)
    niches = [primary_niche]
    related = RELATED_NICHES[primary_niche]
    niches += rng.sample(related, k=min(len(related), rng.choice([0, 1, 1, 2])))
    # Log-normal audience: median ~20k, long tail to the millions.
    followers = int(min(max(rng.lognormvariate(math.log(20_000), 1.45), 700), 25_000_000))
    primary = weighted(rng, PRIMARY_PLATFORMS.get(primary_niche, DEFAULT_PRIMARY))
    platforms = [primary]
    n_accounts = rng.choices([1, 2, 3], weights=[40, 40, 20])[0]
    pool = dict(SECONDARY)
    if "gaming" in niches:
        pool[Platform.TWITCH] = 5
    while len(platforms) < n_accounts:
        candidate = weighted(rng, pool)
        if candidate not in platforms:
            platforms.append(candidate)
    accounts = [_account_plan(state, primary, followers)]
    for platform in platforms[1:]:
        share = rng.lognormvariate(math.log(0.2), 0.8)
        # Blogs and podcasts have no likes: keep them small next to the main audience.
        cap = 0.3 if platform in (Platform.BLOG, Platform.PODCAST) else 1.2
        accounts.append(_account_plan(state, platform, max(400, int(followers * min(share, cap)))))
    return InfluencerPlan(org_index, name, country, niches, accounts)


def _account_plan(state: Seeding, platform: Platform, followers: int) -> AccountPlan:
    rng = state.rng
    metrics = account_metrics(rng, platform, followers)
    verifiable = platform not in (Platform.BLOG, Platform.PODCAST)
    verified = verifiable and (
        (followers >= 1_000_000 and rng.random() < 0.95)
        or (followers >= 100_000 and rng.random() < 0.5)
    )
    suspicious = None
    if platform in (Platform.INSTAGRAM, Platform.TIKTOK) and rng.random() < 0.6:
        suspicious = Decimal(rng.randint(200, 1_400)) / 100  # 2-14 %: a genuine audience
    return AccountPlan(platform, followers, metrics, verified, suspicious)


def _cover_tiers(state: Seeding, plans: list[InfluencerPlan]) -> None:
    """Makes sure every tier from nano to mega appears in the organization."""

    def tiers() -> dict[Tier, list[InfluencerPlan]]:
        by_tier: dict[Tier, list[InfluencerPlan]] = {}
        for p in plans:
            by_tier.setdefault(influencer_tier(a.followers for a in p.accounts), []).append(p)
        return by_tier

    for tier in (Tier.MEGA, Tier.MACRO, Tier.MID, Tier.MICRO, Tier.NANO):
        by_tier = tiers()
        if tier in by_tier:
            continue
        # Move someone from the most crowded tier, so no other tier empties.
        plan = state.rng.choice(max(by_tier.values(), key=len))
        low, high = TIER_BOUNDS[tier]
        followers = int(math.exp(state.rng.uniform(math.log(low), math.log(high))))
        scale = followers / plan.accounts[0].followers
        plan.accounts = [
            _account_plan(state, a.platform, max(150, min(int(a.followers * scale), followers)))
            for a in plan.accounts
        ]


def _fake_plan(state: Seeding, org_index: int, fake: Any) -> InfluencerPlan:
    name, country, niches, accounts = fake
    plans = []
    for platform, followers, following, likes, comments, suspicious, jump in accounts:
        metrics = {
            "following": following,
            "posts": state.rng.randint(120, 900),
            "avg_likes": likes,
            "avg_comments": comments,
            "avg_views": int(followers * state.rng.uniform(0.01, 0.04)),
        }
        plans.append(
            AccountPlan(
                platform,
                followers,
                metrics,
                verified=False,
                suspicious_pct=Decimal(suspicious) if suspicious is not None else None,
                jump_at=-1 if jump else None,
            )
        )
    return InfluencerPlan(org_index, name, country, list(niches), plans, fake=True)


def _assign_handles(state: Seeding, plan: InfluencerPlan, handles: set[tuple[int, str]]) -> None:
    rng = state.rng
    first, _, last = plan.name.partition(" ")
    f, l_ = ascii_fold(first), ascii_fold(last)
    base = ""
    for _ in range(8):
        word = rng.choice(HANDLE_WORDS[plan.niches[0]])
        base = rng.choice(
            [
                f"{f}{l_}",
                f"{f}.{l_}",
                f"{f}_{l_}",
                f"{f}{word}",
                f"{f}.{word}",
                f"{f}_{word}",
                f"{f}{l_[:1]}{word}",
                f"{word}with{f}",
            ]
        )[:24]
        if (plan.org, base) not in handles:
            break
    else:
        n = 2
        while (plan.org, f"{base[:21]}{n}") in handles:
            n += 1
        base = f"{base[:21]}{n}"
    handles.add((plan.org, base))
    for account in plan.accounts:
        handle = base
        if account.platform is Platform.X:  # X handles are at most 15 characters
            handle = base[:15].rstrip("._")
            while (plan.org, "x:" + handle) in handles:
                handle = f"{base[:13].rstrip('._')}{rng.randint(10, 99)}"
            handles.add((plan.org, "x:" + handle))
        account.handle = handle


def _insert_influencers(state: Seeding, plans: list[InfluencerPlan]) -> None:
    rng = state.rng
    for plan in plans:
        first, _, last = plan.name.partition(" ")
        primary_lang, second_lang, second_p = LANGUAGES[plan.country]
        languages = [primary_lang] + (
            [second_lang] if second_lang and rng.random() < second_p else []
        )
        largest = max(a.followers for a in plan.accounts)
        agent_name = agent_email = None
        if largest >= 500_000 or (largest >= 100_000 and rng.random() < 0.4):
            agency, domain = rng.choice(AGENCIES)
            agent_first = rng.choice(FIRST_NAMES["GB" if plan.org == 0 else "US"])
            agent_name = f"{agent_first} ({agency})"
            agent_email = f"{ascii_fold(agent_first)}@{domain}"
        email_domain = rng.choice(["inbox.example", "mail.example", "post.example"])
        email = (
            f"{ascii_fold(first)}.{ascii_fold(last)}@{email_domain}"
            if rng.random() < 0.7
            else f"collabs@{slug(plan.accounts[0].handle)}.example"
        )
        phone = None
        if rng.random() < 0.3 and plan.country in ("GB", "US"):
            phone = (
                f"+44 7700 900{rng.randint(0, 999):03d}"  # Ofcom's drama range
                if plan.country == "GB"
                else f"+1 202 555 01{rng.randint(0, 99):02d}"  # fictional 555-01xx
            )
        plan.model = Influencer(
            organization_id=state.orgs[plan.org].id,
            name=plan.name,
            email=email,
            country=plan.country,
            languages=languages,
            niches=plan.niches,
            phone=phone,
            agent_name=agent_name,
            agent_email=agent_email,
            customer_ids=[f"cus_{rng.randint(10**7, 10**8 - 1)}"] if rng.random() < 0.1 else [],
            created_at=state.days(-rng.randint(60, 400)),
        )
    state.session.add_all([p.model for p in plans if p.model])
    state.session.flush()

    accounts: list[tuple[AccountPlan, SocialAccount]] = []
    owners: list[InfluencerPlan] = []  # the plan of each of `accounts`
    for plan in plans:
        assert plan.model is not None
        for a in plan.accounts:
            model = SocialAccount(
                organization_id=plan.model.organization_id,
                influencer_id=plan.model.id,
                platform=a.platform,
                handle=a.handle,
                handle_key=a.handle.lower(),
                url=profile_url(a.platform, a.handle),
                followers=a.followers,
                verified=a.verified,
                suspicious_audience_pct=a.suspicious_pct,
                **a.metrics,
            )
            accounts.append((a, model))
            owners.append(plan)
            state.accounts.setdefault(plan.model.id, []).append(model)
        total, largest, rate = influencer_stats(m for _, m in accounts[-len(plan.accounts) :])
        plan.model.total_followers = total
        plan.model.max_followers = largest
        plan.model.engagement_rate = rate
    state.session.add_all([m for _, m in accounts])
    state.session.flush()
    state.count("influencers", len(plans))
    state.count("social_accounts", len(accounts))

    snapshots = [s for a, m in accounts for s in _snapshots(state, a, m)]
    state.session.add_all(snapshots)
    audited = min(state.days(-1).replace(hour=6), state.now)  # yesterday's audit report
    audiences = [
        s
        for plan, (a, m) in zip(owners, accounts, strict=True)
        for s in audience_snapshots(
            state.rng, m, plan.country, plan.niches, a.suspicious_pct, audited
        )
    ]
    state.session.add_all(audiences)
    state.session.flush()
    state.count("metric_snapshots", len(snapshots))
    state.count("audience_snapshots", len(audiences))


def _snapshots(state: Seeding, plan: AccountPlan, account: SocialAccount) -> list[MetricSnapshot]:
    """3-6 observations, weekly or monthly, growing gently up to the account's current
    values; a planted jump quadruples followers between two snapshots with flat likes."""
    rng = state.rng
    n = rng.randint(4, 6) if plan.jump_at is not None else rng.randint(3, 6)
    step = rng.choice([7, 30])
    growth = rng.uniform(0.003, 0.012) if step == 7 else rng.uniform(0.01, 0.04)
    # The morning run of a recent day; before 06:00, today's has not happened yet.
    last = min(state.days(-rng.randint(0, 3)).replace(hour=6), state.now)
    jump_index = n + plan.jump_at if plan.jump_at is not None else None
    snapshots = []
    for i in range(n):
        back = n - 1 - i
        factor = (1 + growth) ** -back
        if jump_index is not None and i < jump_index:
            factor /= 4  # +300 % between snapshot i and the next
        # Likes per post swing up and down from one sample of posts to the next (a flat line
        # is a sign of bought engagement); a planted jump keeps them flat on purpose.
        if jump_index is not None:
            engagement_factor, noise = 1.0, rng.uniform(0.99, 1.01) if back else 1.0
        else:
            swing = rng.uniform(0.05, 0.15) * (1 if back % 2 else -1)
            engagement_factor, noise = factor, 1 + swing if back else 1.0
        likes = round(account.avg_likes * engagement_factor * noise)
        if back and jump_index is None and likes == account.avg_likes:
            likes = max(0, likes + (1 if back % 2 else -1))  # tiny counts round alike
        has_following = account.platform in (Platform.INSTAGRAM, Platform.TIKTOK, Platform.X)
        snapshots.append(
            MetricSnapshot(
                organization_id=account.organization_id,
                social_account_id=account.id,
                captured_at=last - timedelta(days=step * back),
                followers=round(account.followers * factor),
                following=round(account.following * rng.uniform(0.97, 1.03))
                if has_following and back
                else (account.following if has_following else None),
                avg_likes=likes,
                avg_comments=round(account.avg_comments * engagement_factor * noise),
                avg_views=round(account.avg_views * engagement_factor * noise),
                posts_sampled=12,
                created_at=last - timedelta(days=step * back),
            )
        )
    return snapshots
