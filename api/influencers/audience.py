"""Audience quality over an organization's roster (api.domain.audience_quality on our rows).

Scores depend on the roster (peer medians per platform and tier), so they are recomputed for the
whole organization when metrics change and stored on each influencer for filtering and sorting;
the explanation (signals) is computed on read from the same inputs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain import audience_quality as aq
from api.domain.metrics import DEFAULT_THRESHOLDS, TierThresholds
from api.models import Influencer, MetricSnapshot, Organization, SocialAccount


def account_metrics(
    account: SocialAccount, snapshots: Sequence[MetricSnapshot]
) -> aq.AccountMetrics:
    return aq.AccountMetrics(
        platform=str(account.platform),
        followers=account.followers,
        following=account.following,
        posts=account.posts,
        avg_likes=account.avg_likes,
        avg_comments=account.avg_comments,
        snapshots=tuple(
            aq.Snapshot(s.captured_at, s.followers, s.avg_likes, s.avg_comments, s.avg_views)
            for s in sorted(snapshots, key=lambda s: s.captured_at)
        ),
        suspicious_share_pct=account.suspicious_audience_pct,
        handle=account.handle,
    )


def thresholds_of(session: Session, organization_id: int) -> TierThresholds:
    org = session.get(Organization, organization_id)
    stored = org.tier_thresholds if org else None
    return TierThresholds.from_dict(stored) if stored else DEFAULT_THRESHOLDS


def roster(session: Session, organization_id: int) -> dict[int, list[aq.AccountMetrics]]:
    """Every active account of the organization with its snapshots, by influencer id."""
    snaps: dict[int, list[MetricSnapshot]] = defaultdict(list)
    for s in session.scalars(
        select(MetricSnapshot).where(MetricSnapshot.organization_id == organization_id)
    ):
        snaps[s.social_account_id].append(s)
    accounts: dict[int, list[aq.AccountMetrics]] = defaultdict(list)
    for a in session.scalars(
        select(SocialAccount)
        .where(SocialAccount.organization_id == organization_id)
        .order_by(SocialAccount.id)
    ):
        accounts[a.influencer_id].append(account_metrics(a, snaps[a.id]))
    return accounts


def refresh_scores(session: Session, organization_id: int) -> None:
    """Recomputes and stores every influencer's score in the organization."""
    thresholds = thresholds_of(session, organization_id)
    by_influencer = roster(session, organization_id)
    medians = aq.peer_medians([a for accs in by_influencer.values() for a in accs], thresholds)
    for influencer in session.scalars(
        select(Influencer).where(Influencer.organization_id == organization_id)
    ):
        quality = aq.influencer_quality(by_influencer.get(influencer.id, []), medians, thresholds)
        influencer.audience_quality_score = quality.score if quality else None
