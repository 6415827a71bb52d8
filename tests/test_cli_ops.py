"""The `vouch` command as an operator meets it, run in a subprocess as a shell would: a bad
setting is one line and a non-zero exit, a taken port is refused before anything starts,
`vouch run` stops every process it started, and the logs read as sentences."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.redis_server import RedisServer, free_port
from tracker.settings import mask_url

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3t-Passw0rd"


# These start `vouch run` or services in subprocesses on the embedded defaults (clean_env), so
# they test the same thing in both legs of `make test`: they run once, in the embedded leg.
embedded_leg_only = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="on the embedded defaults whatever the leg: run once, in the embedded leg",
)


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
    runs: list[tuple[list[str], dict[str, str]]], timeout: float = 60
) -> list[subprocess.CompletedProcess[str]]:
    """`vouch` with each of these arguments and environments, all at once (they are
    independent)."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "api.cli", *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args, env in runs
    ]
    results = []
    for (args, _), process in zip(runs, processes, strict=True):
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
    env = clean_env(tmp_path, DATABASE_URL=url)
    results = vouch_all([(command, env) for command in DATABASE_COMMANDS])
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
    result = vouch("worker", env=clean_env(tmp_path, REDIS_URL=url))
    assert_one_line(result, "REDIS_URL", problem)


@pytest.mark.parametrize("kind", ["unknown scheme", "wrong password", "no password"])
def test_the_tracker_refuses_a_redis_setting_that_cannot_work(
    tmp_path: Path, password_redis: Any, kind: str
) -> None:
    url, problem = redis_failures(password_redis)[kind]
    result = vouch("tracker", "serve", env=clean_env(tmp_path, REDIS_URL=url))
    assert_one_line(result, "REDIS_URL", problem)


