"""A GraphQL client for tests: the real ASGI app, through Starlette's TestClient."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


class GraphQLClient:
    def __init__(self) -> None:
        from api.app import create_app

        self.http = TestClient(create_app())

    def __enter__(self) -> GraphQLClient:
        self.http.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.http.__exit__(*exc)

    def post(self, key: str | None, query: str, variables: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    def __call__(self, key: str | None, query: str, **variables: Any) -> dict[str, Any]:
        """Runs an operation and returns its `data`; fails the test on GraphQL errors."""
        response = self.post(key, query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def errors(self, key: str | None, query: str, **variables: Any) -> list[dict[str, Any]]:
        """Runs an operation expected to fail with GraphQL errors and returns them."""
        response = self.post(key, query, variables)
        body = response.json()
        assert body.get("errors"), body
        errors: list[dict[str, Any]] = body["errors"]
        return errors

    def mutate(self, key: str | None, name: str, input: dict[str, Any], select: str) -> Any:
        """Runs mutation `name(input:)` selecting `select` plus userErrors; returns the payload."""
        query = (
            f"mutation($input: {name[0].upper() + name[1:]}Input!) {{ {name}(input: $input) "
            f"{{ {select} userErrors {{ field message code }} }} }}"
        )
        return self(key, query, input=input)[name]
