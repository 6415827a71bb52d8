"""`vouch clickhouse status|backfill|sink`: the analytics sink on ClickHouse (`api.clickhouse`).
The worker runs the sink itself when CLICKHOUSE_URL is set; `sink` runs it as a process of its
own (one at a time either way: a Redis lock)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from api.cli.checks import DATABASE, REDIS


def _client() -> Any:
    from api.clickhouse.client import connect
    from api.settings import get_settings

    url = get_settings().clickhouse_url
    if not url:
        print("error: CLICKHOUSE_URL is not set", file=sys.stderr)
        return None
    return connect(url)


def _sessions() -> Any:
    from sqlalchemy.orm import sessionmaker

    from api.db import get_engine

    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def cmd_status(_args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from api.clickhouse.sink import load_state
    from api.models.events import Click, Conversion, Refund

    client = _client()
    if client is None:
        return 2
    state = load_state(client)
    print(f"{'table':<12} {'database':>12} {'clickhouse':>12}  watermark")
    with _sessions()() as session:
        for name, model in (("clicks", Click), ("conversions", Conversion), ("refunds", Refund)):
            rows = int(session.scalar(select(func.count()).select_from(model)) or 0)
            copied = int(client.query(f"SELECT count() FROM {name} FINAL")[0][0])
            print(f"{name:<12} {rows:>12,} {copied:>12,}  {state.get(name, 0)}")
    return 0


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def cmd_backfill(args: argparse.Namespace) -> int:
    from api.cli import progress
    from api.clickhouse.sink import backfill

    client = _client()
    if client is None:
        return 2
    if args.chunk < 1:
        print("error: --chunk must be 1 or more", file=sys.stderr)
        return 2
    copied = backfill(
        client,
        _sessions(),
        since=args.since,
        chunk=args.chunk,
        progress=progress.show,
        resume=not args.restart,
    )
    for name, n in copied.items():
        print(f"{name}: {n:,} rows copied")
    return 0


def _watch_parent(pid: int, stop: threading.Event) -> None:
    """Stops the sink once the worker that started it is gone (even after a kill -9)."""
    import os

    while not stop.wait(1.0):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop.set()
        except PermissionError:
            pass


def cmd_sink(args: argparse.Namespace) -> int:
    import os
    import socket

    from api.clickhouse.sink import SinkThread
    from api.settings import get_settings
    from tracker.redis_client import sync_client

    settings = get_settings()
    if _client() is None:
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    redis_client = sync_client(settings.redis)
    sink = SinkThread(
        settings.clickhouse_url,
        _sessions(),
        redis_client,
        settings.redis.prefix,
        f"{socket.gethostname()}-{os.getpid()}-sink",
        stop,
    )
    if args.parent:
        threading.Thread(target=_watch_parent, args=(args.parent, stop), daemon=True).start()
    else:
        print("copying to ClickHouse until stopped (Ctrl-C)", file=sys.stderr)
    sink.start()
    sink.join()
    redis_client.close()
    return 0


def register(sub: Any, add: Any) -> None:
    group = sub.add_parser(
        "clickhouse", help="the analytics sink on ClickHouse (CLICKHOUSE_URL)"
    ).add_subparsers(dest="clickhouse_command", required=True)
    add("status", cmd_status, "rows in the database and in ClickHouse, and the watermarks", group)
    p = add(
        "backfill",
        cmd_backfill,
        "copy every click, conversion and refund (resumable; rows copied twice count once)",
        group,
    )
    p.add_argument("--since", type=_day, help="only events from this day on (YYYY-MM-DD, UTC)")
    p.add_argument("--chunk", type=int, default=10_000, help="rows a statement (10000)")
    p.add_argument(
        "--restart", action="store_true", help="start from the beginning, not where it stopped"
    )
    p = add(
        "sink",
        cmd_sink,
        "copy what is committed, as its own process (instead of the worker's thread)",
        group,
        needs=(DATABASE, REDIS),
    )
    p.add_argument("--parent", type=int, help=argparse.SUPPRESS)  # the worker that started it