@embedded_leg_only
def test_the_tracker_starts_while_redis_is_down_and_says_so(tmp_path: Path) -> None:
    """It redirects from its cache and spools the clicks until Redis is back: a Redis that
    does not answer is an outage to ride out, not a setting to refuse."""
    url = f"redis://:{SECRET}@127.0.0.1:{_refused_port()}/0"
    env = clean_env(tmp_path, REDIS_URL=url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "tracker", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        healthy = False
        while time.monotonic() < deadline and proc.poll() is None and not healthy:
            try:
                port = env["TRACKER_PORT"]
                healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code > 0
            except httpx.HTTPError:
                time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    [warning] = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "REDIS_URL" in warning and "Connection refused" in warning and "spool" in warning
    assert SECRET not in err


def test_every_command_using_redis_checks_it_first(tmp_path: Path, password_redis: Any):
    url = f"redis://:{SECRET}@127.0.0.1:{password_redis.port}/0"
    commands = [["serve"], ["worker"], ["run"], ["tracker", "republish"]]
    env = clean_env(tmp_path, REDIS_URL=url)
    for result in vouch_all([(command, env) for command in commands]):
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


# --- ports: a taken one is refused in one line, before any banner or child --------------------


@pytest.fixture(scope="module")
def plain_redis(tmp_path_factory: Any) -> Any:
    server = RedisServer(str(tmp_path_factory.mktemp("redis"))).start()
    yield server
    server.stop()


@contextlib.contextmanager
def listening(reuse_port: bool = True) -> Iterator[int]:
    """A port something listens on; SO_REUSEPORT as granian binds (a second granian on it
    would start beside it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen[Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=0.5):
                return
        except OSError:
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.1)


@embedded_leg_only
def test_a_second_tracker_on_a_taken_port_is_refused(tmp_path: Path, plain_redis: Any) -> None:
    env = clean_env(tmp_path, REDIS_URL=plain_redis.url)
    first = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "tracker", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{env['TRACKER_PORT']}/healthz", first)
        second = vouch("tracker", "serve", env=env)
    finally:
        first.terminate()
        first.wait(15)
    port = env["TRACKER_PORT"]
    assert second.returncode != 0
    assert lines(second.stderr) == [
        f"error: port {port} is already in use (TRACKER_PORT); stop the other process or set "
        "TRACKER_PORT to a free port"
    ]


@embedded_leg_only
def test_taken_ports_are_refused_before_anything_starts(tmp_path: Path) -> None:
    with listening() as api, listening() as tracker:
        env = clean_env(tmp_path)
        runs = [
            ("API_PORT", ["serve"], {"API_PORT": str(api)}),
            ("--port", ["serve", "--port", str(api)], {}),
            ("API_PORT", ["run"], {"API_PORT": str(api)}),
            ("TRACKER_PORT", ["run"], {"TRACKER_PORT": str(tracker)}),
            ("TRACKER_PORT", ["tracker", "serve"], {"TRACKER_PORT": str(tracker)}),
        ]
        results = vouch_all([(args, {**env, **extra}) for _, args, extra in runs])
    for (variable, _, _), result in zip(runs, results, strict=True):
        assert result.returncode != 0
        [line] = lines(result.stderr)
        assert re.fullmatch(rf"error: port \d+ is already in use \({variable}\); .*", line), line
        assert "Vouch is running" not in result.stdout
    # `vouch run` stopped before starting the embedded Redis, migrating or seeding
    assert not (tmp_path / "var" / "redis.db.settings").exists()
    assert not (tmp_path / "var" / "vouch.db").exists() or _tables(tmp_path) == []


def _tables(tmp_path: Path) -> list[str]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(tmp_path / "var" / "vouch.db")) as db:
        return [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]


# --- vouch run: a banner, then every process it started stops with it ------------------------


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line), from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, ppid = stat.rpartition(")")[2].split()[:2]
        found[int(entry)] = (int(ppid), state, cmdline)
    return found


def descendants(pid: int) -> set[int]:
    processes = _processes()
    tree, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, (ppid, _, _) in processes.items() if ppid in frontier} - tree
        tree |= frontier
    return tree


def alive(pid: int) -> bool:
    info = _processes().get(pid)
    return info is not None and info[1] != "Z"


class Run:
    """`vouch run` in a subprocess, its output read as it comes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "run"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, sink), daemon=True)
            for stream, sink in (
                (self.process.stdout, self.stdout),
                (self.process.stderr, self.stderr),
            )
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def wait_for_banner(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while "Ctrl-C stops everything." not in self.stdout:
            assert self.process.poll() is None, ("vouch run exited", self.stdout, self.stderr)
            assert time.monotonic() < deadline, ("no banner", self.stdout, self.stderr)
            time.sleep(0.1)

    def everything(self) -> tuple[set[int], int, str]:
        """Its processes: the tree under it, the embedded redis-server (daemonized, so not in
        the tree) and that server's socket."""
        [redis_line] = [line for line in self.stdout if line.strip().startswith("redis ")]
        socket_path = redis_line.split("unix://", 1)[1].strip()
        [server] = [p for p, (_, _, cmd) in _processes().items() if socket_path in cmd]
        tree = descendants(self.process.pid)
        return tree, server, socket_path

    def stop(self, sig: int, timeout: float = 60) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(10)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            for pid in descendants(self.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait()


def assert_all_gone(pids: set[int], socket_path: str) -> None:
    deadline = time.monotonic() + 10  # a daemonized redis-server is reaped by init, not us
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {p: _processes()[p][2] for p in pids if alive(p)}
    assert left == {}, left
    assert not os.path.exists(socket_path)


@pytest.fixture
def run_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield clean_env(tmp_path)


def seed_one_org(env: dict[str, str]) -> str:
    """A database that is not empty (`vouch run` then seeds nothing); the organization's id."""
    assert vouch("migrate", env=env).returncode == 0
    created = vouch("org", "create", "Acme Test", env=env)
    assert created.returncode == 0, created.stderr
    return created.stdout.split()[1]


@embedded_leg_only
def test_ctrl_c_stops_every_process_and_start_up_is_the_banner(run_env) -> None:
    run = Run(run_env)
    try:
        run.wait_for_banner()
        tree, server, socket_path = run.everything()
        assert len(tree) >= 4  # API, tracker (granian and its worker), ingest worker
        for port in (run_env["API_PORT"], run_env["TRACKER_PORT"]):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                assert r.status == 200
        code = run.stop(signal.SIGINT)
    finally:
        run.kill()
    assert code == 0
    assert_all_gone({*tree, server}, socket_path)
    # start-up: the migration in one line and the seeding's progress, then the banner
    said = [line for line in run.stderr if line.strip() and not line.lstrip().startswith("[")]
    assert len(said) == 1 and re.fullmatch(
        r"database migrated to \w+ \(\d+ migrations applied\)", said[0]
    ), run.stderr
    assert "Vouch is running:" in run.stdout and any("ADMIN" in x for x in run.stdout)


@embedded_leg_only
def test_sigterm_stops_every_process_and_every_child_logs_json(run_env) -> None:
    org = seed_one_org(run_env)
    key = vouch("keys", "create", "--org", org, "--role", "ADMIN", env=run_env).stdout.strip()
    env = {**run_env, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "API_WORKERS": "2"}
    run = Run(env)
    try:
        run.wait_for_banner()
        tree, server, socket_path = run.everything()
        request = urllib.request.Request(
            f"http://127.0.0.1:{env['API_PORT']}/graphql",
            data=json.dumps({"query": "{ nope }"}).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["errors"]
        code = run.stop(signal.SIGTERM)
    finally:
        run.kill()
    assert code == 0
    assert_all_gone({*tree, server}, socket_path)
    vouch_cmd = os.path.relpath(Path(sys.executable).parent / "vouch", ROOT)  # .venv/bin/vouch
    assert (
        f"Demo data already present; list keys with `{vouch_cmd} keys list` or make one with "
        f"`{vouch_cmd} keys create --org {org} --role ADMIN`."
    ) in run.stdout
    records = [json.loads(line) for line in run.stderr if line.strip()]  # nothing but JSON
    loggers = {r["logger"] for r in records}
    # the API's two uvicorn workers, granian and its worker, the ingest worker
    assert {"uvicorn.error", "_granian", "tracker.app", "vouch.ingest"} <= loggers, loggers
    refused = [r for r in records if r["msg"].startswith("GraphQL request refused")]
    assert refused and all(r["level"] == "info" for r in refused)
    assert not [r for r in records if r["level"] in ("error", "critical")], records


@embedded_leg_only
def test_a_child_that_exits_stops_all_the_others(run_env) -> None:
    seed_one_org(run_env)
    run = Run(run_env)
    try:
        run.wait_for_banner()
        tree, server, socket_path = run.everything()
        processes = _processes()
        [tracker] = [
            p
            for p in tree
            if processes[p][0] == run.process.pid and "tracker serve" in processes[p][2]
        ]
        os.kill(tracker, signal.SIGKILL)
        code = run.process.wait(60)
        for reader in run._readers:
            reader.join(10)
    finally:
        run.kill()
    assert code == 1
    assert "error: the tracker exited (status -9): stopping everything" in run.stderr
    assert_all_gone({*tree, server}, socket_path)


# --- logs a person can read ------------------------------------------------------------------


def test_migrate_says_what_it_did_in_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path, LOG_LEVEL="INFO")
    first, again = vouch("migrate", env=env), vouch("migrate", env=env)
    assert first.returncode == again.returncode == 0
    [line] = lines(first.stderr)
    assert re.fullmatch(r"database migrated to (\w+) \(\d+ migrations applied\)", line), line
    head = line.split()[3]
    assert lines(again.stderr) == [f"database already at the latest migration ({head})"]


def test_graphql_client_mistakes_are_info_and_bugs_are_errors(gql, factory, caplog, monkeypatch):
    from api.graphql.core import types

    key = factory.world()["keys"]["ADMIN"]
    with caplog.at_level(logging.INFO):
        gql.errors(key, "{ nope }")  # does not validate
        gql.errors(key, "{ viewer { role ")  # does not parse
        gql.errors(key, "query($id: ID!) { node(id: $id) { id } }", id="garbage")
    refused = [r for r in caplog.records if r.name == "vouch.api"]
    assert len(refused) == 3 and {r.levelno for r in refused} == {logging.INFO}
    assert all(r.exc_info is None for r in refused)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text

    caplog.clear()

    def broken(cls: Any, row: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(types.Organization, "from_row", classmethod(broken))
    with caplog.at_level(logging.INFO):
        gql.errors(key, "{ viewer { organization { name } } }")
    [fault] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert fault.name == "vouch.api" and "viewer.organization" in fault.getMessage()
    assert fault.exc_info is not None and "boom" in str(fault.exc_info[1])


def test_a_refused_request_and_a_client_that_left_are_info_lines(gql, caplog) -> None:
    import asyncio

    from starlette.requests import ClientDisconnect

    from api.log import RequestLog

    with caplog.at_level(logging.INFO, logger="vouch.api.requests"):
        assert gql.post(None, "{ viewer { role } }").status_code == 401

        async def leaves(scope: Any, receive: Any, send: Any) -> None:
            raise ClientDisconnect

        scope = {"type": "http", "method": "POST", "path": "/graphql"}
        asyncio.run(RequestLog(leaves)(scope, None, None))  # nothing raised
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("vouch")] == [
        (logging.INFO, "POST /graphql 401"),
        (logging.INFO, "POST /graphql: the client disconnected"),
    ]


def test_an_idle_worker_reports_no_progress() -> None:
    from api.log import IdleProgress

    idle = IdleProgress()

    def progress(**counters: int) -> bool:
        return idle.filter(logging.makeLogRecord({"msg": "ingest progress", **counters}))

    assert not progress(clicks=0, conversions=0)  # nothing done yet
    assert progress(clicks=5, conversions=0)
    assert not progress(clicks=5, conversions=0)  # nothing new since
    assert progress(clicks=5, conversions=1)
    assert idle.filter(logging.makeLogRecord({"msg": "ingest worker starting"}))


def test_text_logs_are_lines_with_their_fields_and_traceback() -> None:
    from tracker.log import TextFormatter

    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.makeLogRecord(
            {"name": "vouch.x", "levelname": "WARNING", "msg": "redis %s", "args": ("down",),
             "retry_in": 0.4, "exc_info": sys.exc_info()}
        )  # fmt: skip
    first, *rest = TextFormatter().format(record).splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d WARNING vouch\.x: redis down  retry_in=0\.4", first)
    assert rest[0].startswith("Traceback") and rest[-1] == "ValueError: boom"
