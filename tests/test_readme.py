"""The README's walkthrough, run as written against a started stack, so it cannot drift.

`vouch run` starts the API, the tracker and the worker on free ports and a fresh database: a
SQLite file and the embedded Redis, as `make run` does on a new machine, or a new PostgreSQL
database and a prefix of its own on the Redis of TEST_DATABASE_URL / TEST_REDIS_URL. Then every
fenced `sh` and `graphql` block of the README runs in order. A block says how in an HTML
comment on the line above it, which GitHub does not show:

    <!-- readme: as=MANAGER save=partnership=data.partnerships.nodes.0.id -->
    <!-- readme: sh save=vclid=/vclid=([\\w-]+)/ expect=/"accepted"/ -->
    <!-- readme: until=data.conversions.nodes.0.orderId==A-1001 -->
    <!-- readme: skip (the test starts the stack itself) -->

A `graphql` block is sent with the key of the role `as` names (the ones `vouch run` printed for
the first demo organization) and must answer without errors or userErrors; `until` repeats it
until a path has a value. An `sh` block runs in bash (`set -euo pipefail`) with the stack's
settings in its environment and must exit 0; `expect` is a regular expression its output must
match. `save` keeps values for later blocks, where `<name>` stands for them, as a reader
replaces a placeholder: `<MANAGER key>`, `<partnership>`. Every block of the README carries a
marker, so none escapes the test.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"^<!--\s*readme:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^```(\w*)\s*$")
PLACEHOLDER = re.compile(r"<([^<>\n]+)>")


@dataclass
class Block:
    line: int
    lang: str
    text: str
    marker: str | None
    options: dict[str, str] = field(default_factory=dict)
    saves: list[tuple[str, str]] = field(default_factory=list)


def blocks(text: str) -> list[Block]:
    """The fenced blocks of the README with the marker comment right above each."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        marker = MARKER.match(lines[k]) if k >= 0 else None
        block = Block(start + 1, fence.group(1), "\n".join(lines[start + 1 : j]), None)
        if marker:
            block.marker = marker.group(1)
            _parse(block)
        found.append(block)
        i = j + 1
    return found


def _parse(block: Block) -> None:
    assert block.marker is not None
    if block.marker.startswith("skip"):
        block.options["skip"] = block.marker
        return
    for word in re.findall(r"\S+=/(?:[^/]|\\/)*/|\S+", block.marker):
        name, _, value = word.partition("=")
        if name == "save":
            key, _, source = value.partition("=")
            block.saves.append((key, source))
        else:
            block.options[name] = value


def test_every_block_of_the_readme_says_how_it_is_run():
    unmarked = [
        f"README.md:{b.line} ({b.lang or 'text'})"
        for b in blocks(README.read_text())
        if b.marker is None and b.lang in ("sh", "graphql", "bash", "")
    ]
    assert unmarked == []


def test_the_parser_reads_markers_and_placeholders():
    text = (
        "<!-- readme: as=MANAGER save=p=data.x.id save=v=/vclid=([\\w-]+)/ -->\n"
        '```graphql\n{ x(id: "<p>") }\n```\n\n```sh\necho\n```\n'
    )
    first, second = blocks(text)
    assert first.options == {"as": "MANAGER"}
    assert first.saves == [("p", "data.x.id"), ("v", "/vclid=([\\w-]+)/")]
    assert second.marker is None
    assert substitute('{ x(id: "<p>") } <unknown>', {"p": "UGF"}) == '{ x(id: "UGF") } <unknown>'
    assert pick({"data": {"x": {"nodes": [{"id": 7}]}}}, "data.x.nodes.0.id") == 7


def substitute(text: str, saved: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: saved.get(m.group(1), m.group(0)), text)


def pick(data: Any, path: str) -> Any:
    for part in path.split("."):
        if data is None:
            return None
        if isinstance(data, list):
            data = data[int(part)] if int(part) < len(data) else None
        else:
            data = data.get(part)
    return data


def user_errors(data: Any) -> list[Any]:
    if isinstance(data, dict):
        found = list(data.get("userErrors") or [])
        return found + [e for v in data.values() for e in user_errors(v)]
    if isinstance(data, list):
        return [e for v in data for e in user_errors(v)]
    return []


# --- the stack ----------------------------------------------------------------------------------


