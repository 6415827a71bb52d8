"""`vouch serve`, `vouch tracker serve|republish`, `vouch worker`: one service each."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli.common import session


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.settings import get_settings

    s = get_settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host or s.host,
        port=args.port or s.port,
        workers=args.workers or s.workers,
        access_log=False,
        log_config=None,
    )
    return 0


def cmd_tracker_serve(_args: argparse.Namespace) -> int:
    from tracker.server import serve
    from tracker.settings import load

    serve(load())
    return 0


def cmd_tracker_republish(_args: argparse.Namespace) -> int:
    from api.cli import progress
    from api.tracking.publish import redis_client, republish_all

    with session() as db:
        counts = republish_all(
            db, redis_client(), lambda done, total: progress.show("links", done, total)
        )
    print(
        f"Republished {counts.links} links and the postback secrets of {counts.brands} brands; "
        f"removed {counts.removed} stale keys"
        + (f"; skipped {counts.skipped} links that make no valid record" if counts.skipped else ""),
        file=sys.stderr,
    )
    return 0


def cmd_worker(_args: argparse.Namespace) -> int:
    from api.ingest import run_worker

    run_worker()
    return 0


def register(sub: Any, add: Any) -> None:
    p = add("serve", cmd_serve, "serve the GraphQL API")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int)
    tracker = sub.add_parser("tracker", help="the tracker edge service").add_subparsers(
        dest="tracker_command", required=True
    )
    add("serve", cmd_tracker_serve, "serve redirects and postbacks", tracker)
    add(
        "republish",
        cmd_tracker_republish,
        "rewrite the links and postback secrets in Redis from the database",
        tracker,
    )
    add("worker", cmd_worker, "consume the event streams into the database")
