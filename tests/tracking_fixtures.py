"""A real Redis for the tracking tests: TEST_REDIS_URL when set (CI), else a throwaway
`redis-server` on a free port. Either way the keys carry a random prefix, are deleted at the end,
and the API's settings and Redis client point at it while the tests run.

A test module imports `redis_env_fixture` and asks for the fixture `redis_env`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from tests.redis_server import RedisServer

_ENV = ("REDIS_URL", "REDIS_CLUSTER_URL", "REDIS_PREFIX")


def unseal(token: str) -> str:
    """A published or stored secret in clear, with the keys the API seals with."""
    from api.settings import get_settings
    from tracker.sealing import sealer

    return sealer(get_settings().secret_keys).unseal(token)


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


@pytest.fixture(scope="module", name="redis_env")
def redis_env_fixture() -> Iterator[RedisEnv]:
    from api.settings import reset_settings
    from api.tracking import publish

    url = os.environ.get("TEST_REDIS_URL", "").strip()
    server = workdir = None
    if not url:
        workdir = tempfile.mkdtemp(prefix="vouch-redis-")
        server = RedisServer(workdir).start()
        url = server.url
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
        if server is not None:
            server.stop()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
