"""Request bodies: capped at API_MAX_BODY_BYTES (413 before the rest is read), and a GraphQL body
that is not a JSON object is a 400 with a JSON body, never a 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.body_limit import BodyLimit
from api.settings import SettingError, Settings, reset_settings

QUERY = {"query": "{ viewer { role } }"}


@pytest.fixture
def small_app(monkeypatch):
    """The real app with a 4 KiB cap (one that is cheap to pass in a test)."""
    from api.app import create_app

    monkeypatch.setenv("API_MAX_BODY_BYTES", "4096")
    reset_settings()
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            yield client
    finally:
        monkeypatch.delenv("API_MAX_BODY_BYTES")
        reset_settings()


def _padded(size: int) -> bytes:
    """A valid GraphQL body of exactly `size` bytes (JSON allows trailing spaces)."""
    body = json.dumps(QUERY).encode()
    return body + b" " * (size - len(body))


def _too_large(response: Any, limit: int = 4096) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "errors": [
            {
                "message": f"the request body is larger than {limit} bytes",
                "extensions": {"code": "PAYLOAD_TOO_LARGE"},
            }
        ]
    }


def test_the_default_cap_is_one_mebibyte_and_the_setting_is_checked(monkeypatch):
    assert Settings().max_body_bytes == 1 << 20
    for bad, problem in (("0", "must be at least 1"), ("1MB", "not a whole number")):
        monkeypatch.setenv("API_MAX_BODY_BYTES", bad)
        with pytest.raises(SettingError) as err:
            Settings()
        assert str(err.value) == f"API_MAX_BODY_BYTES {bad!r}: {problem}"


def test_a_body_at_the_cap_is_served_and_one_byte_more_is_413(small_app, factory):
    key = factory.world()["keys"]["ADMIN"]
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    ok = small_app.post("/graphql", content=_padded(4096), headers=headers)
    assert ok.status_code == 200 and ok.json() == {"data": {"viewer": {"role": "ADMIN"}}}
    _too_large(small_app.post("/graphql", content=_padded(4097), headers=headers))


def test_a_chunked_body_is_counted_as_it_streams(small_app, factory):
    key = factory.world()["keys"]["ADMIN"]
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}

    def chunks(total: int) -> Iterator[bytes]:
        body = _padded(total)
        for i in range(0, total, 1000):
            yield body[i : i + 1000]

    # a generator has no length: httpx sends it chunked, without Content-Length
    small = small_app.post("/graphql", content=chunks(4000), headers=headers)
    assert small.status_code == 200, small.text
    _too_large(small_app.post("/graphql", content=chunks(50_000), headers=headers))


def test_size_is_checked_before_the_key(small_app):
    _too_large(small_app.post("/graphql", content=_padded(5000)))
    no_key = small_app.post("/graphql", content=_padded(100))
    assert no_key.status_code == 401


def _run(app: Any, headers: list[tuple[bytes, bytes]], chunks: Iterator[bytes]) -> tuple[Any, int]:
    """Calls the ASGI `app` with a body from `chunks`; (status, chunks the app pulled)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.disconnect"}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": headers}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], pulled


def _never_called(*_: Any) -> None:
    raise AssertionError("the app must not see a refused body")


def test_413_comes_before_the_body_is_read():
    limit = BodyLimit(_never_called, max_bytes=1 << 20)  # type: ignore[arg-type]
    endless = iter(lambda: b"x" * 65536, None)  # a body that never ends

    # Content-Length says too much: not one chunk is read
    declared = [(b"content-length", str(50 << 20).encode())]
    assert _run(limit, declared, endless) == (413, 0)
    assert _run(limit, [(b"content-length", b"9" * 400)], endless) == (413, 0)
    # chunked (no length) or a length that lies: read until one chunk past the cap, no further
    assert _run(limit, [], endless) == (413, 17)
    assert _run(limit, [(b"content-length", b"10")], endless) == (413, 17)
    assert _run(limit, [(b"content-length", b"ten")], endless) == (400, 0)


@pytest.mark.parametrize(
    "body",
    [b'"hello"', b"null", b"1", b"true", b"[" * 100_000 + b"]" * 100_000],
    ids=["string", "null", "number", "true", "nested"],
)
def test_a_body_that_is_not_a_json_object_is_400_json(gql, factory, body):
    key = factory.world()["keys"]["ADMIN"]
    with TestClient(gql.http.app, raise_server_exceptions=False) as http:
        response = http.post(
            "/graphql",
            content=body,
            headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
        )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert error["message"] in (
        'the request body must be a JSON object: {"query": "...", "variables": {}}',
        "the JSON is nested too deeply",
    )


def test_batches_are_refused_and_nested_query_string_variables_too(gql, factory):
    key = factory.world()["keys"]["ADMIN"]
    headers = {"Authorization": f"Bearer {key}"}
    batch = gql.http.post("/graphql", json=[QUERY, QUERY], headers=headers)
    assert batch.status_code == 400
    assert batch.json()["errors"][0]["message"] == "Batching is not enabled"
    with TestClient(gql.http.app, raise_server_exceptions=False) as http:
        deep = http.get(
            "/graphql",
            params={"query": QUERY["query"], "variables": "[" * 5000 + "]" * 5000},
            headers=headers,
        )
    assert deep.status_code == 400 and deep.json()["errors"][0]["message"] == (
        "the JSON is nested too deeply"
    )
    # query-string variables may still be null, as before
    plain = gql.http.get(
        "/graphql", params={"query": QUERY["query"], "variables": "null"}, headers=headers
    )
    assert plain.status_code == 200 and plain.json()["data"] == {"viewer": {"role": "ADMIN"}}
