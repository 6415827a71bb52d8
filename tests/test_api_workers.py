"""`API_WORKERS=2`: two uvicorn worker processes answer alike, because nothing that matters is
kept in a process's memory: the failed-authentication counters are in Redis, keys are read from
the database on every request."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from api.accounts.keys import find_by_prefix, prefix_of, revoke_key
from tests.redis_server import free_port
from tests.tracking_fixtures import redis_env_fixture  # noqa: F401 - redis_env

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 4


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _post(url: str, key: str) -> int:
    # a connection of its own each time: the kernel hands each to either worker process
    with httpx.Client(timeout=20) as client:
        answer = client.post(
            url, json={"query": "{ viewer { role } }"}, headers={"authorization": f"Bearer {key}"}
        )
    return answer.status_code


def test_two_api_workers_share_the_lockout_and_see_a_revocation_at_once(
    factory: Any, db: Any, redis_env: Any, tmp_path: Path
) -> None:
    org = factory.org()
    key = factory.key(org, "ADMIN")
    port = free_port()
    env = {
        **os.environ,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "API_WORKERS": "2",
        "AUTH_FAILURES_PER_CLIENT": str(LIMIT),
        "AUTH_FAILURES_PER_KEY": "0",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None and time.monotonic() < deadline, "no API"
                time.sleep(0.2)
        # two worker processes (and multiprocessing's resource tracker)
        assert len(_children(server.pid)) >= 2
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            good = list(pool.map(lambda _: _post(url, key), range(16)))
            assert good == [200] * 16
            bad = list(pool.map(lambda n: _post(url, f"vch_{n:08x}_nope"), range(4 * LIMIT)))
        # one count for the client, whichever process answered: LIMIT failures, then 429s
        assert sorted(bad) == [401] * LIMIT + [429] * (3 * LIMIT)
        for key_prefix in redis_env.client.scan_iter(match=f"{redis_env.prefix}:ratelimit:*"):
            redis_env.client.delete(key_prefix)  # unblock the client for what follows
        revoke_key(db, find_by_prefix(db, prefix_of(key)))  # type: ignore[arg-type]
        db.commit()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            after = list(pool.map(lambda _: _post(url, key), range(LIMIT)))
        assert after == [401] * LIMIT  # refused by both processes from the next request on
    finally:
        server.terminate()
        server.wait(30)
