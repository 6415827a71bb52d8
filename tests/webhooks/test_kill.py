"""Killing the dispatcher at any moment loses no event: a receiver that counts, a dispatcher
subprocess killed with SIGKILL while it sends, another started: every event arrives at least
once, every time with its own webhook-id and a signature that verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from standardwebhooks import Webhook

from api.webhooks import endpoints, outbox
from tests.webhooks.receiver import receiver

EVENTS = 40


def _dispatcher() -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ALLOW_PRIVATE_URLS": "1",
        "WEBHOOK_CLAIM_SECONDS": "1",  # a killed round's claims are free again after 1 s
        "WEBHOOK_POLL_SECONDS": "0.05",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "webhooks"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(condition, timeout: float, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the dispatcher exited: {process.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.mark.slow
def test_kill_9_mid_run_delivers_every_event_at_least_once(db, factory, private_urls):
    org = factory.org()
    # slow answers: the kill lands while requests are out and answers not yet recorded
    with receiver(delay=0.15) as hook:
        _row, secret = endpoints.create(db, org.id, hook.url, ["payout_batch.paid"], None)
        ids = {outbox.emit(db, "payout_batch.paid", org.id, {"n": n}) for n in range(EVENTS)}
        db.commit()
        first = _dispatcher()
        try:
            _wait(lambda: len(hook.requests) >= 5, 30, "the first deliveries", first)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        at_kill = len(hook.requests)
        assert at_kill < EVENTS  # killed mid-run
        second = _dispatcher()
        try:
            _wait(lambda: set(hook.ids()) >= ids, 30, "every event", second)
        finally:
            second.terminate()
            assert second.wait(10) == 0  # SIGTERM: a clean stop
    counts = Counter(hook.ids())
    assert set(counts) == ids
    for got in hook.requests:  # a resent event is the same event, signed again
        assert Webhook(secret).verify(got.body, got.headers)["type"] == "payout_batch.paid"
    bodies: dict[str, bytes] = {}
    for got in hook.requests:
        assert bodies.setdefault(got.headers["webhook-id"], got.body) == got.body
