"""`vouch serve`, `vouch tracker serve|republish`, `vouch worker`: one service each."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from api.cli.checks import DATABASE, REDIS, REDIS_MAY_BE_DOWN
from api.cli.common import session


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.log import dict_config
    from api.settings import get_settings
    from tracker.ports import ensure_free

    s = get_settings()
    host, port = args.host or s.host, args.port or s.port
    ensure_free(
        host, port, "--port" if args.port else "API_PORT", "--host" if args.host else "API_HOST"
    )
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers or s.workers,
        access_log=False,
        # uvicorn applies it in each worker process too: a spawned worker inherits no handlers
        log_config=dict_config(),
    )
    return 0


def cmd_tracker_serve(_args: argparse.Namespace) -> int:
    from tracker.server import serve
    from tracker.settings import load

    serve(load())
    return 0


def republish(progress: Callable[[int, int], None] | None = None) -> Any:
    """Rewrites the links and postback secrets in Redis from the database; their counts."""
    from api.tracking.publish import redis_client, republish_all

    with session() as db:
        return republish_all(db, redis_client(), progress)


def cmd_tracker_republish(_args: argparse.Namespace) -> int:
    from api.cli import progress

    counts = republish(lambda done, total: progress.show("links", done, total))
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
    p = add("serve", cmd_serve, "serve the GraphQL API", needs=(DATABASE, REDIS))
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int)
    tracker = sub.add_parser("tracker", help="the tracker edge service").add_subparsers(
        dest="tracker_command", required=True
    )
    add(
        "serve",
        cmd_tracker_serve,
        "serve redirects and postbacks",
        tracker,
        needs=(REDIS_MAY_BE_DOWN,),
    )
    add(
        "republish",
        cmd_tracker_republish,
        "rewrite the links and postback secrets in Redis from the database",
        tracker,
        needs=(DATABASE, REDIS),
    )
    add(
        "worker",
        cmd_worker,
        "consume the event streams into the database",
        needs=(DATABASE, REDIS),
    )
