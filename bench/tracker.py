"""Tracker redirects vs nginx `return 302`, side by side in one run (`make bench-tracker`).

nginx (one worker) and the Vouch tracker (one granian worker, RSGI, as `vouch tracker serve`
runs it) are pinned to core 1, wrk to core 0 (the load generator and Redis share it); each gets
64 connections for 10 s, three rounds, alternating. `--asgi` adds the same tracker over granian's
ASGI interface (TRACKER_INTERFACE=asgi) to every round, to show what RSGI buys side by side.
A real Redis receives the clicks: a fresh redis-server on a free port (or REDIS_URL if set),
with one link published under a random prefix per tracker. wrk sends a browser's headers
(User-Agent, Referer, Accept, Accept-Language). Two workloads, each against every server:
- unique: a different X-Forwarded-For per request (the bench peer is a trusted proxy), so every
  click is a new visitor (until the 65,536 addresses of a wrk thread wrap around): the full
  path, with a new dedupe entry, an IP hash and a truncation per click;
- repeat: the same visitor again and again: after the first click every one is logged unique=0
  with the first click's id.

After the rounds each tracker is stopped (SIGTERM: its shutdown flushes the buffer) and the run
checks that its click events in Redis equal the redirects it answered, that wrk saw no errors
and no non-3xx answer, and that its spool is empty. Targets: tracker/nginx
ratio of requests/s >= 0.25 (median of the rounds' ratios) and tracker p99 < 10 ms, for each
workload (`--workload unique` or `repeat` runs one).

nginx and wrk are Debian packages; they are installed with apt-get when missing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.redis_server import RedisServer, free_port  # noqa: E402
from tracker import keys  # noqa: E402
from tracker.events import LinkRecord, Utm  # noqa: E402

CODE = "bench1"
DESTINATION = "https://shop.example.com/products/sneakers?color=white&size=42"
BROWSER_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
RATIO_TARGET = 0.25
P99_TARGET_MS = 10.0

# One request per distinct X-Forwarded-For (65,536 per wrk thread, then it wraps around).
WRK_SCRIPT = """
thread_id = 0
local next_id = 0
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end
local requests = {}
local count = 0
function init(args)
  for i = 0, 65535 do
    local headers = {}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    headers["X-Forwarded-For"] = string.format(
      "100.%d.%d.%d", 64 + thread_id, math.floor(i / 256), i % 256)
    requests[i + 1] = wrk.format("GET", nil, headers)
  end
end
function request()
  count = count % 65536 + 1
  return requests[count]
end
"""

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location /c/ {{
      add_header Cache-Control "private, no-store" always;
      add_header Referrer-Policy "no-referrer-when-downgrade" always;
      return 302 "{location}";
    }}
  }}
}}
"""


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_http(url: str, timeout: float = 20) -> None:
    """Waits until `url` answers anything (a redirect is not followed)."""
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + timeout
    while True:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=1)
        try:
            connection.request("GET", parts.path)
            connection.getresponse().read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer") from None
            time.sleep(0.1)
        finally:
            connection.close()


def ensure_tools(*names: str) -> None:
    """Installs the Debian packages of the tools missing from `names` (default: nginx, wrk)."""
    os.environ["PATH"] += os.pathsep + "/usr/sbin"  # nginx lives there
    missing = [name for name in names or ("nginx", "wrk") if shutil.which(name) is None]
    if not missing:
        return
    say(f"installing {' '.join(missing)} with apt-get")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


@dataclass
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_3xx: int


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {pattern!r} in the output of wrk:\n{text}")
    return match.group(1)


def _ms(value: str) -> float:
    number, unit = _find(r"^([\d.]+)(?:us|ms|s|m)$", value), value.lstrip("0123456789.")
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, script: Path | None, core: str, duration: int, connections: int) -> WrkResult:
    command = [
        "taskset", "-c", core, "wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
        *(["-s", str(script)] if script else []),
        "-H", f"User-Agent: {BROWSER_UA}",
        "-H", "Referer: https://www.instagram.com/",
        "-H", "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "-H", "Accept-Language: en-GB,en;q=0.9",
        url,
    ]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_3xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(
        requests=int(_find(r"(\d+) requests in", out)),
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_ms(_find(r"^\s+50%\s+(\S+)", out)),
        p99_ms=_ms(_find(r"^\s+99%\s+(\S+)", out)),
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
        non_3xx=int(non_3xx.group(1)) if non_3xx else 0,
    )


