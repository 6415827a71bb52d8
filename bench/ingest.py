"""Ingest worker throughput into PostgreSQL vs the tracker's redirect rate, measured side by side
in one run (`make bench-ingest`).

Pre-loads the click and conversion streams of a fresh redis-server (free port) with a tracker-like
load: N clicks (5 % bots, 20 % repeats) and, per 100 clicks, `--conversion-rate` orders (half by
click id, half by discount code) and a refund for one order in ten. `--connector-share` of the
orders come as the shop connectors (`tracker/shops.py`) write them, with the shop's customer id,
from a pool of customers a third the size of the orders: the campaign credits repeat orders for
life, so the worker also looks up and writes customer claims (and the commission total is the
same: every partnership earns the same rate). Then starts the worker
(`python -m api.ingest`, one process per `--workers`) and times it draining the streams, with
progress every second. Database: DATABASE_URL if set (PostgreSQL), else a temporary database on
postgresql+psycopg://postgres@127.0.0.1:5432, dropped at the end.

The tracker's redirect rate is measured in the same run, the way `make bench-tracker` does (its
code, `bench/tracker.py`): one granian worker pinned to core 1, wrk on core 0 with a browser's
headers and a new visitor per request, 64 connections for `--tracker-duration` seconds, once
before the first ingest round and once after each, so every ingest round has a tracker run on
either side; its ratio is to the mean of those two. Target: ratio >= 1, i.e. the backlog never
grows while the tracker runs flat out (workers scale out: one consumer group). With
`--skip-tracker` (or without wrk) no ratio is printed: there is no figure to compare with.
Every round then checks the database: clicks, rollups, conversions and the ledger's total equal
what was loaded. With `--clickhouse` each worker count runs twice, without and then with the
ClickHouse sink (CLICKHOUSE_URL on chdb in a temporary directory): the ratio of the two rates
is what the sink costs ingest; the round also says when the sink had copied every click and
checks that ClickHouse holds each click and order once.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import api.models  # noqa: E402, F401
from api.db import Base, make_engine  # noqa: E402
from api.domain.commission import Commission, CommissionKind, CompensationPlan  # noqa: E402
from api.ingest.worker import GROUP  # noqa: E402
from api.models import (  # noqa: E402
    Brand,
    Campaign,
    Click,
    ClickRollup,
    Conversion,
    DiscountCode,
    Influencer,
    LedgerEntry,
    Organization,
    Partnership,
    TrackedLink,
)
from api.money import apply_basis_points  # noqa: E402
from bench import tracker as tracker_bench  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tracker import keys  # noqa: E402
from tracker.conversions import ConversionEvent, RefundEvent  # noqa: E402
from tracker.events import KIND_CLICK, ClickEvent, new_id  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
BPS = 1000
PARTNERS = 20


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class TrackerRate:
    """The tracker's redirect rate, measured between the ingest rounds (`bench/tracker.py`'s
    code and set-up: one granian worker on core 1, wrk on core 0, a new visitor per request)."""

    def __init__(self, client: redis.Redis, redis_url: str, work: Path, args: Any) -> None:
        self.client = client
        self.args = args
        self.prefix = f"bench-tracker-{secrets.token_hex(4)}"
        tracker_bench.publish_link(client, self.prefix)
        self.script = work / "requests.lua"
        self.script.write_text(tracker_bench.WRK_SCRIPT)
        self.server_core, self.load_core = tracker_bench.cores()
        self.tracker = tracker_bench.start_tracker(
            "rsgi", self.prefix, redis_url, self.server_core, work
        )
        self.url = f"{self.tracker.base}/c/{tracker_bench.CODE}"
        self.runs: list[float] = []
        self._run(2)  # warm-up, not counted

    def measure(self) -> float:
        say(
            f"tracker: {self.args.connections} connections for {self.args.tracker_duration} s "
            f"(granian on core {self.server_core}, wrk on core {self.load_core})"
        )
        rps = self._run(self.args.tracker_duration)
        self.runs.append(rps)
        say(f"  tracker {rps:,.0f} req/s")
        return rps

    def _run(self, duration: int) -> float:
        result = tracker_bench.run_wrk(
            self.url, self.script, self.load_core, duration, self.args.connections
        )
        if result.errors or result.non_3xx:
            raise SystemExit(
                f"FAIL: the tracker answered {result.errors} errors and {result.non_3xx} "
                "responses other than a redirect: its rate would not be a redirect rate"
            )
        # Its clicks are not the ingest rounds' load: dropped, so Redis does not grow.
        self.client.delete(keys.clicks_stream(self.prefix))
        return result.rps

    def stop(self) -> None:
        self.tracker.process.send_signal(signal.SIGTERM)
        self.tracker.process.wait(30)
        for key in self.client.scan_iter(match=f"{self.prefix}*"):
            self.client.delete(key)


def start_tracker_rate(
    client: redis.Redis, redis_url: str, work: Path, args: argparse.Namespace
) -> tuple[TrackerRate | None, str]:
    """The tracker to measure, or None with the reason there will be no ratio."""
    how = "run `make bench-ingest` without --skip-tracker; it needs wrk (apt-get install wrk)"
    if args.skip_tracker:
        return None, f"the tracker's rate was not measured (--skip-tracker): {how}"
    try:
        tracker_bench.ensure_tools("wrk")
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"wrk is missing and could not be installed ({exc}): {how}"
    return TrackerRate(client, redis_url, work, args), ""


def seed(session: Session) -> dict[str, Any]:
    org = Organization(name="Bench")
    session.add(org)
    session.flush()
    brand = Brand(organization_id=org.id, name="Bench brand", default_currency="EUR")
    session.add(brand)
    session.flush()
    campaign = Campaign(
        organization_id=org.id,
        brand_id=brand.id,
        name="Bench",
        objective="CONVERSIONS",
        status="ACTIVE",
        currency="EUR",
        landing_url="https://shop.example.com/",
        repeat_orders="LIFETIME",
        compensation=CompensationPlan(
            currency="EUR", commission=Commission(CommissionKind.PERCENT, bps=BPS)
        ).to_dict(),
    )
    session.add(campaign)
    session.flush()
    partners = []
    for i in range(PARTNERS):
        influencer = Influencer(organization_id=org.id, name=f"Creator {i}")
        session.add(influencer)
        session.flush()
        partnership = Partnership(
            organization_id=org.id,
            campaign_id=campaign.id,
            influencer_id=influencer.id,
            status="ACTIVE",
            connection="AFFILIATE",
        )
        session.add(partnership)
        session.flush()
        link = TrackedLink(
            organization_id=org.id,
            brand_id=brand.id,
            campaign_id=campaign.id,
            partnership_id=partnership.id,
            code=f"bench{i}",
            destination_url="https://shop.example.com/",
        )
        code = DiscountCode(
            organization_id=org.id,
            brand_id=brand.id,
            campaign_id=campaign.id,
            partnership_id=partnership.id,
            code=f"BENCH{i}",
            percent_off_bps=1000,
        )
        session.add_all([link, code])
        session.flush()
        partners.append((link.id, partnership.id, code.code))
    session.commit()
    return {"org": org.id, "brand": brand.id, "campaign": campaign.id, "partners": partners}


def _fields(event: Any) -> Any:
    """An event's stream fields (typed loosely for redis-py's invariant dict signature)."""
    return event.to_fields()


def load_streams(
    client: redis.Redis,
    prefix: str,
    world: dict[str, Any],
    n_clicks: int,
    rate: float,
    connector_share: float = 0.5,
) -> dict[str, int]:
    rnd = random.Random(42)
    customers = max(1, round(n_clicks * rate / 100 / 3))
    clicks_stream = keys.clicks_stream(prefix)
    conv_stream = keys.conversions_stream(prefix)
    now = int(time.time() * 1000) - 3_600_000
    expected = {"clicks": 0, "bots": 0, "orders": 0, "refunds": 0, "commission": 0}
    pipe = client.pipeline(transaction=False)
    recent: list[str] = []
    for i in range(n_clicks):
        link_id, partnership_id, code = world["partners"][i % PARTNERS]
        ts = now + i
        event_id = new_id(ts)
        bot = rnd.random() < 0.05
        repeat = bool(recent) and rnd.random() < 0.2
        click = ClickEvent(
            kind=KIND_CLICK,
            event_id=event_id,
            click_id=recent[-1] if repeat else event_id,
            code=f"bench{i % PARTNERS}",
            ts=ts,
            ip="203.0.113.0",
            ip_hash=f"{rnd.getrandbits(256):064x}",
            user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)",
            referer="https://www.instagram.com/",
            bot=bot,
            unique=not repeat,
            link_id=link_id,
            partnership_id=partnership_id,
            campaign_id=world["campaign"],
            brand_id=world["brand"],
            organization_id=world["org"],
        )
        pipe.xadd(clicks_stream, _fields(click))
        expected["clicks"] += 1
        expected["bots"] += bot
        if not bot:
            recent = [*recent, event_id][-50:]
        if rnd.random() < rate / 100 and not bot:
            amount = rnd.randrange(500, 30_000)
            by_code = rnd.random() < 0.5
            order_id = f"B{i}"
            pipe.xadd(
                conv_stream,
                _fields(
                    ConversionEvent(
                        event_id=new_id(),
                        brand_id=world["brand"],
                        order_id=order_id,
                        amount=amount,
                        currency="EUR",
                        occurred_at_ms=ts + 60_000,
                        received_at_ms=int(time.time() * 1000),
                        click_id=None if by_code else event_id,
                        discount_code=code if by_code else None,
                        customer_id=f"shopify:{rnd.randrange(customers)}"
                        if rnd.random() < connector_share
                        else None,
                    )
                ),
            )
            expected["orders"] += 1
            commission = apply_basis_points(amount, BPS)
            expected["commission"] += commission
            if rnd.random() < 0.1:
                part = amount // 2
                pipe.xadd(
                    conv_stream,
                    _fields(
                        RefundEvent(
                            event_id=new_id(),
                            brand_id=world["brand"],
                            refund_id=f"R{i}",
                            order_id=order_id,
                            amount_decimal=f"{Decimal(part).scaleb(-2):f}",  # "70.00", never "7E+1"
                            currency="EUR",
                            occurred_at_ms=ts + 120_000,
                            received_at_ms=int(time.time() * 1000),
                        )
                    ),
                )
                expected["refunds"] += 1
                expected["commission"] -= round(Decimal(commission) * part / amount)
        if i % 5000 == 4999:
            pipe.execute()
        if i % 50_000 == 49_999:
            say(f"  loaded {i + 1:,} clicks")
    pipe.execute()
    for stream in (clicks_stream, conv_stream):
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    return expected


class CpuMeter:
    """CPU seconds of the round's processes (workers, their PostgreSQL backends, Redis) and of
    the whole machine, from /proc (Linux; PostgreSQL on this machine), so a figure taken while
    other work shares the cores can be told apart."""

    def __init__(self, pids: dict[str, list[int]], db_name: str | None) -> None:
        self.pids = pids
        self.db_name = db_name
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.machine = self._machine()

    @staticmethod
    def _seconds(pid: int) -> float | None:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _machine() -> tuple[float, float]:
        """(busy, total) jiffies of all cores."""
        try:
            with open("/proc/stat") as stat:
                values = [int(v) for v in stat.readline().split()[1:]]
        except OSError:
            return (0.0, 0.0)
        idle = values[3] + values[4]
        return (float(sum(values) - idle), float(sum(values)))

    def sample(self, engine: Any) -> None:
        pids = dict(self.pids)
        if self.db_name:
            with engine.connect() as conn:
                pids["postgres"] = list(
                    conn.scalars(
                        text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                        {"d": self.db_name},
                    )
                )
        for group, members in pids.items():
            for pid in members:
                seconds = self._seconds(pid)
                if seconds is not None:
                    self.first.setdefault((group, pid), seconds)
                    self.last[(group, pid)] = seconds

    def report(self, events: int) -> str:
        used: dict[str, float] = {}
        for key, seconds in self.last.items():
            used[key[0]] = used.get(key[0], 0.0) + seconds - self.first[key]
        busy, total = self._machine()
        share = (busy - self.machine[0]) / max(total - self.machine[1], 1.0)
        ours = sum(used.values())
        parts = ", ".join(f"{group} {seconds:.1f} s" for group, seconds in used.items())
        return (
            f"CPU: {parts} = {ours:.1f} s, {ours / events * 1e6:.0f} µs per event; the machine's "
            f"cores were {share:.0%} busy (load average {os.getloadavg()[0]:.1f})"
        )


def backlog(client: redis.Redis, prefix: str) -> tuple[int, int]:
    """Entries not yet read or not yet acknowledged: (clicks, conversions and refunds)."""
    left = []
    for stream in (keys.clicks_stream(prefix), keys.conversions_stream(prefix)):
        group = {g["name"].decode(): g for g in client.xinfo_groups(stream)}[GROUP]
        left.append(int(group.get("lag") or 0) + int(client.xpending(stream, GROUP)["pending"]))
    return left[0], left[1]


def migrated_schema(engine: Any) -> None:
    """An empty schema built as production builds it, by Alembic's migrations: on PostgreSQL
    the raw event tables are partitioned by month (`api.ingest.partitions`)."""
    from alembic import command
    from api.ingest.partitions import is_partitioned
    from api.migrations import config

    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        cfg = config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        shape = "partitioned by month" if is_partitioned(conn, "clicks") else "plain"
    say(f"schema: migrated to head, raw event tables {shape}")


def run_round(
    client: redis.Redis,
    redis_url: str,
    redis_pid: int,
    db_url: str,
    prefix: str,
    workers: int,
    n_clicks: int,
    args: argparse.Namespace,
    clickhouse_url: str = "",
) -> tuple[float, int, dict[str, int]]:
    engine = make_engine(db_url)
    migrated_schema(engine)
    with Session(engine) as session:
        world = seed(session)
    say(f"loading {n_clicks:,} clicks (+ ~{args.conversion_rate:g} orders per 100) into Redis")
    expected = load_streams(
        client, prefix, world, n_clicks, args.conversion_rate, args.connector_share
    )
    events = expected["clicks"] + expected["orders"] + expected["refunds"]
    say(
        f"  {expected['clicks']:,} clicks, {expected['orders']:,} orders, "
        f"{expected['refunds']:,} refunds = {events:,} events"
    )
    env = os.environ | {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "REDIS_PREFIX": prefix}
    env.pop("REDIS_CLUSTER_URL", None)
    env.pop("CLICKHOUSE_URL", None)
    if clickhouse_url:
        env["CLICKHOUSE_URL"] = clickhouse_url
        env["CLICKHOUSE_SINK"] = args.clickhouse
    command = [sys.executable, "-m", "api.ingest", "--block-ms", "100", "--log-level", "WARNING"]
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    if args.conversion_batch_size:
        command += ["--conversion-batch-size", str(args.conversion_batch_size)]
    procs = [subprocess.Popen(command, cwd=ROOT, env=env) for _ in range(workers)]
    spawned = time.monotonic()
    try:
        # The clock starts when every worker has made its first read (Python start-up and
        # imports, about a second, are not ingest time).
        while len(client.xinfo_consumers(keys.clicks_stream(prefix), GROUP)) < workers:
            if time.monotonic() - spawned > 60:
                raise SystemExit("FAIL: the workers did not start")
            time.sleep(0.01)
        db_name = db_url.rsplit("/", 1)[-1] if db_url.startswith("postgresql") else None
        groups = {"workers": [p.pid for p in procs], "redis": [redis_pid]}
        if clickhouse_url and args.clickhouse == "process":  # the sink's, started by the workers
            groups["sink"] = [c for p in procs for c in children(p.pid)]
        meter = CpuMeter(groups, db_name)
        meter.sample(engine)
        start = last = time.monotonic()
        say(f"  workers reading after {start - spawned:.2f} s of start-up")
        drained: dict[str, float] = {}
        while True:
            time.sleep(0.2)
            clicks_left, conversions_left = backlog(client, prefix)
            left = clicks_left + conversions_left
            now = time.monotonic()
            meter.sample(engine)
            for name, stream_left in (("clicks", clicks_left), ("conversions", conversions_left)):
                if stream_left == 0:
                    drained.setdefault(name, now - start)
            if now - last >= 1.0:
                done = events - left
                say(f"  {done:,}/{events:,} ingested, {done / (now - start):,.0f} events/s")
                last = now
            if left == 0:
                break
            if now - start > args.timeout:
                raise SystemExit("FAIL: the workers did not drain the streams in time")
        elapsed = time.monotonic() - start
        if clickhouse_url:  # the sink's catch-up counts in its CPU
            sink_caught_up(client, prefix, engine, elapsed, args.timeout)
            meter.sample(engine)
        say(f"  {meter.report(events)}")
        say(
            f"  the click stream was drained after {drained['clicks']:.2f} s "
            f"({expected['clicks'] / drained['clicks']:,.0f} clicks/s), the conversion stream "
            f"after {drained['conversions']:.2f} s"
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(30)
    with Session(engine) as session:
        found = {
            "clicks": session.scalar(select(func.count()).select_from(Click)) or 0,
            "rollup": session.scalar(select(func.sum(ClickRollup.clicks + ClickRollup.bot_hits)))
            or 0,
            "orders": session.scalar(select(func.count()).select_from(Conversion)) or 0,
            "commission": session.scalar(select(func.sum(LedgerEntry.amount))) or 0,
        }
    engine.dispose()
    checks = {
        "clicks": (found["clicks"], expected["clicks"]),
        "rollup": (found["rollup"], expected["clicks"]),
        "orders": (found["orders"], expected["orders"]),
        "commission": (int(found["commission"]), expected["commission"]),
    }
    bad = {k: v for k, v in checks.items() if v[0] != v[1]}
    if bad:
        raise SystemExit(f"FAIL: database totals differ from what was loaded: {bad}")
    if clickhouse_url:
        check_clickhouse(clickhouse_url, found)
    for stream in (keys.clicks_stream(prefix), keys.conversions_stream(prefix)):
        client.delete(stream)
    return elapsed, events, expected


def children(pid: int) -> list[int]:
    """A process's children, those started by any of its threads (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def sink_caught_up(
    client: redis.Redis, prefix: str, engine: Any, drained_after: float, timeout: float
) -> None:
    """Waits for the worker's ClickHouse sink to have copied everything (a round of it that
    began after the streams drained has ended: its progress hash in Redis) and says how long
    after the streams drained."""
    from api.clickhouse.sink import progress_key

    drained_at = time.time()
    start = time.monotonic()
    while True:
        started = client.hget(progress_key(prefix), "started")
        if started is not None and float(started) > drained_at:  # a round after every commit
            break
        if time.monotonic() - start > timeout:
            raise SystemExit("FAIL: the ClickHouse sink did not catch up in time")
        time.sleep(0.1)
    lag = time.monotonic() - start
    say(
        f"  the ClickHouse sink had copied everything {lag:.2f} s after the streams drained "
        f"({drained_after + lag:.2f} s from the start)"
    )


