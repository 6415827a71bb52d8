"""The GraphiQL page at `/graphql`: served to a browser without a key; queries still need one."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

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


def test_a_request_with_a_key_but_no_query_is_a_400_json_error(
    http: TestClient, factory: Any
) -> None:
    key = factory.key(factory.org())
    response = http.get("/graphql", headers={"Accept": "*/*", "Authorization": f"Bearer {key}"})
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST" and "query" in error["message"]


def _page_urls(html: str) -> list[str]:
    """Every URL the page's markup loads (script src, link href)."""
    return re.findall(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", html)


def test_the_page_loads_only_files_this_server_serves(http: TestClient) -> None:
    response = http.get("/graphql", headers=HTML)
    urls = _page_urls(response.text)
    assets = [url for url in urls if not url.startswith("data:")]
    assert len(assets) == 5, urls  # GraphiQL's css and js, React, ReactDOM, our script
    for url in assets:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and not url.startswith("/"), url
        # relative to /graphql, as a browser resolves it
        asset = http.get(urljoin("/graphql", url))
        assert asset.status_code == 200, url
        kind = "text/css" if url.endswith(".css") else "javascript"
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
    assert "://" not in response.text  # no absolute URL anywhere, markup or inline code
    # and the browser is told to refuse anything from elsewhere
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert "connect-src 'self'" in csp


def test_the_assets_need_no_key_and_nothing_else_is_served_from_there(http: TestClient) -> None:
    assert http.get("/static/graphiql/react/react.production.min.js").status_code == 200
    assert http.get("/static/graphiql/nothing.js").status_code == 404
    assert http.get("/static/graphiql/../../view.py").status_code == 404
    assert http.get("/static/graphiql.html").status_code == 404


def test_the_vendored_files_are_those_the_readme_names() -> None:
    from api.graphql.view import GRAPHIQL_ASSETS

    readme = (GRAPHIQL_ASSETS / "README.md").read_text()
    listed = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M)
    )
    vendored = {
        path.relative_to(GRAPHIQL_ASSETS).as_posix()
        for path in GRAPHIQL_ASSETS.rglob("*")
        if path.is_file() and path.parent != GRAPHIQL_ASSETS
    }
    assert set(listed) == vendored
    for name, digest in listed.items():
        assert hashlib.sha256((GRAPHIQL_ASSETS / name).read_bytes()).hexdigest() == digest, name
    for package in ("graphiql", "react", "react-dom"):
        assert "MIT License" in (GRAPHIQL_ASSETS / package / "LICENSE").read_text()
