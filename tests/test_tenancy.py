"""A key of organization A reads and writes organization B: nothing comes back, nothing changes."""

from __future__ import annotations

from sqlalchemy import func, select

from api.models import Brand, Campaign, Influencer, MetricSnapshot, Partnership, SocialAccount
from tests.factories import gid


def _snapshot(db, b):
    db.expire_all()
    return (
        db.get(Brand, b["brand"].id).name,
        db.get(Influencer, b["influencer"].id).name,
        db.get(Influencer, b["influencer"].id).archived_at,
        db.get(Campaign, b["campaign"].id).status,
        db.get(Campaign, b["campaign"].id).name,
        db.get(Campaign, b["campaign"].id).compensation,
        db.get(Partnership, b["partnership"].id).compensation_override,
        db.scalar(select(func.count()).select_from(SocialAccount)),
        db.scalar(select(func.count()).select_from(MetricSnapshot)),
        db.scalar(select(func.count()).select_from(Campaign)),
    )


def test_reads_across_organizations_return_nothing(gql, factory):
    a, b = factory.world(), factory.world()
    for role in ("ADMIN", "MANAGER", "FINANCE", "INFLUENCER"):
        key = a["keys"][role]
        for kind, row in (
            ("brand", "brand"),
            ("influencer", "influencer"),
            ("campaign", "campaign"),
            ("partnership", "partnership"),
        ):
            data = gql(
                key,
                f"query($id: ID!) {{ {kind}(id: $id) {{ id }} node(id: $id) {{ id }} }}",
                id=gid(b[row]),
            )
            assert data == {kind: None, "node": None}, (role, kind)
        account = b["influencer"]
        data = gql(
            key,
            "query($id: ID!) { node(id: $id) { id } }",
            id=gid(
                factory.s.scalars(
                    select(SocialAccount).where(SocialAccount.influencer_id == account.id)
                ).first()
            ),
        )
        assert data["node"] is None
        # Filters naming B's rows find nothing; lists never include B.
        data = gql(
            key,
            """query($brand: ID!, $campaign: ID!, $inf: ID!) {
            campaigns(filter: {brandId: $brand}) { totalCount }
            partnerships(filter: {campaignId: $campaign}) { totalCount }
            byInfluencer: partnerships(filter: {influencerId: $inf}) { totalCount }
            influencers(first: 100) { edges { node { id } } }
            brands { edges { node { id } } }
        }""",
            brand=gid(b["brand"]),
            campaign=gid(b["campaign"]),
            inf=gid(b["influencer"]),
        )
        assert data["campaigns"]["totalCount"] == 0
        assert data["partnerships"]["totalCount"] == 0
        assert data["byInfluencer"]["totalCount"] == 0
        ids = {e["node"]["id"] for e in data["influencers"]["edges"]}
        assert gid(b["influencer"]) not in ids
        assert gid(b["brand"]) not in {e["node"]["id"] for e in data["brands"]["edges"]}


def test_writes_across_organizations_change_nothing(gql, factory, db):
    a, b = factory.world(), factory.world()
    key = a["keys"]["ADMIN"]
    account = db.scalars(
        select(SocialAccount).where(SocialAccount.influencer_id == b["influencer"].id)
    ).first()
    before = _snapshot(db, b)
    plan = {"currency": "EUR", "commission": {"kind": "PERCENT", "rateBps": 9000}}
    attempts = [
        ("updateBrand", {"brandId": gid(b["brand"]), "name": "pwned"}, "brand { id }"),
        (
            "updateInfluencer",
            {"influencerId": gid(b["influencer"]), "name": "pwned"},
            "influencer { id }",
        ),
        ("archiveInfluencer", {"influencerId": gid(b["influencer"])}, "influencer { id }"),
        (
            "addSocialAccount",
            {
                "influencerId": gid(b["influencer"]),
                "account": {"platform": "TIKTOK", "handle": "intruder"},
            },
            "account { id }",
        ),
        (
            "recordMetricSnapshot",
            {"socialAccountId": gid(account), "followers": 1},
            "snapshot { id }",
        ),
        (
            "createCampaign",
            {
                "brandId": gid(b["brand"]),
                "name": "x",
                "objective": "AWARENESS",
                "landingUrl": "https://shop.example.com",
            },
            "campaign { id }",
        ),
        ("updateCampaign", {"campaignId": gid(b["campaign"]), "name": "pwned"}, "campaign { id }"),
        (
            "transitionCampaign",
            {"campaignId": gid(b["campaign"]), "status": "PAUSED"},
            "campaign { id }",
        ),
        (
            "setCompensationPlan",
            {"campaignId": gid(b["campaign"]), "plan": plan},
            "campaign { id }",
        ),
        (
            "setCompensationPlan",
            {"partnershipId": gid(b["partnership"]), "plan": plan},
            "partnership { id }",
        ),
    ]
    for name, payload, select_ in attempts:
        result = gql.mutate(key, name, payload, select_)
        assert [e["code"] for e in result["userErrors"]] == ["NOT_FOUND"], (name, result)
    assert _snapshot(db, b) == before
