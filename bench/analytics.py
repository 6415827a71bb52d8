"""Analytics through the GraphQL endpoint on PostgreSQL: a campaign's 90-day DAY series, a
30-day HOUR series, a COUNTRY breakdown and a leaderboard, p50/p95 over repeated requests, on a
brand with a year of 10 million clicks and 200k conversions for 2,000 influencers, and on one
with 10x less (`make bench-analytics`). Target: each p95 < 100 ms, and within 2x of the same
query on the smaller brand.

Reports read rollups only, so the bench seeds what a year of that traffic leaves in them, in
bulk INSERT ... SELECT statements over generate_series (no raw click rows): each link is active
during its campaign's 120 days, six evening hours a day, 1 to 13 clicks an hour (7 on average:
2,000 links x 720 hours x 7 = 10.1M clicks), split over two countries, two device classes and
its platform's referrer; 100 orders per link (200k), a quarter through a discount code; five
published posts per partnership during its campaign with five daily snapshots each (50k post
metric snapshots). The daily (UTC) rollups are then summed from the hourly rows, as migration
0023 does. It also prints what deciding a click's country, device and referrer costs the
ingest worker per click.

Database: a new database on BENCH_DATABASE_URL's server (default
postgresql+psycopg://postgres@127.0.0.1:5432), migrated, dropped at the end.

    .venv/bin/python bench/analytics.py [--requests 40] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = ROOT  # bench/ first on sys.path would shadow the `tracker` package

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
ACTIVE_DAYS = 120
COUNTRIES = "ARRAY['DE','GB','FR','US','SE','IE','NL','ES','IT','PL']"
REFERRERS = "ARRAY['l.instagram.com','tiktok.com','youtube.com','t.co']"


def create_entities(influencers: int, campaigns: int, name: str) -> dict[str, Any]:
    """An organization's brand, campaigns and, per influencer, a partnership and a link."""
    from api.accounts.keys import create_key
    from api.db import session_scope
    from api.models import Brand, Campaign, Influencer, Organization, Partnership, TrackedLink
    from api.models.enums import Role

    with session_scope() as s:
        org = Organization(name=name)
        s.add(org)
        s.flush()
        brand = Brand(
            organization_id=org.id, name=name, default_currency="EUR", time_zone="Europe/Berlin"
        )
        s.add(brand)
        s.flush()
        rows = [
            Campaign(
                organization_id=org.id,
                brand_id=brand.id,
                name=f"{name} {i}",
                objective="CONVERSIONS",
                currency="EUR",
                landing_url="https://shop.example.com",
                status="ACTIVE",
            )
            for i in range(campaigns)
        ]
        s.add_all(rows)
        s.flush()
        people = [
            Influencer(
                organization_id=org.id,
                name=f"{name} creator {i}",
                languages=[],
                niches=[],
                customer_ids=[],
            )
            for i in range(influencers)
        ]
        s.add_all(people)
        s.flush()
        partnerships = [
            Partnership(
                organization_id=org.id,
                campaign_id=rows[i % campaigns].id,
                influencer_id=p.id,
                status="ACTIVE",
                connection="PAID",
            )
            for i, p in enumerate(people)
        ]
        s.add_all(partnerships)
        s.flush()
        s.add_all(
            TrackedLink(
                organization_id=org.id,
                brand_id=brand.id,
                campaign_id=p.campaign_id,
                partnership_id=p.id,
                code=f"b{p.id}",
                destination_url="https://shop.example.com",
            )
            for p in partnerships
        )
        _, key = create_key(s, organization_id=org.id, role=Role.MANAGER)
        return {"org": org.id, "campaign": rows[0].id, "key": key}


