"""The `vouch` command as an operator meets it, run in a subprocess as a shell would: a bad
setting is one line and a non-zero exit, a taken port is refused before anything starts,
`vouch run` stops every process it started, and the logs read as sentences."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.tracker.helpers import RedisServer, free_port
from tracker.settings import mask_url

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3t-Passw0rd"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh shell: embedded defaults under tmp_path, free ports."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "REDIS_CLUSTER_URL", "LOG_FORMAT", "LOG_LEVEL"}
        and not k.startswith(("API_", "TRACKER_"))
    }
    env.update(
        VOUCH_DATA_DIR=str(tmp_path / "var"),
        API_PORT=str(free_port()),
        TRACKER_PORT=str(free_port()),
        TRACKER_SPOOL_DIR=str(tmp_path / "spool"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def vouch(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def vouch_all(
    commands: list[list[str]], env: dict[str, str], timeout: float = 60
) -> list[subprocess.CompletedProcess[str]]:
    """`vouch` with each of these arguments, all at once (they are independent)."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "api.cli", *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = []
    for args, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return results


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- bad settings: one line naming the variable, the password masked, a non-zero exit -------


def test_mask_url_hides_the_password_only() -> None:
    assert mask_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert mask_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert mask_url("unix://:pw@/run/redis.sock") == "unix://:***@/run/redis.sock"
    assert (
        mask_url("postgresql://h/db?user=u&password=pw") == "postgresql://h/db?user=u&password=***"
    )
    # nothing to hide: unchanged, even the forms urllib would rewrite
    for url in ("sqlite:////tmp/x.db", "redis://h:6379/0", "postgresql://u@h/db", "not a url"):
        assert mask_url(url) == url


def _refused_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


DATABASE_FAILURES = {
    "unknown scheme": (f"foo://u:{SECRET}@h/db", "unknown scheme 'foo'"),
    "not a URL": ("not a url", "not a database URL"),
    "port not a number": (f"postgresql://u:{SECRET}@h:port/db", "not a database URL"),
    "wrong host": (f"postgresql://u:{SECRET}@no-such-host.invalid/db", "no-such-host.invalid"),
    "refused": (
        f"postgresql://u:{SECRET}@127.0.0.1:{_refused_port()}/db",
        "Connection refused",
    ),
    "sqlite file that cannot be opened": (
        "sqlite:////nonexistent-dir/vouch.db",
        "unable to open database file",
    ),
}


def assert_one_line(result: subprocess.CompletedProcess[str], variable: str, *words: str) -> str:
    assert result.returncode != 0, result
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    found = lines(result.stderr)
    assert len(found) == 1, result.stderr
    line = found[0]
    assert line.startswith(f"error: {variable} "), line
    for word in words:
        assert word in line, line
    assert lines(result.stdout) == []
    return line


@pytest.mark.parametrize("kind", DATABASE_FAILURES)
def test_a_bad_database_url_is_one_line(tmp_path: Path, kind: str) -> None:
    url, problem = DATABASE_FAILURES[kind]
    line = assert_one_line(
        vouch("migrate", env=clean_env(tmp_path, DATABASE_URL=url)), "DATABASE_URL", problem
    )
    if SECRET in url:
        assert mask_url(url) in line and ":***@" in line


DATABASE_COMMANDS = [
    ["serve"],
    ["worker"],
    ["run"],
    ["demo"],
    ["tracker", "republish"],
    ["keys", "create", "--org", "1", "--role", "ADMIN"],
    ["statements", "export", "--period", "2024-01"],
    ["org", "create", "Acme"],
]


def test_every_command_using_the_database_checks_it_first(tmp_path: Path) -> None:
    url = f"postgresql://u:{SECRET}@127.0.0.1:{_refused_port()}/db"
    results = vouch_all(DATABASE_COMMANDS, env=clean_env(tmp_path, DATABASE_URL=url))
    for result in results:
        assert_one_line(result, "DATABASE_URL", "Connection refused", "u:***@127.0.0.1")


