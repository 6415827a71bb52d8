"""Each role's allowed and forbidden actions on brands, influencers and campaigns."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.models import Brand, Campaign, Influencer
from tests.factories import gid


def _counts(db):
    db.expire_all()
    return tuple(
        db.scalar(select(func.count()).select_from(m)) for m in (Brand, Influencer, Campaign)
    )


def _actions(w):
    return {
        "createBrand": ({"name": "New", "defaultCurrency": "EUR"}, "brand { id }"),
        "createInfluencer": ({"name": "New Creator"}, "influencer { id }"),
        "createCampaign": (
            {
                "brandId": gid(w["brand"]),
                "name": "C",
                "objective": "AWARENESS",
                "landingUrl": "https://shop.example.com/x",
            },
            "campaign { id }",
        ),
        "transitionCampaign": (
            {"campaignId": gid(w["campaign"]), "status": "PAUSED"},
            "campaign { status }",
        ),
    }


ALLOWED = {
    "ADMIN": {"createBrand", "createInfluencer", "createCampaign", "transitionCampaign"},
    "MANAGER": {"createInfluencer", "createCampaign", "transitionCampaign"},
    "FINANCE": set(),
    "INFLUENCER": set(),
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_role_matrix(gql, factory, db, role):
    w = factory.world()
    for name, (payload, select_) in _actions(w).items():
        before = _counts(db)
        result = gql.mutate(w["keys"][role], name, payload, select_)
        if name in ALLOWED[role]:
            assert result["userErrors"] == [], (role, name, result)
        else:
            assert [e["code"] for e in result["userErrors"]] == ["FORBIDDEN"], (role, name)
            message = result["userErrors"][0]["message"]
            needed = "an ADMIN key" if name == "createBrand" else "an ADMIN or MANAGER key"
            assert message.startswith(f"{'An' if role[0] in 'AEIOU' else 'A'} {role} key cannot ")
            assert message.endswith(f": this needs {needed}"), message
            assert _counts(db) == before
            db.expire_all()
            assert db.get(Campaign, w["campaign"].id).status == "ACTIVE"


def test_influencer_key_reads_only_its_own(gql, factory):
    w = factory.world()
    other = factory.influencer(w["org"])
    factory.partnership(w["campaign"], other)
    other_campaign = factory.campaign(w["brand"])
    key = w["keys"]["INFLUENCER"]
    data = gql(
        key,
        """{ influencers(first: 50) { totalCount edges { node { id } } }
        campaigns { edges { node { id partnerships { influencer { id } } } } }
        viewer { role influencerId } }""",
    )
    assert data["viewer"] == {"role": "INFLUENCER", "influencerId": gid(w["influencer"])}
    assert [e["node"]["id"] for e in data["influencers"]["edges"]] == [gid(w["influencer"])]
    campaigns = data["campaigns"]["edges"]
    assert [c["node"]["id"] for c in campaigns] == [gid(w["campaign"])]
    assert gid(other_campaign) not in str(data)
    # The campaign's partnerships show only the influencer's own, never a peer's.
    assert [p["influencer"]["id"] for p in campaigns[0]["node"]["partnerships"]] == [
        gid(w["influencer"])
    ]
    assert gql(key, "query($id: ID!) { influencer(id: $id) { id } }", id=gid(other)) == {
        "influencer": None
    }


def test_finance_reads_everything_in_its_org(gql, factory):
    w = factory.world()
    data = gql(w["keys"]["FINANCE"], "{ influencers { totalCount } campaigns { totalCount } }")
    assert data == {"influencers": {"totalCount": 1}, "campaigns": {"totalCount": 1}}
