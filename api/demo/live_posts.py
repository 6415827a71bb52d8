"""Demo of watching posts after they go live: in each organization one published post whose
live caption lost its advertising label after approval (a DISCLOSURE_REMOVED finding on first
run), the usage rights of published deliverables from their contracts, and one right ending
within the notice window (a `usage_rights.expiring` event and an EXPIRING state)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.content import live_posts, usage_rights
from api.demo.state import Seeding
from api.domain import usage_rights as rules
from api.domain.post_metrics import COUNTERS, MetricSource
from api.models import Deliverable, DeliverableUsageRights, PostMetricSnapshot
from api.models.enums import Role
from api.models.live_posts import EvidenceSource, FindingKind
from api.settings import get_settings

EXPIRING_IN = timedelta(days=10)


def seed_live_posts(state: Seeding) -> None:
    session = state.session
    notice = get_settings().usage_rights_notice_days
    for organization_id in state.result.organization_ids:
        published = session.scalars(
            select(Deliverable)
            .where(
                Deliverable.organization_id == organization_id,
                Deliverable.status == "PUBLISHED",
                Deliverable.disclosure_override_reason.is_(None),
            )
            .order_by(Deliverable.id)
        ).all()
        for deliverable in published:
            if _edit_out_the_label(state, deliverable):
                state.count("content_findings", 1)
                break
        scope = [Deliverable.organization_id == organization_id]
        usage_rights.notify(session, scope, notice, now=state.now)
        soon = session.scalar(
            select(DeliverableUsageRights)
            .join(Deliverable, Deliverable.id == DeliverableUsageRights.deliverable_id)
            .where(*scope)
            .order_by(DeliverableUsageRights.id.desc())
            .limit(1)
        )
        if soon is not None:
            soon.expires_at = state.now + EXPIRING_IN
            soon.basis = rules.Basis.EXPLICIT
            soon.set_by = state.labels[organization_id][Role.MANAGER]
            session.flush()
            usage_rights.notify(session, scope, notice, now=state.now)
            state.count("usage_rights_expiring", 1)


def _edit_out_the_label(state: Seeding, deliverable: Deliverable) -> bool:
    """A snapshot whose caption is the approved one without its labels (the text before the
    body, "#ad | Sponsored | ..."); True when that is a DISCLOSURE_REMOVED finding."""
    session = state.session
    approved = live_posts.approved_version(session, deliverable.id)
    if approved is None or approved.disclosure_verdict != "PASS" or " | " not in approved.caption:
        return False
    live = approved.caption.rsplit(" | ", 1)[1]
    latest = session.scalar(
        select(PostMetricSnapshot)
        .where(PostMetricSnapshot.deliverable_id == deliverable.id)
        .order_by(PostMetricSnapshot.captured_at.desc())
        .limit(1)
    )
    seen_at = state.now - timedelta(minutes=90)
    if latest is None or latest.captured_at >= seen_at:
        return False
    snapshot = PostMetricSnapshot(
        organization_id=deliverable.organization_id,
        deliverable_id=deliverable.id,
        captured_at=seen_at,
        followers_at_posting=latest.followers_at_posting,
        source=MetricSource.PLATFORM_API,
        caption=live,
        recorded_by=state.labels[deliverable.organization_id][Role.MANAGER],
        **{name: getattr(latest, name) for name in COUNTERS},
    )
    session.add(snapshot)
    session.flush()
    found = live_posts.recheck_caption(
        session, deliverable, live, EvidenceSource.PLATFORM_API, seen_at, now=state.now
    )
    if any(f.kind is FindingKind.DISCLOSURE_REMOVED for f in found):
        return True
    session.delete(snapshot)
    for finding in found:
        session.delete(finding)
    session.flush()
    return False