# The campaign of link l starts on day (campaign index * 24) % 245 of the year.
_LINKS = """
CREATE TEMPORARY TABLE bench_links AS
SELECT l.id, l.organization_id, l.partnership_id, l.campaign_id, p.influencer_id,
       ((dense_rank() OVER (ORDER BY l.campaign_id) - 1) * 24 % 245)::int AS day0
FROM tracked_links l JOIN partnerships p ON p.id = l.partnership_id
WHERE l.organization_id = :org
"""
_CLICKS = """
INSERT INTO click_rollups_hourly (link_id, hour, organization_id, partnership_id, campaign_id,
                                  clicks, unique_clicks, bot_hits)
SELECT l.id, :start + (l.day0 + d) * interval '1 day' + h * interval '1 hour', l.organization_id,
       l.partnership_id, l.campaign_id, 1 + (l.id * 7919 + d * 104729 + h * 1299709) % 13,
       1 + (l.id * 7919 + d * 104729 + h * 1299709) % 11, (l.id + d + h) % 2
FROM bench_links l, generate_series(0, :days - 1) d, generate_series(17, 22) h
WHERE l.id % :parts = :part
"""
_CLICK_DIMENSIONS = f"""
INSERT INTO click_dimension_rollups_hourly (link_id, hour, dimension, value, organization_id,
                                            partnership_id, campaign_id, clicks, unique_clicks)
SELECT r.link_id, r.hour, v.dimension, v.value, r.organization_id, r.partnership_id,
       r.campaign_id, v.clicks, least(v.clicks, r.unique_clicks)
FROM click_rollups_hourly r
JOIN bench_links l ON l.id = r.link_id,
LATERAL (VALUES
    ('COUNTRY', ({COUNTRIES})[1 + (r.link_id + r.clicks) % 10], r.clicks - r.clicks / 3),
    ('COUNTRY', ({COUNTRIES})[1 + (r.link_id + r.clicks + 1) % 10], r.clicks / 3),
    ('DEVICE', 'MOBILE', r.clicks - r.clicks / 5),
    ('DEVICE', 'DESKTOP', r.clicks / 5),
    ('REFERRER', ({REFERRERS})[1 + r.link_id % 4], r.clicks / 2)
) AS v(dimension, value, clicks)
WHERE v.clicks > 0 AND r.link_id % :parts = :part
"""
_ORDERS = """
CREATE TEMPORARY TABLE bench_orders AS
SELECT l.*, k, :start + (l.day0 + (k * 37) % :days) * interval '1 day'
           + (17 + k % 6) * interval '1 hour' AS hour,
       2000 + (l.id * 31 + k * 17) % 8000 AS revenue
FROM bench_links l, generate_series(0, :orders - 1) k
"""
_PERFORMANCE = """
INSERT INTO performance_rollups_hourly (partnership_id, link_id, hour, currency, organization_id,
                                        campaign_id, influencer_id, conversions, revenue,
                                        commission, fees)
SELECT partnership_id, CASE WHEN k % 4 = 0 THEN 0 ELSE id END, hour, 'EUR', organization_id,
       campaign_id, influencer_id, 1, revenue, revenue / 10, 0
FROM bench_orders
"""
_PERFORMANCE_DIMENSIONS = f"""
INSERT INTO performance_dimension_rollups_hourly (partnership_id, hour, currency, dimension,
    value, organization_id, campaign_id, influencer_id, conversions, revenue, commission)
SELECT o.partnership_id, o.hour, 'EUR', v.dimension, v.value, o.organization_id, o.campaign_id,
       o.influencer_id, 1, o.revenue, o.revenue / 10
FROM bench_orders o,
LATERAL (VALUES
    ('COUNTRY', ({COUNTRIES})[1 + (o.id + o.k) % 10]),
    ('DEVICE', CASE WHEN o.k % 5 = 0 THEN 'DESKTOP' ELSE 'MOBILE' END),
    ('REFERRER', ({REFERRERS})[1 + o.id % 4]),
    ('DISCOUNT_CODE', 'CODE' || o.id)
) AS v(dimension, value)
WHERE (v.dimension = 'DISCOUNT_CODE') = (o.k % 4 = 0)
"""

