"""`vouch partitions ensure|list|detach`: the monthly partitions of the raw event tables on
PostgreSQL (`api.ingest.partitions`); the worker does `ensure` and the retention daily."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any


def _engine() -> Any:
    from api.db import get_engine

    engine = get_engine()
    if engine.dialect.name != "postgresql":
        print(
            f"{engine.dialect.name}: the event tables are not partitioned (PostgreSQL only); "
            "nothing to do"
        )
        return None
    return engine


def cmd_ensure(args: argparse.Namespace) -> int:
    from api.db import utcnow
    from api.ingest import partitions

    if args.months_ahead < 0:
        print("error: --months-ahead must be 0 or more", file=sys.stderr)
        return 2
    engine = _engine()
    if engine is None:
        return 0
    created = partitions.ensure(engine, utcnow(), args.months_ahead)
    for name in created:
        print(f"created {name}")
    if not created:
        print(f"every partition to {args.months_ahead} months ahead exists")
    return 0


def _day(moment: datetime | None, none: str) -> str:
    return f"{moment:%Y-%m-%d}" if moment else none


def cmd_list(_args: argparse.Namespace) -> int:
    from api.ingest import partitions

    engine = _engine()
    if engine is None:
        return 0
    with engine.begin() as conn:
        print(f"{'table':<14} {'partition':<24} {'from':<10} {'to':<10} {'rows (est.)':>12}")
        for table in partitions.TABLES:
            for p in partitions.partitions(conn, table):
                rows = "?" if p.rows < 0 else f"{p.rows:,}"
                note = "  (detach pending: `vouch partitions detach` finishes it)"
                print(
                    f"{table:<14} {p.name:<24} {_day(p.lower, 'start'):<10} "
                    f"{_day(p.upper, 'end'):<10} {rows:>12}{note if p.detach_pending else ''}"
                )
        for name in partitions.detached(conn):
            print(f"detached, not dropped: {name}")
    return 0


def cmd_detach(args: argparse.Namespace) -> int:
    from api.db import utcnow
    from api.ingest import partitions
    from api.settings import get_settings

    months = args.older_than
    if months is None:
        months = get_settings().click_retention_months or None
    if months is None:
        print(
            "error: give --older-than MONTHS or set CLICK_RETENTION_MONTHS (0 keeps every month)",
            file=sys.stderr,
        )
        return 2
    if months < 1:
        print("error: --older-than must be at least 1 (months)", file=sys.stderr)
        return 2
    engine = _engine()
    if engine is None:
        return 0
    now = utcnow()
    with engine.begin() as conn:
        cutoff = partitions.safe_cutoff(conn, now, months)
    if cutoff < partitions.retention_cutoff(now, months):
        print(
            f"a campaign's attribution window reaches back to {cutoff:%Y-%m-%d}: "
            "keeping the clicks since then"
        )
    done = partitions.detach(engine, cutoff, drop=args.drop)
    for name in done:
        print(f"{'dropped' if args.drop else 'detached'} {name}")
    if not done:
        print(f"no click or orphan-visit partition ends before {cutoff:%Y-%m-%d}")
    return 0


def register(sub: Any, add: Any) -> None:
    group = sub.add_parser(
        "partitions", help="monthly partitions of the raw event tables (PostgreSQL)"
    ).add_subparsers(dest="partitions_command", required=True)
    p = add("ensure", cmd_ensure, "create the months ahead that do not exist yet", group)
    p.add_argument("--months-ahead", type=int, default=3, help="how many months ahead (3)")
    add("list", cmd_list, "the partitions, their bounds and estimated rows", group)
    p = add(
        "detach",
        cmd_detach,
        "detach (CONCURRENTLY) click and orphan-visit months past the retention",
        group,
    )
    p.add_argument(
        "--older-than",
        type=int,
        help="months kept besides the current one (default: CLICK_RETENTION_MONTHS)",
    )
    p.add_argument("--drop", action="store_true", help="drop the detached tables too")
