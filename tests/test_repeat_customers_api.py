"""The GraphQL side of repeat customers and per-code rates: the campaign's repeat-order rule,
the plan's repeat-order rate, a code's own rate, and first and repeat revenue apart."""

from __future__ import annotations

from datetime import UTC, datetime

from api.models import PerformanceRollup
from tests.factories import gid

CAMPAIGN = "campaign { repeatOrders repeatOrderMonths } userErrors { field code }"


def test_campaign_repeat_rule(gql, factory):
    w = factory.world()
    key, cid = w["keys"]["MANAGER"], gid(w["campaign"])
    result = gql.mutate(
        key,
        "updateCampaign",
        {"campaignId": cid, "repeatOrders": "WITHIN_MONTHS", "repeatOrderMonths": 6},
        CAMPAIGN,
    )
    assert result == {
        "campaign": {"repeatOrders": "WITHIN_MONTHS", "repeatOrderMonths": 6},
        "userErrors": [],
    }
    for bad in (
        {"repeatOrders": "WITHIN_MONTHS", "repeatOrderMonths": 0},
        {"repeatOrders": "LIFETIME", "repeatOrderMonths": 6},
        {"repeatOrderMonths": 121},
    ):
        wrong = gql.mutate(key, "updateCampaign", {"campaignId": cid} | bad, CAMPAIGN)
        assert wrong["userErrors"][0]["field"] == "repeatOrderMonths", bad
    life = gql.mutate(
        key, "updateCampaign", {"campaignId": cid, "repeatOrders": "LIFETIME"}, CAMPAIGN
    )
    assert life["campaign"] == {"repeatOrders": "LIFETIME", "repeatOrderMonths": None}


def test_repeat_rate_and_code_rate(gql, factory):
    w = factory.world()
    plan = {
        "currency": "EUR",
        "commission": {"kind": "PERCENT", "rateBps": 1000},
        "repeatOrderRateBps": 500,
    }
    result = gql.mutate(
        w["keys"]["MANAGER"],
        "setCompensationPlan",
        {"campaignId": gid(w["campaign"]), "plan": plan},
        "campaign { compensationPlan { repeatOrderRateBps } } userErrors { field code }",
    )
    assert result["userErrors"] == []
    assert result["campaign"]["compensationPlan"]["repeatOrderRateBps"] == 500
    bad = gql.mutate(
        w["keys"]["MANAGER"],
        "setCompensationPlan",
        {"campaignId": gid(w["campaign"]), "plan": plan | {"repeatOrderRateBps": 10001}},
        "userErrors { field code }",
    )
    assert bad["userErrors"][0]["field"] == "plan.repeatOrderRateBps"
    select = "discountCode { code commissionRateBps } userErrors { field code }"
    data = {"partnershipId": gid(w["partnership"]), "percentOff": "20", "code": "GIVEAWAY20"}
    code = gql.mutate(
        w["keys"]["MANAGER"], "issueDiscountCode", data | {"commissionRateBps": 2500}, select
    )
    assert code["discountCode"] == {"code": "GIVEAWAY20", "commissionRateBps": 2500}
    over = gql.mutate(
        w["keys"]["MANAGER"],
        "issueDiscountCode",
        data | {"code": "GIVEAWAY21", "commissionRateBps": 10001},
        select,
    )
    assert over["userErrors"][0]["field"] == "commissionRateBps"


def test_performance_shows_first_and_repeat_revenue_apart(gql, factory, db):
    w = factory.world()
    p = w["partnership"]
    db.add(
        PerformanceRollup(
            partnership_id=p.id,
            link_id=0,
            hour=datetime(2026, 11, 3, 10, tzinfo=UTC),
            currency="EUR",
            organization_id=w["org"].id,
            campaign_id=w["campaign"].id,
            influencer_id=w["influencer"].id,
            conversions=3,
            revenue=25000,
            repeat_revenue=9000,
            commission=2000,
            fees=0,
        )
    )
    db.commit()
    query = """query($id: ID!) { node(id: $id) { ... on Campaign {
        performance(from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") {
          revenue { amount } firstOrderRevenue { amount } repeatRevenue { amount } } } } }"""
    for role in ("MANAGER", "INFLUENCER"):
        data = gql(w["keys"][role], query, id=gid(w["campaign"]))["node"]["performance"]
        assert data == {
            "revenue": {"amount": "250.00"},
            "firstOrderRevenue": {"amount": "160.00"},
            "repeatRevenue": {"amount": "90.00"},
        }
