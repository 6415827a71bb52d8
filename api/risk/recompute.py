"""Keeping the creator-risk rows up to date: each partnership's score (its influencer's audience,
its orders, its codes' leakage) and each influencer's (their audience and the worst of each
conversion signal over their partnerships), stored so reads and the ingest's hold check are one
indexed lookup. Run by `vouch risk recompute` (all partnerships, resumable), by the worker for
the partnerships that got new orders, and by the demo seed. Rules in `api.domain.risk`.

A code whose leakage becomes likely gets `leak_suspected_at` and raises
`discount_code.leak_suspected` once for that episode; when it no longer looks leaked the mark
is cleared, and a later episode raises a new event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.content.live_events import record_event
from api.content.live_posts import cursor
from api.db import utcnow
from api.domain import risk
from api.models import (
    Conversion,
    DiscountCode,
    InfluencerRisk,
    JobCursor,
    Partnership,
    PartnershipRisk,
)
from api.risk.loader import Loader, audience_facts, influencers

RECOMPUTE_CURSOR = "risk.recompute"
WORKER_CURSOR = "risk.worker"  # the last conversion id whose partnership the worker refreshed


def leak_payload(code: DiscountCode, leakage: risk.Leakage) -> dict[str, Any]:
    from tracker.globalid import encode

    return {
        "discountCodeId": encode("DiscountCode", code.id),
        "code": code.code,
        "partnershipId": encode("Partnership", code.partnership_id),
        "suspectedAt": code.leak_suspected_at.isoformat() if code.leak_suspected_at else None,
        "reasons": [r.to_dict() for r in leakage.reasons],
    }


def _leakage(session: Session, code: DiscountCode, leakage: risk.Leakage, now: datetime) -> None:
    """Marks (and announces, once an episode) or clears the code's suspected leak."""
    if leakage.likely and code.leak_suspected_at is None:
        code.leak_suspected_at = now
        session.flush()
        record_event(
            session,
            code.organization_id,
            "discount_code.leak_suspected",
            leak_payload(code, leakage),
            f"leak:{code.id}:{now.isoformat()}",
        )
    elif not leakage.likely and code.leak_suspected_at is not None:
        code.leak_suspected_at = None


