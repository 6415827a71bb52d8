"""Denormalised influencer figures, kept in step with the accounts they are computed from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.metrics import AccountEngagement, blended_engagement_rate
from api.models import Influencer, SocialAccount


def refresh_influencer_stats(session: Session, influencer: Influencer) -> None:
    """Recomputes total/max followers and the blended engagement rate from the accounts, so
    lists can filter and sort on them without joining accounts for every row."""
    accounts = session.scalars(
        select(SocialAccount).where(SocialAccount.influencer_id == influencer.id)
    ).all()
    influencer.total_followers = sum(a.followers for a in accounts)
    influencer.max_followers = max((a.followers for a in accounts), default=0)
    influencer.engagement_rate = blended_engagement_rate(
        AccountEngagement(a.followers, a.avg_likes, a.avg_comments) for a in accounts
    )
