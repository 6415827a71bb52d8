"""Clicks into the database: raw rows plus hourly rollups, counted once.

Rows are inserted with ON CONFLICT (click_id, occurred_at) DO NOTHING ... RETURNING, and only
the rows that were really inserted are added to the rollups, in the same transaction: a
replayed batch inserts nothing and counts nothing. `clicks.click_id` is the tracker's
`event_id`, unique per visit (a repeat visit reuses the first visit's `click_id` as its
`vclid`, and a conversion's click id is that first visit's id). The time is in the key because
`clicks` is partitioned by it on PostgreSQL (`api.ingest.partitions`); the tracker writes both
once per visit, so a redelivered click carries the same pair.

The hot path works on the stream's raw values (`ClickValues`: the bytes of `FIELDS`, in order),
never decoding an event into objects. On PostgreSQL a batch is one COPY into a temporary staging
table and one statement that inserts the new clicks and adds exactly those to the rollups (a
data-modifying CTE); elsewhere (SQLite) the generic Core path below does the same in Python.

`clicks` has no foreign keys (their per-row checks halved the insert rate): `Links.check`
rejects, before the insert, a click whose link is unknown or whose partnership, campaign or
organization is not its link's. Such a click goes to the dead letters.

Orphan visits (unknown or inactive codes) are counted the same way: inserted by event id into
`orphan_visits`, and only those really inserted are added to `orphan_visits_hourly`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.dimensions import (
    CLICK_DIMENSIONS,
    UNKNOWN,
    country_code,
    device_class,
    referrer_host,
)
from api.ingest.geo import country_of
from api.ledger.sql import (
    dialect_insert,
    insert_many_ignore,
    upsert_add,
    upsert_add_by_campaign,
    upsert_add_daily,
)
from api.models import (
    CampaignClickDimensionRollupDaily,
    Click,
    ClickDimensionRollup,
    ClickDimensionRollupDaily,
    ClickRollup,
    ClickRollupDaily,
    OrphanVisit,
    OrphanVisitRollup,
    TrackedLink,
)
from tracker.events import FIELDS, OPTIONAL_FIELDS, VERSION

CHUNK = 500  # rows per INSERT on the generic path: under SQLite's bound-parameter limits

ClickValues = Sequence[bytes]  # an entry's values in `FIELDS` order

FIELD_NAMES = [name.encode() for name in FIELDS]
# What an entry written before a field was added reads as (an older tracker's, a dead letter).
_OPTIONAL = {name.encode(): value.encode() for name, value in OPTIONAL_FIELDS.items()}
(
    _V,
    _KIND,
    _CODE,
    _LINK,
    _PARTNERSHIP,
    _CAMPAIGN,
    _BRAND,
    _ORG,
    _EVENT_ID,
    _CLICK_ID,
    _TS,
    _IP,
    _IP_HASH,
    _UA,
    _REFERER,
    _BOT,
    _UNIQUE,
    _COUNTRY,
) = range(len(FIELDS))
_VERSION = VERSION.encode()
_CLICK = b"click"
_ORPHAN = b"orphan"
_MAX_TS = 2**47


@dataclass
class ClickStats:
    inserted: int = 0
    duplicates: int = 0
    orphans: int = 0


def click_values(fields: Sequence[Any] | Mapping[Any, Any]) -> ClickValues:
    """An entry's values in `FIELDS` order, from its flat [name, value, ...] list (as Redis
    sends it) or a mapping. Raises ValueError for an event the database cannot take (it goes to
    the dead letters)."""
    values: Any
    if not isinstance(fields, Mapping) and fields[0::2] == FIELD_NAMES:
        values = fields[1::2]  # as the tracker writes them: bytes, in order
    else:  # another order, extra fields, str names or values, a mapping
        pairs = (
            fields.items()
            if isinstance(fields, Mapping)
            else zip(fields[0::2], fields[1::2], strict=True)
        )
        by_name = {_bytes(k): v for k, v in pairs}
        values = [by_name.get(name, _OPTIONAL.get(name)) for name in FIELD_NAMES]
        for i, value in enumerate(values):
            if value is None:
                raise ValueError(f"click event lacks field {FIELDS[i]}")
            values[i] = _bytes(value)
    if values[_V] != _VERSION:
        raise ValueError(f"unknown click event version {values[_V]!r}")
    kind = values[_KIND]
    ts = values[_TS]
    if not (ts.isdigit() and 0 < int(ts) < _MAX_TS):
        raise ValueError(f"ts {ts!r} is not a time in milliseconds")
    if kind == _CLICK:
        if not 0 < len(values[_EVENT_ID]) <= 32:
            raise ValueError("event_id must be 1-32 characters")
        # Stored as text: valid UTF-8 without NUL (PostgreSQL's text cannot hold it).
        text = b"".join(_texts(values))
        if b"\0" in text:
            raise ValueError("a text field contains a NUL character")
        if not text.isascii():
            for value in _texts(values):
                value.decode()  # UnicodeDecodeError is a ValueError
    elif kind == _ORPHAN:
        if not 0 < len(values[_EVENT_ID]) <= 32:
            raise ValueError("event_id must be 1-32 characters")
        values[_CODE].decode()
        values[_EVENT_ID].decode()
    else:
        raise ValueError(f"unknown click event kind {kind!r}")
    return values


_texts = itemgetter(_EVENT_ID, _IP, _IP_HASH, _UA, _REFERER)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


@dataclass
class Links:
    """The (link, partnership, campaign, organization) ids of known tracked links, as the bytes
    a click carries them. Links are never deleted and never change owner, so what is known
    stays true; unknown ones are looked up in the database."""

    known: set[tuple[bytes, bytes, bytes, bytes]] = field(default_factory=set)
    limit: int = 1_000_000

    def check(self, session: Session, clicks: Sequence[ClickValues]) -> dict[int, str]:
        """Why each click (by index) cannot be recorded: its link is unknown or another
        partnership's, campaign's or organization's. Orphans are not checked."""
        known = self.known
        unknown = [
            i
            for i, v in enumerate(clicks)
            if (v[_LINK], v[_PARTNERSHIP], v[_CAMPAIGN], v[_ORG]) not in known
            and v[_KIND] == _CLICK
        ]
        if not unknown:
            return {}
        wanted = sorted({int(clicks[i][_LINK]) for i in unknown if clicks[i][_LINK].isdigit()})
        found: dict[bytes, tuple[bytes, bytes, bytes, bytes]] = {}
        if len(known) + len(wanted) > self.limit:
            known.clear()
        for start in range(0, len(wanted), CHUNK):
            rows = session.execute(
                select(
                    TrackedLink.id,
                    TrackedLink.partnership_id,
                    TrackedLink.campaign_id,
                    TrackedLink.organization_id,
                ).where(TrackedLink.id.in_(wanted[start : start + CHUNK]))
            )
            for row in rows:
                ids = tuple(str(v).encode() for v in row)
                found[ids[0]] = (ids[0], ids[1], ids[2], ids[3])
        known.update(found.values())
        reasons: dict[int, str] = {}
        for i in unknown:
            v = clicks[i]
            link = found.get(v[_LINK])
            if link is None:
                reasons[i] = f"unknown link {v[_LINK].decode(errors='replace')!r}"
            elif link != (v[_LINK], v[_PARTNERSHIP], v[_CAMPAIGN], v[_ORG]):
                said = b"/".join((v[_PARTNERSHIP], v[_CAMPAIGN], v[_ORG])).decode(errors="replace")
                reasons[i] = (
                    f"link {link[0].decode()} is partnership/campaign/organization "
                    f"{b'/'.join(link[1:]).decode()}, the click says {said}"
                )
        return reasons


