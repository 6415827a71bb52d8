"""Denormalised influencer figures, kept in step with the accounts they are computed from."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.metrics import AccountEngagement, blended_engagement_rate
from api.models import Influencer, SocialAccount


class AccountFigures(Protocol):
    followers: int
    avg_likes: int
    avg_comments: int


def influencer_stats(accounts: Iterable[AccountFigures]) -> tuple[int, int, Decimal | None]:
    """(total followers, largest account's followers, blended engagement rate) of accounts."""
    accounts = list(accounts)
    followers = [a.followers for a in accounts]
    rate = blended_engagement_rate(
        AccountEngagement(a.followers, a.avg_likes, a.avg_comments) for a in accounts
    )
    return sum(followers), max(followers, default=0), rate


def refresh_influencer_stats(session: Session, influencer: Influencer) -> None:
    """Recomputes total/max followers and the blended engagement rate from the accounts, so
    lists can filter and sort on them without joining accounts for every row."""
    accounts = session.scalars(
        select(SocialAccount).where(SocialAccount.influencer_id == influencer.id)
    ).all()
    (
        influencer.total_followers,
        influencer.max_followers,
        influencer.engagement_rate,
    ) = influencer_stats(accounts)