METRICS_TOKEN = secrets.token_urlsafe(16)


def scrape(base: str) -> dict[str, float]:
    request = urllib.request.Request(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def publish_link(client: redis.Redis, prefix: str) -> LinkRecord:
    """The one link the benchmarks redirect through (`/c/bench1`), published under `prefix`."""
    record = LinkRecord(
        link_id=1,
        partnership_id=1,
        campaign_id=1,
        brand_id=1,
        organization_id=1,
        code=CODE,
        destination=DESTINATION,
        utm=Utm(source="instagram", medium="influencer", campaign="bench"),
    )
    client.set(keys.link(prefix, CODE), record.to_json())
    return record


def cores() -> tuple[str, str]:
    """(the servers' core, wrk's core): apart when there are two."""
    return ("1", "0") if (os.cpu_count() or 1) >= 2 else ("0", "0")


@dataclass
class Tracker:
    name: str
    interface: str
    prefix: str
    base: str
    spool: Path
    process: subprocess.Popen[bytes]


def start_tracker(interface: str, prefix: str, redis_url: str, core: str, work: Path) -> Tracker:
    """`python -m tracker` (one granian worker) pinned to `core`, with its own key prefix."""
    port = free_port()
    spool = work / f"spool-{interface}"
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "REDIS_CLUSTER_URL": "",
        "REDIS_PREFIX": prefix,
        "TRACKER_HOST": "127.0.0.1",
        "TRACKER_PORT": str(port),
        "TRACKER_WORKERS": "1",
        "TRACKER_INTERFACE": interface,
        "TRACKER_SPOOL_DIR": str(spool),
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "LOG_LEVEL": "WARNING",
        "TRACKER_METRICS_TOKEN": METRICS_TOKEN,  # /metrics is off without one
    }
    process = subprocess.Popen(
        ["taskset", "-c", core, sys.executable, "-m", "tracker"], env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/healthz")
    name = "tracker" if interface == "rsgi" else f"tracker-{interface}"
    say(f"started {name} (1 granian worker, {interface.upper()}, uvloop) on port {port}")
    return Tracker(name, interface, prefix, base, spool, process)


def check_tracker(
    tracker: Tracker, client: redis.Redis, runs: list[WrkResult], connections: int
) -> tuple[list[str], list[str]]:
    """Stops the tracker (SIGTERM: its shutdown flushes the buffer) and checks that its click
    events in Redis equal its redirects. Returns the lines to print and the failures."""
    metrics = scrape(tracker.base)
    say(f"stopping {tracker.name} (SIGTERM: the shutdown flushes its buffer)")
    tracker.process.send_signal(signal.SIGTERM)
    tracker.process.wait(30)
    events = client.xlen(keys.clicks_stream(tracker.prefix))
    spooled = list(tracker.spool.glob("*.jsonl"))
    redirects = int(metrics["tracker_redirects_total"])
    wrk_counted = sum(r.requests for r in runs)
    unique = int(metrics["tracker_unique_clicks_total"])
    lines = [
        f"{tracker.name}: redirects answered (302, GET): {redirects:,}",
        f"{tracker.name}: responses counted by wrk:       {wrk_counted:,}",
        f"{tracker.name}: click events in Redis:          {events:,}",
        f"{tracker.name}: unique clicks: {unique:,}, "
        f"repeats: {int(metrics['tracker_clicks_total']) - unique:,}, "
        f"bot hits: {int(metrics['tracker_bot_hits_total']):,}, "
        f"spooled: {int(metrics['tracker_events_spooled_total']):,}, "
        f"flushes: {int(metrics['tracker_flush_seconds_count']):,}",
    ]
    failures = []
    if events != redirects:
        failures.append(f"{tracker.name}: {events} click events in Redis for {redirects} redirects")
    # wrk stops with requests in flight: the tracker may answer (and log) up to one per
    # connection per run that wrk no longer counts.
    in_flight = len(runs) * connections
    if not 0 <= redirects - wrk_counted <= in_flight:
        failures.append(
            f"{tracker.name} answered {redirects} redirects, wrk counted {wrk_counted} "
            f"(more apart than the {in_flight} that may be in flight)"
        )
    bad = sum(r.errors + r.non_3xx for r in runs)
    if bad:
        failures.append(f"{tracker.name}: {bad} wrk errors or non-3xx responses")
    for counter in ("orphans", "unavailable", "invalid_codes"):
        if metrics[f"tracker_{counter}_total"]:
            failures.append(f"{tracker.name}: tracker_{counter}_total is not 0")
    if spooled:
        failures.append(f"{tracker.name}: {len(spooled)} spool files left")
    return lines, failures


# workload name -> (what it is, whether wrk varies X-Forwarded-For with the Lua script)
WORKLOADS = {
    "unique": ("a different visitor per request (X-Forwarded-For varies)", True),
    "repeat": ("one returning visitor (same IP and User-Agent: unique=0 repeats)", False),
}


def measure(
    workload: str, urls: dict[str, str], script: Path, core: str, args: argparse.Namespace
) -> tuple[dict[str, list[WrkResult]], dict[str, list[WrkResult]]]:
    """Warm-up, then `args.rounds` rounds of every server in `urls`, the order reversed every
    other round. Returns the rounds' results and every tracker's runs (warm-up included)."""
    lua = script if WORKLOADS[workload][1] else None
    names = list(urls)
    say(f"workload '{workload}': {WORKLOADS[workload][0]}; warming up the servers (2 s each)")
    runs: dict[str, list[WrkResult]] = {name: [] for name in names if name != "nginx"}
    for name in names:
        result = run_wrk(urls[name], lua, core, 2, args.connections)
        if name in runs:
            runs[name].append(result)
    results: dict[str, list[WrkResult]] = {name: [] for name in names}
    for round_ in range(1, args.rounds + 1):
        for name in names if round_ % 2 else names[::-1]:
            say(
                f"{workload} round {round_}/{args.rounds}: {name}, "
                f"{args.connections} connections, {args.duration} s"
            )
            result = run_wrk(urls[name], lua, core, args.duration, args.connections)
            results[name].append(result)
            if name in runs:
                runs[name].append(result)
            say(
                f"  {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                f"p99 {result.p99_ms:.2f} ms, errors {result.errors}, non-3xx {result.non_3xx}"
            )
    return results, runs


def _round_ratios(over: list[WrkResult], under: list[WrkResult]) -> list[float]:
    return [o.rps / u.rps for o, u in zip(over, under, strict=True)]


def report(workload: str, results: dict[str, list[WrkResult]]) -> list[str]:
    """Prints the figures of one workload; returns its missed targets (which are the RSGI
    tracker's, the way `vouch tracker serve` runs it)."""
    print(f"\nworkload '{workload}': {WORKLOADS[workload][0]}")
    print(f"{'server':12} {'round':>5} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, rs in results.items():
        for i, r in enumerate(rs, 1):
            print(f"{name:12} {i:>5} {r.rps:>10,.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f}")
    for name, rs in results.items():
        print(
            f"{name:12} median {statistics.median(r.rps for r in rs):>10,.0f} req/s  "
            f"p50 {statistics.median(r.p50_ms for r in rs):.2f} ms  "
            f"p99 {statistics.median(r.p99_ms for r in rs):.2f} ms"
        )
    # The runs of one round are adjacent in time: their ratio is the least disturbed by
    # whatever else the machine is doing, so the headline is the median of those.
    ratios = _round_ratios(results["tracker"], results["nginx"])
    ratio = statistics.median(ratios)
    p99 = statistics.median(r.p99_ms for r in results["tracker"])
    print(f"ratio tracker/nginx per round: {', '.join(f'{r:.3f}' for r in ratios)}")
    print(f"ratio tracker/nginx (median of rounds): {ratio:.3f} (target >= {RATIO_TARGET})")
    print(f"tracker p99 (median of rounds): {p99:.2f} ms (target < {P99_TARGET_MS} ms)")
    if "tracker-asgi" in results:
        over_asgi = _round_ratios(results["tracker"], results["tracker-asgi"])
        asgi = _round_ratios(results["tracker-asgi"], results["nginx"])
        print(
            f"tracker-asgi/nginx (median of rounds): {statistics.median(asgi):.3f}; "
            f"tracker (RSGI)/tracker-asgi per round: {', '.join(f'{r:.3f}' for r in over_asgi)}"
            f", median {statistics.median(over_asgi):.3f}"
        )
    failures = []
    if ratio < RATIO_TARGET:
        failures.append(f"{workload}: ratio {ratio:.3f} below the target {RATIO_TARGET}")
    if p99 >= P99_TARGET_MS:
        failures.append(f"{workload}: tracker p99 {p99:.2f} ms not below {P99_TARGET_MS} ms")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--workload", choices=["both", *WORKLOADS], default="both", help="default: both"
    )
    parser.add_argument(
        "--asgi",
        action="store_true",
        help="also run the tracker over granian's ASGI interface (TRACKER_INTERFACE=asgi)",
    )
    args = parser.parse_args()
    workloads = list(WORKLOADS) if args.workload == "both" else [args.workload]

    ensure_tools()
    server_core, load_core = cores()
    if server_core == load_core:
        say("WARNING: one core only: servers and wrk share it")
    say(
        f"{os.cpu_count()} cores; servers on core {server_core}, wrk and Redis on core "
        f"{load_core}; load average {os.getloadavg()[0]:.2f}"
    )

    work = Path(tempfile.mkdtemp(prefix="vouch-bench-tracker-"))
    processes: list[subprocess.Popen[bytes]] = []
    servers: list[RedisServer] = []
    redis_url = os.environ.get("REDIS_URL", "").strip()
    prefix = f"bench-{secrets.token_hex(4)}"
    failures: list[str] = []
    client = None
    try:
        if not redis_url:
            server = RedisServer(str(work / "redis"), cpus=load_core).start()
            redis_url = server.url
            servers.append(server)
            say(f"started redis-server on port {server.port}")
        else:
            say("using REDIS_URL")
        client = redis.Redis.from_url(redis_url)
        interfaces = ["rsgi", "asgi"] if args.asgi else ["rsgi"]
        for interface in interfaces:
            record = publish_link(client, f"{prefix}-{interface}")

        script = work / "requests.lua"
        script.write_text(WRK_SCRIPT)

        nginx_port = free_port()
        nginx_dir = work / "nginx"
        nginx_dir.mkdir()
        from tracker.redirect import location

        (nginx_dir / "nginx.conf").write_text(
            NGINX_CONF.format(
                dir=nginx_dir,
                port=nginx_port,
                location=location(DESTINATION, record.utm, "01J2Y8D4W6P3V5BZQH7K9M0RXT"),
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    "taskset",
                    "-c",
                    server_core,
                    "nginx",
                    "-c",
                    str(nginx_dir / "nginx.conf"),
                    "-p",
                    str(nginx_dir),
                ],
                stdout=subprocess.DEVNULL,
            )
        )
        nginx_url = f"http://127.0.0.1:{nginx_port}/c/{CODE}"
        wait_http(nginx_url)
        say(f"started nginx (1 worker) on port {nginx_port}")

        trackers = [
            start_tracker(interface, f"{prefix}-{interface}", redis_url, server_core, work)
            for interface in interfaces
        ]
        processes += [t.process for t in trackers]
        urls = {"nginx": nginx_url, **{t.name: f"{t.base}/c/{CODE}" for t in trackers}}
        results = {}
        tracker_runs: dict[str, list[WrkResult]] = {t.name: [] for t in trackers}
        for workload in workloads:
            results[workload], runs = measure(workload, urls, script, load_core, args)
            for name, more in runs.items():
                tracker_runs[name] += more

        checks = [
            check_tracker(t, client, tracker_runs[t.name], args.connections) for t in trackers
        ]
        for workload in workloads:
            failures += report(workload, results[workload])
        for lines_, missed in checks:
            print()
            print("\n".join(lines_))
            failures += missed
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
        for server in servers:
            server.stop()
        if client is not None and os.environ.get("REDIS_URL"):
            for key in client.scan_iter(match=f"{prefix}-*"):
                client.delete(key)
        shutil.rmtree(work, ignore_errors=True)

    print()
    if failures:
        for failure in failures:
            print(f"FAIL: {failure}")
        return 1
    print("PASS: every redirect is one click event in Redis; targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