# Five published posts per partnership during its campaign, five snapshots each (a day apart,
# counters growing): 2,000 partnerships x 25 = 50k snapshots.
_POSTS = """
INSERT INTO deliverables (organization_id, partnership_id, platform, format, title, status,
                          published_url, published_at, created_at, updated_at)
SELECT l.organization_id, l.partnership_id, 'INSTAGRAM', 'POST', 'Post ' || k, 'PUBLISHED',
       'https://www.instagram.com/p/b' || l.id || 'p' || k,
       :start + (l.day0 + (k * 23) % :days) * interval '1 day' + interval '18 hours', now(), now()
FROM bench_links l, generate_series(0, :posts - 1) k
"""
_SNAPSHOTS = """
INSERT INTO post_metric_snapshots (organization_id, deliverable_id, captured_at, impressions,
                                   reach, views, likes, comments, shares, saves, link_clicks,
                                   followers_at_posting, source, created_at)
SELECT d.organization_id, d.id, d.published_at + j * interval '1 day', b.n * j * 10,
       b.n * j * 6, b.n * j * 4, b.n * j / 2, b.n * j / 20, b.n * j / 40, b.n * j / 30,
       b.n * j / 25, 20000 + d.partnership_id % 50000, 'PLATFORM_API', now()
FROM deliverables d, generate_series(1, :snapshots) j,
     LATERAL (SELECT 200 + d.id % 997 AS n) b
WHERE d.organization_id = :org
"""
# The daily (UTC) rollups of the hourly rows, as migration 0023 backfills them.
_DAILY = (
    (
        "click_rollups_daily",
        "click_rollups_hourly",
        "link_id",
        "organization_id, partnership_id, campaign_id",
        "clicks, unique_clicks, bot_hits",
    ),
    (
        "click_dimension_rollups_daily",
        "click_dimension_rollups_hourly",
        "link_id, dimension, value",
        "organization_id, partnership_id, campaign_id",
        "clicks, unique_clicks",
    ),
    (
        "performance_rollups_daily",
        "performance_rollups_hourly",
        "partnership_id, link_id, currency",
        "organization_id, campaign_id, influencer_id",
        "conversions, revenue, repeat_revenue, commission, fees",
    ),
    (
        "performance_dimension_rollups_daily",
        "performance_dimension_rollups_hourly",
        "partnership_id, currency, dimension, value",
        "organization_id, campaign_id, influencer_id",
        "conversions, revenue, commission",
    ),
)


def _daily_sql(daily: str, hourly: str, keys: str, others: str, counters: str) -> str:
    day = "date_trunc('day', hour, 'UTC')"
    mins = ", ".join(f"min({c.strip()})" for c in others.split(","))
    sums = ", ".join(f"sum({c.strip()})" for c in counters.split(","))
    return (
        f"INSERT INTO {daily} ({keys}, day, {others}, {counters}) "
        f"SELECT {keys}, {day}, {mins}, {sums} FROM {hourly} "
        f"WHERE organization_id = :org GROUP BY {keys}, {day}"
    )


# The per-campaign daily rollups by dimension of the daily rows, as migration 0026 backfills them.
_BY_CAMPAIGN = (
    (
        "campaign_click_dimension_rollups_daily",
        "click_dimension_rollups_daily",
        "campaign_id, dimension, day, value",
        "clicks, unique_clicks",
    ),
    (
        "campaign_performance_dimension_rollups_daily",
        "performance_dimension_rollups_daily",
        "campaign_id, dimension, day, currency, value",
        "conversions, revenue, commission",
    ),
)


def _by_campaign_sql(target: str, daily: str, keys: str, counters: str) -> str:
    sums = ", ".join(f"sum({c.strip()})" for c in counters.split(","))
    return (
        f"INSERT INTO {target} ({keys}, organization_id, {counters}) "
        f"SELECT {keys}, min(organization_id), {sums} FROM {daily} "
        f"WHERE organization_id = :org GROUP BY {keys}"
    )


