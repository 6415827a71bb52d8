from __future__ import annotations

from tests.factories import gid


def test_missing_or_bad_key_is_401(gql):
    assert gql.post(None, "{ viewer { role } }").status_code == 401
    response = gql.post("vch_nope_nope", "{ viewer { role } }")
    assert response.status_code == 401
    assert "API key" in response.json()["errors"][0]["message"]


def test_viewer_and_influencer_list(gql, factory):
    w = factory.world()
    data = gql(
        w["keys"]["ADMIN"],
        "{ viewer { role organization { id name } } "
        "influencers(first: 5) { totalCount edges { node { id name tier engagementRate "
        "accounts { handle followers } partnerships { campaign { name } } } } } }",
    )
    assert data["viewer"]["role"] == "ADMIN"
    assert data["viewer"]["organization"]["name"] == w["org"].name
    assert data["influencers"]["totalCount"] == 1
    node = data["influencers"]["edges"][0]["node"]
    assert node["id"] == gid(w["influencer"])
    assert node["tier"] == "MICRO"
    assert node["partnerships"][0]["campaign"]["name"] == w["campaign"].name
