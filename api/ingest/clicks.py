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
    clicks: dict[str, ClickEvent] = {}
    orphans: Counter[tuple[str, datetime]] = Counter()
    for event in events:
        if event.kind == KIND_ORPHAN:
            orphans[(event.code[:64], hour_of(event.ts))] += 1
        else:
            clicks.setdefault(event.event_id, event)
    stats.orphans = sum(orphans.values())
    # Sorted: concurrent workers inserting the same clicks lock them in the same order.
    ordered = [clicks[k] for k in sorted(clicks)]
    inserted = _insert_clicks(session, ordered)
    stats.inserted = len(inserted)
    stats.duplicates = len(events) - stats.orphans - stats.inserted

    rollups: dict[tuple[int, int], list[Any]] = {}
    for click_id in inserted:
        event = clicks[click_id]
        assert event.link_id is not None
        key = (event.link_id, event.ts // 3_600_000)
        acc = rollups.get(key)
        if acc is None:
            acc = rollups[key] = [event, 0, 0, 0]
        if event.bot:
            acc[3] += 1  # bots are hits, never clicks
        else:
            acc[1] += 1
            acc[2] += event.unique
    # Sorted keys: concurrent workers lock rollup rows in the same order (no deadlocks).
    _upsert_counts(
        session,
        ClickRollup,
        [
            {
                "link_id": link_id,
                "hour": hour_of(hour * 3_600_000),
                "organization_id": acc[0].organization_id,
                "partnership_id": acc[0].partnership_id,
                "campaign_id": acc[0].campaign_id,
                "clicks": acc[1],
                "unique_clicks": acc[2],
                "bot_hits": acc[3],
            }
            for (link_id, hour), acc in sorted(rollups.items(), key=lambda item: item[0])
        ],
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


def _row(event: ClickEvent) -> dict[str, Any]:
    return {
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
    }


# PostgreSQL: one short statement per batch, parsed once by psycopg and the server whatever the
# number of rows: one array per column, unnested; times travel as epoch milliseconds.
_INSERT_CLICKS_PG = """
INSERT INTO clicks (click_id, organization_id, link_id, partnership_id, campaign_id, occurred_at,
                    ip_trunc, ip_hash, user_agent, referer, bot, is_unique, created_at)
SELECT c, o, l, p, k, to_timestamp(t / 1000.0), i, h, u, r, b, q, now()
FROM unnest(%(c)s::varchar[], %(o)s::bigint[], %(l)s::bigint[], %(p)s::bigint[],
            %(k)s::bigint[], %(t)s::bigint[], %(i)s::varchar[], %(h)s::varchar[],
            %(u)s::varchar[], %(r)s::varchar[], %(b)s::boolean[], %(q)s::boolean[])
     AS x(c, o, l, p, k, t, i, h, u, r, b, q)
ON CONFLICT (click_id) DO NOTHING
RETURNING click_id
"""


def _insert_clicks(session: Session, clicks: list[ClickEvent]) -> set[str]:
    """Inserts the clicks, skipping click ids already stored; the click ids really inserted."""
    if not clicks:
        return set()
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        ua_max, ref_max = Click.USER_AGENT_MAX, Click.REFERER_MAX
        arrays = {
            "c": [e.event_id for e in clicks],
            "o": [e.organization_id for e in clicks],
            "l": [e.link_id for e in clicks],
            "p": [e.partnership_id for e in clicks],
            "k": [e.campaign_id for e in clicks],
            "t": [e.ts for e in clicks],
            "i": [e.ip[:64] or None for e in clicks],
            "h": [e.ip_hash[:64] or None for e in clicks],
            "u": [e.user_agent[:ua_max] or None for e in clicks],
            "r": [e.referer[:ref_max] or None for e in clicks],
            "b": [e.bot for e in clicks],
            "q": [e.unique for e in clicks],
        }
        return {row[0] for row in conn.exec_driver_sql(_INSERT_CLICKS_PG, arrays)}
    # Elsewhere (SQLite) Core executemany: batched multi-row INSERTs, RETURNING the new rows.
    stmt = (
        dialect_insert(session, Click.__table__)
        .on_conflict_do_nothing(index_elements=["click_id"])
        .returning(Click.__table__.c.click_id)
    )
    inserted: set[str] = set()
    for start in range(0, len(clicks), CHUNK):
        rows = [_row(e) for e in clicks[start : start + CHUNK]]
        inserted.update(conn.execute(stmt, rows).scalars())
    return inserted


def _upsert_counts(
    session: Session,
    model: Any,
    rows: list[dict[str, Any]],
    keys: list[str],
    counters: list[str],
) -> None:
    """Adds the counters of `rows` to the rows with the same keys (inserting missing ones)."""
    if not rows:
        return
    table = model.__table__
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        names = [c.name for c in table.columns]
        kinds = {"hour": "timestamptz", "code": "varchar"}
        arrays = ", ".join(f"%({n})s::{kinds.get(n, 'bigint')}[]" for n in names)
        updates = ", ".join(f"{n} = {table.name}.{n} + excluded.{n}" for n in counters)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )
        conn.exec_driver_sql(sql, {n: [r[n] for r in rows] for n in names})
        return
    stmt = dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: table.c[name] + stmt.excluded[name] for name in counters},
    )
    for start in range(0, len(rows), CHUNK):
        conn.execute(stmt, rows[start : start + CHUNK])
