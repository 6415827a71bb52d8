"""The GraphQL API under a frontend's mix, against a floor peer, side by side (`make bench-api`).

The floor is `bench/floor.py`: a strawberry schema answering `{ ok }` on the API's server stack
(uvicorn, Starlette, strawberry's ASGI view), with the parser and validation caches the API has,
the same worker count and pinning (= 1.00).
Each query of the mix is run by wrk (POST, 32 connections by default, `--duration` seconds) against
the API, the floor once per round before them; the table gives req/s, p50/p95/p99 and req/s as a
fraction of the floor's in the same round, for 1 and 2 API workers (`--workers`).

With one worker the servers are pinned to core 1 and wrk to core 0; with two, the servers get
both cores and wrk shares them (the only way two workers can run on this 2-core machine).

The data set: a fresh PostgreSQL database (created here, dropped at the end unless `--keep`;
`--reuse NAME` runs again on a kept one) with the demo data (`vouch demo`: two organizations,
months of clicks, orders and payouts) and `--influencers` more influencers (100,000) in the first
organization (accounts and snapshots), so that discovery and audience quality read a roster of
that size; then VACUUM ANALYZE, as autovacuum would have done on a live database. Not the 10M
clicks of `make bench-analytics`: seeding those takes too long here to run beside every change.

Besides each query alone, two runs per round: the whole mix in turn from every connection (its
p99 is the target on 2 workers) and discovery from one client (its p95 is a target). Every
query is sent once before the rounds and must answer without errors; every wrk run must see no
socket errors and no non-2xx.
Redis: a redis-server started on a free port (the API publishes links and limits failed keys).

Targets (issue 19): `viewer` >= 0.7 x the floor; every read of the mix >= 0.25 x the floor;
discovery for one client p95 < 50 ms; the whole mix on 2 workers p99 < 250 ms with no errors.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tracker import ensure_tools  # noqa: E402
from tests.redis_server import RedisServer, free_port  # noqa: E402

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
VIEWER_TARGET = 0.7
READ_TARGET = 0.25
DISCOVERY_P95_MS = 50.0  # one client
MIX_P99_MS = 250.0  # the whole mix, 32 connections
MIX = "the whole mix, in turn (32 connections)"
DISCOVERY_ONE = "discovery, one client (1 connection)"
MUTATIONS = {"updateInfluencer"}

DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %.0f %.0f %.0f\\n", summary.requests,
    summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""

LUA = (
    """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {authorization}
"""
    + DONE
)
# The whole mix from every connection, each request the next operation in turn.
MIX_LUA = (
    """
local bodies = {{ {bodies} }}
local authorizations = {{ {authorizations} }}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {{["Content-Type"] = "application/json",
    ["Authorization"] = authorizations[i]}}, bodies[i])
