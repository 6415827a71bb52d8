"""Demo data: two organizations with their brands, influencers, campaigns and partnerships.

`seed()` fills an empty database with a realistic, deterministic data set (the same `rng_seed`
gives the same names, handles, numbers and statuses; timestamps are placed relative to `now`,
the current hour unless given, and API keys are random). `make run` calls it when `is_empty()`;
the CLI prints the demo keys it returns. It flushes but does not commit: the caller owns the
transaction (`api.db.session_scope`).

The steps, one module each: `organizations` (and their API keys), `influencers` (accounts and
metric history), `campaigns` (partnerships and contracts), `content` (deliverables and
submissions), `post_metrics` (snapshots of the published posts' results), `live_posts` (a
live caption that lost its label, usage rights from the contracts, one ending soon), `links`
(tracked links and discount codes), `payouts` (payout details, tax profiles, the paying
accounts, signed contracts), then `history`: months of clicks,
orders and refunds (`traffic`, `orders`) fed through the ingest worker, with the reviews, fees
and payouts people made meanwhile (`actions`); last `webhooks` (an endpoint per organization,
disabled until pointed at a receiver), and the creator-risk scores (one creator planted risky,
with a leaked code: `orders`). The fixed material is `catalog`.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.demo.campaigns import seed_campaigns, seed_partnerships
from api.demo.content import seed_content
from api.demo.history import seed_history
from api.demo.influencers import seed_influencers
from api.demo.links import seed_links
from api.demo.live_posts import seed_live_posts
from api.demo.organizations import seed_keys, seed_organizations
from api.demo.payouts import seed_payouts, sign_contracts
from api.demo.post_metrics import seed_post_metrics
from api.demo.programs import seed_programs
from api.demo.state import DemoResult, Progress, Seeding
from api.demo.webhooks import seed_webhooks
from api.domain.risk import RiskLevel
from api.influencers.audience import refresh_scores
from api.influencers.stats import influencer_stats
from api.models import Organization, Partnership
from api.risk.recompute import recompute_all, start_worker_after

__all__ = ["DemoResult", "influencer_stats", "is_empty", "seed"]


def is_empty(session: Session) -> bool:
    """True when there is no organization yet: the database has never been seeded or used."""
    return session.scalar(select(Organization.id).limit(1)) is None


def seed(
    session: Session,
    *,
    progress: Progress | None = None,
    rng_seed: int = 7,
    now: datetime | None = None,
    redis: Any | None = None,
    history: bool = True,
) -> DemoResult:
    """Creates the demo data set in `session` (flushed, not committed) and returns its keys.
    The history goes through Redis: `redis` (a client), else the configured server; without
    `history`, the data set stops at the links and keys (no clicks, orders or ledger)."""
    state = Seeding(
        session=session,
        progress=progress or (lambda _phase, _done, _total: None),
        rng=random.Random(rng_seed),
        now=(now or utcnow()).replace(minute=0, second=0, microsecond=0),
    )
    seed_organizations(state)
    seed_influencers(state)
    seed_campaigns(state)
    seed_partnerships(state)
    seed_links(state)
    seed_keys(state)  # before the content: its reviews are made with the MANAGER key
    seed_content(state)
    seed_post_metrics(state)
    seed_payouts(state)  # before the history: its batches pay these payees
    sign_contracts(state)
    seed_live_posts(state)
    if history:
        seed_history(state, redis)
        seed_programs(state)  # after the history: its orders and retainers are on the ledger
    seed_webhooks(state)  # after the history: the seeding owes no webhook event
    # Scores compare each account with the organization's roster: computed once it is complete.
    for organization_id in state.result.organization_ids:
        refresh_scores(session, organization_id)
    session.flush()
    # The creator-risk reads the audience scores' inputs and the history: computed last, and the
    # first brand holds new commissions of HIGH-risk partnerships for review.
    total = session.scalar(select(func.count()).select_from(Partnership)) or 0
    state.progress("risk", 0, total)
    recompute_all(
        session, [], now=state.now, progress=lambda r: state.progress("risk", r.done, total)
    )
    start_worker_after(session)  # the worker refreshes from the next order on
    if state.brands:
        state.brands[0].risk_hold_level = RiskLevel.HIGH.value
    session.flush()
    return state.result
