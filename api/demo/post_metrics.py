"""Demo post results: a few snapshots per published deliverable, rising over its first week,
so `Deliverable.metrics` and the post figures of `Performance` show data on first run."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.demo.state import Seeding
from api.domain.post_metrics import MetricSource
from api.models import Deliverable, Partnership, PostMetricSnapshot
from api.models.enums import ContentFormat, Role

VIDEO = {ContentFormat.REEL, ContentFormat.VIDEO, ContentFormat.SHORT, ContentFormat.LIVE}
# The share of its final totals a post has after 1, 3 and 7 days.
GROWTH = ((1, 0.55), (3, 0.8), (7, 1.0))
SOURCES = (
    [MetricSource.MANUAL] * 5 + [MetricSource.PLATFORM_API] * 3 + [MetricSource.SELF_REPORTED] * 2
)


def seed_post_metrics(state: Seeding) -> None:
    rng = state.rng
    rows = state.session.execute(
        select(Deliverable, Partnership.influencer_id)
        .join(Partnership, Partnership.id == Deliverable.partnership_id)
        .where(
            Deliverable.organization_id.in_(state.result.organization_ids),
            Deliverable.status == "PUBLISHED",
        )
        .order_by(Deliverable.id)
    ).all()
    snapshots = []
    for deliverable, influencer_id in rows:
        assert deliverable.published_at is not None
        followers = max(
            (
                a.followers
                for a in state.accounts.get(influencer_id, [])
                if a.platform == deliverable.platform
            ),
            default=0,
        ) or rng.randint(2_000, 50_000)
        reach = int(followers * rng.uniform(0.15, 0.45))
        final = {
            "reach": reach,
            "impressions": int(reach * rng.uniform(1.2, 1.8)),
            "likes": int(reach * rng.uniform(0.03, 0.08)),
        }
        final["views"] = int(final["impressions"] * 0.6) if deliverable.format in VIDEO else 0
        final["comments"] = int(final["likes"] * rng.uniform(0.05, 0.12))
        final["shares"] = int(final["likes"] * rng.uniform(0.02, 0.08))
        final["saves"] = int(final["likes"] * rng.uniform(0.05, 0.15))
        final["link_clicks"] = int(final["impressions"] * rng.uniform(0.005, 0.02))
        source = rng.choice(SOURCES)
        label = state.labels[deliverable.organization_id][Role.MANAGER]
        for days, share in GROWTH:
            at = deliverable.published_at + timedelta(days=days)
            if at > state.now:
                break
            counts: dict[str, int | None] = {k: int(v * share) for k, v in final.items()}
            if deliverable.format not in VIDEO:
                counts["views"] = None  # not a video: no views reported
            snapshots.append(
                PostMetricSnapshot(
                    organization_id=deliverable.organization_id,
                    deliverable_id=deliverable.id,
                    captured_at=at,
                    followers_at_posting=followers,
                    source=source,
                    recorded_by=f"influencer:{influencer_id}"
                    if source is MetricSource.SELF_REPORTED
                    else label,
                    **counts,
                )
            )
    state.session.add_all(snapshots)
    state.session.flush()
    state.count("post_metric_snapshots", len(snapshots))
