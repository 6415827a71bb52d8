"""Clicks into the database: raw rows plus hourly rollups, counted once.

Rows are inserted with ON CONFLICT (click_id) DO NOTHING ... RETURNING, and only the rows that
were really inserted are added to the rollups, in the same transaction: a replayed batch inserts
nothing and counts nothing. `clicks.click_id` is the tracker's `event_id`, unique per visit (a
repeat visit reuses the first visit's `click_id` as its `vclid`, and a conversion's click id is
that first visit's id).

Orphan visits (unknown or inactive codes) have no id to dedupe on; they only feed the
`orphan_visits_hourly` diagnostics counter, which is therefore at-least-once: a batch replayed
after a crash between commit and XACK counts its orphans twice. Nothing is paid on them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from api.ledger.posting import dialect_insert
from api.models import Click, ClickRollup, OrphanVisitRollup
from tracker.events import KIND_CLICK, KIND_ORPHAN, ClickEvent

CHUNK = 500  # rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits


@dataclass
class ClickStats:
    inserted: int = 0
    duplicates: int = 0
    orphans: int = 0


def validate(event: ClickEvent) -> None:
    """Raises ValueError for an event the database cannot take (it goes to the dead letters)."""
    if event.kind == KIND_ORPHAN:
        return
    if event.kind != KIND_CLICK:
        raise ValueError(f"unknown click kind {event.kind!r}")
    if not event.event_id or len(event.event_id) > 32:
        raise ValueError("event_id must be 1-32 characters")
    for name in ("link_id", "partnership_id", "campaign_id", "organization_id"):
        if getattr(event, name) is None:
            raise ValueError(f"a click needs {name}")
    if not 0 < event.ts < 2**47:
        raise ValueError(f"ts {event.ts} is not a time in milliseconds")


def hour_of(ms: int) -> datetime:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def ingest_clicks(session: Session, events: Sequence[ClickEvent]) -> ClickStats:
    stats = ClickStats()
    rows: dict[str, dict[str, Any]] = {}
    orphans: Counter[tuple[str, datetime]] = Counter()
    for event in events:
        if event.kind == KIND_ORPHAN:
            orphans[(event.code[:64], hour_of(event.ts))] += 1
            continue
        rows.setdefault(
            event.event_id,
            {
                "click_id": event.event_id,
                "organization_id": event.organization_id,
                "link_id": event.link_id,
                "partnership_id": event.partnership_id,
                "campaign_id": event.campaign_id,
                "occurred_at": datetime.fromtimestamp(event.ts / 1000, UTC),
                "ip_trunc": event.ip[:64] or None,
                "ip_hash": event.ip_hash[:64] or None,
                "user_agent": event.user_agent[: Click.USER_AGENT_MAX] or None,
                "referer": event.referer[: Click.REFERER_MAX] or None,
                "bot": event.bot,
                "is_unique": event.unique,
            },
        )
    stats.orphans = sum(orphans.values())
    inserted: set[str] = set()
    # Sorted: concurrent workers inserting the same clicks lock them in the same order.
    values = [rows[k] for k in sorted(rows)]
    for start in range(0, len(values), CHUNK):
        stmt = (
            dialect_insert(session, Click)
            .values(values[start : start + CHUNK])
            .on_conflict_do_nothing(index_elements=["click_id"])
            .returning(Click.click_id)
        )
        inserted.update(session.execute(stmt).scalars())
    stats.inserted = len(inserted)
    stats.duplicates = len(events) - stats.orphans - stats.inserted

    rollups: dict[tuple[int, datetime], dict[str, Any]] = {}
    for click_id in inserted:
        row = rows[click_id]
        key = (row["link_id"], row["occurred_at"].replace(minute=0, second=0, microsecond=0))
        acc = rollups.setdefault(
            key,
            {
                "link_id": key[0],
                "hour": key[1],
                "organization_id": row["organization_id"],
                "partnership_id": row["partnership_id"],
                "campaign_id": row["campaign_id"],
                "clicks": 0,
                "unique_clicks": 0,
                "bot_hits": 0,
            },
        )
        if row["bot"]:
            acc["bot_hits"] += 1  # bots are never clicks
        else:
            acc["clicks"] += 1
            acc["unique_clicks"] += int(row["is_unique"])
    # Sorted keys: concurrent workers lock rollup rows in the same order (no deadlocks).
    _upsert_counts(
        session,
        ClickRollup,
        [rollups[k] for k in sorted(rollups)],
        ["link_id", "hour"],
        ["clicks", "unique_clicks", "bot_hits"],
    )
    _upsert_counts(
        session,
        OrphanVisitRollup,
        [{"code": c, "hour": h, "count": n} for (c, h), n in sorted(orphans.items())],
        ["code", "hour"],
        ["count"],
    )
    return stats


def _upsert_counts(
    session: Session,
    model: Any,
    rows: list[dict[str, Any]],
    keys: list[str],
    counters: list[str],
) -> None:
    for start in range(0, len(rows), CHUNK):
        stmt = dialect_insert(session, model).values(rows[start : start + CHUNK])
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={name: getattr(model, name) + getattr(stmt.excluded, name) for name in counters},
        )
        session.execute(stmt)