# --- dimensions: decided once, here, from what the tracker logged ---------------------------------


@lru_cache(maxsize=65_536)
def _device(user_agent: bytes) -> str:
    return device_class(user_agent.decode(errors="replace")).value


@lru_cache(maxsize=65_536)
def _host(referer: bytes) -> str:
    return referrer_host(referer.decode(errors="replace"))


def dimensions(values: ClickValues) -> tuple[str, str, str]:
    """(country, device class, referrer host) of a click ('' when unknown): the country a
    trusted proxy gave the tracker (`TRACKER_COUNTRY_HEADER`), else that of its truncated IP
    (`api.ingest.geo`); the class of its User-Agent; the host of its Referer."""
    given = values[_COUNTRY]
    country = country_code(given.decode(errors="replace")) if given else UNKNOWN
    return (
        country or country_of(values[_IP].decode(errors="replace")),
        _device(values[_UA]),
        _host(values[_REFERER]),
    )


def hour_of(ms: int) -> datetime:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def ingest_clicks(session: Session, events: Sequence[ClickValues]) -> ClickStats:
    """Stores checked clicks (see `click_values` and `Links.check`) in the session's
    transaction: new rows, their rollups, and the orphan visit counters."""
    stats = ClickStats()
    clicks: list[ClickValues] = []
    visits: dict[str, dict[str, Any]] = {}  # by event id: an entry written twice counts once
    for values in events:
        if values[_KIND] == _CLICK:
            clicks.append(values)
        else:
            event_id = values[_EVENT_ID].decode()
            visits[event_id] = {
                "event_id": event_id,
                "code": values[_CODE].decode()[:64],
                "hour": hour_of(int(values[_TS])),
            }
    new_visits = insert_many_ignore(
        session,
        OrphanVisit,
        [visits[k] for k in sorted(visits)],
        ["event_id", "hour"],
        [OrphanVisit.code, OrphanVisit.hour],
    )
    orphans = Counter((code, hour) for code, hour in new_visits)
    stats.orphans = sum(orphans.values())
    if clicks:
        if session.get_bind().dialect.name == "postgresql":
            stats.inserted = _insert_clicks_pg(session, clicks)
        else:
            stats.inserted = _insert_clicks_generic(session, clicks)
    stats.duplicates = len(clicks) - stats.inserted
    upsert_add(
        session,
        OrphanVisitRollup,
        [{"code": c, "hour": h, "count": n} for (c, h), n in sorted(orphans.items())],
        ["code", "hour"],
        ["count"],
    )
    return stats


