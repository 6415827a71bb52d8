"""The data set of `make bench-api`, built in the process whose settings point at the bench
database: migrated, the demo data, `extra` influencers more in the first organization (one
account each, two snapshots), the audience scores refreshed, and the keys and ids the mix needs."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from api.accounts.keys import create_key
from api.db import session_scope, utcnow
from api.demo import seed
from api.domain.metrics import engagement_rate
from api.influencers.audience import refresh_scores
from api.migrations import upgrade
from api.models import (
    Influencer,
    LedgerEntry,
    MetricSnapshot,
    Partnership,
    SocialAccount,
)
from api.models.enums import Platform, Role
from tracker.globalid import encode

BATCH = 5_000
NICHES = ["beauty", "fitness", "food", "travel", "tech", "fashion", "gaming", "parenting"]
COUNTRIES = ["DE", "FR", "GB", "US", "ES", "IT", "NL", "SE"]


def add_influencers(session: Any, organization_id: int, count: int, rng: random.Random) -> None:
    """`count` influencers with one account and two snapshots each, in bulk (core inserts)."""
    now = utcnow()
    platforms = list(Platform)
    start = session.scalar(select(func.coalesce(func.max(Influencer.id), 0))) + 1
    account_start = session.scalar(select(func.coalesce(func.max(SocialAccount.id), 0))) + 1
    for offset in range(0, count, BATCH):
        ids = range(start + offset, start + min(offset + BATCH, count))
        influencers, accounts, snapshots = [], [], []
        for i in ids:
            followers = int(rng.lognormvariate(10, 1.4)) + 500
            likes = int(followers * rng.uniform(0.005, 0.08))
            comments = int(likes * rng.uniform(0.01, 0.08))
            influencers.append(
                {
                    "id": i,
                    "organization_id": organization_id,
                    "name": f"Bench Creator {i}",
                    "country": rng.choice(COUNTRIES),
                    "languages": ["en"],
                    "niches": [rng.choice(NICHES)],
                    "customer_ids": [],
                    "total_followers": followers,
                    "max_followers": followers,
                    "engagement_rate": engagement_rate(followers, likes, comments),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            account_id = account_start + i - start
            accounts.append(
                {
                    "id": account_id,
                    "organization_id": organization_id,
                    "influencer_id": i,
                    "platform": rng.choice(platforms),
                    "handle": f"bench{i}",
                    "handle_key": f"bench{i}",
                    "followers": followers,
                    "following": rng.randint(50, 2000),
                    "posts": rng.randint(20, 2000),
                    "verified": False,
                    "avg_likes": likes,
                    "avg_comments": comments,
                    "avg_views": likes * 8,
                    "suspicious_audience_pct": Decimal(rng.randint(0, 3000)) / 100,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for weeks, growth in ((8, 0.9), (0, 1.0)):
                snapshots.append(
                    {
                        "organization_id": organization_id,
                        "social_account_id": account_id,
                        "captured_at": now - timedelta(weeks=weeks),
                        "followers": int(followers * growth),
                        "following": None,
                        "avg_likes": likes,
                        "avg_comments": comments,
                        "avg_views": likes * 8,
                        "posts_sampled": 12,
                        "created_at": now,
                    }
                )
        session.execute(insert(Influencer), influencers)
        session.execute(insert(SocialAccount), accounts)
        session.execute(insert(MetricSnapshot), snapshots)
        session.flush()
    if session.get_bind().dialect.name == "postgresql":  # ids were given: move the sequences on
        for table, last in (("influencers", start), ("social_accounts", account_start)):
            session.execute(
                func.setval(func.pg_get_serial_sequence(table, "id"), last + count).select()
            )


def build(extra: int, reuse: bool = False) -> dict[str, Any]:
    """Seeds the database (or, with `reuse`, takes the one a `--keep` run left, as it is) and
    returns new keys and the ids the mix needs."""
    upgrade()
    rng = random.Random(19)
    with session_scope() as session:
        if reuse:
            organization_id = session.scalar(  # the one with the extra influencers
                select(Influencer.organization_id)
                .group_by(Influencer.organization_id)
                .order_by(func.count().desc())
                .limit(1)
            )
        else:
            result = seed(session)
            organization_id = result.organization_ids[0]
            add_influencers(session, organization_id, extra, rng)
            refresh_scores(session, organization_id)
        keys = {}
        for role in (Role.ADMIN, Role.MANAGER, Role.FINANCE):
            _key, clear = create_key(
                session, organization_id=organization_id, role=role, name=f"bench {role.value}"
            )
            keys[role.value] = clear
        # the partnership with the most ledger entries: the busiest page of the mix
        partnership_id, influencer_id, campaign_id, currency = session.execute(
            select(
                Partnership.id,
                Partnership.influencer_id,
                Partnership.campaign_id,
                LedgerEntry.currency,
            )
            .join(LedgerEntry, LedgerEntry.partnership_id == Partnership.id)
            .where(Partnership.organization_id == organization_id)
            .group_by(
                Partnership.id,
                Partnership.influencer_id,
                Partnership.campaign_id,
                LedgerEntry.currency,
            )
            .order_by(func.count().desc(), Partnership.id)
            .limit(1)
        ).one()
    return {
        "keys": keys,
        "partnership": encode("Partnership", partnership_id),
        "influencer": encode("Influencer", influencer_id),
        "campaign": encode("Campaign", campaign_id),
        "currency": currency,
    }
