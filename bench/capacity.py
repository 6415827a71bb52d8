"""Capacity model: what 1 billion clicks a day (or `--clicks-per-day`) takes, from figures
measured here.

Measured by this script, on a fresh PostgreSQL database migrated to head (the raw event tables
partitioned by month) and a fresh redis-server:

- bytes on disk per click row (heap, TOAST and its two indexes), per order (its key, its row
  and its commission entry) and per rollup row, from rows shaped as the tracker and the worker
  write them (a browser's User-Agent, a Referer cut to origin and path, a /24 and its keyed
  hash), after VACUUM ANALYZE;
- bytes of Redis memory per click entry in the stream (the tracker's `ClickEvent` fields).

Taken as arguments, from the benchmarks the README reports (defaults: the figures measured on
this 2-core machine, quiet): the tracker's redirects per second on one core, one ingest worker's
events per second on one core, the orders per 100 clicks, the peak-to-average factor, the
retention of raw clicks and the stream's backlog a Redis shard must hold through an ingest
outage. It prints the figures it measured and the model; docs/scaling.md explains it.

    make bench-capacity BENCH_ARGS='--clicks-per-day 1e9 --tracker-rate 32000 ...'
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

# Run as a script, bench/ comes first on sys.path and would shadow the `tracker` package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from api.ingest import partitions  # noqa: E402
from bench.ingest import migrated_schema  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tracker import keys  # noqa: E402
from tracker.events import ClickEvent, new_id  # noqa: E402

PG_SERVER = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
REFERER = "https://www.instagram.com/p/C9xYz12AbCd/"

CLICKS_SQL = """
INSERT INTO clicks (click_id, organization_id, link_id, partnership_id, campaign_id,
  occurred_at, ip_trunc, ip_hash, user_agent, referer, bot, is_unique, created_at, country,
  device, referrer_host)
SELECT substr(md5(g::text), 1, 26), 1, 1 + g % :links, 1 + g % :links, 1 + g % 50,
  :start + (g * interval '1 second') * (2592000.0 / :n), '203.0.' || (g % 250) || '.0',
  md5(g::text) || md5((g + 1)::text), :ua, :referer, false, g % 5 <> 0, now(), 'DE', 'MOBILE',
  'www.instagram.com'
FROM generate_series(1, :n) AS g
"""
KEYS_SQL = """
INSERT INTO conversion_keys (id, brand_id, order_id, occurred_at)
SELECT g, 1, 'ORD-' || lpad(g::text, 10, '0'), :start + g * interval '1 minute'
FROM generate_series(1, :n) AS g
"""
ORDERS_SQL = """
INSERT INTO conversions (id, organization_id, brand_id, order_id, amount, currency, occurred_at,
  received_at, click_id, discount_code, customer_id, partnership_id, influencer_id, campaign_id,
  attributed_via, status, hold_reasons, event_id, created_at, updated_at, link_id, country,
  device, referrer_host, repeat, commission_bps, click_seconds, ip_hash, order_referrer_host)
SELECT g, 1, 1, 'ORD-' || lpad(g::text, 10, '0'), 4990 + g % 5000, 'EUR',
  :start + g * interval '1 minute', now(), substr(md5(g::text), 1, 26), NULL,
  'cust_' || (g % 100000), 1 + g % :links, 1 + g % :links, 1 + g % 50, 'CLICK', 'APPROVED',
  '[]', substr(md5((g + 7)::text), 1, 26), now(), now(), 1 + g % :links, 'DE', 'MOBILE',
  'www.instagram.com', false, 1000, 3600, md5(g::text) || md5((g + 1)::text), ''
FROM generate_series(1, :n) AS g
"""
LEDGER_SQL = """
INSERT INTO ledger_entries (organization_id, influencer_id, partnership_id, campaign_id, kind,
  amount, currency, source_type, source_id, conversion_id, created_at, available_at,
  basis_points, idempotency_key)
SELECT 1, 1 + g % :links, 1 + g % :links, 1 + g % 50, 'COMMISSION', 499 + g % 500, 'EUR',
  'CONVERSION', g, g, now(), now() + interval '30 days', 1000, 'conversion-commission-' || g
FROM generate_series(1, :n) AS g
"""
# One rollup row per link and hour with clicks; the dimension rollups one per link, hour and
# value of each of three dimensions (country, device, referrer host): ~3 rows at least.
ROLLUP_SQL = """
INSERT INTO click_rollups_hourly (link_id, hour, organization_id, partnership_id, campaign_id,
  clicks, unique_clicks, bot_hits)