# --- PostgreSQL: COPY, then one statement for the rows and their rollups -------------------------

_STAGE = "vouch_click_stage"
_CREATE_STAGE = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (
    c text, o bigint, l bigint, p bigint, k bigint, t bigint,
    i text, h text, u text, r text, b text, q text, co text, dv text, rh text
) ON COMMIT DELETE ROWS
"""
_COPY = f"COPY {_STAGE} FROM STDIN"
_copy_columns = itemgetter(
    _EVENT_ID, _ORG, _LINK, _PARTNERSHIP, _CAMPAIGN, _TS, _IP, _IP_HASH, _UA, _REFERER
)
_TRUE = b"1"
# The last two columns and the line's end, by the (bot, unique) values.
_FLAGS = {
    (bot, unique): b"\t"
    + (b"1" if bot == _TRUE else b"0")
    + b"\t"
    + (b"1" if unique == _TRUE else b"0")
    for bot in (b"0", b"1")
    for unique in (b"0", b"1")
}

# The click dimensions and the column each one's value is in (plain identifiers).
_DIMENSION_COLUMNS = tuple(
    zip(CLICK_DIMENSIONS, ("country", "device", "referrer_host"), strict=True)
)
_DIMENSION_VALUES = ", ".join(f"('{d}', {column})" for d, column in _DIMENSION_COLUMNS)


def _dimension_rollup(name: str, grain: str, table: str) -> str:
    """The CTE adding the inserted clicks to a link's dimension rollup of one grain ("hour" or
    "day", the table's time column and `date_trunc` field alike)."""
    return f"""
, {name} AS (
    INSERT INTO {table} AS d (link_id, {grain}, dimension, value, organization_id,
                              partnership_id, campaign_id, clicks, unique_clicks)
    SELECT link_id, date_trunc('{grain}', occurred_at, 'UTC'), dim.name, dim.value,
           min(organization_id), min(partnership_id), min(campaign_id), count(*),
           count(*) FILTER (WHERE is_unique)
    FROM ins CROSS JOIN LATERAL (VALUES {_DIMENSION_VALUES}) AS dim(name, value)
    WHERE NOT bot AND dim.value <> ''
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (link_id, {grain}, dimension, value) DO UPDATE
    SET clicks = d.clicks + excluded.clicks,
        unique_clicks = d.unique_clicks + excluded.unique_clicks
)"""


