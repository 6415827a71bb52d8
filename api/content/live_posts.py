"""Watching posts after they go live: the live caption re-checked against the approved version,
competitors' mentions during an exclusivity, and the brand's consequence. The one path used by
`recordPostMetrics` and the post-metrics import (through `api.content.post_metrics.record`),
`submitContent`, `recheckPublishedContent` and `vouch content recheck`. Rules in
`api.domain.live_posts` and `api.domain.exclusivity`; no GraphQL here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.content import review
from api.content.live_events import record_event
from api.db import utcnow
from api.domain import exclusivity, live_posts
from api.domain.deliverable_status import DeliverableStatus
from api.domain.disclosure import DisclosureInputError
from api.domain.live_posts import BreachAction
from api.domain.partnership_status import PartnershipStatus
from api.models import (
    Brand,
    Campaign,
    ContentFinding,
    ContentSubmission,
    Contract,
    Deliverable,
    JobCursor,
    Partnership,
    PostMetricSnapshot,
)
from api.models.live_posts import EvidenceSource, FindingKind, FindingStatus

# Partnerships whose exclusivity binds the creator (accepted terms, not ended early).
BINDING = frozenset(
    s.value
    for s in (PartnershipStatus.ACCEPTED, PartnershipStatus.ACTIVE, PartnershipStatus.COMPLETED)
)
EVENT_OF = {
    FindingKind.DISCLOSURE_REMOVED: "content.disclosure_removed",
    FindingKind.CAPTION_CHANGED: "content.caption_changed",
    FindingKind.EXCLUSIVITY_CONFLICT: "exclusivity.conflict",
    FindingKind.USAGE_RIGHTS_EXPIRED: "usage_rights.expired",
}
RECHECK_CURSOR = "content.recheck"


@dataclass(frozen=True)
class _Live:
    """A live caption with the approved version's disclosure settings (what the check reads)."""

    caption: str
    platform_label: Any
    retouched: bool
    ai_generated: bool
    creator_comments: tuple[str, ...] = ()


def fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def approved_version(session: Session, deliverable_id: int) -> ContentSubmission | None:
    """The version that went live: a PUBLISHED deliverable's latest (a new version after an
    approval needs approval again before publication, `api.domain.deliverable_status`)."""
    return session.scalar(
        select(ContentSubmission)
        .where(ContentSubmission.deliverable_id == deliverable_id)
        .order_by(ContentSubmission.version.desc())
        .limit(1)
    )


def _report(campaign: Campaign, d: Deliverable, p: Partnership, fields: Any) -> Any:
    try:
        return review.disclosure_report(campaign, d, p, fields)
    except DisclosureInputError:  # a label the checker no longer knows: checked without it
        live = _Live(
            fields.caption,
            None,
            fields.retouched,
            fields.ai_generated,
            tuple(fields.creator_comments or ()),
        )
        return review.disclosure_report(campaign, d, p, live)


def _add(session: Session, finding: ContentFinding) -> ContentFinding | None:
    """Inserts the finding unless the same (kind, subject, fingerprint) exists: None then."""
    same = session.scalar(
        select(ContentFinding.id).where(
            ContentFinding.organization_id == finding.organization_id,
            ContentFinding.kind == finding.kind,
            ContentFinding.subject == finding.subject,
            ContentFinding.fingerprint == finding.fingerprint,
        )
    )
    if same is not None:
        return None
    try:
        with session.begin_nested():
            session.add(finding)
            session.flush()
    except IntegrityError:  # recorded concurrently
        return None
    return finding


def _finding(
    session: Session,
    campaign: Campaign,
    partnership: Partnership,
    deliverable_id: int | None,
    kind: FindingKind,
    source: EvidenceSource,
    evidence: dict[str, Any],
    action: BreachAction,
    now: datetime,
    *,
    fingerprint: str,
) -> ContentFinding | None:
    """Records a finding about the partnership (or one of its deliverables), with its event
    and consequence, unless it was recorded before (None)."""
    subject = f"Deliverable:{deliverable_id}" if deliverable_id else f"Partnership:{partnership.id}"
    row = _add(
        session,
        ContentFinding(
            organization_id=partnership.organization_id,
            brand_id=campaign.brand_id,
            campaign_id=campaign.id,
            partnership_id=partnership.id,
            deliverable_id=deliverable_id,
            kind=kind,
            subject=subject,
            fingerprint=fingerprint,
            source=source,
            evidence=evidence,
            consequence=action,
            status=FindingStatus.OPEN,
            detected_at=now,
        ),
    )
    if row is not None:
        _raise(session, row, now)
    return row


