"""GraphQL over HTTP media types: `application/graphql-response+json` when the client asks for
it (request errors are then 400 without `data`), `application/json` otherwise (always 200)."""

from __future__ import annotations

import pytest

from api.graphql.view import accepts_graphql_response

GRAPHQL_RESPONSE = "application/graphql-response+json"


def _post(gql, key, query, accept, variables=None):
    headers = {"Authorization": f"Bearer {key}"}
    if accept is not None:
        headers["Accept"] = accept
    body = {"query": query, "variables": variables or {}}
    return gql.http.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (GRAPHQL_RESPONSE, True),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", True),
        (f"application/json, {GRAPHQL_RESPONSE.upper()};q=0.5", True),
        (f"{GRAPHQL_RESPONSE};q=0", False),
        (f"{GRAPHQL_RESPONSE};q=zero", False),
        ("application/json", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_accept_negotiation(accept, expected):
    assert accepts_graphql_response(accept) is expected


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ viewer { role ", None),  # does not parse
        ("{ viewer { noSuchField } }", None),  # does not validate
        ("query($n: Int!) { influencers(first: $n) { totalCount } }", {"n": "ten"}),  # coercion
    ],
)
def test_request_errors(gql, factory, query, variables):
    key = factory.world()["keys"]["ADMIN"]

    modern = _post(gql, key, query, f"{GRAPHQL_RESPONSE}, application/json;q=0.9", variables)
    assert modern.status_code == 400
    assert modern.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    body = modern.json()
    assert "data" not in body and body["errors"][0]["message"]

    for accept in ("application/json", "*/*", None):
        legacy = _post(gql, key, query, accept, variables)
        assert legacy.status_code == 200
        assert legacy.headers["content-type"] == "application/json"
        assert legacy.json()["data"] is None and legacy.json()["errors"]


def test_results_are_200_in_either_media_type(gql, factory):
    key = factory.world()["keys"]["ADMIN"]
    for accept, content_type in (
        (GRAPHQL_RESPONSE, f"{GRAPHQL_RESPONSE}; charset=utf-8"),
        ("application/json", "application/json"),
    ):
        response = _post(gql, key, "{ viewer { role } }", accept)
        assert response.status_code == 200
        assert response.headers["content-type"] == content_type
        assert response.headers.get_list("content-type") == [content_type]
        assert response.json() == {"data": {"viewer": {"role": "ADMIN"}}}


def test_a_field_error_during_execution_is_not_a_request_error(gql, factory):
    """A node that isn't there is a null with an error at its path: the operation ran, so
    it is a 200 with a data entry in both media types."""
    key = factory.world()["keys"]["ADMIN"]
    query = '{ node(id: "not-a-global-id") { id } }'
    response = _post(gql, key, query, GRAPHQL_RESPONSE)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"node": None} and body["errors"][0]["path"] == ["node"], body