def _link_rollup(name: str, grain: str, table: str) -> str:
    """The CTE adding the inserted clicks to a link's rollup of one grain."""
    return f"""
, {name} AS (
    INSERT INTO {table} AS r (link_id, {grain}, organization_id, partnership_id, campaign_id,
                              clicks, unique_clicks, bot_hits)
    SELECT link_id, date_trunc('{grain}', occurred_at, 'UTC'), min(organization_id),
           min(partnership_id), min(campaign_id), count(*) FILTER (WHERE NOT bot),
           count(*) FILTER (WHERE is_unique AND NOT bot), count(*) FILTER (WHERE bot)
    FROM ins
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (link_id, {grain}) DO UPDATE
    SET clicks = r.clicks + excluded.clicks,
        unique_clicks = r.unique_clicks + excluded.unique_clicks,
        bot_hits = r.bot_hits + excluded.bot_hits
)"""


# A campaign's daily rollup by dimension: no link in its key (`CampaignClickDimensionRollupDaily`).
_CAMPAIGN_DIMENSION_ROLLUP = f"""
, campaign_dimension_rollups_daily AS (
    INSERT INTO campaign_click_dimension_rollups_daily AS d (campaign_id, dimension, day, value,
                                                             organization_id, clicks,
                                                             unique_clicks)
    SELECT campaign_id, dim.name, date_trunc('day', occurred_at, 'UTC'), dim.value,
           min(organization_id), count(*), count(*) FILTER (WHERE is_unique)
    FROM ins CROSS JOIN LATERAL (VALUES {_DIMENSION_VALUES}) AS dim(name, value)
    WHERE NOT bot AND dim.value <> ''
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (campaign_id, dimension, day, value) DO UPDATE
    SET clicks = d.clicks + excluded.clicks,
        unique_clicks = d.unique_clicks + excluded.unique_clicks
)"""
_ROLLUPS = "".join(
    (
        _dimension_rollup("dimension_rollups", "hour", "click_dimension_rollups_hourly"),
        _link_rollup("rollups", "hour", "click_rollups_hourly"),
        _dimension_rollup("dimension_rollups_daily", "day", "click_dimension_rollups_daily"),
        _CAMPAIGN_DIMENSION_ROLLUP,
        _link_rollup("rollups_daily", "day", "click_rollups_daily"),
    )
)

# Rows in click id order and rollups in (link, hour) order: concurrent workers lock them in the
# same order (no deadlocks). Only the rows RETURNING reports as inserted reach the rollups.
_INSERT = f"""
WITH ins AS (
    INSERT INTO clicks (click_id, organization_id, link_id, partnership_id, campaign_id,
                        occurred_at, ip_trunc, ip_hash, user_agent, referer, bot, is_unique,
                        country, device, referrer_host, created_at)
    SELECT c, o, l, p, k, to_timestamp(t / 1000.0), nullif(left(i, 64), ''),
           nullif(left(h, 64), ''), nullif(left(u, {Click.USER_AGENT_MAX}), ''),
           nullif(left(r, {Click.REFERER_MAX}), ''), b = '1', q = '1', co, dv, rh, now()
    FROM {_STAGE}
    ORDER BY c
    ON CONFLICT (click_id, occurred_at) DO NOTHING
    RETURNING organization_id, link_id, partnership_id, campaign_id, occurred_at, bot, is_unique,
              country, device, referrer_host
){_ROLLUPS}
SELECT count(*) FROM ins
"""

