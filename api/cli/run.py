"""`vouch run`: everything for a local try-out, in one command.

It checks both ports, starts the embedded Redis unless REDIS_URL is set, migrates, seeds an
empty database, then starts the API, the tracker, the ingest worker and the webhook dispatcher
as child processes and prints the banner once the API and the tracker answer. Ctrl-C, SIGTERM
or SIGHUP, or any child exiting, stops them all: each child runs in its own process group (so
its own workers, uvicorn's or granian's, are signalled with it and killed with it if it hangs),
and the embedded redis-server this process started is shut down last. Nothing is left running.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.cli import progress
from api.cli.checks import DATABASE, REDIS
from api.cli.common import print_keys, session

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_TIMEOUT = 10.0  # a child still running this long after SIGTERM is killed, with its workers
START_TIMEOUT = 120.0


class Stop(BaseException):
    """A signal asked `vouch run` to stop (raised by its handler, wherever the main thread is)."""


class _Signals:
    """SIGINT/SIGTERM/SIGHUP raise `Stop`, except inside `held()` (starting a process whose
    handle must not be lost), where the stop waits until the block ends."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._held = 0

    def install(self) -> None:
        for sig in SIGNALS:
            signal.signal(sig, self._handle)

    def ignore(self) -> None:
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    def _handle(self, signum: int, _frame: Any) -> None:
        first = self.received is None
        self.received = signum
        if first and not self._held:  # a second signal must not cut the clean-up short
            raise Stop

    @contextmanager
    def held(self) -> Iterator[None]:
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
        if self.received is not None and not self._held:  # a signal came while held
            raise Stop


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def start(name: str, args: list[str], env: dict[str, str]) -> Child:
    # Its own process group: a terminal's Ctrl-C reaches only `vouch run`, which stops the
    # children in order, and a stop reaches every process a child started.
    command = [sys.executable, "-m", "api.cli", *args]
    return Child(name, subprocess.Popen(command, env=env, process_group=0))


def stop_all(children: list[Child]) -> None:
    """SIGTERM to each child's group, SIGKILL to any group still there after STOP_TIMEOUT."""
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(
                f"the {child.name} did not stop within {STOP_TIMEOUT:g} s: killed", file=sys.stderr
            )
    # the group outlives its leader if a worker of it hangs
    for child in children:
        while _group_alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal_group(child, signal.SIGKILL)
        child.process.wait()


def _signal_group(child: Child, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone
        os.killpg(child.process.pid, sig)


def _group_alive(child: Child) -> bool:
    try:
        os.killpg(child.process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_until_up(children: list[Child], urls: list[str]) -> Child | None:
    """Waits until every URL answers; the child that exited meanwhile, if one did."""
    deadline = time.monotonic() + START_TIMEOUT
    pending = list(urls)
    while pending:
        for child in children:
            if child.process.poll() is not None:
                return child
        pending = [url for url in pending if not _answers(url)]
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{', '.join(pending)} did not answer within {START_TIMEOUT} s")
            time.sleep(0.2)
    return None


def vouch_command() -> str:
    """How to call `vouch` from here: the script next to this Python (`.venv/bin/vouch`: it is
    not on PATH), relative to the working directory when it is under it."""
    script = Path(sys.executable).parent / "vouch"
    if not script.exists():
        return "vouch"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def keys_hint(org: Any) -> str:
    vouch = vouch_command()
    return (
        f"Demo data already present; list keys with `{vouch} keys list` or make one with "
        f"`{vouch} keys create --org {org.id} --role ADMIN`."
    )


def prepare() -> tuple[Any, Any]:
    """Migrates, seeds an empty database and fills Redis: (the seed's result or None, the first
    organization). Says only what a person needs: a migration applied, the seeding progress."""
    from sqlalchemy import select

    from api import demo
    from api.cli.services import republish
    from api.migrations import upgrade
    from api.models import Organization

    summary = upgrade().summary()
    if summary:
        print(summary, file=sys.stderr)
    result = None
    with session() as db:
        if demo.is_empty(db):
            result = demo.seed(db, progress=progress.show)
        org = db.scalars(select(Organization).order_by(Organization.id).limit(1)).first()
    republish()
    return result, org


def print_banner(settings: Any, redis_url: str, result: Any, org: Any) -> None:
    tracker = settings.tracker.public_url
    print(
        f"\nVouch is running:\n  sign in   {settings.public_url}/signin\n"
        f"  GraphiQL  http://{settings.host}:{settings.port}/graphql\n"
        f"  tracker   {tracker}/c/<code>\n  redis     {redis_url}"
    )
    if result is not None:
        print_keys(result)
        if getattr(result, "demo_link_code", None):
            print(f"\nDemo tracked link: {tracker}/c/{result.demo_link_code}")
    elif org is not None:
        print("\n" + keys_hint(org))
    print("\nCtrl-C stops everything.", flush=True)


def cmd_run(_args: argparse.Namespace) -> int:
    """Migrate, seed when empty, then the API, the tracker, the ingest worker and the webhook
    dispatcher as child processes sharing one Redis (embedded unless REDIS_URL is set)."""
    from api.settings import get_settings, reset_settings
    from tracker.ports import ensure_free
    from tracker.redis_client import effective_url, stop_embedded
    from tracker.settings import mask_url

    settings = get_settings()
    # Before anything starts: a taken port would otherwise show only after the banner.
    ensure_free(settings.host, settings.port, "API_PORT", "API_HOST")
    ensure_free(settings.tracker.host, settings.tracker.port, "TRACKER_PORT", "TRACKER_HOST")
    env = dict(os.environ)
    if "LOG_LEVEL" not in env:
        # The banner says what is running; the children log warnings and errors under it.
        env["LOG_LEVEL"] = "WARNING"
        logging.getLogger().setLevel(logging.WARNING)
    signals = _Signals()
    signals.install()
    children: list[Child] = []
    code = 0
    try:
        if not (settings.redis.url or settings.redis.cluster_url):
            with signals.held():  # the server is stopped below only if its handle is kept
                url, _ = effective_url(settings.redis)
            env["REDIS_URL"] = os.environ["REDIS_URL"] = url
            reset_settings()
        result, org = prepare()
        with signals.held():
            children += [
                start("API", ["serve"], env),
                start("tracker", ["tracker", "serve"], env),
                start("worker", ["worker"], env),
                start("webhook dispatcher", ["webhooks"], env),
            ]
        s = get_settings()
        died = wait_until_up(
            children,
            [f"http://{s.host}:{s.port}/healthz", f"{s.tracker.public_url}/healthz"],
        )
        if died is None:
            print_banner(s, mask_url(s.redis.url or s.redis.cluster_url), result, org)
            while (
                died := next((c for c in children if c.process.poll() is not None), None)
            ) is None:
                time.sleep(0.3)
        print(
            f"error: the {died.name} exited (status {died.process.returncode}): "
            "stopping everything",
            file=sys.stderr,
        )
        code = 1
    except Stop:
        pass
    except TimeoutError as error:
        print(f"error: {error}: stopping everything", file=sys.stderr)
        code = 1
    finally:
        signals.ignore()  # the clean-up is bounded (STOP_TIMEOUT): it is not interrupted
        stop_all(children)
        stop_embedded()
    return code


def register(_sub: Any, add: Any) -> None:
    add(
        "run",
        cmd_run,
        "migrate, seed and start API + tracker + worker + webhook dispatcher",
        needs=(DATABASE, REDIS),
    )
