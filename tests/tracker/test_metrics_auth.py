"""`/metrics` is Prometheus's, not the internet's: a bearer token (TRACKER_METRICS_TOKEN), and
off (404) when none is set."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.tracker.helpers import asgi_client
from tracker.settings import TrackerSettings

MakeSettings = Callable[..., TrackerSettings]
pytestmark = pytest.mark.anyio

TOKEN = "s3cret-scrape-token"


async def test_metrics_are_off_without_a_token(make_settings: MakeSettings) -> None:
    async with asgi_client(make_settings(metrics_token="")) as (_, client):
        for headers in ({}, {"authorization": "Bearer "}, {"authorization": "Bearer x"}):
            response = await client.get("/metrics", headers=headers)
            assert response.status_code == 404
            assert response.json()["error"] == "not_found"
            assert "tracker_" not in response.text


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer é".encode("latin-1"),  # not ASCII
    ],
)
async def test_metrics_need_the_token(
    make_settings: MakeSettings, authorization: str | bytes | None
) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    async with asgi_client(make_settings(metrics_token=TOKEN)) as (_, client):
        response = await client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert response.json() == {
        "error": "unauthorized",
        "message": "send 'Authorization: Bearer <token>'",
    }
    assert "tracker_" not in response.text


async def test_metrics_with_the_token(make_settings: MakeSettings) -> None:
    async with asgi_client(make_settings(metrics_token=TOKEN)) as (_, client):
        for scheme in ("Bearer", "bearer"):
            response = await client.get("/metrics", headers={"authorization": f"{scheme} {TOKEN}"})
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
            assert "tracker_redirects_total 0" in response.text.splitlines()
        health = await client.get("/healthz")  # the health check stays open for load balancers
        assert health.status_code == 200


def test_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_METRICS_TOKEN", raising=False)
    assert TrackerSettings().metrics_token == ""
    monkeypatch.setenv("TRACKER_METRICS_TOKEN", f"  {TOKEN}\n")
    assert TrackerSettings().metrics_token == TOKEN