_ESCAPES = ((b"\\", b"\\\\"), (b"\t", b"\\t"), (b"\n", b"\\n"), (b"\r", b"\\r"))


def _copy_data(clicks: Sequence[ClickValues]) -> bytes:
    """The clicks as COPY's text format: a line each, tab-separated, with \\ \t \n \r
    escaped (values never hold NUL: `click_values` refuses it)."""
    flags = _FLAGS
    dims = [_dimension_columns(v) for v in clicks]
    data = b"\n".join(
        [
            b"\t".join(_copy_columns(v)) + (flags.get((v[_BOT], v[_UNIQUE])) or _flags(v)) + d
            for v, d in zip(clicks, dims, strict=True)
        ]
    )
    data += b"\n"
    # Any of these in a value shows up once all lines are joined: then escape line by line.
    if (
        b"\\" in data
        or b"\r" in data
        or data.count(b"\n") != len(clicks)
        or data.count(b"\t") != 14 * len(clicks)
    ):
        data = b"".join([_escaped_line(v, d) for v, d in zip(clicks, dims, strict=True)])
    return data


def _dimension_columns(values: ClickValues) -> bytes:
    """The last three columns (country, device, referrer host): short ASCII without tabs,
    newlines or backslashes (see `api.domain.dimensions`), so never escaped."""
    return ("\t" + "\t".join(dimensions(values))).encode()


def _flags(values: ClickValues) -> bytes:
    return _FLAGS[
        (b"1" if values[_BOT] == _TRUE else b"0", b"1" if values[_UNIQUE] == _TRUE else b"0")
    ]


def _escaped_line(values: ClickValues, dims: bytes) -> bytes:
    fields = []
    for value in _copy_columns(values):
        for raw, escape in _ESCAPES:
            value = value.replace(raw, escape)
        fields.append(value)
    return b"\t".join(fields) + _flags(values) + dims + b"\n"


def _insert_clicks_pg(session: Session, clicks: Sequence[ClickValues]) -> int:
    """COPYs the batch into the session's staging table (emptied at commit) and inserts it; the
    number of clicks really inserted."""
    connection = session.connection()
    driver: Any = connection.connection.dbapi_connection  # psycopg's
    info = connection.connection.info
    with driver.cursor() as cursor:
        if not info.get(_STAGE):
            cursor.execute(_CREATE_STAGE)
            # Created in this transaction: forgotten if it rolls back (see the except below).
            info[_STAGE] = True
        try:
            with cursor.copy(_COPY) as copy:
                copy.write(_copy_data(clicks))
            cursor.execute(_INSERT)
            row = cursor.fetchone()
        except BaseException:
            info.pop(_STAGE, None)
            raise
    return int(row[0]) if row else 0


# --- elsewhere (SQLite): Core executemany, rollups counted in Python ------------------------------


def _row(values: ClickValues) -> dict[str, Any]:
    ts = int(values[_TS])
    country, device, host = dimensions(values)
    return {
        "country": country,
        "device": device,
        "referrer_host": host,
        "click_id": values[_EVENT_ID].decode(),
        "organization_id": int(values[_ORG]),
        "link_id": int(values[_LINK]),
        "partnership_id": int(values[_PARTNERSHIP]),
        "campaign_id": int(values[_CAMPAIGN]),
        "occurred_at": datetime.fromtimestamp(ts / 1000, UTC),
        "ip_trunc": values[_IP].decode()[:64] or None,
        "ip_hash": values[_IP_HASH].decode()[:64] or None,
        "user_agent": values[_UA].decode()[: Click.USER_AGENT_MAX] or None,
        "referer": values[_REFERER].decode()[: Click.REFERER_MAX] or None,
        "bot": values[_BOT] == _TRUE,
        "is_unique": values[_UNIQUE] == _TRUE,
    }


