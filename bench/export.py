"""Statements export: time and peak memory for 100k and 1M ledger entries.

Each size gets its own SQLite database (or a PostgreSQL database when BENCH_DATABASE_URL names a
server, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); the export then runs in a fresh
process whose peak RSS is read from the kernel, so the figures compare memory at 100k and 1M
rows side by side. Target: peak memory constant in the number of rows.

    .venv/bin/python bench/export.py [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Run as a script, bench/ comes first on sys.path and would shadow the `tracker` package.
sys.path[0] = ROOT
PERIOD = "2026-10"


def build(url: str, rows: int) -> None:
    """A migrated database with one organization, 200 influencers and `rows` ledger entries."""
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import insert

    from api.db import get_engine, session_scope
    from api.demo import print_progress
    from api.migrations import upgrade
    from api.models import Brand, Campaign, Influencer, Organization, Partnership
    from api.models.ledger import LedgerEntry

    upgrade()
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
        influencers = [
            Influencer(
                organization_id=org.id,
                name=f"Creator {i}",
                languages=[],
                niches=[],
                customer_ids=[],
            )
            for i in range(200)
        ]
        s.add_all(influencers)
        s.flush()
        partnerships = [
            Partnership(
                organization_id=org.id,
                campaign_id=campaign.id,
                influencer_id=i.id,
                status="ACTIVE",
                connection="PAID",
            )
            for i in influencers
        ]
        s.add_all(partnerships)
        s.flush()
        ids = [(p.influencer_id, p.id) for p in partnerships]
        org_id, campaign_id = org.id, campaign.id
    start = datetime(2026, 10, 1, tzinfo=UTC)
    engine = get_engine()
    batch = 20_000
    run = secrets.token_hex(3)
    for offset in range(0, rows, batch):
        values = []
        for n in range(offset, min(rows, offset + batch)):
            influencer_id, partnership_id = ids[n % len(ids)]
            at = start + timedelta(seconds=n % (30 * 86_400))
            values.append(
                {
                    "organization_id": org_id,
                    "influencer_id": influencer_id,
                    "partnership_id": partnership_id,
                    "campaign_id": campaign_id,
                    "kind": "COMMISSION" if n % 10 else "REVERSAL",
                    "amount": (n % 5_000 + 1) * (1 if n % 10 else -1),
                    "currency": "EUR",
                    "source_type": "MANUAL",
                    "source_id": None,
                    "created_at": at,
                    "available_at": at,
                    "idempotency_key": f"bench:{run}:{n}",
                    "memo": "",
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(LedgerEntry), values)
        print_progress(f"inserting ({url.split(':')[0]})", min(rows, offset + batch), rows)


def export_only(url: str) -> None:
    """Runs in its own process: streams the export to /dev/null, prints rows, seconds, peak RSS."""
    import resource

    os.environ["DATABASE_URL"] = url
    from api.db import session_scope
    from api.finance.export import entry_rows

    started = time.perf_counter()
    lines = 0
    with session_scope() as session, open(os.devnull, "w") as sink:
        for line in entry_rows(session, PERIOD):
            sink.write(line)
            lines += 1
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{lines - 1} {seconds:.3f} {peak_kib}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--export-only")
    parser.add_argument("--build")
    parser.add_argument("--rows", type=int, default=0)
    args = parser.parse_args()
    if args.build:
        build(args.build, args.rows)
        return 0
    if args.export_only:
        export_only(args.export_only)
        return 0
    server = os.environ.get("BENCH_DATABASE_URL", "").rstrip("/")
    results = []
    with tempfile.TemporaryDirectory(prefix="vouch-bench-export-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            if server:
                from sqlalchemy import create_engine, text

                name = f"vouch_bench_{secrets.token_hex(4)}"
                admin = create_engine(
                    server.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
                )
                with admin.connect() as c:
                    c.execute(text(f'CREATE DATABASE "{name}"'))
                url = server.rsplit("/", 1)[0] + f"/{name}"
            else:
                url = f"sqlite:///{tmp}/export-{size}.db"
            subprocess.run(
                [sys.executable, __file__, "--build", url, "--rows", str(size)],
                check=True,
                cwd=ROOT,
            )
            out = subprocess.run(
                [sys.executable, __file__, "--export-only", url],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            ).stdout.split()
            rows, seconds, peak = int(out[0]), float(out[1]), int(out[2])
            results.append((size, rows, seconds, peak))
            print(
                f"{rows:>10,} rows  {seconds:7.2f} s  {rows / seconds:>10,.0f} rows/s  "
                f"peak RSS {peak / 1024:7.1f} MiB",
                flush=True,
            )
            if server:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    if len(results) >= 2:
        small, large = results[0], results[-1]
        print(
            f"rows x{large[1] / small[1]:.1f}: time x{large[2] / small[2]:.1f}, "
            f"peak memory x{large[3] / small[3]:.2f} (constant memory means about x1)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
