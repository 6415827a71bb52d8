from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from api.settings import reset_settings


@pytest.fixture
def private_urls(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ALLOW_PRIVATE_URLS=1: endpoints on the test's own machine (http://127.0.0.1)."""
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "1")
    reset_settings()
    yield
    monkeypatch.delenv("ALLOW_PRIVATE_URLS")
    reset_settings()


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver the test fills in: host -> addresses (the machine has no DNS)."""
    from api.webhooks import egress

    records: dict[str, list[str]] = {}

    def resolve(host: str, _port: int) -> list[str]:
        if host not in records:
            raise OSError(f"{host} does not resolve")
        return records[host]

    monkeypatch.setattr(egress, "resolver", resolve)
    return records


@pytest.fixture
def dispatch() -> Iterator[Any]:
    """One dispatcher round in this process, over one organization's deliveries (the tests
    share a database): `dispatch(org)` -> how many were sent."""
    from api.db import get_sessionmaker
    from api.webhooks import dispatcher, egress

    with egress.client() as http, ThreadPoolExecutor(4) as pool:
        yield lambda org, **kw: dispatcher.dispatch_once(
            get_sessionmaker(), http, pool, organization_id=org.id, **kw
        )