def check_clickhouse(url: str, found: dict[str, Any]) -> None:
    """ClickHouse holds each click and order once (FINAL), as many as the database."""
    from api.clickhouse.client import connect, disconnect

    ch = connect(url)
    clicks = int(ch.query("SELECT count() FROM clicks FINAL")[0][0])
    orders = int(ch.query("SELECT count() FROM conversions FINAL")[0][0])
    disconnect(url)
    if (clicks, orders) != (found["clicks"], found["orders"]):
        raise SystemExit(
            f"FAIL: ClickHouse has {clicks:,} clicks and {orders:,} orders, the database "
            f"{found['clicks']:,} and {found['orders']:,}"
        )
    say(f"  ClickHouse: {clicks:,} clicks and {orders:,} orders, each once, as the database")


def summary(
    results: list[tuple[int, int, float]], tracker_runs: list[float], no_ratio: str
) -> list[str]:
    """The figures of the rounds (workers, events, seconds). With the tracker's rates measured
    before the first round and after each (`tracker_runs`), each round's ratio to the mean of
    the two runs around it; without them no ratio at all, and `no_ratio` says why."""
    if len(tracker_runs) != len(results) + 1:
        lines = [f"{'workers':>7} {'events':>9} {'seconds':>8} {'events/s':>10}"]
        for workers, events, elapsed in results:
            lines.append(f"{workers:>7} {events:>9,} {elapsed:>8.2f} {events / elapsed:>10,.0f}")
        return [*lines, f"no ratio to the tracker: {no_ratio or 'its rate was not measured'}"]
    lines = [
        f"{'workers':>7} {'events':>9} {'seconds':>8} {'events/s':>10} {'tracker req/s':>14} "
        f"{'ratio':>6}"
    ]
    ratios = []
    for i, (workers, events, elapsed) in enumerate(results):
        around = (tracker_runs[i] + tracker_runs[i + 1]) / 2  # the runs just before and after
        rate = events / elapsed
        ratios.append((workers, rate / around))
        lines.append(
            f"{workers:>7} {events:>9,} {elapsed:>8.2f} {rate:>10,.0f} {around:>14,.0f} "
            f"{rate / around:>6.2f}"
        )
    lines.append(
        "tracker redirect rate, measured in this run: "
        f"{', '.join(f'{r:,.0f}' for r in tracker_runs)} req/s "
        f"(median {statistics.median(tracker_runs):,.0f})"
    )
    for workers, ratio in ratios:
        verdict = "meets" if ratio >= 1 else "below"
        lines.append(
            f"{workers} worker(s): {ratio:.2f}x the tracker's redirect rate measured around it "
            f"({verdict} the target >= 1: the backlog never grows while the tracker runs flat out)"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=100_000)
    parser.add_argument("--conversion-rate", type=float, default=2.0, help="orders per 100 clicks")
    parser.add_argument(
        "--connector-share",
        type=float,
        default=0.5,
        help="share of orders from shop connectors, with a customer id (0-1)",
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--batch-size", type=int, default=None, help="clicks per batch (default: the worker's)"
    )
    parser.add_argument(
        "--conversion-batch-size",
        type=int,
        default=None,
        help="conversions per batch (default: the worker's)",
    )
    parser.add_argument(
        "--tracker-duration", type=int, default=10, help="seconds per tracker run (wrk)"
    )
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument(
        "--skip-tracker",
        action="store_true",
        help="do not measure the tracker (then no ratio is printed)",
    )
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--clickhouse",
        nargs="?",
        const="process",
        choices=("process", "thread"),
        help="each round again with the ClickHouse sink on (chdb), in a process of its own "
        "(the default) or a thread of the worker, side by side",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vouch-bench-ingest-"))
    server = RedisServer(str(work / "redis")).start()
    redis_url = server.url
    client = redis.Redis.from_url(redis_url)
    own_db = not os.environ.get("DATABASE_URL", "").startswith("postgresql")
    db_name = f"vouch_bench_{secrets.token_hex(4)}"
    db_url = os.environ.get("DATABASE_URL", "") if not own_db else f"{PG_SERVER}/{db_name}"
    admin = None
    if own_db:
        admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    results = []
    sink_rounds: list[int] = []  # which of the results had the ClickHouse sink on
    tracker: TrackerRate | None = None
    try:
        say(f"database {db_url.rsplit('@', 1)[-1]}, redis {redis_url}")
        tracker, no_ratio = start_tracker_rate(client, redis_url, work, args)
        if tracker is not None:
            tracker.measure()
        rounds = [(w, "") for w in args.workers]
        if args.clickhouse:  # each worker count without, then with the sink
            rounds = [(w, url) for w in args.workers for url in ("", f"chdb://{work}/ch{w}")]
        for workers, clickhouse_url in rounds:
            sink = ", ClickHouse sink on" if clickhouse_url else ""
            say(f"round: {workers} worker(s){sink}")
            elapsed, events, _ = run_round(
                client,
                redis_url,
                server.pid(),
                db_url,
                f"bench{workers}{'ch' if clickhouse_url else ''}",
                workers,
                args.clicks,
                args,
                clickhouse_url,
            )
            results.append((workers, events, elapsed))
            if clickhouse_url:
                sink_rounds.append(len(results) - 1)
            say(f"  drained {events:,} events in {elapsed:.2f} s: {events / elapsed:,.0f} events/s")
            if tracker is not None:
                tracker.measure()
    finally:
        if tracker is not None:
            tracker.stop()
        client.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            admin.dispose()

    print()
    print("\n".join(summary(results, tracker.runs if tracker else [], no_ratio)))
    for i in sink_rounds:
        workers, events, elapsed = results[i]
        _, base_events, base_elapsed = results[i - 1]
        ratio = (events / elapsed) / (base_events / base_elapsed)
        print(
            f"{workers} worker(s) with the ClickHouse sink ({args.clickhouse}): {ratio:.2f}x "
            "the rate without it (the round before)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