end
"""
    + DONE
)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Operation:
    name: str
    query: str
    role: str  # whose key sends it
    mutation: bool = False


@dataclass
class Run:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    non_2xx: int


def lua_quote(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for this text


def run_wrk(
    url: str,
    body: dict[str, Any],
    key: str,
    cores: str,
    duration: int,
    connections: int,
    script: str | None = None,
) -> Run:
    """wrk POSTing `body` with `key`, or running `script` (a Lua text ending in DONE)."""
    path = Path(tempfile.mkstemp(suffix=".lua")[1])
    path.write_text(
        script
        or LUA.format(body=lua_quote(json.dumps(body)), authorization=lua_quote(f"Bearer {key}"))
    )
    threads = min(2, connections)
    try:
        out = subprocess.run(
            ["taskset", "-c", cores, "wrk", f"-t{threads}", f"-c{connections}",
             f"-d{duration}s", "-s", str(path), url],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    finally:
        path.unlink()
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    requests, duration_us, errors, status, p50, p95, p99 = (float(x) for x in line.split()[1:])
    return Run(
        rps=requests / (duration_us / 1e6),
        p50_ms=p50 / 1000,
        p95_ms=p95 / 1000,
        p99_ms=p99 / 1000,
        errors=int(errors),
        non_2xx=int(status),
    )


def mix_script(mix: list[Operation], keys: dict[str, str]) -> str:
    bodies = ", ".join(lua_quote(json.dumps({"query": op.query})) for op in mix)
    authorizations = ", ".join(lua_quote(f"Bearer {keys[op.role]}") for op in mix)
    return MIX_LUA.format(bodies=bodies, authorizations=authorizations)


def post(url: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer") from None
            time.sleep(0.2)


# --- the data set ----------------------------------------------------------------------------


def admin_execute(server: str, sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def seed(env: dict[str, str], extra_influencers: int, reuse: bool = False) -> dict[str, Any]:
    """Migrates and seeds the bench database (in a child process: the settings are read from
    its environment) and returns the keys and ids the mix needs; `reuse` seeds nothing."""
    code = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from bench.api_data import build
print("RESULT " + json.dumps(build({extra_influencers}, reuse={reuse})))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


def operations(ids: dict[str, Any]) -> list[Operation]:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    to = now.isoformat()
    month = (now - timedelta(days=30)).isoformat()
    period = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    performance = (
        f'performance(from: "{month}", to: "{to}") '
        "{ clicks uniqueClicks conversions revenue { amount currency } cost { amount } roi }"
    )
    return [
        Operation("viewer", "{ viewer { role } }", "MANAGER"),
        Operation(
            "campaigns (20) with performance",
            f"{{ campaigns(first: 20) {{ nodes {{ id name status {performance} }} }} }}",
            "MANAGER",
        ),
        Operation(
            "discovery (50, MICRO, by engagement, audienceQuality)",
            "{ influencers(first: 50, filter: {tier: MICRO}, "
            "orderBy: {field: ENGAGEMENT_RATE, direction: DESC}) { totalCount nodes { id name "
            "totalFollowers engagementRate tier audienceQuality { score signals { code } } } } }",
            "MANAGER",
        ),
        Operation(
            "partnership page",
            f'{{ partnership(id: "{ids["partnership"]}") {{ id status campaign {{ name }} '
            "influencer { name } links { code url performance(from: "
            f'"{month}", to: "{to}") {{ clicks conversions }} }} discountCodes {{ code }} '
            "deliverables { id status } } "
            f'ledgerEntries(first: 20, filter: {{influencerId: "{ids["influencer"]}"}}) '
            "{ nodes { id kind status amount { amount currency } conversion { orderId } } } }",
            "MANAGER",
        ),
        Operation(
            "report: 30-day DAY series",
            f'{{ campaign(id: "{ids["campaign"]}") {{ performanceSeries(from: "{month}", '
            f'to: "{to}", granularity: DAY) {{ start clicks uniqueClicks conversions '
            "revenue { amount } cost { amount } } } }",
            "MANAGER",
        ),
        Operation(
            "report: COUNTRY breakdown",
            f'{{ campaign(id: "{ids["campaign"]}") {{ performanceBreakdown(from: "{month}", '
            f'to: "{to}", by: COUNTRY, first: 20) {{ key performance {{ clicks conversions '
            "revenue { amount } commission { amount } } } } }",
            "MANAGER",
        ),
        Operation(
            "leaderboard",
            f'{{ campaign(id: "{ids["campaign"]}") {{ leaderboard(from: "{month}", to: "{to}", '
            "metric: REVENUE, first: 50) { rank value influencer { name } performance { clicks "
            "revenue { amount } } } } }",
            "MANAGER",
        ),
        Operation(
            "statement",
            f'{{ statement(influencerId: "{ids["influencer"]}", period: "{period}", '
            f'currency: "{ids["currency"]}") {{ openingBalance {{ amount }} closingBalance '
            "{ amount } entries { id kind amount { amount } } } }",
            "FINANCE",
        ),
        Operation(
            "updateInfluencer",
            f'mutation {{ updateInfluencer(input: {{influencerId: "{ids["influencer"]}", '
            'notes: "bench"}) { influencer { id } userErrors { code } } }',
            "MANAGER",
            mutation=True,
        ),
    ]


# --- the servers -----------------------------------------------------------------------------


def start_server(app: str, env: dict[str, str], cores: str, workers: int) -> tuple[Any, str]:
    port = free_port()
    command = [
        "taskset", "-c", cores, sys.executable, "-m", "uvicorn", app, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/graphql"
    wait_for(f"http://127.0.0.1:{port}/healthz")
    return process, url


def stop(process: Any) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bench_workers(
    args: argparse.Namespace, env: dict[str, str], ids: dict[str, Any], workers: int
) -> list[tuple[str, list[Run], list[float]]]:
    servers, load = ("1", "0") if workers == 1 and (os.cpu_count() or 1) >= 2 else ("0,1", "0,1")
    floor, floor_url = start_server("bench.floor:create_app", env, servers, workers)
    api, api_url = start_server("api.app:create_app", env, servers, workers)
    keys = ids["keys"]
    mix = operations(ids)
    try:
        assert post(floor_url, {"query": "{ ok }"}, "x") == {"data": {"ok": True}}
        for op in mix:  # each answers without errors before it is timed
            answer = post(api_url, {"query": op.query}, keys[op.role])
            if answer.get("errors") or not answer.get("data"):
                raise RuntimeError(f"{op.name}: {answer}")
        runs: dict[str, list[Run]] = {op.name: [] for op in mix}
        runs[MIX] = []
        runs[DISCOVERY_ONE] = []
        floors: list[Run] = []
        ratios: dict[str, list[float]] = {name: [] for name in runs}
        discovery = next(op for op in mix if op.name.startswith("discovery"))
        for round_ in range(1, args.rounds + 1):
            say(f"{workers} worker(s), round {round_}/{args.rounds}")
            base = run_wrk(
                floor_url, {"query": "{ ok }"}, "x", load, args.duration, args.connections
            )
            floors.append(base)
            timed: list[tuple[str, Operation | None, int]] = [
                (op.name, op, args.connections) for op in mix
            ]
            timed += [(MIX, None, args.connections), (DISCOVERY_ONE, discovery, 1)]
            for name, op, connections in timed:
                run = run_wrk(
                    api_url,
                    {"query": op.query} if op else {},
                    keys[op.role] if op else "",
                    load,
                    args.duration,
                    connections,
                    script=None if op else mix_script(mix, keys),
                )
                runs[name].append(run)
                ratios[name].append(run.rps / base.rps)
                say(
                    f"  {name}: {run.rps:,.0f} req/s ({run.rps / base.rps:.3f} x floor), "
                    f"p95 {run.p95_ms:.1f} ms, p99 {run.p99_ms:.1f} ms"
                )
    finally:
        stop(api)
        stop(floor)
    table = [("floor: { ok }", floors, [1.0] * len(floors))]
    table += [(name, runs[name], ratios[name]) for name in runs]
    return table


def report(workers: int, table: list[tuple[str, list[Run], list[float]]]) -> list[str]:
    print(f"\n{workers} API worker(s): median of rounds (ratio: req/s / floor req/s, same round)")
    print(f"{'query':<55} {'req/s':>8} {'p50':>8} {'p95':>8} {'p99':>8} {'x floor':>14} {'err':>4}")
    failures = []
    for name, runs, ratios in table:
        rps = statistics.median(r.rps for r in runs)
        p50 = statistics.median(r.p50_ms for r in runs)
        p95 = statistics.median(r.p95_ms for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        errors = sum(r.errors + r.non_2xx for r in runs)
        spread = f"{min(ratios):.3f}-{max(ratios):.3f}"
        print(
            f"{name:<55} {rps:>8,.0f} {p50:>6.1f}ms {p95:>6.1f}ms {p99:>6.1f}ms "
            f"{statistics.median(ratios):>6.3f} ({spread}) {errors:>4}"
        )
        if errors:
            failures.append(f"{workers} worker(s), {name}: {errors} errors")
        if any(r.rps == 0 for r in runs):
            failures.append(f"{workers} worker(s), {name}: no answer within a run")
        if name == MIX:
            if workers == 2 and p99 >= MIX_P99_MS:
                failures.append(f"2 workers, {name}: p99 {p99:.0f} ms (target < {MIX_P99_MS})")
            continue
        if name == DISCOVERY_ONE:
            if p95 >= DISCOVERY_P95_MS:
                failures.append(
                    f"{workers} worker(s), {name}: p95 {p95:.0f} ms (target < {DISCOVERY_P95_MS})"
                )
            continue
        target = VIEWER_TARGET if name == "viewer" else READ_TARGET
        if name.startswith("floor") or name in MUTATIONS:  # the targets are for reads
            continue
        if statistics.median(ratios) < target:
            failures.append(
                f"{workers} worker(s), {name}: {statistics.median(ratios):.3f} x floor "
                f"(target >= {target})"
            )
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-server", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER)
    )
    parser.add_argument("--workers", default="1,2", help="API worker counts, e.g. 1,2")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--influencers", type=int, default=100_000, help="extra influencers")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--reuse", help="run on a database kept by --keep (its name): no seeding")
    args = parser.parse_args()
    ensure_tools("wrk")
    server = args.database_server.rpartition("/")[0]
    name = args.reuse or f"vouch_bench_api_{secrets.token_hex(4)}"
    if not args.reuse:
        admin_execute(args.database_server, f'CREATE DATABASE "{name}"')
    work = Path(tempfile.mkdtemp(prefix="vouch-bench-api-"))
    redis_server = RedisServer(str(work / "redis"), cpus="0").start()
    env = {
        **os.environ,
        "DATABASE_URL": f"{server}/{name}",
        "REDIS_URL": redis_server.url,
        "REDIS_CLUSTER_URL": "",
        "REDIS_PREFIX": f"bench-{secrets.token_hex(4)}",
        "VOUCH_DATA_DIR": str(work),
        "LOG_LEVEL": "WARNING",
        # the bench's one client sends every request: no failed-key limit in the way
        "AUTH_FAILURES_PER_CLIENT": "0",
    }
    failures: list[str] = []
    try:
        if args.reuse:
            say(f"reusing {name} as a --keep run left it")
        else:
            say(f"seeding {name} (demo data + {args.influencers:,} influencers)")
        started = time.monotonic()
        ids = seed(env, args.influencers, reuse=bool(args.reuse))
        # The bulk load leaves no planner statistics and no visibility map: a live database has
        # both from autovacuum, which would not have run yet (discovery's plans were 10x off).
        admin_execute(env["DATABASE_URL"], "VACUUM ANALYZE")
        say(f"ready in {time.monotonic() - started:.0f} s")
        results = []
        for workers in (int(w) for w in args.workers.split(",")):
            results.append((workers, bench_workers(args, env, ids, workers)))
        for workers, table in results:
            failures += report(workers, table)
    finally:
        redis_server.stop()
        if args.keep or args.reuse:
            say(f"kept: --reuse {name}")
        else:
            admin_execute(args.database_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for failure in failures:
        print(f"MISSED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
