"""The browser tests' server and browser: `vouch serve` on the test database on a free port
(mailing links to itself), and one headless Chromium per test module."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.redis_server import free_port


@pytest.fixture(scope="module")
def api_url(database: str) -> Iterator[str]:
    """`vouch serve` on the test database, on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": database, "API_PUBLIC_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90  # a loaded machine imports slowly
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=0.5).raise_for_status()
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    pytest.fail(f"vouch serve exited: {process.communicate()[1]}")
                assert time.monotonic() < deadline, "vouch serve did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
