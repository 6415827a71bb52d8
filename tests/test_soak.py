"""`make soak`, shorter: the Redis Cluster (3 masters + 3 replicas), 2 trackers, 2 workers and the
API under load for 24 s while every fault happens once, then every count checked (bench/soak.py
says what). On PostgreSQL when TEST_DATABASE_URL is set (a database of its own on that server),
else on a SQLite file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_soak_with_faults_loses_and_doubles_nothing() -> None:
    missing = [tool for tool in ("redis-server", "redis-cli") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: the soak runs a real Redis Cluster")
    on_postgres = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
    command = [
        sys.executable, str(ROOT / "bench" / "soak.py"), "--duration", "24", "--rate", "40",
        "--order-rate", "3", "--api-rate", "2", "--pause", "2", "--drain-timeout", "90",
    ]  # fmt: skip
    if not on_postgres:
        command.append("--sqlite")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_CLUSTER_URL")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    assert "PASS: every check holds" in done.stdout, out[-6000:]
    # every fault happened
    for fault in (
        "worker 0 killed",
        "CLUSTER FAILOVER",
        "tracker 1 restarted",
        "database paused",
        "streams' master",
    ):
        assert fault in done.stdout, out[-6000:]
