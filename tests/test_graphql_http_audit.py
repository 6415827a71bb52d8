"""The graphql-http conformance audits (npm `graphql-http`, `serverAudits`) against a running
server: every MUST and every SHOULD audit passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.redis_server import free_port

HERE = Path(__file__).resolve().parent / "graphql_http"


@pytest.fixture
def server(database):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a loaded CI machine imports slowly
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail("API server did not start: " + err.decode()[-2000:])
        time.sleep(0.1)
    yield f"{url}/graphql"
    proc.terminate()
    proc.wait(timeout=10)


def test_graphql_over_http_audit(server, factory):
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js is not installed")
    if not (HERE / "node_modules" / "graphql-http").exists():
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund"],
            cwd=HERE,
            check=True,
            timeout=180,
        )
    key = factory.key(factory.org(), "ADMIN")
    out = subprocess.run(
        ["node", "audit.mjs", server, key],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    results = json.loads(out.strip().splitlines()[-1])
    must = [r for r in results if r["name"].startswith("MUST")]
    should = [r for r in results if r["name"].startswith("SHOULD")]
    print(f"\ngraphql-http audit: {len(must)} MUST, {len(should)} SHOULD")
    for r in should:
        print(f"  {r['status']:<5} {r['id']} {r['name']}")
    failed = [r for r in must + should if r["status"] != "ok"]
    assert len(must) > 10 and len(should) > 10
    assert not failed, failed