def test_a_database_that_refuses_the_user_is_one_line(tmp_path: Path) -> None:
    """An authentication failure (PostgreSQL here trusts local users, so: an unknown role)."""
    base = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    from sqlalchemy.engine import make_url

    server = make_url(base)
    try:
        socket.create_connection((server.host or "127.0.0.1", server.port or 5432), 1).close()
    except OSError:
        pytest.skip("no PostgreSQL server to refuse the user")
    url = f"postgresql://no_such_role:{SECRET}@{server.host}:{server.port or 5432}/vouch"
    result = vouch("migrate", env=clean_env(tmp_path, DATABASE_URL=url))
    assert_one_line(result, "DATABASE_URL", 'role "no_such_role" does not exist')


@pytest.fixture(scope="module")
def password_redis(tmp_path_factory: Any) -> Any:
    """A Redis that wants the password "right"."""
    server = RedisServer(str(tmp_path_factory.mktemp("redis-auth"))).start()
    redis.Redis(port=server.port).config_set("requirepass", "right")
    yield server
    server.stop()


def redis_failures(password_redis: Any) -> dict[str, tuple[str, str]]:
    return {
        "unknown scheme": (f"foo://:{SECRET}@h:6379/0", "unknown scheme 'foo'"),
        "wrong host": (f"redis://:{SECRET}@no-such-host.invalid:6379/0", "no-such-host.invalid"),
        "refused": (f"redis://:{SECRET}@127.0.0.1:{_refused_port()}/0", "Connection refused"),
        "wrong password": (
            f"redis://:{SECRET}@127.0.0.1:{password_redis.port}/0",
            "authentication failed",
        ),
        "no password": (
            f"redis://127.0.0.1:{password_redis.port}/0",
            "the server wants a password and the URL has none",
        ),
    }


@pytest.mark.parametrize(
    "kind", ["unknown scheme", "wrong host", "refused", "wrong password", "no password"]
)
def test_a_bad_redis_url_is_one_line(tmp_path: Path, password_redis: Any, kind: str) -> None:
    url, problem = redis_failures(password_redis)[kind]
    result = vouch("tracker", "serve", env=clean_env(tmp_path, REDIS_URL=url))
    assert_one_line(result, "REDIS_URL", problem)


def test_every_command_using_redis_checks_it_first(tmp_path: Path, password_redis: Any):
    url = f"redis://:{SECRET}@127.0.0.1:{password_redis.port}/0"
    commands = [["serve"], ["worker"], ["run"], ["tracker", "republish"]]
    for result in vouch_all(commands, env=clean_env(tmp_path, REDIS_URL=url)):
        assert_one_line(result, "REDIS_URL", "authentication failed", ":***@127.0.0.1")


def test_a_cluster_url_that_is_no_cluster_is_one_line(tmp_path: Path, password_redis: Any):
    url = f"redis://:right@127.0.0.1:{password_redis.port}"
    result = vouch("worker", env=clean_env(tmp_path, REDIS_CLUSTER_URL=url))
    assert_one_line(result, "REDIS_CLUSTER_URL", "Cluster", ":***@127.0.0.1")
    assert "right" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("API_PORT", "eighty", "not a whole number"),
        ("TRACKER_CACHE_TTL", "soon", "not a number"),
        ("TRACKER_INTERFACE", "wsgi", "must be one of rsgi, asgi"),
    ],
)
def test_a_setting_that_is_not_a_number_is_one_line(tmp_path, variable, value, problem) -> None:
    result = vouch("worker", env=clean_env(tmp_path, **{variable: value}))
    assert_one_line(result, variable, repr(value), problem)


def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = clean_env(tmp_path)
    env["VOUCH_DATA_DIR"] = str(blocker / "var")
    assert_one_line(vouch("migrate", env=env), "VOUCH_DATA_DIR", "cannot create it")
