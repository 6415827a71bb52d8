"""Recording post-metric snapshots and reading them back: the one path used by
`recordPostMetrics`, `importPostMetrics` and `vouch import post-metrics`, and the statements
behind `Deliverable.metrics`, `metricsHistory`, a deliverable's cost and `Performance`'s post
figures. Rules and derived figures in `api.domain.post_metrics`; no GraphQL here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from api.content import review
from api.content.live_posts import recheck_caption
from api.db import utcnow
from api.domain import post_metrics
from api.domain.deliverable_status import DeliverableStatus
from api.domain.post_metrics import Counts, MetricSource, PostTotals
from api.domain.problems import Problem
from api.models import (
    Campaign,
    CampaignCost,
    Deliverable,
    Partnership,
    PerformanceRollup,
    PostMetricSnapshot,
    SocialAccount,
)
from api.models.live_posts import EvidenceSource
from api.webhooks import events as webhook_events
from api.webhooks.outbox import emit

MAX_CAPTION = 5000


class Outcome(StrEnum):
    CREATED = "CREATED"
    UNCHANGED = "UNCHANGED"  # the same snapshot was recorded before: nothing written


class Refused(Exception):
    """Why a snapshot cannot be recorded; `problems` name snake_case fields of `Reading`."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


@dataclass(frozen=True)
class Reading:
    """One snapshot to record, as the caller gave it."""

    captured_at: datetime
    counts: Counts
    source: MetricSource
    followers_at_posting: int | None = None
    caption: str | None = None
    # The creator's own comments and replies on the post as they read with the caption.
    creator_comments: tuple[str, ...] | None = None


def counts_of(row: PostMetricSnapshot) -> Counts:
    return Counts(**{name: getattr(row, name) for name in post_metrics.COUNTERS})


def record(
    session: Session,
    deliverable: Deliverable,
    reading: Reading,
    recorded_by: str,
    *,
    now: datetime | None = None,
) -> tuple[PostMetricSnapshot, Outcome]:
    """Records `reading` for `deliverable` (already checked visible to the caller) or raises
    `Refused` having written nothing. The same (deliverable, captured_at) again is UNCHANGED
    when its numbers are the same, a CONFLICT when they differ (a snapshot is never edited)."""
    now = now or utcnow()
    problems = list(_check(deliverable, reading, now))
    if problems:
        raise Refused(problems)
    existing = _at(session, deliverable.id, reading.captured_at)
    if existing is not None:
        return existing, _same_or_conflict(existing, reading)
    earlier, later = _neighbours(session, deliverable.id, reading.captured_at)
    problems = []
    if earlier is not None:
        note = f" (after the snapshot of {earlier.captured_at.isoformat()})"
        problems += post_metrics.regressions(counts_of(earlier), reading.counts, note)
    if later is not None:
        note = f" (before the snapshot of {later.captured_at.isoformat()})"
        problems += post_metrics.regressions(reading.counts, counts_of(later), note)
    if problems:
        raise Refused(problems)
    followers = reading.followers_at_posting
    if followers is None:
        followers = earlier.followers_at_posting if earlier else None
    if followers is None:
        followers = _account_followers(session, deliverable)
    row = PostMetricSnapshot(
        organization_id=deliverable.organization_id,
        deliverable_id=deliverable.id,
        captured_at=reading.captured_at,
        followers_at_posting=followers,
        source=reading.source,
        caption=reading.caption,
        creator_comments=list(reading.creator_comments) if reading.creator_comments else None,
        recorded_by=recorded_by,
        **reading.counts.values(),
    )
    try:
        with session.begin_nested():  # a concurrent twin must not poison the caller's work
            session.add(row)
            session.flush()
    except IntegrityError:
        twin = _at(session, deliverable.id, reading.captured_at)
        if twin is None:
            raise
        return twin, _same_or_conflict(twin, reading)
    emit(
        session,
        "post_metrics.recorded",
        deliverable.organization_id,
        lambda: {"deliverable": webhook_events.deliverable(deliverable), **_payload(row)},
    )
    if reading.caption is not None:  # new post data with the caption live: watched
        recheck_caption(
            session,
            deliverable,
            reading.caption,
            EvidenceSource(reading.source.value),
            reading.captured_at,
            comments=reading.creator_comments,
            now=now,
        )
    return row, Outcome.CREATED