def _store(session: Session, model: Any, key: dict[str, int], values: dict[str, Any]) -> Any:
    """The row of `key` (its primary key), created or overwritten with `values`."""
    row = session.get(model, next(iter(key.values())))
    if row is None:
        row = model(**key, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    return row


def _values(organization_id: int, assessment: risk.Assessment, now: datetime) -> dict[str, Any]:
    return {
        "organization_id": organization_id,
        "score": assessment.score,
        "level": assessment.level.value,
        "reasons": [r.to_dict() for r in assessment.reasons],
        "computed_at": now,
    }


def recompute_partnerships(
    session: Session, partnerships: Iterable[Partnership], *, now: datetime | None = None
) -> list[PartnershipRisk]:
    """Recomputes and stores the risk of the partnerships, their codes' leakage marks and their
    influencers' risk rows."""
    now = now or utcnow()
    rows = list(partnerships)
    if not rows:
        return []
    loader = Loader(session, now)
    by_org: dict[int, set[int]] = {}
    for p in rows:
        by_org.setdefault(p.organization_id, set()).add(p.influencer_id)
    audience: dict[int, risk.AudienceFacts] = {}
    for org_id, ids in by_org.items():
        audience.update(audience_facts(session, org_id, ids))
    people = influencers(session, (p.influencer_id for p in rows))
    loader.prepare(p.id for p in rows)
    # Their stored rows, loaded into the session at once: `_store` finds them there.
    partnership_ids = [p.id for p in rows]
    session.scalars(
        select(PartnershipRisk).where(PartnershipRisk.partnership_id.in_(partnership_ids))
    ).all()
    stored = []
    for p in rows:
        influencer = people[p.influencer_id]
        reasons = risk.audience_reasons(audience.get(p.influencer_id, risk.AudienceFacts()))
        reasons += risk.conversion_reasons(loader.order_stats(p, influencer.customer_ids or []))
        for code, facts in loader.code_facts(p):
            leakage = risk.code_leakage(facts)
            _leakage(session, code, leakage, now)
            reasons += leakage.reasons
        assessment = risk.assess(reasons)
        stored.append(
            _store(
                session,
                PartnershipRisk,
                {"partnership_id": p.id},
                {
                    "influencer_id": p.influencer_id,
                    **_values(p.organization_id, assessment, now),
                },
            )
        )
    session.flush()
    for org_id, ids in by_org.items():
        recompute_influencers(session, org_id, ids, audience=audience, now=now)
    return stored


def recompute_influencers(
    session: Session,
    organization_id: int,
    influencer_ids: Iterable[int],
    *,
    audience: dict[int, risk.AudienceFacts] | None = None,
    now: datetime | None = None,
) -> None:
    """Each influencer's risk: their audience's reasons and, of each other signal, the heaviest
    over their partnerships' stored rows."""
    now = now or utcnow()
    ids = sorted(set(influencer_ids))
    facts = dict(audience or {})
    missing = [i for i in ids if i not in facts]
    facts.update(audience_facts(session, organization_id, missing))
    partnership_reasons: dict[int, list[risk.Reason]] = {i: [] for i in ids}
    audience_codes = {
        risk.RiskCode.FOLLOWER_SPIKE,
        risk.RiskCode.ENGAGEMENT_OFF_NORM,
        risk.RiskCode.FAKE_AUDIENCE,
        risk.RiskCode.COMMENT_LIKE_RATIO,
    }
    for row in session.scalars(
        select(PartnershipRisk).where(PartnershipRisk.influencer_id.in_(ids))
    ):
        partnership_reasons[row.influencer_id] += [
            r
            for r in (risk.Reason.from_dict(d) for d in row.reasons)
            if r.code not in audience_codes
        ]
    session.scalars(select(InfluencerRisk).where(InfluencerRisk.influencer_id.in_(ids))).all()
    for influencer_id in ids:
        reasons = risk.audience_reasons(facts.get(influencer_id, risk.AudienceFacts()))
        reasons += risk.worst_by_code(partnership_reasons[influencer_id])
        _store(
            session,
            InfluencerRisk,
            {"influencer_id": influencer_id},
            _values(organization_id, risk.assess(reasons), now),
        )
    session.flush()


@dataclass
class RecomputeReport:
    done: int = 0
    last_id: int = 0
    elevated: int = 0  # HIGH or CRITICAL


def recompute_all(
    session: Session,
    conditions: list[ColumnElement[bool]],
    *,
    after_id: int = 0,
    batch: int = 200,
    now: datetime | None = None,
    on_batch: Callable[[RecomputeReport], None] | None = None,
    progress: Callable[[RecomputeReport], None] | None = None,
) -> RecomputeReport:
    """Recomputes every partnership the `conditions` select, by id from `after_id`, `batch` at
    a time (`on_batch` after each: the CLI commits and moves its cursor there)."""
    report = RecomputeReport(last_id=after_id)
    while True:
        rows = session.scalars(
            select(Partnership)
            .where(*conditions, Partnership.id > report.last_id)
            .order_by(Partnership.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        for stored in recompute_partnerships(session, rows, now=now):
            if risk.at_least(stored.level, risk.RiskLevel.HIGH):
                report.elevated += 1
        report.done += len(rows)
        report.last_id = rows[-1].id
        if on_batch is not None:
            on_batch(report)
        if progress is not None:
            progress(report)
    return report


def start_worker_after(session: Session) -> None:
    """Moves the worker's cursor to the newest order: what is older was scored already."""
    newest = session.scalar(select(func.max(Conversion.id)))
    cursor(session, WORKER_CURSOR).position = int(newest or 0)


def refresh_new_orders(session: Session, *, limit: int = 500, now: datetime | None = None) -> int:
    """The worker's share: recomputes the partnerships of orders recorded since it last looked
    (by conversion id, `job_cursors`), at most `limit` orders a call. How many partnerships.
    Its first call starts at the newest order: the history is `vouch risk recompute`'s."""
    if session.get(JobCursor, WORKER_CURSOR) is None:
        start_worker_after(session)
        return 0
    mark = cursor(session, WORKER_CURSOR)
    upto = session.scalar(select(func.max(Conversion.id)).where(Conversion.id > mark.position))
    if upto is None:
        return 0
    upto = min(int(upto), mark.position + limit)
    ids = session.scalars(
        select(Conversion.partnership_id)
        .where(
            Conversion.id > mark.position,
            Conversion.id <= upto,
            Conversion.partnership_id.is_not(None),
        )
        .distinct()
    ).all()
    partnerships = session.scalars(
        select(Partnership).where(Partnership.id.in_(ids)).order_by(Partnership.id)
    ).all()
    recompute_partnerships(session, partnerships, now=now)
    mark.position = upto
    return len(partnerships)
