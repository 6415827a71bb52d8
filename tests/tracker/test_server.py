"""`python -m tracker`: granian with our settings, JSON logs, a flush on SIGTERM."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.tracker.helpers import BROWSER_UA, free_port, link, publish, read_events
from tracker.log import JsonFormatter, configure_logging


@pytest.mark.parametrize("interface", ["rsgi", "asgi"])
def test_serve_redirects_ignores_untrusted_forwarded_for_and_flushes_on_sigterm(
    redis_url: str, prefix: str, sync_redis: redis.Redis, tmp_path: Path, interface: str
) -> None:
    publish(sync_redis, prefix, link("spring24"))
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "REDIS_CLUSTER_URL": "",
        "REDIS_PREFIX": prefix,
        "TRACKER_HOST": "127.0.0.1",
        "TRACKER_PORT": str(port),
        "TRACKER_SPOOL_DIR": str(tmp_path / "spool"),
        "TRACKER_FLUSH_DELAY_MS": "60000",  # only the shutdown flush writes
        "TRACKER_BATCH_SIZE": "1000",
        "TRUSTED_PROXIES": "",
        "TRACKER_INTERFACE": interface,
        "LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tracker"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                break
            except httpx.TransportError:
                assert process.poll() is None, "the tracker exited"
                assert time.monotonic() < deadline, "the tracker did not start"
                time.sleep(0.05)
        # the first GET looks the code up; over RSGI the second is answered from the cache
        # by the native path
        for _ in range(2):
            response = httpx.get(
                f"http://127.0.0.1:{port}/c/spring24",
                headers={"user-agent": BROWSER_UA, "x-forwarded-for": "203.0.113.9"},
            )
            assert response.status_code == 302
            assert response.headers["cache-control"] == "private, no-store"
        assert sync_redis.xlen(f"{prefix}:{{ev}}:clicks") == 0  # still buffered
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    # granian stops its worker, whose shutdown (RSGI's __rsgi_del__, ASGI's lifespan) flushes
    # the buffer, and exits
    assert process.returncode in (0, -signal.SIGTERM)
    first, repeat = read_events(sync_redis, prefix)
    assert first.ip == repeat.ip == "127.0.0.0"  # the untrusted X-Forwarded-For was ignored
    assert first.unique and not repeat.unique and repeat.click_id == first.click_id
    logs = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert any(entry["msg"] == "tracker started" for entry in logs)
    assert all({"ts", "level", "logger", "msg"} <= entry.keys() for entry in logs)


def test_json_formatter_carries_extras_and_exceptions() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream, fmt="json")
    try:
        logger = logging.getLogger("tracker.test")
        logger.info("hello %s", "world", extra={"code": "abc", "count": 3})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        configure_logging("WARNING")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "hello world" and first["level"] == "info"
    assert first["code"] == "abc" and first["count"] == 3
    assert first["logger"] == "tracker.test" and first["ts"].endswith("Z")
    assert second["level"] == "error" and "ValueError: boom" in second["exc"]
    assert isinstance(JsonFormatter().format(logging.makeLogRecord({"msg": "x"})), str)


def test_the_tracker_never_imports_the_api_or_its_orm() -> None:
    code = (
        "import sys, tracker.app, tracker.server, tracker.events, tracker.log\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'strawberry', 'api', 'alembic'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
