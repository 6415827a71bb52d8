"""Recording an account's audience (api.domain.demographics on our rows): GraphQL and imports.

A snapshot is never changed. The newest one with a fake share sets the account's
`suspicious_audience_pct` (its current figure, as the newest metric snapshot sets followers),
which is what the audience-quality score's SUSPICIOUS_AUDIENCE signal reads; the caller then
refreshes the stored scores (`api.influencers.audience.refresh_scores`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain import demographics as dm
from api.models import AudienceSnapshot, SocialAccount


def snapshot_exists(session: Session, account_id: int, captured_at: datetime) -> bool:
    return bool(
        session.scalar(
            select(func.count()).where(
                AudienceSnapshot.social_account_id == account_id,
                AudienceSnapshot.captured_at == captured_at,
            )
        )
    )


def record_snapshot(
    session: Session, account: SocialAccount, captured_at: datetime, audience: dm.Audience
) -> tuple[AudienceSnapshot, bool]:
    """Adds the snapshot; returns it and whether the account's current fake share changed."""
    snapshot = AudienceSnapshot(
        organization_id=account.organization_id,
        social_account_id=account.id,
        influencer_id=account.influencer_id,
        captured_at=captured_at,
        countries=[[k, v] for k, v in dm.ordered(audience.countries)],
        age_bands=[[k, v] for k, v in audience.age_bands.items()],
        genders=[[k, v] for k, v in dm.ordered(audience.genders)],
        fake_share=audience.fake_share,
    )
    session.add(snapshot)
    session.flush()
    newest = session.scalar(
        select(func.max(AudienceSnapshot.captured_at)).where(
            AudienceSnapshot.social_account_id == account.id
        )
    )
    if audience.fake_share is None or newest is None or newest > captured_at:
        return snapshot, False
    pct = dm.as_percent(audience.fake_share)
    changed = account.suspicious_audience_pct != pct
    account.suspicious_audience_pct = pct
    return snapshot, changed