def seed(org: int, label: str, orders_per_link: int) -> tuple[int, int, int]:
    """The rollups of a year of traffic of the organization's links and its posts' snapshots:
    (clicks, conversions, snapshots)."""
    from sqlalchemy import text

    from api.cli.progress import show as print_progress
    from api.db import get_engine

    engine = get_engine()
    params = {
        "org": org,
        "start": YEAR_START,
        "days": ACTIVE_DAYS,
        "orders": orders_per_link,
        "posts": 5,
        "snapshots": 5,
    }
    parts = 10
    with engine.begin() as conn:
        conn.execute(text(_LINKS), params)
        for part in range(parts):
            for sql in (_CLICKS, _CLICK_DIMENSIONS):
                conn.execute(text(sql), {**params, "parts": parts, "part": part})
            print_progress(f"seeding click rollups ({label})", part + 1, parts)
        conn.execute(text(_ORDERS), params)
        conn.execute(text(_PERFORMANCE), params)
        conn.execute(text(_PERFORMANCE_DIMENSIONS), params)
        print_progress(f"seeding performance rollups ({label})", 1, 1)
        conn.execute(text(_POSTS), params)
        conn.execute(text(_SNAPSHOTS), params)
        print_progress(f"seeding post snapshots ({label})", 1, 1)
        for i, tables in enumerate(_DAILY):
            conn.execute(text(_daily_sql(*tables)), params)
            print_progress(f"summing the daily rollups ({label})", i + 1, len(_DAILY))
        for i, tables in enumerate(_BY_CAMPAIGN):
            conn.execute(text(_by_campaign_sql(*tables)), params)
            print_progress(f"summing the campaign rollups ({label})", i + 1, len(_BY_CAMPAIGN))
        clicks = conn.execute(
            text("SELECT sum(clicks) FROM click_rollups_hourly WHERE organization_id = :org"),
            params,
        ).scalar_one()
        conversions = conn.execute(
            text(
                "SELECT sum(conversions) FROM performance_rollups_hourly "
                "WHERE organization_id = :org"
            ),
            params,
        ).scalar_one()
        snapshots = conn.execute(
            text("SELECT count(*) FROM post_metric_snapshots WHERE organization_id = :org"),
            params,
        ).scalar_one()
        conn.execute(text("DROP TABLE bench_links, bench_orders"))
    return int(clicks), int(conversions), int(snapshots)


def queries(campaign: str) -> dict[str, tuple[str, dict[str, Any]]]:
    # The first campaign is active from 1 January for 120 days.
    end = YEAR_START + timedelta(days=100)
    window = {"c": campaign, "to": end.isoformat()}
    ninety = {**window, "from": (end - timedelta(days=90)).isoformat()}
    thirty = {**window, "from": (end - timedelta(days=30)).isoformat()}
    head = "query($c: ID!, $from: DateTime!, $to: DateTime!) { campaign(id: $c) {"
    return {
        # What any request costs here (key, session, GraphQL): the floor of the others.
        "baseline (name)": ("query($c: ID!) { campaign(id: $c) { name } }", {"c": campaign}),
        "90-day DAY series": (
            head + " performanceSeries(from: $from, to: $to, granularity: DAY) {"
            " start clicks uniqueClicks conversions revenue { amount } cost { amount }"
            " impressions engagementRate } } }",
            ninety,
        ),
        "90-day DAY, UTC": (
            head + ' performanceSeries(from: $from, to: $to, granularity: DAY, timeZone: "UTC")'
            " { start clicks uniqueClicks conversions revenue { amount } cost { amount } } } }",
            ninety,
        ),
        "30-day HOUR series": (
            head + " performanceSeries(from: $from, to: $to, granularity: HOUR) {"
            " start clicks conversions revenue { amount } } } }",
            thirty,
        ),
        "COUNTRY breakdown": (
            head + " performanceBreakdown(from: $from, to: $to, by: COUNTRY, first: 20) {"
            " key label performance { clicks conversions revenue { amount }"
            " commission { amount } } } } }",
            ninety,
        ),
        "leaderboard": (
            head + " leaderboard(from: $from, to: $to, metric: REVENUE, first: 50) {"
            " rank value influencer { name } performance { clicks revenue { amount }"
            " roi engagementRate } } } }",
            ninety,
        ),
    }


def time_queries(client: Any, key: str, campaign: str, requests: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for name, (query, variables) in queries(campaign).items():
        samples = []
        for i in range(requests + 3):
            started = time.perf_counter()
            response = client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {key}"},
            )
            elapsed = time.perf_counter() - started
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                raise SystemExit(f"{name}: {response.status_code} {body}")
            if i >= 3:  # warm-up: the first requests load code and fill caches
                samples.append(elapsed * 1000)
        timings[name] = samples
    return timings