@dataclass
class Stack:
    api: str
    tracker: str
    env: dict[str, str]
    keys: dict[str, str]
    output: list[str]


def _keys_of(banner: str) -> dict[str, str]:
    """The first organization's keys from `vouch run`'s banner ("    MANAGER    vch_...")."""
    keys: dict[str, str] = {}
    pattern = r"^\s+(ADMIN|MANAGER|FINANCE|INFLUENCER)\s+(vch_\S+)"
    for role, key in re.findall(pattern, banner, re.M):
        keys.setdefault(role, key)
    return keys


@contextlib.contextmanager
def _fresh_database(work: Path) -> Iterator[str]:
    """A database of the walkthrough's own: PostgreSQL when the suite runs on it, else SQLite."""
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base:
        yield f"sqlite:///{work / 'vouch.db'}"
        return
    from sqlalchemy import create_engine, text

    name = f"vouch_readme_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base.rpartition('/')[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("readme")
    with _fresh_database(work) as database_url:
        yield from _stack(work, database_url)


def _stack(work: Path, database_url: str) -> Iterator[Stack]:
    api_port, tracker_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "REDIS_CLUSTER_URL", "REDIS_PREFIX")
    }
    redis_url = os.environ.get("TEST_REDIS_URL", "").strip()
    prefix = f"readme-{secrets.token_hex(4)}"
    if redis_url:
        env |= {"REDIS_URL": redis_url, "REDIS_PREFIX": prefix}
    env |= {
        "DATABASE_URL": database_url,
        "VOUCH_VAR_DIR": str(work / "var"),
        "API_PORT": str(api_port),
        "TRACKER_PORT": str(tracker_port),
        "TRACKER_PUBLIC_URL": f"http://127.0.0.1:{tracker_port}",
        "PYTHONUNBUFFERED": "1",
    }
    log = open(work / "run.log", "w+")  # noqa: SIM115 - read while the stack runs
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "run"],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api, tracker = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{tracker_port}"
    try:
        banner = _wait_for_stack(proc, work / "run.log", api, tracker)
        embedded = re.search(r"^\s+redis\s+(\S+)", banner, re.M)
        if embedded and not redis_url:
            env["REDIS_URL"] = embedded.group(1)
        yield Stack(api, tracker, env, _keys_of(banner), [banner])
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
        if redis_url:
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.delete(key)
            client.close()


def _wait_for_stack(proc: subprocess.Popen[bytes], log: Path, api: str, tracker: str) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = log.read_text()
        if proc.poll() is not None:
            pytest.fail(f"vouch run exited with {proc.returncode}:\n{text[-3000:]}")
        if "Ctrl-C stops everything" in text:
            try:
                if httpx.get(f"{tracker}/healthz", timeout=2).status_code == 200 and httpx.post(
                    f"{api}/graphql", json={"query": "{__typename}"}
                ).status_code in (200, 401):
                    return text
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    pytest.fail(f"vouch run did not come up:\n{log.read_text()[-3000:]}")


# --- the walkthrough ----------------------------------------------------------------------------


def _local(text: str, stack: Stack) -> str:
    """The README's addresses, pointed at the ports of this run."""
    return text.replace("http://127.0.0.1:8000", stack.api).replace(
        "http://127.0.0.1:8001", stack.tracker
    )


def _graphql(block: Block, stack: Stack, saved: dict[str, str]) -> Any:
    role = block.options.get("as", "ADMIN")
    query = substitute(block.text, saved)
    until = block.options.get("until")
    deadline = time.monotonic() + 60
    while True:
        response = httpx.post(
            f"{stack.api}/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {stack.keys[role]}"},
            timeout=30,
        )
        body = response.json()
        where = f"README.md:{block.line} as {role}"
        assert response.status_code == 200 and not body.get("errors"), (where, body)
        assert user_errors(body) == [], (where, body)
        if until is None:
            return body
        path, _, want = until.partition("==")
        if str(pick(body, path)) == want:
            return body
        assert time.monotonic() < deadline, (where, f"{path} never became {want}", body)
        time.sleep(0.5)