def _insert_clicks_generic(session: Session, clicks: Sequence[ClickValues]) -> int:
    table = Click.__table__
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["click_id", "occurred_at"])
        .returning(table.c.click_id)
    )
    conn = session.connection()
    # Sorted: concurrent workers insert the same clicks in the same order.
    rows = sorted({r["click_id"]: r for r in map(_row, clicks)}.items())
    inserted: list[dict[str, Any]] = []
    for start in range(0, len(rows), CHUNK):
        chunk = dict(rows[start : start + CHUNK])
        new_ids = conn.execute(stmt, list(chunk.values())).scalars()
        inserted.extend(chunk[click_id] for click_id in new_ids)
    rollups: dict[tuple[int, datetime], dict[str, Any]] = {}
    by_dimension: dict[tuple[int, datetime, str, str], dict[str, Any]] = {}
    for row in inserted:
        key = (row["link_id"], row["occurred_at"].replace(minute=0, second=0, microsecond=0))
        if not row["bot"]:
            _count_dimensions(by_dimension, key, row)
        acc = rollups.get(key)
        if acc is None:
            acc = rollups[key] = {
                "link_id": key[0],
                "hour": key[1],
                "organization_id": row["organization_id"],
                "partnership_id": row["partnership_id"],
                "campaign_id": row["campaign_id"],
                "clicks": 0,
                "unique_clicks": 0,
                "bot_hits": 0,
            }
        if row["bot"]:
            acc["bot_hits"] += 1  # bots are hits, never clicks
        else:
            acc["clicks"] += 1
            acc["unique_clicks"] += row["is_unique"]
    # Sorted keys: concurrent workers lock rollup rows in the same order (no deadlocks).
    hourly = [rollups[k] for k in sorted(rollups)]
    counters = ["clicks", "unique_clicks", "bot_hits"]
    upsert_add(session, ClickRollup, hourly, ["link_id", "hour"], counters)
    dimension_rows = [by_dimension[k] for k in sorted(by_dimension)]
    dimension_keys = ["link_id", "hour", "dimension", "value"]
    upsert_add(
        session, ClickDimensionRollup, dimension_rows, dimension_keys, ["clicks", "unique_clicks"]
    )
    upsert_add_daily(session, ClickRollupDaily, hourly, ["link_id", "hour"], counters)
    upsert_add_daily(
        session,
        ClickDimensionRollupDaily,
        dimension_rows,
        dimension_keys,
        ["clicks", "unique_clicks"],
    )
    upsert_add_by_campaign(
        session,
        CampaignClickDimensionRollupDaily,
        dimension_rows,
        ["campaign_id", "dimension", "day", "value"],
        ["clicks", "unique_clicks"],
    )
    return len(inserted)


def _count_dimensions(
    acc: dict[tuple[int, datetime, str, str], dict[str, Any]],
    key: tuple[int, datetime],
    row: dict[str, Any],
) -> None:
    for dimension, column in _DIMENSION_COLUMNS:
        value = row[column]
        if not value:
            continue
        dim_key = (*key, str(dimension), value)
        counters = acc.get(dim_key)
        if counters is None:
            counters = acc[dim_key] = {
                "link_id": key[0],
                "hour": key[1],
                "dimension": str(dimension),
                "value": value,
                "organization_id": row["organization_id"],
                "partnership_id": row["partnership_id"],
                "campaign_id": row["campaign_id"],
                "clicks": 0,
                "unique_clicks": 0,
            }
        counters["clicks"] += 1
        counters["unique_clicks"] += row["is_unique"]