def _raise(session: Session, finding: ContentFinding, now: datetime) -> None:
    """The finding's event, and the consequence it carries."""
    if finding.consequence is BreachAction.MARK_BREACHED and finding.deliverable_id is not None:
        deliverable = session.get(Deliverable, finding.deliverable_id)
        if deliverable is not None and deliverable.breached_at is None:
            deliverable.breached_at = now
    record_event(
        session,
        finding.organization_id,
        EVENT_OF[finding.kind],
        event_payload(finding),
        f"finding:{finding.id}",
    )


def event_payload(finding: ContentFinding) -> dict[str, Any]:
    from tracker.globalid import encode

    evidence = finding.evidence
    return {
        "findingId": encode("ContentFinding", finding.id),
        "kind": finding.kind.value,
        "deliverableId": encode("Deliverable", finding.deliverable_id)
        if finding.deliverable_id
        else None,
        "partnershipId": encode("Partnership", finding.partnership_id),
        "consequence": finding.consequence.value,
        "reasons": evidence.get("reasons", []),
        "sha256": evidence.get("sha256"),
    }


def recheck_caption(
    session: Session,
    deliverable: Deliverable,
    caption: str,
    source: EvidenceSource,
    seen_at: datetime,
    *,
    comments: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[ContentFinding]:
    """Checks a caption seen live on a PUBLISHED deliverable against its approved version
    (under the current rules) and the creator's exclusivities; records what is new (the same
    caption again finds nothing new) with its event and the campaign's consequence.
    `comments`: the creator's own comments and replies seen with it, checked with the caption
    (a label only there is LABEL_ONLY_IN_COMMENT) and kept in the evidence."""
    now = now or utcnow()
    if deliverable.status != DeliverableStatus.PUBLISHED.value:
        return []
    partnership = session.get(Partnership, deliverable.partnership_id)
    assert partnership is not None
    campaign = session.get(Campaign, partnership.campaign_id)
    assert campaign is not None
    sha = live_posts.caption_hash(caption)
    base: dict[str, Any] = {
        "caption": caption,
        "sha256": sha,
        "seenAt": seen_at.isoformat(),
        "source": source.value,
    }
    if comments:
        base["comments"] = list(comments)
    found: list[tuple[FindingKind, dict[str, Any]]] = []
    approved = approved_version(session, deliverable.id)
    if approved is not None:
        fields = _Live(
            caption,
            approved.platform_label,
            approved.retouched,
            approved.ai_generated,
            tuple(comments or ()),
        )
        before = _report(campaign, deliverable, partnership, approved)
        after = _report(campaign, deliverable, partnership, fields)
        for change in live_posts.compare(before, after):
            found.append(
                (
                    FindingKind(change.kind.value),
                    {
                        **base,
                        "approvedVersion": approved.version,
                        "approvedCaption": approved.caption,
                        **(
                            {"approvedComments": approved.creator_comments}
                            if approved.creator_comments
                            else {}
                        ),
                        "approvedSha256": live_posts.caption_hash(approved.caption),
                        "approvedVerdictStored": approved.disclosure_verdict,
                        "reasons": list(change.reasons),
                        "details": change.details,
                        "rules": {"approved": _results(before), "live": _results(after)},
                    },
                )
            )
    conflicts = caption_conflicts(session, partnership, caption, seen_at, comments)
    if conflicts:
        found.append((FindingKind.EXCLUSIVITY_CONFLICT, {**base, **conflicts}))
    action = BreachAction(campaign.live_breach_action)
    created = []
    for kind, evidence in found:
        print_ = sha
        if kind is FindingKind.EXCLUSIVITY_CONFLICT and conflicts is not None:
            print_ = conflict_fingerprint(sha, conflicts)
        row = _finding(
            session,
            campaign,
            partnership,
            deliverable.id,
            kind,
            source,
            evidence,
            action,
            now,
            fingerprint=print_,
        )
        if row is not None:
            created.append(row)
    return created


def _results(report: dict[str, Any] | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "worstVerdict": report.get("worstVerdict"),
        "results": report.get("results", []),
        "brandRequirements": report.get("brandRequirements"),
    }


# --- exclusivity -----------------------------------------------------------------------------


def exclusivities_of(
    session: Session, organization_id: int, influencer_id: int
) -> list[exclusivity.Exclusivity]:
    """The exclusivity of each binding partnership of the influencer in the organization: its
    latest contract's terms, from when they were accepted. Two statements."""
    rows = session.execute(
        select(Partnership, Campaign.brand_id, Brand.name)
        .join(Campaign, Campaign.id == Partnership.campaign_id)
        .join(Brand, Brand.id == Campaign.brand_id)
        .where(
            Partnership.organization_id == organization_id,
            Partnership.influencer_id == influencer_id,
            Partnership.status.in_(BINDING),
        )
    ).all()
    if not rows:
        return []
    latest: dict[int, Contract] = {}
    for version in session.scalars(
        select(Contract)
        .where(Contract.partnership_id.in_([p.id for p, _, _ in rows]))
        .order_by(Contract.partnership_id, Contract.version)
    ):
        latest[version.partnership_id] = version
    out = []
    for partnership, brand_id, brand_name in rows:
        contract = latest.get(partnership.id)
        if contract is None or not contract.exclusivity_days:
            continue
        out.append(
            exclusivity.Exclusivity(
                partnership_id=partnership.id,
                brand_id=brand_id,
                brand_name=brand_name,
                starts_at=contract.accepted_at or partnership.responded_at,
                days=contract.exclusivity_days,
                categories=tuple(contract.exclusivity_categories or ()),
                competitors=tuple(contract.exclusivity_competitors or ()),
            )
        )
    return out


def caption_conflicts(
    session: Session,
    partnership: Partnership,
    caption: str,
    seen_at: datetime,
    comments: Sequence[str] | None = None,
) -> dict[str, Any] | None:
    """The evidence of the creator's exclusivities the caption (or the creator's own comments
    seen with it) breaks, or None."""
    found = exclusivity.post_conflicts(
        exclusivities_of(session, partnership.organization_id, partnership.influencer_id),
        caption,
        comments or (),
        seen_at,
    )
    if not found:
        return None
    reasons = []
    broken = []
    for ex, mentions in found:
        names = ", ".join(
            dict.fromkeys(
                m.text if where == exclusivity.CAPTION else f"{m.text} (in {where})"
                for where, m in mentions
            )
        )
        reasons.append(
            f"mentions {names} during the exclusivity owed to {ex.brand_name} "
            f"(until {ex.ends_at.isoformat() if ex.ends_at else '?'})"
        )
        broken.append(
            {
                "partnershipId": ex.partnership_id,
                "brand": ex.brand_name,
                "endsAt": ex.ends_at.isoformat() if ex.ends_at else None,
                "mentions": [
                    {
                        "competitor": m.competitor,
                        "text": m.text,
                        "start": m.start,
                        "end": m.end,
                        **({} if where == exclusivity.CAPTION else {"in": where}),
                    }
                    for where, m in mentions
                ],
            }
        )
    return {"reasons": reasons, "exclusivities": broken}


def conflict_fingerprint(sha: str, conflicts: dict[str, Any]) -> str:
    """A conflict's fingerprint: the caption's hash, and what the comments said when a mention
    is in one (a new competitor in a reply under the same caption is a new finding)."""
    in_comments = sorted(
        f"{m['in']}:{m['text']}"
        for broken in conflicts["exclusivities"]
        for m in broken["mentions"]
        if "in" in m
    )
    return fingerprint(sha, *in_comments) if in_comments else sha


def submission_conflicts(
    session: Session, deliverable: Deliverable, submission: ContentSubmission, now: datetime
) -> ContentFinding | None:
    """A submitted caption that mentions a competitor during an exclusivity: a finding
    (NOTIFY: the brand reviews the version anyway)."""
    partnership = session.get(Partnership, deliverable.partnership_id)
    assert partnership is not None
    conflicts = caption_conflicts(
        session, partnership, submission.caption, now, submission.creator_comments
    )
    if conflicts is None:
        return None
    campaign = session.get(Campaign, partnership.campaign_id)
    assert campaign is not None
    sha = live_posts.caption_hash(submission.caption)
    evidence = {
        "caption": submission.caption,
        "sha256": sha,
        "seenAt": now.isoformat(),
        "source": EvidenceSource.SUBMISSION.value,
        "version": submission.version,
        **({"comments": submission.creator_comments} if submission.creator_comments else {}),
        **conflicts,
    }
    return _finding(
        session,
        campaign,
        partnership,
        deliverable.id,
        FindingKind.EXCLUSIVITY_CONFLICT,
        EvidenceSource.SUBMISSION,
        evidence,
        BreachAction.NOTIFY,
        now,
        fingerprint=conflict_fingerprint(sha, conflicts),
    )


def invitation_conflicts(
    session: Session, campaign: Campaign, influencer_id: int, now: datetime
) -> list[exclusivity.InvitationConflict]:
    brand = session.get(Brand, campaign.brand_id)
    assert brand is not None
    return exclusivity.invitation_conflicts(
        exclusivities_of(session, campaign.organization_id, influencer_id),
        brand.id,
        brand.name,
        brand.categories or (),
        now,
    )


def describe(conflict: exclusivity.InvitationConflict) -> str:
    ex = conflict.exclusivity
    why = (
        f"in {', '.join(conflict.categories)}"
        if conflict.categories
        else "naming this brand as a competitor"
    )
    until = ex.ends_at.date().isoformat() if ex.ends_at else "?"
    return f"the influencer is exclusive to {ex.brand_name} {why} until {until}"


def record_invitation_override(
    session: Session,
    partnership: Partnership,
    campaign: Campaign,
    conflicts: Iterable[exclusivity.InvitationConflict],
    by: str,
    now: datetime,
) -> ContentFinding | None:
    """The finding kept when an ADMIN invites despite an exclusivity in force."""
    conflicts = list(conflicts)
    evidence = {
        "seenAt": now.isoformat(),
        "source": EvidenceSource.INVITATION.value,
        "overriddenBy": by,
        "reasons": [describe(c) for c in conflicts],
        "exclusivities": [
            {
                "partnershipId": c.exclusivity.partnership_id,
                "brand": c.exclusivity.brand_name,
                "categories": list(c.categories),
                "named": c.named,
                "endsAt": c.exclusivity.ends_at.isoformat() if c.exclusivity.ends_at else None,
            }
            for c in conflicts
        ],
    }
    return _finding(
        session,
        campaign,
        partnership,
        None,
        FindingKind.EXCLUSIVITY_CONFLICT,
        EvidenceSource.INVITATION,
        evidence,
        BreachAction.NOTIFY,
        now,
        fingerprint=fingerprint(
            "invitation", *sorted(c.exclusivity.partnership_id for c in conflicts)
        ),
    )


def record_expiry(
    session: Session,
    deliverable: Deliverable,
    expires_at: datetime,
    details: dict[str, Any],
    now: datetime,
) -> ContentFinding | None:
    """The USAGE_RIGHTS_EXPIRED finding (and `usage_rights.expired`), once per expiry date."""
    partnership = session.get(Partnership, deliverable.partnership_id)
    assert partnership is not None
    campaign = session.get(Campaign, partnership.campaign_id)
    assert campaign is not None
    evidence = {
        **details,
        "seenAt": now.isoformat(),
        "source": EvidenceSource.SCHEDULE.value,
        "reasons": [f"the usage rights ended on {expires_at.date().isoformat()}"],
    }
    return _finding(
        session,
        campaign,
        partnership,
        deliverable.id,
        FindingKind.USAGE_RIGHTS_EXPIRED,
        EvidenceSource.SCHEDULE,
        evidence,
        BreachAction.NOTIFY,
        now,
        fingerprint=fingerprint("expired", expires_at.isoformat()),
    )


# --- consequences ----------------------------------------------------------------------------


def resolve(
    session: Session, finding: ContentFinding, by: str, note: str, now: datetime | None = None
) -> None:
    """Closes the finding with who and why (the audit record); a deliverable marked breached by
    it alone is unmarked, and the partnership's new commissions are no longer held by it."""
    now = now or utcnow()
    finding.status = FindingStatus.RESOLVED
    finding.resolved_at = now
    finding.resolved_by = by
    finding.resolution_note = note
    session.flush()
    if finding.consequence is BreachAction.MARK_BREACHED and finding.deliverable_id is not None:
        still = session.scalar(
            select(ContentFinding.id).where(
                ContentFinding.deliverable_id == finding.deliverable_id,
                ContentFinding.consequence == BreachAction.MARK_BREACHED,
                ContentFinding.status == FindingStatus.OPEN,
            )
        )
        deliverable = session.get(Deliverable, finding.deliverable_id)
        if still is None and deliverable is not None:
            deliverable.breached_at = None
    record_event(
        session,
        finding.organization_id,
        "content.finding_resolved",
        {**event_payload(finding), "note": note, "resolvedBy": by},
        f"finding-resolved:{finding.id}",
    )


# --- rechecking every live post --------------------------------------------------------------


def latest_captions(session: Session, deliverable_ids: list[int]) -> dict[int, PostMetricSnapshot]:
    """Each deliverable's latest snapshot that has a caption (one statement)."""
    s = PostMetricSnapshot
    rows = session.scalars(
        select(s)
        .where(s.deliverable_id.in_(deliverable_ids), s.caption.is_not(None))
        .order_by(s.deliverable_id, s.captured_at)
    )
    return {row.deliverable_id: row for row in rows}  # ordered by time: the latest wins


@dataclass
class RecheckReport:
    checked: int = 0  # published deliverables looked at
    findings: int = 0  # new findings
    last_id: int = 0
    made: list[ContentFinding] = field(default_factory=list)  # the new findings (mutation)


def recheck_published(
    session: Session,
    conditions: list[ColumnElement[bool]],
    *,
    after_id: int = 0,
    batch: int = 200,
    limit: int | None = None,
    progress: Callable[[RecheckReport], None] | None = None,
    on_batch: Callable[[RecheckReport], None] | None = None,
    keep: bool = True,
) -> RecheckReport:
    """Rechecks the latest live caption of every PUBLISHED deliverable the `conditions` select,
    by id from `after_id`, `batch` at a time; `on_batch` runs after each batch (the CLI commits
    and moves its cursor there). Idempotent: a caption checked before finds nothing new."""
    report = RecheckReport(last_id=after_id)
    while limit is None or report.checked < limit:
        size = batch if limit is None else min(batch, limit - report.checked)
        rows = session.scalars(
            select(Deliverable)
            .where(
                *conditions,
                Deliverable.status == DeliverableStatus.PUBLISHED.value,
                Deliverable.id > report.last_id,
            )
            .order_by(Deliverable.id)
            .limit(size)
        ).all()
        if not rows:
            break
        captions = latest_captions(session, [d.id for d in rows])
        for deliverable in rows:
            snapshot = captions.get(deliverable.id)
            if snapshot is not None and snapshot.caption is not None:
                made = recheck_caption(
                    session,
                    deliverable,
                    snapshot.caption,
                    EvidenceSource.RECHECK,
                    snapshot.captured_at,
                    comments=snapshot.creator_comments,
                )
                report.findings += len(made)
                if keep:
                    report.made += made
            report.checked += 1
            report.last_id = deliverable.id
        if on_batch is not None:
            on_batch(report)
        if progress is not None:
            progress(report)
    return report


def cursor(session: Session, name: str = RECHECK_CURSOR) -> JobCursor:
    row = session.get(JobCursor, name)
    if row is None:
        row = JobCursor(name=name, position=0)
        session.add(row)
        session.flush()
    return row
