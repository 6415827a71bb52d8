"""Many of everything, with faults (`make soak`): a Redis Cluster of 3 masters and 3 replicas, a
fresh database, 2 tracker processes, 2 ingest workers and the API (API_WORKERS=2), under a
steady load for `--duration` seconds (default 180), while the soak breaks things.

Everything runs on this machine: six `redis-server --cluster-enabled yes` processes on loopback
ports in a temporary directory (joined by `redis-cli --cluster create --cluster-replicas 1`),
`python -m tracker` twice, `python -m api.ingest` twice and `python -m api.cli serve`. The
database is a new PostgreSQL database on the server of TEST_DATABASE_URL / DATABASE_URL (else
postgresql+psycopg://postgres@127.0.0.1:5432), dropped at the end; with `--sqlite`, a SQLite
file. All of it is stopped and removed at the end, pass or fail.

The load, at a steady rate: clicks with browser User-Agents from many visitors (X-Forwarded-For
from the trusted loopback proxy), a quarter of them a visitor's repeat sent to either tracker,
some from bots; signed order postbacks (half by the click's `vclid`, at least 12 s after the
click, half by discount code), a refund of half the order for one order in ten, and GraphQL
reads (campaigns with their performance) through the API. A postback answered with anything
but 2xx is retried, as a brand does, until it is accepted.

The faults, at fixed fractions of the run: the first worker is killed (SIGKILL) and restarted;
the master that holds the event streams' slot is failed over to its replica (`CLUSTER FAILOVER`
on the replica); a tracker is restarted (SIGTERM: it flushes; then started again on its port and
spool); the database is paused (the workers' sessions terminated, and the click, conversion and
ledger tables locked for `--pause` seconds; on SQLite, the write lock held); the streams'
master is killed (SIGKILL), its replica takes over, and the killed one is started again and
rejoins as a replica.

At the end, once the trackers' spools are empty and the streams drained: every redirect the load
got (302) is exactly one click row and counted in the rollups, every visitor's first click on a
code is the one unique click (across the two trackers), every accepted order is one conversion,
attributed, the ledger equals the commission expected from the accepted orders and refunds to
the cent, no entry is pending on any stream and none was dead-lettered. The figures are printed;
any check that fails makes the exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from redis.cluster import RedisCluster  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
BPS = 1000  # the bench world's commission rate (bench.ingest.seed)
BROWSERS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 Instagram 335.0.0.36.89",
)
BOTS = ("facebookexternalhit/1.1", "Twitterbot/1.0")
REFERERS = ("https://www.instagram.com/", "https://www.tiktok.com/", "https://www.youtube.com/")
# Requests of each kind in flight at most (the retries of postbacks are sent beside the orders).
IN_FLIGHT = {"click": 48, "order": 16, "read": 8, "retries": 32}
ORDER_AFTER_CLICK_S = 12.0  # past the 10 s under which an order is held (FAST_CONVERSION)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port(bus: bool = False) -> int:
    """A free loopback port (with `bus`, its cluster bus port, +10000, free too)."""
    while True:
        port = random.randint(20000, 29999) if bus else 0
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
                port = int(s.getsockname()[1])
            if bus:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue


def wait_until(what: str, check: Any, timeout: float, interval: float = 0.1) -> float:
    """Waits for `check()` to be true; returns the seconds it took."""
    started = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - started
        except Exception:  # a node or server still starting, a failover under way
            pass
        if time.monotonic() - started > timeout:
            raise SystemExit(f"FAIL: {what} did not happen within {timeout:g} s")
        time.sleep(interval)


# --- the Redis Cluster ------------------------------------------------------------------------


class Cluster:
    """Six redis-server processes in cluster mode: 3 masters, 3 replicas."""

    def __init__(self, work: Path, node_timeout_ms: int) -> None:
        from tests.redis_server import redis_binary

        self.binary = redis_binary()
        self.cli = shutil.which("redis-cli") or ""
        self.work = work
        self.node_timeout_ms = node_timeout_ms
        self.ports: list[int] = []
        while len(self.ports) < 6:
            port = free_port(bus=True)
            if port not in self.ports:
                self.ports.append(port)
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def start_node(self, port: int) -> None:
        directory = self.work / f"redis-{port}"
        directory.mkdir(parents=True, exist_ok=True)
        self.processes[port] = subprocess.Popen(
            [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", str(self.node_timeout_ms), "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(f"redis-server on {port}", lambda: self.call(port, "PING") == "PONG", 10)

    def call(self, port: int, *args: str) -> str:
        return subprocess.run(
            [self.cli, "-p", str(port), *args], capture_output=True, text=True, timeout=5
        ).stdout.strip()

    def start(self) -> None:
        for port in self.ports:
            self.start_node(port)
        subprocess.run(
            [self.cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", "1", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        wait_until("the cluster", self.healthy, 30)

    def healthy(self) -> bool:
        live = [p for p in self.ports if self.alive(p)]
        return all("cluster_state:ok" in self.call(p, "CLUSTER", "INFO") for p in live) and (
            len(self.masters()) == 3
        )

    def alive(self, port: int) -> bool:
        process = self.processes.get(port)
        return process is not None and process.poll() is None

    def nodes(self, via: int | None = None) -> list[dict[str, Any]]:
        """CLUSTER NODES as seen by a live node."""
        port = via or next(p for p in self.ports if self.alive(p))
        rows = []
        for line in self.call(port, "CLUSTER", "NODES").splitlines():
            parts = line.split()
            flags = parts[2].split(",")
            rows.append({
                "id": parts[0],
                "port": int(parts[1].split("@")[0].rsplit(":", 1)[1]),
                "master": "master" in flags and "fail" not in flags,
                "failed": "fail" in flags or "fail?" in flags,
                "of": parts[3],
                "slots": parts[8:],
            })  # fmt: skip
        return rows

    def masters(self) -> list[int]:
        return [n["port"] for n in self.nodes() if n["master"] and n["slots"]]

    def owner(self, slot: int) -> tuple[int, int | None]:
        """(master port, its replica's port) of a slot."""
        nodes = self.nodes()
        for node in nodes:
            if not node["master"]:
                continue
            for spec in node["slots"]:
                low, _, high = spec.partition("-")
                if spec[0].isdigit() and int(low) <= slot <= int(high or low):
                    replicas = [
                        n["port"] for n in nodes if n["of"] == node["id"] and not n["failed"]
                    ]
                    return node["port"], (replicas[0] if replicas else None)
        raise RuntimeError(f"no master holds slot {slot}")

    def kill(self, port: int) -> None:
        self.processes[port].kill()
        self.processes[port].wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


# --- the database -----------------------------------------------------------------------------


class Database:
    """A new database for the run: PostgreSQL (created and dropped) or a SQLite file."""

    def __init__(self, work: Path, sqlite: bool) -> None:
        self.sqlite = sqlite
        if sqlite:
            self.url = f"sqlite:///{work / 'soak.db'}"
            self.server = ""
            self.name = ""
        else:
            configured = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
            base = configured if configured and configured.startswith("postgresql") else ""
            self.server = base.rsplit("/", 1)[0] if base else PG_SERVER
            self.name = f"vouch_soak_{secrets.token_hex(4)}"
            self.url = f"{self.server}/{self.name}"
            admin = create_engine(f"{self.server}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()

    def drop(self) -> None:
        if self.sqlite:
            return
        admin = create_engine(f"{self.server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()

    def pause(self, seconds: float) -> str:
        """Makes the database unusable for the workers for `seconds`: on PostgreSQL their
        sessions are terminated and the tables they write are locked; on SQLite the write lock
        is held. (The server itself is shared: it is never stopped.)"""
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                if self.sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    time.sleep(seconds)
                    conn.exec_driver_sql("ROLLBACK")
                    return f"SQLite's write lock held for {seconds:g} s"
                tables = "clicks, click_rollups_hourly, conversion_keys, ledger_entries"
                with conn.begin():
                    conn.execute(text(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE"))
                    killed = conn.scalar(
                        text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                    time.sleep(seconds)
                return (
                    f"{killed} sessions terminated, {tables} locked for {seconds:g} s "
                    "(ACCESS EXCLUSIVE)"
                )
        finally:
            engine.dispose()


def prepare(db: Database, cluster_url: str, prefix: str) -> dict[str, Any]:
    """Migrates and seeds the database, publishes the links and the brand's postback secret to
    the cluster; returns the world, the brand's secret and a MANAGER key."""
    from api.accounts.keys import create_key
    from api.models.enums import Role
    from api.settings import reset_settings
    from api.tracking import postback_secrets, publish
    from bench.ingest import migrated_schema, seed
    from tracker.redis_client import sync_client
    from tracker.settings import RedisSettings

    os.environ.update(DATABASE_URL=db.url, REDIS_CLUSTER_URL=cluster_url, REDIS_PREFIX=prefix)
    os.environ.pop("REDIS_URL", None)
    reset_settings()
    publish.reset_redis_client()
    from api.db import make_engine

    engine = make_engine(db.url)
    migrated_schema(engine)
    with Session(engine) as session:
        world = seed(session)
        secret = postback_secrets.rotate(session, world["brand"])
        _, key = create_key(session, organization_id=world["org"], role=Role.MANAGER, name="soak")
        session.commit()
    redis = sync_client(RedisSettings(url="", cluster_url=cluster_url, prefix=prefix))
    with Session(engine) as session:
        counts = publish.republish_all(session, redis, prefix=prefix)
    redis.close()
    engine.dispose()
    say(f"database {db.url.rsplit('@', 1)[-1]}: migrated, seeded; published {counts}")
    return {**world, "secret": secret, "key": key}


# --- the processes ----------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    health: str = ""  # URL answered once it serves
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        output = self.log.open("ab")
        self.process = subprocess.Popen(
            self.command, env=self.env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        output.close()
        self.starts += 1
        if self.health:
            wait_until(f"{self.name} serving", lambda: _answers(self.health), 60)

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self, timeout: float = 30) -> int | None:
        if self.process is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
        return True
    except httpx.HTTPError:
        return False


def services(work: Path, db: Database, cluster_url: str, prefix: str) -> dict[str, Service]:
    base = {
        **os.environ,
        "DATABASE_URL": db.url,
        "REDIS_CLUSTER_URL": cluster_url,
        "REDIS_URL": "",
        "REDIS_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "PYTHONUNBUFFERED": "1",
    }
    made: dict[str, Service] = {}
    for i in range(2):
        port = free_port()
        made[f"tracker{i}"] = Service(
            f"tracker {i}",
            [sys.executable, "-m", "tracker"],
            base
            | {
                "TRACKER_HOST": "127.0.0.1",
                "TRACKER_PORT": str(port),
                "TRACKER_WORKERS": "1",
                "TRACKER_SPOOL_DIR": str(work / f"spool-{i}"),
            },
            work / f"tracker{i}.log",
            health=f"http://127.0.0.1:{port}/healthz",
        )
    for i in range(2):
        made[f"worker{i}"] = Service(
            f"worker {i}",
            [sys.executable, "-m", "api.ingest", "--consumer", f"soak-{i}", "--block-ms", "200",
             "--claim-idle-ms", "5000", "--claim-interval", "1", "--log-level", "WARNING"],
            base,
            work / f"worker{i}.log",
        )  # fmt: skip
    api_port = free_port()
    made["api"] = Service(
        "API",
        [sys.executable, "-m", "api.cli", "serve"],
        base | {"API_HOST": "127.0.0.1", "API_PORT": str(api_port), "API_WORKERS": "2"},
        work / "api.log",
        health=f"http://127.0.0.1:{api_port}/healthz",
    )
    return made


def base_url(service: Service) -> str:
    return service.health.removesuffix("/healthz")


# --- the load ---------------------------------------------------------------------------------


@dataclass
class Tally:
    redirects: int = 0
    bots: int = 0
    # (ip, ua, code) of 302s -> the tracker that answered the visitor's first one
    visitors: dict[tuple[str, str, str], int] = field(default_factory=dict)
    repeats_elsewhere: int = 0  # repeats answered by the other tracker than the first click
    click_answers: Counter[str] = field(default_factory=Counter)
    usable: list[tuple[float, str]] = field(default_factory=list)  # (time, vclid) for orders
    orders_sent: int = 0
    accepted: dict[str, int] = field(default_factory=dict)  # order id -> amount (minor)
    refunds: dict[str, int] = field(default_factory=dict)  # order id -> refunded (minor)
    postback_answers: Counter[str] = field(default_factory=Counter)
    api_answers: Counter[str] = field(default_factory=Counter)
    api_ms: list[float] = field(default_factory=list)
    expected_commission: int = 0
    rejected: list[str] = field(default_factory=list)  # postbacks refused for good (a bug)
    by_code: int = 0
    by_click: int = 0
    behind: Counter[str] = field(default_factory=Counter)  # calls not made: too many in flight


class Load:
    def __init__(self, args: argparse.Namespace, world: dict[str, Any], made: dict[str, Service]):
        self.args = args
        self.world = world
        self.trackers = [base_url(made["tracker0"]), base_url(made["tracker1"])]
        self.api = base_url(made["api"]) + "/graphql"
        self.tally = Tally()
        self.rnd = random.Random(17)
        self.recent: list[tuple[str, str, str]] = []  # visitors (ip, ua, code) to repeat
        self.retry: list[tuple[float, str, dict[str, Any]]] = []  # (due, path, body)
        self.stopping = False
        self.n = 0
        self.brand_gid = _brand_gid(world["brand"])
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.since = (today - timedelta(days=30)).isoformat()
        self.until = (today + timedelta(days=1)).isoformat()

    async def run(self, seconds: float) -> None:
        # More connections than requests ever in flight (`IN_FLIGHT`): httpx's pool does work per
        # queued request on every release, and a queue that grows starves the event loop.
        limits = httpx.Limits(max_connections=sum(IN_FLIGHT.values()) + 8)
        async with httpx.AsyncClient(timeout=10, limits=limits) as self.http:
            tasks = [
                asyncio.ensure_future(self._every(self.args.rate, self.click)),
                asyncio.ensure_future(self._every(self.args.order_rate, self.order)),
                asyncio.ensure_future(self._every(self.args.api_rate, self.read)),
                asyncio.ensure_future(self._retries()),
            ]
            await asyncio.sleep(seconds)
            self.stopping = True
            await asyncio.gather(*tasks)
            # what the brand has not got accepted yet, it keeps sending
            deadline = time.monotonic() + 120
            while self.retry and time.monotonic() < deadline:
                await self._retries(once=True)
                await asyncio.sleep(0.5)

    async def _every(self, rate: float, step: Any) -> None:
        """Calls `step` `rate` times a second, each call its own task, with at most
        `IN_FLIGHT[step]` at once: a call due while that many are still out is not made, and
        counted (the load generator fell behind: the rate was not offered)."""
        if rate <= 0:
            return
        pending: set[asyncio.Task[None]] = set()
        limit = IN_FLIGHT[step.__name__]
        started = time.monotonic()
        done = 0
        while not self.stopping:
            due = int((time.monotonic() - started) * rate)
            for _ in range(due - done):
                if len(pending) >= limit:
                    self.tally.behind[step.__name__] += 1
                    continue
                task = asyncio.ensure_future(step())
                pending.add(task)
                task.add_done_callback(pending.discard)
            done = max(done, due)
            await asyncio.sleep(0.01)
        if pending:
            await asyncio.gather(*pending)

    async def click(self) -> None:
        t = self.tally
        code = f"bench{self.rnd.randrange(len(self.world['partners']))}"
        if self.recent and self.rnd.random() < 0.25:
            ip, ua, code = self.rnd.choice(self.recent)
        elif self.rnd.random() < 0.05:
            ip, ua = f"198.51.100.{self.rnd.randrange(1, 255)}", self.rnd.choice(BOTS)
        else:
            self.n += 1
            ip = f"10.{self.n // 65536 % 256}.{self.n // 256 % 256}.{self.n % 256}"
            ua = self.rnd.choice(BROWSERS)
            self.recent = [*self.recent[-199:], (ip, ua, code)]
        first = self.rnd.randrange(2)
        headers = {
            "user-agent": ua,
            "x-forwarded-for": ip,
            "referer": self.rnd.choice(REFERERS),
        }
        for attempt in (first, 1 - first):
            try:
                answer = await self.http.get(f"{self.trackers[attempt]}/c/{code}", headers=headers)
                break
            except httpx.ConnectError:
                # nothing listening (a tracker restarting): the load balancer tries the other
                t.click_answers["refused, sent to the other tracker"] += 1
            except httpx.HTTPError as exc:
                t.click_answers[type(exc).__name__] += 1
                return
        else:
            return
        t.click_answers[str(answer.status_code)] += 1
        if answer.status_code != 302:
            return
        t.redirects += 1
        vclid = httpx.URL(answer.headers["location"]).params["vclid"]
        if ua in BOTS:
            t.bots += 1
        else:
            seen = t.visitors.setdefault((ip, ua, code), attempt)
            t.repeats_elsewhere += seen != attempt
            t.usable.append((time.monotonic(), vclid))

    async def order(self) -> None:
        t = self.tally
        i = t.orders_sent
        t.orders_sent += 1
        amount = self.rnd.randrange(500, 30_000)
        body: dict[str, Any] = {
            "order_id": f"S{i}",
            "amount": f"{Decimal(amount).scaleb(-2):f}",
            "currency": "EUR",
        }
        ready = [c for c in t.usable if time.monotonic() - c[0] >= ORDER_AFTER_CLICK_S]
        if ready and self.rnd.random() < 0.5:
            chosen = self.rnd.choice(ready)
            t.usable.remove(chosen)
            body["click_id"] = chosen[1]
            t.by_click += 1
        else:
            body["discount_code"] = self.rnd.choice(self.world["partners"])[2]
            t.by_code += 1
        await self.postback("/v1/conversions", body)

    async def postback(self, path: str, body: dict[str, Any]) -> None:
        t = self.tally
        raw = json.dumps(body).encode()
        timestamp = int(time.time())
        signature = hmac_signature(self.world["secret"], timestamp, raw)
        headers = {
            "content-type": "application/json",
            "vouch-brand": self.brand_gid,
            "vouch-signature": f"t={timestamp},v1={signature}",
        }
        try:
            answer = await self.http.post(
                f"{self.rnd.choice(self.trackers)}{path}", content=raw, headers=headers
            )
            status = answer.status_code
            t.postback_answers[f"{path} {status}"] += 1
        except httpx.HTTPError as exc:
            t.postback_answers[f"{path} {type(exc).__name__}"] += 1
            status = 0
        if status in (200, 202):
            self.accepted(path, body)
        elif status in (0, 429, 500, 502, 503, 504):  # not recorded, or not known to be
            self.retry.append((time.monotonic() + 1.0, path, body))
        else:
            t.rejected.append(f"{path} {status} {answer.text[:200]} for {body}")

    def accepted(self, path: str, body: dict[str, Any]) -> None:
        from api.money import apply_basis_points

        t = self.tally
        if path == "/v1/conversions":
            order_id = body["order_id"]
            if order_id in t.accepted:
                return
            amount = int(Decimal(body["amount"]).scaleb(2))
            t.accepted[order_id] = amount
            t.expected_commission += apply_basis_points(amount, BPS)
            if self.rnd.random() < 0.1 and not self.stopping:
                part = amount // 2
                self.retry.append((
                    time.monotonic() + 0.5,
                    "/v1/refunds",
                    {"refund_id": f"R-{order_id}", "order_id": order_id,
                     "amount": f"{Decimal(part).scaleb(-2):f}", "currency": "EUR"},
                ))  # fmt: skip
        else:
            order_id = body["order_id"]
            if order_id in t.refunds:
                return
            part = int(Decimal(body["amount"]).scaleb(2))
            amount = t.accepted[order_id]
            t.refunds[order_id] = part
            commission = apply_basis_points(amount, BPS)
            t.expected_commission -= round(Decimal(commission) * part / amount)

    async def _retries(self, once: bool = False) -> None:
        while True:
            now = time.monotonic()
            due = sorted(r for r in self.retry if r[0] <= now)[: IN_FLIGHT["retries"]]
            self.retry = [r for r in self.retry if r not in due]
            await asyncio.gather(*(self.postback(path, body) for _, path, body in due))
            if once or self.stopping:
                return
            await asyncio.sleep(0.1)

    async def read(self) -> None:
        t = self.tally
        query = (
            "{ campaigns(first: 20) { nodes { id name status "
            f'performance(from: "{self.since}", to: "{self.until}") '
            "{ clicks uniqueClicks conversions revenue { amount currency } } } } }"
        )
        started = time.perf_counter()
        try:
            answer = await self.http.post(
                self.api,
                json={"query": query},
                headers={"authorization": f"Bearer {self.world['key']}"},
            )
        except httpx.HTTPError as exc:
            t.api_answers[type(exc).__name__] += 1
            return
        ok = answer.status_code == 200 and not answer.json().get("errors")
        t.api_answers["ok" if ok else f"{answer.status_code} {answer.text[:120]}"] += 1
        if ok:
            t.api_ms.append((time.perf_counter() - started) * 1000)


def hmac_signature(secret: str, timestamp: int, body: bytes) -> str:
    from tracker.postbacks import sign

    return sign(secret, timestamp, body)


def _brand_gid(brand_id: int) -> str:
    from tracker.postbacks import brand_global_id

    return brand_global_id(brand_id)


# --- the faults -------------------------------------------------------------------------------


class Faults:
    def __init__(
        self, args: argparse.Namespace, cluster: Cluster, db: Database, made: dict[str, Service]
    ) -> None:
        from tracker import keys

        self.args = args
        self.cluster = cluster
        self.db = db
        self.made = made
        self.log: list[str] = []
        self.error = ""
        probe = RedisCluster(host="127.0.0.1", port=cluster.ports[0])
        self.slot = probe.keyslot(keys.clicks_stream(args.prefix))
        probe.close()

    def note(self, message: str, started: float) -> None:
        line = f"t={started:5.1f} s  {message}"
        self.log.append(line)
        say(f"fault: {message}")

    def run(self, t0: float, stop: threading.Event) -> None:
        d = self.args.duration
        plan = [
            (0.12 * d, self.kill_worker),
            (0.28 * d, self.failover),
            (0.44 * d, self.restart_tracker),
            (0.60 * d, self.pause_database),
            (0.76 * d, self.kill_master),
        ]
        for at, fault in plan:
            while time.monotonic() - t0 < at:
                if stop.wait(0.1):
                    self.error = self.error or f"the run ended before {fault.__name__}"
                    return
            try:
                fault(time.monotonic() - t0)
            except BaseException as exc:
                self.error = f"{fault.__name__} failed: {exc!r}"
                say(f"FAIL: {self.error}")
                return

    def kill_worker(self, at: float) -> None:
        worker = self.made["worker0"]
        worker.signal(signal.SIGKILL)
        assert worker.process is not None
        worker.process.wait(10)
        time.sleep(3)
        worker.start()
        self.note("worker 0 killed (SIGKILL), restarted after 3 s", at)

    def failover(self, at: float) -> None:
        master, replica = self.cluster.owner(self.slot)
        assert replica is not None, "the streams' master has no replica"
        started = time.monotonic()
        self.cluster.call(replica, "CLUSTER", "FAILOVER")
        took = wait_until("the failover", lambda: self.cluster.owner(self.slot)[0] == replica, 30)
        wait_until("the cluster", self.cluster.healthy, 30)
        self.note(
            f"CLUSTER FAILOVER: streams' master {master} -> replica {replica} in {took:.1f} s "
            f"(cluster ok after {time.monotonic() - started:.1f} s)",
            at,
        )

    def restart_tracker(self, at: float) -> None:
        tracker = self.made["tracker1"]
        started = time.monotonic()
        code = tracker.stop()
        tracker.start()
        self.note(
            f"tracker 1 restarted (SIGTERM, exit {code}; serving again after "
            f"{time.monotonic() - started:.1f} s)",
            at,
        )

    def pause_database(self, at: float) -> None:
        self.note(f"database paused: {self.db.pause(self.args.pause)}", at)

    def kill_master(self, at: float) -> None:
        master, replica = self.cluster.owner(self.slot)
        assert replica is not None, "the streams' master has no replica"
        started = time.monotonic()
        self.cluster.kill(master)
        took = wait_until(
            "the replica's takeover", lambda: self.cluster.owner(self.slot)[0] == replica, 60
        )
        self.cluster.start_node(master)
        wait_until(
            f"{master} rejoining as a replica",
            lambda: (
                "role:slave" in self.cluster.call(master, "INFO", "replication")
                and "master_link_status:up" in self.cluster.call(master, "INFO", "replication")
            ),
            60,
        )
        wait_until("the cluster", self.cluster.healthy, 30)
        self.note(
            f"streams' master {master} killed (SIGKILL): replica {replica} took over after "
            f"{took:.1f} s; {master} restarted, a replica again after "
            f"{time.monotonic() - started:.1f} s",
            at,
        )


# --- the end: drain and check ------------------------------------------------------------------


def spools_empty(made: dict[str, Service]) -> bool:
    for name in ("tracker0", "tracker1"):
        health = httpx.get(made[name].health, timeout=2).json()
        if health["spool"] or health["buffer"] or not health["redis"]:
            return False
    return True


def stream_state(client: RedisCluster, prefix: str) -> dict[str, tuple[int, int]]:
    """(unread, pending) of the ingest group on the click and conversion streams: unread is 1
    when entries are left after the group's last delivered one (the group's `lag` is no measure
    after a failover: a promoted replica's count of entries read can be off)."""
    from api.ingest.worker import GROUP
    from tracker import keys

    state = {}
    for name, stream in (
        ("clicks", keys.clicks_stream(prefix)),
        ("conversions", keys.conversions_stream(prefix)),
    ):
        group = {g["name"].decode(): g for g in client.xinfo_groups(stream)}[GROUP]
        last = client.xinfo_stream(stream)["last-generated-id"]
        unread = int(group["last-delivered-id"] != last)
        pending = int(client.xpending(stream, GROUP)["pending"])
        state[name] = (unread, pending)
    return state


def where_it_stands(
    made: dict[str, Service], client: RedisCluster, prefix: str, db: Database, tally: Tally
) -> list[str]:
    """What the drain still waits for."""
    lines = []
    for name in ("tracker0", "tracker1"):
        try:
            lines.append(f"{name}: {httpx.get(made[name].health, timeout=2).json()}")
        except Exception as exc:
            lines.append(f"{name}: {exc!r}")
    try:
        lines.append(f"streams (unread, pending): {stream_state(client, prefix)}")
    except Exception as exc:
        lines.append(f"streams: {exc!r}")
    found = figures(db)
    lines.append(
        f"database: {found['clicks']} clicks of {tally.redirects}, {len(found['orders'])} "
        f"orders of {len(tally.accepted)}"
    )
    return lines


def figures(db: Database) -> dict[str, Any]:
    from api.db import make_engine
    from api.models import Click, ClickRollup, Conversion, LedgerEntry

    engine = make_engine(db.url)
    with Session(engine) as session:
        found = {
            "clicks": session.scalar(select(func.count()).select_from(Click)) or 0,
            "rollup": int(
                session.scalar(select(func.sum(ClickRollup.clicks + ClickRollup.bot_hits))) or 0
            ),
            "unique": int(session.scalar(select(func.sum(ClickRollup.unique_clicks))) or 0),
            "orders": set(session.scalars(select(Conversion.order_id))),
            "unattributed": session.scalar(
                select(func.count())
                .select_from(Conversion)
                .where(Conversion.attributed_via.is_(None))
            )
            or 0,
            "commission": int(session.scalar(select(func.sum(LedgerEntry.amount))) or 0),
        }
    engine.dispose()
    return found


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=180, help="seconds of load")
    parser.add_argument("--rate", type=float, default=100, help="clicks per second")
    parser.add_argument("--order-rate", type=float, default=4, help="order postbacks per second")
    parser.add_argument("--api-rate", type=float, default=4, help="GraphQL reads per second")
    parser.add_argument("--pause", type=float, default=5, help="seconds the database is paused")
    parser.add_argument("--node-timeout-ms", type=int, default=2000, help="cluster-node-timeout")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file, not PostgreSQL")
    parser.add_argument("--drain-timeout", type=float, default=180)
    args = parser.parse_args()
    args.prefix = f"soak{secrets.token_hex(3)}"
    for tool in ("redis-cli",):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: the soak needs redis-server and redis-cli")

    work = Path(tempfile.mkdtemp(prefix="vouch-soak-"))
    cluster = Cluster(work, args.node_timeout_ms)
    db: Database | None = None
    made: dict[str, Service] = {}
    failures: list[str] = []
    try:
        say(f"starting a Redis Cluster of 6 nodes (3 masters, 3 replicas) on {cluster.ports}")
        cluster.start()
        cluster_url = f"redis://127.0.0.1:{cluster.ports[0]}/0"
        db = Database(work, args.sqlite)
        world = prepare(db, cluster_url, args.prefix)
        made = services(work, db, cluster_url, args.prefix)
        for service in made.values():
            service.start()
        say("started 2 trackers, 2 workers and the API (API_WORKERS=2)")
        load = Load(args, world, made)
        faults = Faults(args, cluster, db, made)
        stop = threading.Event()
        t0 = time.monotonic()
        breaker = threading.Thread(target=faults.run, args=(t0, stop), daemon=True)
        breaker.start()
        say(
            f"load for {args.duration:g} s: {args.rate:g} clicks/s, {args.order_rate:g} orders/s, "
            f"{args.api_rate:g} API reads/s"
        )
        progress = threading.Thread(target=_progress, args=(load.tally, t0, stop), daemon=True)
        progress.start()
        asyncio.run(load.run(args.duration))
        loaded = time.monotonic() - t0
        stop.set()
        breaker.join()
        say(f"load stopped after {loaded:.1f} s; waiting for the spools and streams to drain")
        client = RedisCluster(host="127.0.0.1", port=cluster.ports[0])
        try:
            drained_in = wait_until(
                "the drain",
                lambda: (
                    spools_empty(made)
                    and all(v == (0, 0) for v in stream_state(client, args.prefix).values())
                    and len(figures(db)["orders"]) == len(load.tally.accepted)
                ),
                args.drain_timeout,
                interval=0.5,
            )
        except SystemExit as exc:
            failures = [str(exc), *where_it_stands(made, client, args.prefix, db, load.tally)]
            raise
        for name in ("tracker0", "tracker1", "worker0", "worker1", "api"):
            made[name].stop()
        failures = check(load.tally, figures(db), client, args.prefix)
        if faults.error:
            failures.insert(0, faults.error)
        report(args, load.tally, faults, figures(db), loaded, drained_in, client, failures)
        client.close()
    finally:
        for service in made.values():
            with contextlib.suppress(Exception):
                service.stop(10)
        if failures:
            print("\n".join(failures), flush=True)
            for service in made.values():
                say(f"--- {service.name} log (last lines) ---\n{service.tail()}")
        cluster.stop()
        if db is not None:
            db.drop()
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


def _progress(tally: Tally, t0: float, stop: threading.Event) -> None:
    while not stop.wait(10):
        t = tally
        say(
            f"  t={time.monotonic() - t0:5.1f} s: {t.redirects:,} redirects, "
            f"{len(t.accepted):,} orders accepted, {len(t.refunds):,} refunds, "
            f"{t.api_answers['ok']:,} API reads; clicks {dict(t.click_answers)}"
        )


def check(tally: Tally, found: dict[str, Any], client: RedisCluster, prefix: str) -> list[str]:
    from api.ingest.worker import GROUP
    from tracker import keys

    failures = []
    expected = {
        "click rows": (found["clicks"], tally.redirects),
        "rollup clicks + bot hits": (found["rollup"], tally.redirects),
        "unique clicks (first of a visitor on a code)": (found["unique"], len(tally.visitors)),
        "conversions": (len(found["orders"]), len(tally.accepted)),
        "unattributed conversions": (found["unattributed"], 0),
        "ledger (minor units)": (found["commission"], tally.expected_commission),
    }
    for what, (got, want) in expected.items():
        if got != want:
            failures.append(f"{what}: {got:,} in the database, {want:,} expected")
    if found["orders"] != set(tally.accepted):
        failures.append(
            f"orders differ: {sorted(found['orders'] ^ set(tally.accepted))[:10]} (first 10)"
        )
    for stream in (keys.clicks_stream(prefix), keys.conversions_stream(prefix)):
        pending = int(client.xpending(stream, GROUP)["pending"])
        if pending:
            failures.append(f"{stream}: {pending} entries pending")
    dead = (
        client.xlen(keys.dead_letter_stream(prefix))
        if client.exists(keys.dead_letter_stream(prefix))
        else 0
    )
    if dead:
        failures.append(f"{dead} entries dead-lettered")
    failures += [f"postback refused: {r}" for r in tally.rejected[:5]]
    return failures


def report(
    args: argparse.Namespace,
    tally: Tally,
    faults: Faults,
    found: dict[str, Any],
    loaded: float,
    drained_in: float,
    client: RedisCluster,
    failures: list[str],
) -> None:
    from api.ingest.worker import GROUP
    from tracker import keys

    t = tally
    pending = {
        name: int(client.xpending(stream, GROUP)["pending"])
        for name, stream in (
            ("clicks", keys.clicks_stream(args.prefix)),
            ("conversions", keys.conversions_stream(args.prefix)),
        )
    }
    refused = "refused, sent to the other tracker"
    answered = sum(n for k, n in t.click_answers.items() if k != refused)
    lines = [
        "",
        f"soak: {loaded:.0f} s of load on 2 trackers, 2 workers, the API (2 workers), a Redis "
        f"Cluster of 3 masters + 3 replicas and {'SQLite' if args.sqlite else 'PostgreSQL'}; "
        f"drained {drained_in:.1f} s after the load stopped "
        f"(load average {os.getloadavg()[0]:.2f})",
        "faults:",
        *(f"  {line}" for line in faults.log),
        f"clicks: {answered:,} sent, {t.redirects:,} redirected (302; {t.bots:,} to bots), "
        f"answers {dict(sorted(t.click_answers.items()))}",
        f"  click rows {found['clicks']:,}, in the rollups {found['rollup']:,} "
        f"(unique {found['unique']:,} = {len(t.visitors):,} visitors' first clicks on a code; "
        f"{t.repeats_elsewhere:,} repeats reached the other tracker than the first click)",
        f"orders: {len(t.accepted):,} accepted ({t.by_click:,} by click, {t.by_code:,} by code), "
        f"{len(t.refunds):,} refunds; postback answers {dict(sorted(t.postback_answers.items()))}",
        f"  conversions {len(found['orders']):,} ({found['unattributed']} unattributed); ledger "
        f"{found['commission']:,} minor units, expected {t.expected_commission:,}",
        f"load generator: calls not made while too many were in flight {dict(t.behind)}",
        f"API reads: {t.api_answers['ok']:,} ok of {sum(t.api_answers.values()):,}, p50 "
        f"{statistics.median(t.api_ms) if t.api_ms else float('nan'):.1f} ms, p95 "
        f"{percentile(t.api_ms, 0.95):.1f} ms, p99 {percentile(t.api_ms, 0.99):.1f} ms; "
        f"other answers {dict((k, v) for k, v in t.api_answers.items() if k != 'ok')}",
        f"streams: pending {pending}",
    ]
    lines.append("PASS: every check holds" if not failures else "FAIL:")
    lines += [f"  {failure}" for failure in failures]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
