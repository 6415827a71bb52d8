"""The GraphiQL page at `/graphql`: served to a browser without a key; queries still need one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def http(database: str) -> Iterator[TestClient]:
    from api.app import create_app

    # a server fault must show as the 500 a browser gets, not as an exception in the test
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


def test_a_browser_without_a_key_gets_the_graphiql_page(http: TestClient) -> None:
    response = http.get("/graphql", headers=HTML)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_the_page_with_a_key_is_the_same_page(http: TestClient, factory: Any) -> None:
    key = factory.key(factory.org())
    response = http.get("/graphql", headers={**HTML, "Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        # a query in the URL is an operation, even from a browser
        ("GET", {"params": {"query": "{ __typename }"}, "headers": HTML}),
        ("GET", {"params": {"query": "{ __typename }"}}),
        ("POST", {"json": {"query": "{ __typename }"}}),
        ("POST", {"json": {"query": "{ __typename }"}, "headers": HTML}),
        # curl's default Accept is */*: no page for it, the usual 401
        ("GET", {"headers": {"Accept": "*/*"}}),
    ],
)
def test_an_operation_without_a_key_is_a_401_json_error(
    http: TestClient, method: str, kwargs: dict[str, Any]
) -> None:
    response = http.request(method, "/graphql", **kwargs)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Authorization: Bearer <key>" in error["message"]
