"""Several operations in one document and no `operationName`: the GraphQL spec's request error
(GetOperation), not the first operation run. 400 for graphql-response+json, 200 with `errors`
for application/json, as for any other request error (api/graphql/view.py)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from api.models import Brand
from tests.factories import gid

TWO = "query A { viewer { role } } query B { brands { totalCount } }"
MESSAGE = "Must provide operationName if the document contains multiple operations."
JSON = "application/json"
GRAPHQL_JSON = "application/graphql-response+json"


def _post(gql, key, accept, body):
    return gql.http.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {key}", "accept": accept}
    )


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_JSON, 400)])
def test_two_operations_without_a_name_are_a_request_error(gql, factory, caplog, accept, status):
    key = factory.world()["keys"]["ADMIN"]
    with caplog.at_level(logging.INFO):
        response = _post(gql, key, accept, {"query": TWO})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(accept)
    body = response.json()
    assert body["errors"] == [{"message": MESSAGE, "extensions": {"code": "BAD_REQUEST"}}]
    assert ("data" in body) is (accept == JSON) and body.get("data") is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_JSON])
def test_with_a_name_the_named_operation_runs(gql, factory, accept):
    key = factory.world()["keys"]["ADMIN"]
    for name, data in (("A", {"viewer": {"role": "ADMIN"}}), ("B", {"brands": {"totalCount": 1}})):
        response = _post(gql, key, accept, {"query": TWO, "operationName": name})
        assert response.status_code == 200 and response.json() == {"data": data}
    # one operation needs no name, named or not
    one = _post(gql, key, accept, {"query": "query A { viewer { role } }"})
    assert one.json() == {"data": {"viewer": {"role": "ADMIN"}}}


def test_a_mutation_second_in_the_document_does_not_run_either(gql, factory, db):
    w = factory.world()
    document = (
        'mutation A { updateBrand(input: {brandId: "%s", name: "First"}) { brand { name } } } '
        'mutation B { updateBrand(input: {brandId: "%s", name: "Second"}) { brand { name } } }'
    )
    brand_id = gid(w["brand"])
    response = _post(gql, w["keys"]["ADMIN"], JSON, {"query": document % (brand_id, brand_id)})
    assert response.json()["errors"][0]["message"] == MESSAGE
    db.expire_all()
    assert db.scalar(select(Brand.name).where(Brand.id == w["brand"].id)) == w["brand"].name


def test_over_get_too(gql, factory):
    key = factory.world()["keys"]["ADMIN"]
    response = gql.http.get(
        "/graphql", params={"query": TWO}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == MESSAGE