def dimension_cost(clicks: int = 100_000) -> None:
    """What deciding a click's dimensions costs the ingest worker, per click: demo-like clicks
    (its user agents, referers and networks), with the worker's caches cold, then warm."""
    import random

    from api.demo.traffic import REFERERS, USER_AGENTS, _ip
    from api.ingest import clicks as ingest
    from api.ingest.geo import country_of
    from tracker.clientip import truncate_ip
    from tracker.events import FIELDS

    rng = random.Random(1)
    country_of("192.0.2.0")  # loads the data (~0.3 s, once per process)
    events = []
    for _ in range(clicks):
        values = [b""] * len(FIELDS)
        values[ingest._IP] = truncate_ip(_ip(rng)).encode()
        values[ingest._UA] = rng.choice(USER_AGENTS).encode()
        values[ingest._REFERER] = rng.choice([*REFERERS.values(), ""]).encode()
        events.append(values)
    figures = []
    for _ in ("cold", "warm"):
        started = time.perf_counter()
        for values in events:
            ingest.dimensions(values)
        figures.append((time.perf_counter() - started) / clicks * 1e6)
    print(
        f"click dimensions at ingest: {figures[0]:.1f} us a click with cold caches, "
        f"{figures[1]:.1f} us warm ({clicks:,} demo-like clicks; the tracker is unchanged)",
        flush=True,
    )


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", help="time a database kept by --keep (its name)")
    args = parser.parse_args()
    server = os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"
    ).rstrip("/")
    base = server.rsplit("/", 1)[0] if server.count("/") > 2 else server
    from sqlalchemy import create_engine, text

    name = args.reuse or f"vouch_bench_analytics_{secrets.token_hex(4)}"
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    os.environ["DATABASE_URL"] = f"{base}/{name}"
    kept = os.path.join(tempfile.gettempdir(), f"{name}.json")
    try:
        from starlette.testclient import TestClient

        from api.app import create_app
        from api.db import get_engine
        from api.migrations import upgrade

        upgrade()
        dimension_cost()
        if args.reuse:
            with open(kept) as f:
                big, small = json.load(f)
        else:
            started = time.perf_counter()
            big = create_entities(2_000, 10, "Large")
            small = create_entities(200, 10, "Small")
            big_sizes = seed(big["org"], "large", 100)
            small_sizes = seed(small["org"], "small", 100)
            # What autovacuum does to settled rollup rows: index-only scans need the map.
            with get_engine().connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
            print(
                f"seeded in {time.perf_counter() - started:.0f} s: large brand "
                f"{big_sizes[0]:,} clicks, {big_sizes[1]:,} conversions, {big_sizes[2]:,} post "
                f"snapshots (2,000 influencers); small brand {small_sizes[0]:,} clicks, "
                f"{small_sizes[1]:,} conversions, {small_sizes[2]:,} post snapshots "
                "(200 influencers)",
                flush=True,
            )
            if args.keep:
                with open(kept, "w") as f:
                    json.dump([big, small], f)
        from api.graphql.relay import global_id

        results = {}
        with TestClient(create_app()) as client:
            for label, world in (("large", big), ("small", small)):
                campaign = global_id("Campaign", world["campaign"])
                results[label] = time_queries(client, world["key"], campaign, args.requests)
        print(f"\n{'query':<20} {'large p50':>10} {'p95':>8} {'small p50':>10} {'p95':>8} ratio")
        load = os.getloadavg()[0]
        ok = True
        for query in results["large"]:
            large, small_t = results["large"][query], results["small"][query]
            ratio = p95(large) / p95(small_t)
            if not query.startswith("baseline"):
                ok = ok and p95(large) < 100 and ratio <= 2
            print(
                f"{query:<20} {statistics.median(large):>8.1f}ms {p95(large):>6.1f}ms "
                f"{statistics.median(small_t):>8.1f}ms {p95(small_t):>6.1f}ms x{ratio:.2f}"
            )
        print(
            "target (p95 < 100 ms, within 2x of the small brand): "
            + ("met" if ok else "NOT met")
            + f"; load average {load:.1f} on {os.cpu_count()} cores"
        )
    finally:
        from api.db import get_engine

        get_engine().dispose()
        if args.keep or args.reuse:
            print(f"kept: --reuse {name}")
        else:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
