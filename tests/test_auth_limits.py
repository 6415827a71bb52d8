"""Failed authentication at `/graphql` and `/exports/statements.csv` is limited per client and per
key prefix, in Redis (`api.accounts.lockout`): 429 with Retry-After past the limit; a blocked
client is blocked with a right key too; the right key of a prefix under attack keeps working;
the counts expire; good requests write nothing; a Redis outage fails open."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.accounts import lockout
from api.app import create_app
from api.settings import Settings, get_settings, reset_settings
from api.tracking.publish import redis_client
from tracker.settings import SettingError

QUERY = {"query": "{ viewer { role } }"}
PER_CLIENT = 5
PER_KEY = 3


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Small limits and a Redis prefix of the test's own (its counters are its own)."""
    prefix = f"test-lockout-{secrets.token_hex(4)}"
    env = {
        "AUTH_FAILURES_PER_CLIENT": str(PER_CLIENT),
        "AUTH_FAILURES_PER_KEY": str(PER_KEY),
        "AUTH_FAILURE_WINDOW": "60",
        "REDIS_PREFIX": prefix,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    lockout.breaker.reset()
    yield env
    for key in redis_client().scan_iter(match=f"{prefix}:*"):
        redis_client().delete(key)
    monkeypatch.undo()
    reset_settings()
    lockout.breaker.reset()


def counters() -> dict[str, int]:
    prefix = get_settings().redis.prefix
    rds = redis_client()
    return {
        k.decode().removeprefix(f"{prefix}:ratelimit:"): int(rds.get(k))
        for k in rds.scan_iter(match=f"{prefix}:ratelimit:*")
    }


def http(ip: str) -> TestClient:
    return TestClient(create_app(), client=(ip, 40000))


def gql(client: TestClient, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/graphql", json=QUERY, headers=headers)


def csv(client: TestClient, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.get("/exports/statements.csv?period=2026-10", headers=headers)


def bad_key(n: int) -> str:
    return f"vch_{n:08x}_{secrets.token_urlsafe(24)}"


def assert_graphql_429(response: Any, window: int = 60) -> int:
    assert response.status_code == 429, response.text
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= window
    assert response.json() == {
        "errors": [
            {
                "message": f"too many failed authentications from this client: retry in {retry} s",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": retry},
            }
        ]
    }
    return retry


def test_a_burst_of_bad_keys_is_429_after_the_limit_and_blocks_the_client(factory, limits):
    org = factory.org()
    admin, finance = factory.key(org, "ADMIN"), factory.key(org, "FINANCE")
    with http("198.51.100.7") as attacker, http("198.51.100.8") as neighbour:
        for n in range(PER_CLIENT):  # each a different prefix: only the client's count grows
            assert gql(attacker, bad_key(n)).status_code == 401
        for n in range(PER_CLIENT, 3 * PER_CLIENT):
            assert_graphql_429(gql(attacker, bad_key(n)))
        assert_graphql_429(gql(attacker, None))
        # Blocked, a right key included (decided: a client trying keys learns nothing from a
        # right guess), and the statements CSV is the same door.
        assert_graphql_429(gql(attacker, admin))
        refused = csv(attacker, finance)
        assert refused.status_code == 429 and "retry-after" in refused.headers
        retry = refused.json()["retry_after"]
        assert refused.json() == {
            "error": f"too many failed authentications from this client: retry in {retry} s",
            "retry_after": retry,
        }
        # another client is not affected
        assert gql(neighbour, admin).json() == {"data": {"viewer": {"role": "ADMIN"}}}
        assert gql(neighbour, bad_key(99)).status_code == 401

    # blocked requests are not counted: the block ends with its window, not later
    def subject(ip: str) -> str:
        return "auth-client:" + lockout.client_subject(get_settings(), ip, "")

    assert {k: v for k, v in counters().items() if k.startswith("auth-client:")} == {
        subject("198.51.100.7"): PER_CLIENT,
        subject("198.51.100.8"): 1,
    }


def test_bad_keys_at_the_statements_csv_count_too(factory, limits):
    finance = factory.key(factory.org(), "FINANCE")
    with http("198.51.100.9") as client:
        for _ in range(PER_CLIENT):
            assert csv(client, "nope").status_code == 401
        assert csv(client, finance).status_code == 429
        assert_graphql_429(gql(client, finance))


def test_a_prefix_under_attack_from_many_clients_is_429_and_its_key_still_works(factory, limits):
    key = factory.key(factory.org(), "MANAGER")
    prefix = key.split("_")[1]
    guesses = [f"vch_{prefix}_{secrets.token_urlsafe(24)}" for _ in range(PER_KEY + 3)]
    statuses = []
    for n, guess in enumerate(guesses):  # each guess from another address
        with http(f"203.0.113.{n + 1}") as client:
            response = gql(client, guess)
            statuses.append(response.status_code)
    assert statuses == [401] * PER_KEY + [429] * 3
    assert response.json()["errors"][0]["message"].startswith(
        f"too many failed authentications with key {prefix}: retry in "
    )
    assert 1 <= int(response.headers["retry-after"]) <= 60
    with http("203.0.113.200") as client:
        assert gql(client, key).json() == {"data": {"viewer": {"role": "MANAGER"}}}
        assert gql(client, bad_key(1)).status_code == 401  # another prefix: its own count
    assert counters()[f"auth-key:{prefix}"] == PER_KEY + 3


def test_the_counts_expire(factory, limits, monkeypatch):
    monkeypatch.setenv("AUTH_FAILURE_WINDOW", "1")
    reset_settings()
    key = factory.key(factory.org(), "ADMIN")
    with http("198.51.100.20") as client:
        for n in range(PER_CLIENT):
            assert gql(client, bad_key(n)).status_code == 401
        assert_graphql_429(gql(client, key), window=1)
        deadline = time.monotonic() + 5
        while counters() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert counters() == {}
        assert gql(client, key).status_code == 200
        assert gql(client, bad_key(0)).status_code == 401


def test_the_client_is_the_address_the_trusted_proxy_names(factory, limits, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8")
    reset_settings()
    key = factory.key(factory.org(), "ADMIN")
    with http("10.1.2.3") as proxy:

        def post(forwarded_for: str, key: str) -> int:
            headers = {"Authorization": f"Bearer {key}", "X-Forwarded-For": forwarded_for}
            return proxy.post("/graphql", json=QUERY, headers=headers).status_code

        assert [post("192.0.2.1", bad_key(n)) for n in range(PER_CLIENT + 1)] == [401] * (
            PER_CLIENT
        ) + [429]
        # the shopper cannot choose its address by writing one to the left of the real one
        assert post("192.0.2.99, 192.0.2.1", key) == 429
        assert post("192.0.2.2", key) == 200


def test_a_good_request_makes_one_redis_call_and_writes_nothing(factory, limits, monkeypatch):
    key = factory.key(factory.org(), "ADMIN")
    calls: list[str] = []
    real = redis_client()

    class Counting:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            found = getattr(real, name)
            if name != "pipeline":
                return found

            def pipeline(**options: Any) -> Any:
                pipe = found(**options)
                execute = pipe.execute

                def sent() -> Any:  # one round trip: the client's counter, the keys' version
                    calls.append("+".join(str(args[0]) for args, _ in pipe.command_stack))
                    return execute()

                pipe.execute = sent
                return pipe

            return pipeline

    monkeypatch.setattr(lockout, "_redis", Counting)
    with http("198.51.100.30") as client:
        for _ in range(3):
            assert gql(client, key).status_code == 200
        assert calls == ["pipeline", "GET+GET"] * 3
        assert counters() == {}
        calls.clear()
        assert gql(client, bad_key(0)).status_code == 401
        assert calls == ["pipeline", "GET+GET", "eval", "eval"]  # then: the two counts


def test_redis_down_fails_open_with_one_warning(factory, limits, monkeypatch, caplog):
    key = factory.key(factory.org(), "ADMIN")
    asked: list[int] = []

    class Down:
        def __getattr__(self, name: str) -> Any:
            asked.append(1)
            raise ConnectionError("Redis went away")

    monkeypatch.setattr(lockout, "_redis", Down)
    caplog.set_level(logging.WARNING, "vouch.api.lockout")
    with http("198.51.100.40") as client:
        for n in range(3 * PER_CLIENT):
            assert gql(client, bad_key(n)).status_code == 401
        assert gql(client, key).status_code == 200
    warnings = [r for r in caplog.records if r.name == "vouch.api.lockout"]
    assert len(warnings) == 1 and "failed authentications are not limited" in warnings[0].message
    assert len(asked) == 1  # then not asked again for FAIL_OPEN_SECONDS


def test_a_limit_of_0_is_no_limit(factory, limits, monkeypatch):
    monkeypatch.setenv("AUTH_FAILURES_PER_CLIENT", "0")
    monkeypatch.setenv("AUTH_FAILURES_PER_KEY", "0")
    reset_settings()
    with http("198.51.100.50") as client:
        assert {gql(client, bad_key(1)).status_code for _ in range(3 * PER_CLIENT)} == {401}
    assert counters() == {}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AUTH_FAILURES_PER_CLIENT", "-1"),
        ("AUTH_FAILURES_PER_KEY", "lots"),
        ("AUTH_FAILURE_WINDOW", "0"),
    ],
)
def test_limit_settings_are_checked(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingError, match=variable):
        Settings()
