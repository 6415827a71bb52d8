"""Forged postbacks (bad signatures) are limited per brand in Redis: 429 with Retry-After past
the limit, while the brand's correctly signed postbacks keep being accepted."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.postbacks.test_postbacks import ORDER, Brand, app_for, publish
from tracker import ratelimit
from tracker.settings import SettingError, TrackerSettings

LIMIT = 3


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("POSTBACK_FAILURES_PER_BRAND", str(LIMIT))
    monkeypatch.setenv("POSTBACK_FAILURE_WINDOW", "60")
    ratelimit.postback_limit.cache_clear()
    yield
    monkeypatch.undo()
    ratelimit.postback_limit.cache_clear()


@pytest.fixture
def client(redis_url, prefix, rds, limited) -> Iterator[TestClient]:
    publish(rds, prefix)  # brand 7
    publish(rds, prefix, 8)
    with TestClient(app_for(redis_url, prefix)) as c:
        yield c


def forge(client: TestClient, brand_id: int = 7, n: int = 0) -> object:
    return Brand(client, brand_id).post(
        "/v1/conversions", ORDER | {"order_id": f"F-{n}"}, secret="whsec_guessed"
    )


def test_forged_postbacks_get_429_past_the_limit_per_brand(client, rds, prefix):
    for n in range(LIMIT):
        response = forge(client, n=n)
        assert response.status_code == 401, response.text
    for n in range(LIMIT, LIMIT + 3):
        response = forge(client, n=n)
        assert response.status_code == 429, response.text
        retry = int(response.headers["retry-after"])
        assert 1 <= retry <= 60
        assert response.json() == {
            "error": f"too many postbacks with a bad signature for this brand: retry in {retry} s",
            "field": "Vouch-Signature",
            "retry_after": retry,
        }
    # one counter, with an expiry, for the brand
    [key] = rds.keys(f"{prefix}:ratelimit:*")
    assert key == f"{prefix}:ratelimit:postback:7".encode()
    assert int(rds.get(key)) == LIMIT + 3 and 0 < rds.pttl(key) <= 60_000
    # the brand's own postbacks still go through: a forger cannot lock it out
    ok = Brand(client, 7).post("/v1/conversions", ORDER)
    assert (ok.status_code, ok.json()) == (202, {"status": "accepted"})
    # another brand is not affected
    assert forge(client, 8).status_code == 401


def test_the_count_expires_with_its_window(client, rds, prefix, monkeypatch):
    monkeypatch.setenv("POSTBACK_FAILURE_WINDOW", "1")
    ratelimit.postback_limit.cache_clear()
    for n in range(LIMIT):
        assert forge(client, n=n).status_code == 401
    assert forge(client, n=99).status_code == 429
    deadline = time.monotonic() + 5
    while rds.exists(f"{prefix}:ratelimit:postback:7") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert forge(client, n=100).status_code == 401


def test_other_refusals_are_not_counted(client, rds, prefix):
    brand = Brand(client, 7)
    for n in range(LIMIT + 2):
        stale = brand.post("/v1/conversions", ORDER | {"order_id": f"S-{n}"}, t=1)
        assert stale.status_code == 401
        bad_body = brand.post("/v1/conversions", {"order_id": f"B-{n}"})
        assert bad_body.status_code == 422
    assert rds.keys(f"{prefix}:ratelimit:*") == []


def test_a_limit_of_0_is_no_limit(client, rds, prefix, monkeypatch):
    monkeypatch.setenv("POSTBACK_FAILURES_PER_BRAND", "0")
    ratelimit.postback_limit.cache_clear()
    for n in range(LIMIT + 3):
        assert forge(client, n=n).status_code == 401
    assert rds.keys(f"{prefix}:ratelimit:*") == []


def test_redis_failing_while_counting_leaves_the_401(client, monkeypatch, caplog):
    async def broken(*args, **kwargs):
        raise ConnectionError("redis went away")

    monkeypatch.setattr(ratelimit, "count_failure_async", broken)
    for n in range(LIMIT + 2):
        assert forge(client, n=n).status_code == 401
    assert "could not count a forged postback of brand 7" in caplog.text


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("POSTBACK_FAILURES_PER_BRAND", "-1"),
        ("POSTBACK_FAILURES_PER_BRAND", "many"),
        ("POSTBACK_FAILURE_WINDOW", "0"),
    ],
)
def test_limit_settings_are_checked(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingError, match=variable):
        TrackerSettings()