def _shell(block: Block, stack: Stack, saved: dict[str, str]) -> str:
    script = "set -euo pipefail\n" + _local(substitute(block.text, saved), stack)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    where = f"README.md:{block.line}"
    assert done.returncode == 0, (where, done.stdout[-2000:], done.stderr[-2000:])
    expect = block.options.get("expect")
    if expect:
        found = re.search(expect.strip("/"), done.stdout, re.M)
        assert found, (where, expect, done.stdout[-2000:])
    return done.stdout


def test_the_readme_walkthrough_runs_as_written(stack: Stack):
    assert set(stack.keys) == {"ADMIN", "MANAGER", "FINANCE", "INFLUENCER"}, stack.output
    saved = {f"{role} key": key for role, key in stack.keys.items()}
    ran = 0
    for block in blocks(README.read_text()):
        if block.marker is None or "skip" in block.options:
            continue
        if block.lang == "graphql":
            body = _graphql(block, stack, saved)
            for name, source in block.saves:
                value = pick(body, source)
                assert value is not None, (f"README.md:{block.line}", source, body)
                saved[name] = str(value)
        else:
            out = _shell(block, stack, saved)
            for name, source in block.saves:
                found = re.search(source.strip("/"), out)
                assert found, (f"README.md:{block.line}", source, out[-2000:])
                saved[name] = found.group(1)
        ran += 1
    assert ran >= 8  # the walkthrough, not a README whose blocks all got skipped
    print(json.dumps(sorted(saved)))


# --- the demo's reports on first run ------------------------------------------------------------


def _users_of(banner: str) -> dict[str, tuple[str, str]]:
    """The first organization's demo users from the banner ("    MANAGER    e-mail  password")."""
    users: dict[str, tuple[str, str]] = {}
    _keys, _, listing = banner.partition("Demo users")
    pattern = r"^\s+(ADMIN|MANAGER|FINANCE|INFLUENCER)\s+(\S+@\S+)\s+(\S+)$"
    for role, email, password in re.findall(pattern, listing, re.M):
        users.setdefault(role, (email, password))
    return users


def test_a_fresh_runs_campaign_reports_chart_months_of_demo_data(stack: Stack):
    """`make run` on a new machine: the sign-in URL and demo users are printed, a MANAGER signs
    in with them, and the campaign report's default period (the last 90 days by day) charts
    months of data: the CSV is the series the chart's points are drawn from."""
    banner = stack.output[0]
    assert re.search(r"^\s+sign in\s+http\S+/signin$", banner, re.M), banner
    email, password = _users_of(banner)["MANAGER"]
    origin = {"Origin": stack.api}
    with httpx.Client(base_url=stack.api, follow_redirects=False, timeout=30) as client:
        form = client.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, form.text
        signed = client.post(
            "/signin",
            data={"email": email, "password": password, "csrf": csrf.group(1)},
            headers=origin,
        )
        assert signed.status_code == 303, signed.text
        listing = client.get("/campaigns")
        assert listing.status_code == 200
        reports = sorted(set(re.findall(r'href="(/campaigns/[^"/]+/report)"', listing.text)))
        assert reports, listing.text
        charted = {}
        for path in reports:
            page = client.get(path)
            assert page.status_code == 200 and 'id="chart-counts"' in page.text, path
            rows = list(csv.DictReader(io.StringIO(client.get(f"{path}.csv").text)))
            assert len(rows) == 90, (path, len(rows))  # the default period, one point a day
            charted[path] = {r["start"][:7] for r in rows if int(r["clicks"]) > 0}
    # every campaign's report renders its charts; the busiest has clicks in three months or more
    assert max(len(months) for months in charted.values()) >= 3, charted
    if os.environ.get("SCREENSHOTS"):  # `make screenshots`: the busiest demo report, as shown
        busiest = max(charted, key=lambda path: len(charted[path]))
        _screenshot(stack.api, busiest, email, password, Path(os.environ["SCREENSHOTS"]))


def _screenshot(api: str, path: str, email: str, password: str, directory: Path) -> None:
    from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, playwright_or_skip

    sync_api = playwright_or_skip()
    directory.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(f"{api}/signin")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("form[action='/signin'] button")
        page.wait_for_load_state()
        page.goto(f"{api}{path}")
        # the report's top: the period, totals, both charts, the leaderboard, the breakdowns
        top = {"x": 0, "y": 0, "width": 1200, "height": 2300}
        page.screenshot(path=str(directory / "demo-report.png"), full_page=True, clip=top)
        browser.close()
