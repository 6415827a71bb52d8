"""Discovery at 100k influencers: the PostgreSQL plans of `influencers(filter:, orderBy:)`.

Seeds a fresh PostgreSQL database (BENCH_DATABASE_URL names the server, default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres; the bench creates and drops its own
database) with one organization of 100,000 influencers, their accounts, facets (niches,
languages, platforms and the latest audience shares), partnerships and rollups, ANALYZEs, then
prints EXPLAIN ANALYZE of the page statement the API runs for each filter and sort, and checks
that no selective filter scans the influencers table sequentially.

    .venv/bin/python bench/discovery.py [--influencers 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = ROOT  # bench/ first on sys.path would shadow the `tracker` package

COUNTRIES = ["US", "FR", "DE", "GB", "ES", "IT", "BR", "IN", "JP", "MX", "CA", "NL", "PL", "SE"]
NICHES = ["beauty", "fitness", "travel", "food", "gaming", "tech", "fashion", "parenting"]
LANGUAGES = ["en", "fr", "de", "es", "it", "pt", "ja", "pl"]
AGES = ["13-17", "18-24", "25-34", "35-44", "45-54", "55+"]

# name, filter (GraphQL input shape), order; "selective": must not scan influencers.
CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, bool]] = [
    ("audience FR >= 60 %", {"audienceCountry": ("FR", 6_000)}, None, True),
    ("audience 13-17 >= 50 %", {"audienceAgeBand": ("13-17", 5_000)}, None, True),
    ("niche parenting + language pl", {"niche": "parenting", "language": "pl"}, None, True),
    ("worked with the brand", {"workedWithBrand": True}, None, True),
    ("followers 1.0M-1.1M", {"minFollowers": 1_000_000, "maxFollowers": 1_100_000}, None, True),
    ("audience FR >= 60 %, by followers", {"audienceCountry": ("FR", 6_000)}, "FOLLOWERS", True),
    ("all, by followers", {}, "FOLLOWERS", False),
    ("all, by engagement rate", {}, "ENGAGEMENT_RATE", False),
    ("all, by audience quality", {}, "AUDIENCE_QUALITY", False),
    # Every partner of the brand has to be sorted by a computed ROI (no index can hold it):
    # PostgreSQL's cost model prefers one pass over the influencers to 2,000 index probes.
    ("worked with the brand, by ROI", {"workedWithBrand": True}, "ROI_WITH_BRAND", False),
]


def _url(args: argparse.Namespace) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    server = make_url(
        os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        )
    )
    name = f"vouch_bench_discovery_{secrets.token_hex(4)}"
    return (
        server.render_as_string(hide_password=False),
        server.set(database=name).render_as_string(hide_password=False),
    )


def _admin(server: str, sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _copy(conn: Any, table: str, columns: list[str], rows: Any) -> int:
    """COPY rows into a table through psycopg (the fast path for millions of rows)."""
    n = 0
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def seed(n: int) -> dict[str, int]:
    from sqlalchemy import text

    from api.db import get_engine, session_scope, utcnow
    from api.models import Brand, Campaign, Organization

    rng = random.Random(12)
    now = utcnow()
    with session_scope() as s:
        org = Organization(name="Bench")
        s.add(org)
        s.flush()
        brand = Brand(organization_id=org.id, name="B", default_currency="EUR")
        s.add(brand)
        s.flush()
        campaign = Campaign(
            organization_id=org.id,
            brand_id=brand.id,
            name="C",
            objective="CONVERSIONS",
            currency="EUR",
            landing_url="https://shop.example.com",
        )
        s.add(campaign)
        s.flush()
        ids = {"org": org.id, "brand": brand.id, "campaign": campaign.id}
    engine = get_engine()
    with engine.begin() as conn:
        start = time.perf_counter()
        followers = [int(rng.lognormvariate(10, 1.6)) + 100 for _ in range(n)]
        base = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM influencers")).scalar_one()
        _copy(
            conn,
            "influencers",
            [
                "id",
                "organization_id",
                "name",
                "languages",
                "niches",
                "customer_ids",
                "total_followers",
                "max_followers",
                "engagement_rate",
                "audience_quality_score",
                "created_at",
                "updated_at",
            ],
            (
                (
                    base + i + 1,
                    ids["org"],
                    f"Creator {i}",
                    '["en"]',
                    '["beauty"]',
                    "[]",
                    followers[i],
                    followers[i],
                    f"{rng.uniform(0.2, 9):.4f}",
                    rng.randint(20, 100),
                    now,
                    now,
                )
                for i in range(n)
            ),
        )
        conn.execute(text(f"SELECT setval('influencers_id_seq', {base + n})"))
        _copy(
            conn,
            "social_accounts",
            [
                "organization_id",
                "influencer_id",
                "platform",
                "handle",
                "handle_key",
                "followers",
                "following",
                "posts",
                "verified",
                "avg_likes",
                "avg_comments",
                "avg_views",
                "created_at",
                "updated_at",
            ],
            (
                (
                    ids["org"],
                    base + i + 1,
                    rng.choice(["INSTAGRAM", "TIKTOK", "YOUTUBE"]),
                    f"c{i}",
                    f"c{i}",
                    followers[i],
                    300,
                    200,
                    False,
                    followers[i] // 40,
                    followers[i] // 900,
                    0,
                    now,
                    now,
                )
                for i in range(n)
            ),
        )

        def facets() -> Any:
            for i in range(n):
                influencer = base + i + 1
                yield ids["org"], influencer, "NICHE", rng.choice(NICHES), 10_000
                yield ids["org"], influencer, "LANGUAGE", rng.choice(LANGUAGES), 10_000
                yield ids["org"], influencer, "PLATFORM", "INSTAGRAM", 10_000
                left = 10_000
                for country in rng.sample(COUNTRIES, 3):
                    share = rng.randint(0, left)
                    left -= share
                    yield ids["org"], influencer, "COUNTRY", country, share
                cuts = sorted(rng.sample(range(1, 10_000), 2))
                for band, share in zip(
                    rng.sample(AGES, 3), (cuts[0], cuts[1] - cuts[0], 10_000 - cuts[1]), strict=True
                ):
                    yield ids["org"], influencer, "AGE", band, share
                female = rng.randint(2_000, 8_000)
                yield ids["org"], influencer, "GENDER", "FEMALE", female
                yield ids["org"], influencer, "GENDER", "MALE", 10_000 - female

        facet_rows = _copy(
            conn,
            "influencer_facets",
            ["organization_id", "influencer_id", "kind", "key", "share"],
            facets(),
        )
        worked = rng.sample(range(n), min(n, 2_000))
        _copy(
            conn,
            "partnerships",
            [
                "organization_id",
                "campaign_id",
                "influencer_id",
                "status",
                "connection",
                "created_at",
                "updated_at",
            ],
            (
                (ids["org"], ids["campaign"], base + i + 1, "ACTIVE", "PAID", now, now)
                for i in worked
            ),
        )
        conn.execute(
            text(
                "INSERT INTO performance_rollups_hourly (partnership_id, link_id, hour, currency, "
                "organization_id, campaign_id, influencer_id, conversions, revenue, commission, "
                "fees) SELECT id, 0, date_trunc('hour', now()), 'EUR', organization_id, "
                "campaign_id, influencer_id, 3, 1000 + (id * 7919) % 90000, 500, 1000 "
                "FROM partnerships WHERE campaign_id = :c"
            ),
            {"c": ids["campaign"]},
        )
        print(
            f"seeded {n:,} influencers and accounts, {facet_rows:,} facets, {len(worked):,} "
            f"partnerships in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # also sets the visibility map: index-only scans
    return ids


def page_statement(session: Any, ids: dict[str, int], f: dict[str, Any], order: str | None) -> Any:
    """The statement `influencers(first: 50, filter:, orderBy:)` runs for its page."""
    from api.accounts.keys import Viewer
    from api.graphql.audience.types import AgeBand
    from api.graphql.context import Context
    from api.graphql.influencers.filters import (
        AudienceAgeBandFilter,
        AudienceCountryFilter,
        InfluencerFilter,
        InfluencerOrder,
        InfluencerOrderField,
        OrderDirection,
        apply_filter,
        apply_order,
    )
    from api.graphql.permissions import scoped
    from api.models import Influencer
    from api.models.enums import Role
    from tracker.globalid import encode

    ctx = Context(viewer=Viewer(key_id=0, organization_id=ids["org"], role=Role.MANAGER))
    ctx._session = session
    brand = encode("Brand", ids["brand"])
    flt = InfluencerFilter(
        niche=f.get("niche"),
        language=f.get("language"),
        min_followers=f.get("minFollowers"),
        max_followers=f.get("maxFollowers"),
        audience_country=AudienceCountryFilter(
            country=f["audienceCountry"][0], min_share=f["audienceCountry"][1]
        )
        if "audienceCountry" in f
        else None,
        audience_age_band=AudienceAgeBandFilter(
            band=AgeBand(f["audienceAgeBand"][0]), min_share=f["audienceAgeBand"][1]
        )
        if "audienceAgeBand" in f
        else None,
        worked_with_brand_id=brand if f.get("workedWithBrand") else None,  # type: ignore[arg-type]
    )
    stmt = apply_filter(scoped(Influencer, ctx.viewer), flt, ctx)
    by = (
        InfluencerOrder(
            field=InfluencerOrderField(order),
            direction=OrderDirection.DESC,
            brand_id=brand,  # type: ignore[arg-type]
        )
        if order
        else None
    )
    stmt, key = apply_order(stmt, by, ctx)
    keys = (
        [key.expression, Influencer.id] if key.expression is not Influencer.id else [Influencer.id]
    )
    ordering = [k.desc() if key.descending else k.asc() for k in keys]
    return stmt.order_by(*ordering).limit(51)


def explain(args: argparse.Namespace) -> int:
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from api.db import get_sessionmaker

    ids = seed(args.influencers)
    failures = []
    session = get_sessionmaker()()
    try:
        for name, f, order, selective in CASES:
            stmt = page_statement(session, ids, f, order)
            sql = str(
                stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
            )
            plan = [r[0] for r in session.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}"))]
            seq = any("Seq Scan on influencers" in line for line in plan)
            verdict = "SEQ SCAN of influencers" if seq else "index-backed"
            print(f"\n== {name}: {verdict}")
            print("\n".join(plan))
            if selective and seq:
                failures.append(name)
    finally:
        session.close()
    if failures:
        print(f"\nFAILED: sequential scans of influencers for {', '.join(failures)}")
        return 1
    print("\nevery selective filter reads influencers through an index")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--influencers", type=int, default=100_000)
    args = parser.parse_args()
    server, url = _url(args)
    name = url.rsplit("/", 1)[1]
    _admin(server, f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    try:
        from api.migrations import upgrade

        upgrade()
        return explain(args)
    finally:
        from api.db import get_engine

        get_engine().dispose()
        _admin(server, f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    sys.exit(main())