SELECT 1 + g % :links, :start + (g / :links) * interval '1 hour', 1, 1 + g % :links, 1 + g % 50,
  40, 31, 2
FROM generate_series(0, :n - 1) AS g
"""
DIMENSION_SQL = """
INSERT INTO click_dimension_rollups_hourly (link_id, hour, dimension, value, organization_id,
  partnership_id, campaign_id, clicks, unique_clicks)
SELECT 1 + g % :links, :start + (g / :links) * interval '1 hour', d, v, 1, 1 + g % :links,
  1 + g % 50, 13, 10
FROM generate_series(0, :n - 1) AS g,
  (VALUES ('country', 'DE'), ('device', 'MOBILE'), ('referrer', 'www.instagram.com')) AS x(d, v)
"""


def table_bytes(conn: object, table: str) -> int:
    """Heap, TOAST and indexes of a table and of every partition under it."""
    tree = conn.execute(  # type: ignore[attr-defined]
        text(
            "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
            "FROM pg_partition_tree(CAST(:t AS regclass))"
        ),
        {"t": table},
    ).scalar_one()
    plain = conn.execute(  # type: ignore[attr-defined]
        text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table}
    ).scalar_one()
    return int(tree or plain)


def measure_postgres(rows: int) -> dict[str, float]:
    name = f"vouch_capacity_{secrets.token_hex(4)}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(f"{PG_SERVER}/{name}")
    try:
        migrated_schema(engine)
        start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        partitions.ensure(engine, start)
        links = 2000
        orders = max(rows // 50, 1)
        rollups = max(rows // 40, 1)  # 40 clicks per link-hour, the tracked links' busy hours
        plan = [
            ("clicks", CLICKS_SQL, rows),
            ("conversion_keys", KEYS_SQL, orders),
            ("conversions", ORDERS_SQL, orders),
            ("ledger_entries", LEDGER_SQL, orders),
            ("click_rollups_hourly", ROLLUP_SQL, rollups),
            ("click_dimension_rollups_hourly", DIMENSION_SQL, rollups),
        ]
        with engine.begin() as conn:
            # The rows refer to brands, links and partnerships this database does not have: the
            # foreign-key checks are off for this transaction (what is measured is the rows).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for _table, sql, n in plan:
                params = {"n": n, "links": links, "start": start, "ua": UA, "referer": REFERER}
                conn.execute(text(sql), params)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            out: dict[str, float] = {}
            for table, _sql, n in plan:
                count = n * (3 if table == "click_dimension_rollups_hourly" else 1)
                out[table] = table_bytes(conn, table) / count
            return out
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure_redis(entries: int) -> tuple[float, float]:
    work = Path(tempfile.mkdtemp(prefix="vouch-capacity-"))
    server = RedisServer(str(work / "redis")).start()
    try:
        client = redis.Redis.from_url(server.url)
        stream = keys.clicks_stream("capacity")
        pipe = client.pipeline(transaction=False)
        for i in range(entries):
            event_id = new_id()
            fields = ClickEvent(
                kind="click",
                event_id=event_id,
                click_id=event_id,
                code=f"c{i % 2000:05d}",
                ts=1_764_000_000_000 + i,
                ip=f"203.0.{i % 250}.0",
                ip_hash=secrets.token_hex(32),
                user_agent=UA,
                referer=REFERER,
                link_id=1 + i % 2000,
                partnership_id=1 + i % 2000,
                campaign_id=1 + i % 50,
                brand_id=1,
                organization_id=1,
            ).to_fields()
            pipe.xadd(stream, fields)  # type: ignore[arg-type]
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        used = int(client.memory_usage(stream, samples=0) or 0)
        # The cross-tracker dedupe: a key per first click, as the write script sets it
        # (`tracker.sink`), for the dedupe window.
        before = int(client.info("memory")["used_memory"])
        for i in range(entries):
            key = f"{stream}:seen:{secrets.token_hex(20)}"
            pipe.set(key, new_id(), px=3_600_000)
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        seen = (int(client.info("memory")["used_memory"]) - before) / entries
        client.close()
        return used / entries, seen
    finally:
        server.stop()


def model(
    args: argparse.Namespace, pg: dict[str, float], redis_entry: float, seen_key: float
) -> list[str]:
    per_day = args.clicks_per_day
    average = per_day / 86_400
    peak = average * args.peak_factor
    orders_per_day = per_day * args.orders_per_100_clicks / 100
    events_peak = peak * (1 + args.orders_per_100_clicks / 100)
    trackers = math.ceil(peak / args.tracker_rate)
    workers = math.ceil(events_peak / args.worker_rate)
    backlog_entries = average * args.backlog_hours * 3600
    backlog_gib = backlog_entries * redis_entry / 2**30
    # Every stream shares one hash tag (`{ev}`), so one master holds them and their dedupe keys
    seen_gib = peak * args.dedupe_window_s * args.unique_share * seen_key / 2**30
    stream_master_gib = backlog_gib + seen_gib
    stream_rate = peak * 2 / args.redis_shard_ops  # one XADD in, one read out
    click_bytes_day = per_day * pg["clicks"]
    order_bytes_day = orders_per_day * (
        pg["conversions"] + pg["conversion_keys"] + pg["ledger_entries"]
    )
    clicks_retained = click_bytes_day * 30.4 * args.retention_months
    link_hours = per_day / args.clicks_per_link_hour  # a rollup row per link-hour with clicks
    rollup_bytes_day = link_hours * (
        pg["click_rollups_hourly"] + 3 * pg["click_dimension_rollups_hourly"]
    )
    rows_per_s = peak + orders_per_day * 3 / 86_400 * args.peak_factor
    tib = 2**40
    return [
        f"load: {per_day:,.0f} clicks/day = {average:,.0f}/s average, {peak:,.0f}/s at peak "
        f"(x{args.peak_factor:g}); {orders_per_day:,.0f} orders/day",
        f"trackers: {trackers} cores at {args.tracker_rate:,.0f} redirects/s a core (peak)",
        f"ingest workers: {workers} cores at {args.worker_rate:,.0f} events/s a core (peak, "
        f"clicks + orders)",
        f"Redis: the streams' master (one hash tag) at {stream_rate:.0%} of "
        f"{args.redis_shard_ops:,.0f} stream ops/s; dedupe keys {seen_gib:,.1f} GiB "
        f"({args.dedupe_window_s:g} s window, {args.unique_share:.0%} first clicks); a "
        f"{args.backlog_hours:g} h backlog of {backlog_entries:,.0f} entries "
        f"{backlog_gib:,.0f} GiB: {stream_master_gib:,.0f} GiB on that one master",
        f"PostgreSQL writes: {rows_per_s:,.0f} rows/s at peak (clicks, and per order its key, "
        f"row and commission entry), rollups {link_hours / 86_400 * 4:,.0f} rows/s",
        f"PostgreSQL storage: clicks {click_bytes_day / 2**30:,.0f} GiB/day "
        f"({clicks_retained / tib:,.1f} TiB for {args.retention_months} months retained), "
        f"orders and ledger {order_bytes_day / 2**30:,.1f} GiB/day (kept), rollups "
        f"{rollup_bytes_day / 2**30:,.2f} GiB/day (kept)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks-per-day", type=float, default=1e9)
    parser.add_argument("--peak-factor", type=float, default=3.0)
    parser.add_argument("--orders-per-100-clicks", type=float, default=2.0)
    parser.add_argument("--tracker-rate", type=float, default=32_000)
    parser.add_argument("--worker-rate", type=float, default=18_000)
    parser.add_argument("--redis-shard-ops", type=float, default=100_000)
    parser.add_argument("--dedupe-window-s", type=float, default=3600)
    parser.add_argument("--unique-share", type=float, default=0.7)
    parser.add_argument("--backlog-hours", type=float, default=6.0)
    parser.add_argument("--retention-months", type=int, default=3)
    parser.add_argument("--clicks-per-link-hour", type=float, default=10.0)
    parser.add_argument("--rows", type=int, default=200_000, help="click rows to measure on")
    args = parser.parse_args()
    pg = measure_postgres(args.rows)
    entry, seen = measure_redis(min(args.rows, 100_000))
    print("measured (bytes):")
    for table, size in pg.items():
        print(f"  PostgreSQL {table:<32} {size:7.0f} a row (with its indexes)")
    print(f"  Redis click stream entry{'':<17} {entry:7.0f}")
    print(f"  Redis dedupe key (one per first click){'':<3} {seen:7.0f}")
    print("model:")
    for line in model(args, pg, entry, seen):
        print(f"  {line}")


if __name__ == "__main__":
    main()