def _payload(row: PostMetricSnapshot) -> dict[str, Any]:
    """The snapshot as the `post_metrics.recorded` webhook carries it."""
    return {
        "capturedAt": row.captured_at.isoformat(),
        "source": str(row.source),
        "metrics": {_camel(name): getattr(row, name) for name in post_metrics.COUNTERS},
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _check(deliverable: Deliverable, reading: Reading, now: datetime) -> Iterable[Problem]:
    if deliverable.status != DeliverableStatus.PUBLISHED.value or deliverable.published_at is None:
        yield Problem(
            "deliverable_id",
            f"the deliverable is {deliverable.status}: results are recorded once it is PUBLISHED",
            "NOT_PUBLISHED",
        )
    elif reading.captured_at < deliverable.published_at:
        yield Problem(
            "captured_at",
            f"capturedAt is before the post was published ({deliverable.published_at.isoformat()})",
            "OUT_OF_RANGE",
        )
    if reading.captured_at > now:
        yield Problem("captured_at", "capturedAt is in the future", "OUT_OF_RANGE")
    yield from post_metrics.validate(reading.counts)
    followers = reading.followers_at_posting
    if followers is not None and not 0 <= followers <= post_metrics.MAX_COUNTER:
        yield Problem(
            "followers_at_posting",
            f"followersAtPosting must be 0 to {post_metrics.MAX_COUNTER}",
            "NEGATIVE" if followers < 0 else "OUT_OF_RANGE",
        )
    if reading.caption is not None and len(reading.caption) > MAX_CAPTION:
        yield Problem("caption", f"caption must be at most {MAX_CAPTION} characters", "TOO_LONG")
    if reading.creator_comments:
        if reading.caption is None:
            yield Problem(
                "creator_comments",
                "the creator's comments are checked with the caption: give the caption as it "
                "reads too",
                "REQUIRED",
            )
        elif (why := review.comment_problem(reading.creator_comments)) is not None:
            yield Problem("creator_comments", why, "TOO_LONG")


def _same_or_conflict(existing: PostMetricSnapshot, reading: Reading) -> Outcome:
    if counts_of(existing) == reading.counts:
        return Outcome.UNCHANGED
    raise Refused(
        [
            Problem(
                "captured_at",
                f"a snapshot of {reading.captured_at.isoformat()} with other numbers exists: "
                "snapshots are never edited, record a later one",
                "CONFLICT",
            )
        ]
    )


def _at(session: Session, deliverable_id: int, at: datetime) -> PostMetricSnapshot | None:
    return session.scalar(
        select(PostMetricSnapshot).where(
            PostMetricSnapshot.deliverable_id == deliverable_id,
            PostMetricSnapshot.captured_at == at,
        )
    )


def _neighbours(
    session: Session, deliverable_id: int, at: datetime
) -> tuple[PostMetricSnapshot | None, PostMetricSnapshot | None]:
    """The snapshots of the deliverable just before and just after `at`."""
    s = PostMetricSnapshot
    earlier = session.scalar(
        select(s)
        .where(s.deliverable_id == deliverable_id, s.captured_at < at)
        .order_by(s.captured_at.desc())
        .limit(1)
    )
    later = session.scalar(
        select(s)
        .where(s.deliverable_id == deliverable_id, s.captured_at > at)
        .order_by(s.captured_at)
        .limit(1)
    )
    return earlier, later


def _account_followers(session: Session, deliverable: Deliverable) -> int | None:
    """The followers of the influencer's account on the post's platform, as last synced: the
    best figure for "at posting time" when the first snapshot does not give one."""
    followers = session.scalar(
        select(func.max(SocialAccount.followers))
        .join(Partnership, Partnership.influencer_id == SocialAccount.influencer_id)
        .where(
            Partnership.id == deliverable.partnership_id,
            SocialAccount.platform == deliverable.platform,
        )
    )
    return int(followers) if followers else None


def _is_latest(s: Any) -> ColumnElement[bool]:
    """No later snapshot of the same deliverable (served by the unique index)."""
    later = aliased(PostMetricSnapshot)
    return ~exists(
        select(1).where(later.deliverable_id == s.deliverable_id, later.captured_at > s.captured_at)
    )


def _latest_of_deliverable(s: Any) -> ColumnElement[bool]:
    """The latest snapshot of the joined `Deliverable`: its captured_at is the deliverable's
    greatest, one backward probe of the unique index per deliverable (PostgreSQL puts it in the
    index condition of the join), so the deliverables asked for drive the plan instead of every
    snapshot of the organization being anti-joined to later ones."""
    later = aliased(PostMetricSnapshot)
    return s.captured_at == (
        select(func.max(later.captured_at))
        .where(later.deliverable_id == Deliverable.id)
        .scalar_subquery()
    )


def latest_clause() -> ColumnElement[bool]:
    return _is_latest(PostMetricSnapshot)


def history_clause(deliverable_ids: list[int], last: int) -> ColumnElement[bool]:
    """The snapshots among each deliverable's `last` most recent (a window, one statement)."""
    s = PostMetricSnapshot
    ranked = (
        select(
            s.id,
            func.row_number()
            .over(partition_by=s.deliverable_id, order_by=s.captured_at.desc())
            .label("n"),
        )
        .where(s.deliverable_id.in_(deliverable_ids))
        .subquery()
    )
    return s.id.in_(select(ranked.c.id).where(ranked.c.n <= last))


def deliverable_costs(
    session: Session, organization_id: int, deliverable_ids: list[int]
) -> dict[int, tuple[str, int]]:
    """Each published deliverable's cost, in its campaign's currency: its partnership's cost to
    date (commission net of reversals, flat fees and bonuses, gifted product value) split evenly
    over the partnership's published deliverables (`post_metrics.split_evenly`, the earliest
    published first). Three statements for any number of deliverables."""
    d = Deliverable
    published = d.status == DeliverableStatus.PUBLISHED.value
    partnerships = select(d.partnership_id).where(d.id.in_(deliverable_ids))
    rows = session.execute(
        select(d.id, d.partnership_id, Campaign.currency)
        .join(Partnership, Partnership.id == d.partnership_id)
        .join(Campaign, Campaign.id == Partnership.campaign_id)
        .where(d.organization_id == organization_id, published, d.partnership_id.in_(partnerships))
        .order_by(d.partnership_id, d.published_at, d.id)
    ).all()
    if not rows:
        return {}
    pids = sorted({int(r[1]) for r in rows})
    cost: dict[tuple[int, str], int] = defaultdict(int)
    r = PerformanceRollup
    for pid, currency, amount in session.execute(
        select(r.partnership_id, r.currency, func.sum(r.commission) + func.sum(r.fees))
        .where(r.organization_id == organization_id, r.partnership_id.in_(pids))
        .group_by(r.partnership_id, r.currency)
    ):
        cost[(int(pid), currency)] += int(amount or 0)
    c = CampaignCost
    for pid, currency, amount in session.execute(
        select(c.partnership_id, c.currency, func.sum(c.amount))
        .where(c.organization_id == organization_id, c.partnership_id.in_(pids))
        .group_by(c.partnership_id, c.currency)
    ):
        cost[(int(pid), currency)] += int(amount or 0)
    by_partnership: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for did, pid, currency in rows:
        by_partnership[int(pid)].append((int(did), currency))
    result = {}
    for pid, items in by_partnership.items():
        currency = items[0][1]
        shares = post_metrics.split_evenly(cost.get((pid, currency), 0), len(items))
        for (did, _), share in zip(items, shares, strict=True):
            result[did] = (currency, share)
    return result


POST_SCOPES = {
    None: lambda: literal(0),
    "campaign_id": lambda: Partnership.campaign_id,
    "partnership_id": lambda: Deliverable.partnership_id,
    "influencer_id": lambda: Partnership.influencer_id,
}


def post_totals_of_many(
    session: Session,
    organization_id: int,
    kind: str | None,
    ids: list[int],
    start: datetime,
    end: datetime,
    *,
    share_of: int | None = None,
) -> dict[int, PostTotals]:
    """Post results of many scopes in one statement: for each scope, the sums of the latest
    snapshot of every deliverable of it PUBLISHED in [start, end) (its results so far, however
    late they were captured). Scopes without posts get empty totals."""
    found = latest_of_many(session, organization_id, kind, ids, start, end, share_of=share_of)
    return {
        i: post_metrics.total((counts, followers) for _, counts, followers in found[i]) for i in ids
    }


Published = tuple[datetime, Counts, int | None]  # published at, latest counts, followers


def latest_of_many(
    session: Session,
    organization_id: int,
    kind: str | None,
    ids: list[int],
    start: datetime,
    end: datetime,
    *,
    share_of: int | None = None,
) -> dict[int, list[Published]]:
    """What `post_totals_of_many` sums, one entry per deliverable with its publication time
    (for series, which fold them into the buckets they were published in): one statement."""
    s = PostMetricSnapshot
    key = POST_SCOPES[kind]()
    conditions = [
        s.organization_id == organization_id,
        Deliverable.status == DeliverableStatus.PUBLISHED.value,
        Deliverable.published_at >= start,
        Deliverable.published_at < end,
        _latest_of_deliverable(s),
    ]
    if kind is not None:
        conditions.append(key.in_(ids))
    if share_of is not None:
        conditions.append(Partnership.influencer_id == share_of)
    stmt = (
        select(
            key,
            Deliverable.published_at,
            *(getattr(s, name) for name in post_metrics.COUNTERS),
            s.followers_at_posting,
        )
        .select_from(s)
        .join(Deliverable, and_(Deliverable.id == s.deliverable_id))
        .join(Partnership, Partnership.id == Deliverable.partnership_id)
        .where(*conditions)
    )
    grouped: dict[int, list[Published]] = {i: [] for i in ids}
    for k, published, *values in session.execute(stmt):
        *counters, followers = values
        grouped.setdefault(int(k), []).append((published, Counts(*counters), followers))
    return grouped
