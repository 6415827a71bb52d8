"""Programs over GraphQL: the mutations end to end, their bad inputs, roles and tenancy, the
INFLUENCER key's own membership and progress, shipments and their cost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from api.finance.performance import Scope, performance
from api.models import CampaignCost, Shipment
from tests.factories import gid

PLAN = {"currency": "EUR", "commission": {"kind": "PERCENT", "rateBps": 1000}}
MEMBER = "member { id status level { name } answers { key value } }"


def _program(gql, w, **extra):
    payload = gql.mutate(
        w["keys"]["MANAGER"],
        "createProgram",
        {
            "brandId": gid(w["brand"]),
            "name": "Ambassadors",
            "currency": "EUR",
            "landingUrl": "https://shop.example.com/",
            "questions": [
                {"key": "audience", "label": "Who follows you?", "kind": "TEXT", "required": True},
                {
                    "key": "size",
                    "label": "How many?",
                    "kind": "CHOICE",
                    "choices": ["<10k", "10k+"],
                },
            ],
            **extra,
        },
        "program { id name status levelMetric applicationForm { key kind required choices } }",
    )
    assert payload["userErrors"] == [], payload
    return payload["program"]


def _level(gql, w, program_id, name, threshold, bps=1000):
    return gql.mutate(
        w["keys"]["MANAGER"],
        "addProgramLevel",
        {
            "programId": program_id,
            "name": name,
            "threshold": threshold,
            "compensation": {**PLAN, "commission": {"kind": "PERCENT", "rateBps": bps}},
        },
        "level { id name rank revenueThreshold { amount currency } conversionsThreshold }",
    )


def test_a_program_from_application_to_level_move(gql, db, factory):
    w = factory.world()
    program = _program(gql, w)
    bronze = _level(gql, w, program["id"], "BRONZE", "0")
    assert bronze["userErrors"] == []
    assert bronze["level"]["revenueThreshold"] == {"amount": "0.00", "currency": "EUR"}
    silver = _level(gql, w, program["id"], "SILVER", "500.00", 1500)
    assert silver["level"]["rank"] == 1
    # Thresholds ascend, names are unique, plans are in the program's currency.
    assert _level(gql, w, program["id"], "LOW", "100")["userErrors"][0]["code"] == "NOT_ASCENDING"
    assert _level(gql, w, program["id"], "silver", "900")["userErrors"][0]["code"] == "DUPLICATE"
    usd = gql.mutate(
        w["keys"]["MANAGER"],
        "addProgramLevel",
        {
            "programId": program["id"],
            "name": "GOLD",
            "threshold": "2000",
            "compensation": {**PLAN, "currency": "USD"},
        },
        "level { id }",
    )
    assert usd["userErrors"][0]["code"] == "CURRENCY_MISMATCH"

    # The influencer applies with its own key; answers are checked against the form.
    key = w["keys"]["INFLUENCER"]
    bad = gql.mutate(
        key,
        "applyToProgram",
        {"programId": program["id"], "answers": [{"key": "size", "value": "huge"}]},
        MEMBER,
    )
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [
        ("answers.audience", "REQUIRED")
    ]
    applied = gql.mutate(
        key,
        "applyToProgram",
        {
            "programId": program["id"],
            "answers": [{"key": "audience", "value": "runners"}, {"key": "size", "value": "10k+"}],
        },
        MEMBER,
    )
    assert applied["userErrors"] == []
    assert applied["member"]["status"] == "APPLIED"
    again = gql.mutate(key, "applyToProgram", {"programId": program["id"]}, MEMBER)
    assert again["userErrors"][0]["code"] in ("ALREADY_MEMBER", "REQUIRED")
    # Only the influencer applies; only MANAGER/ADMIN review.
    forbidden = gql.mutate(
        w["keys"]["MANAGER"], "applyToProgram", {"programId": program["id"]}, MEMBER
    )
    assert forbidden["userErrors"][0]["code"] == "FORBIDDEN"
    member_id = applied["member"]["id"]
    refused = gql.mutate(
        key, "reviewProgramApplication", {"memberId": member_id, "approve": True}, MEMBER
    )
    assert refused["userErrors"][0]["code"] == "FORBIDDEN"
    approved = gql.mutate(
        w["keys"]["ADMIN"],
        "reviewProgramApplication",
        {"memberId": member_id, "approve": True},
        MEMBER + " again: member { partnershipId }",
    )
    assert approved["userErrors"] == []
    assert approved["member"]["status"] == "ACTIVE"
    assert approved["member"]["level"]["name"] == "BRONZE"
    partnership_id = approved["again"]["partnershipId"]
    rate = """query($id: ID!) { partnership(id: $id) { campaign { name }
        compensation { commission { rateBps } } } }"""
    found = gql(w["keys"]["MANAGER"], rate, id=partnership_id)["partnership"]
    assert found["compensation"]["commission"]["rateBps"] == 1000
    assert found["campaign"]["name"] == "Ambassadors (ambassador program)"
    twice = gql.mutate(
        w["keys"]["ADMIN"],
        "reviewProgramApplication",
        {"memberId": member_id, "approve": False},
        MEMBER,
    )
    assert twice["userErrors"][0]["code"] == "INVALID_STATUS"

    # A manual move: the partnership's plan follows, the history says who and why.
    moved = gql.mutate(
        w["keys"]["MANAGER"],
        "setMemberLevel",
        {"memberId": member_id, "levelId": silver["level"]["id"], "note": "great content"},
        "member { level { name } "
        "levelHistory { reason changedBy note fromLevel { name } toLevel { name } } } "
        "change { reason }",
    )
    assert moved["userErrors"] == []
    found = gql(w["keys"]["MANAGER"], rate, id=partnership_id)["partnership"]
    assert found["compensation"]["commission"]["rateBps"] == 1500
    assert [(h["reason"], h["toLevel"]["name"]) for h in moved["member"]["levelHistory"]] == [
        ("JOINED", "BRONZE"),
        ("MANUAL", "SILVER"),
    ]
    same = gql.mutate(
        w["keys"]["MANAGER"],
        "setMemberLevel",
        {"memberId": member_id, "levelId": silver["level"]["id"]},
        "change { reason }",
    )
    assert same["userErrors"][0]["code"] == "UNCHANGED"

    # Retainer and bonus; the influencer reads its own progress.
    retainer = gql.mutate(
        w["keys"]["MANAGER"],
        "setMemberRetainer",
        {
            "memberId": member_id,
            "amount": {"amount": "300.00", "currency": "EUR"},
            "period": "MONTHLY",
            "startsOn": "2026-01-15",
        },
        "retainer { id amount { amount } }",
    )
    assert retainer["userErrors"] == []
    wrong = gql.mutate(
        w["keys"]["MANAGER"],
        "setMemberRetainer",
        {
            "memberId": member_id,
            "amount": {"amount": "300.00", "currency": "USD"},
            "period": "MONTHLY",
            "startsOn": "2026-01-15",
        },
        "retainer { id }",
    )
    assert wrong["userErrors"][0]["code"] == "INVALID_CURRENCY"
    bonus = gql.mutate(
        w["keys"]["MANAGER"],
        "addProgramBonus",
        {
            "programId": program["id"],
            "description": "10 sales",
            "metric": "CONVERSIONS",
            "target": "10",
            "amount": {"amount": "50.00", "currency": "EUR"},
        },
        "bonus { id }",
    )
    assert bonus["userErrors"] == []
    fraction = gql.mutate(
        w["keys"]["MANAGER"],
        "addProgramBonus",
        {
            "programId": program["id"],
            "description": "x",
            "metric": "CONVERSIONS",
            "target": "2.5",
            "amount": {"amount": "50.00", "currency": "EUR"},
        },
        "bonus { id }",
    )
    assert fraction["userErrors"][0]["field"] == "target"
    progress = gql(
        key,
        """query($id: ID!) { program(id: $id) { members(first: 10) { edges {
        node { status bonusProgress { period target achieved remaining met credited
        reward: bonus { amount { amount } } } } } } } }""",
        id=program["id"],
    )
    nodes = [e["node"] for e in progress["program"]["members"]["edges"]]
    assert len(nodes) == 1
    assert nodes[0]["bonusProgress"][0]["target"] == 10
    assert nodes[0]["bonusProgress"][0]["remaining"] == 10
    assert nodes[0]["bonusProgress"][0]["credited"] is False


def test_other_organizations_ids_are_not_found_and_influencers_see_their_own(gql, db, factory):
    w = factory.world()
    other = factory.world()
    program = _program(gql, w)
    _level(gql, w, program["id"], "BRONZE", "0")
    # Another organization's key: its ids are NOT_FOUND, its lists empty.
    for name, payload in (
        (
            "addProgramLevel",
            {"programId": program["id"], "name": "X", "threshold": "0", "compensation": PLAN},
        ),
        ("inviteToProgram", {"programId": program["id"], "influencerId": gid(other["influencer"])}),
        ("updateProgram", {"programId": program["id"], "name": "Mine"}),
    ):
        result = gql.mutate(other["keys"]["ADMIN"], name, payload, "__typename")
        assert result["userErrors"][0]["code"] == "NOT_FOUND", name
    invite = gql.mutate(
        w["keys"]["MANAGER"],
        "inviteToProgram",
        {"programId": program["id"], "influencerId": gid(other["influencer"])},
        "member { id }",
    )
    assert invite["userErrors"][0]["field"] == "influencerId"
    seen = gql(other["keys"]["ADMIN"], "{ programs(first: 10) { edges { node { id } } } }")
    assert seen["programs"]["edges"] == []

    # Two influencers of the organization: each key sees only its own membership.
    second = factory.influencer(w["org"])
    second_key = factory.key(w["org"], "INFLUENCER", second)
    for influencer in (w["influencer"], second):
        invited = gql.mutate(
            w["keys"]["MANAGER"],
            "inviteToProgram",
            {"programId": program["id"], "influencerId": gid(influencer)},
            "member { id status }",
        )
        assert invited["member"]["status"] == "INVITED"
    query = """query($id: ID!) { program(id: $id) { members(first: 10) { edges { node {
        influencerId } } } } }"""
    for key, influencer in ((w["keys"]["INFLUENCER"], w["influencer"]), (second_key, second)):
        edges = gql(key, query, id=program["id"])["program"]["members"]["edges"]
        assert [e["node"]["influencerId"] for e in edges] == [gid(influencer)]
    edges = gql(w["keys"]["FINANCE"], query, id=program["id"])["program"]["members"]["edges"]
    assert len(edges) == 2
    # The other member's retainer and shipment are not the first influencer's to read.
    members = gql(
        w["keys"]["MANAGER"], query.replace("influencerId", "id influencerId"), id=program["id"]
    )["program"]["members"]["edges"]
    second_member = next(
        e["node"]["id"] for e in members if e["node"]["influencerId"] == gid(second)
    )
    approved = gql.mutate(
        w["keys"]["MANAGER"],
        "reviewProgramApplication",
        {"memberId": second_member, "approve": True},
        "member { partnershipId }",
    )
    retainer = gql.mutate(
        w["keys"]["MANAGER"],
        "setMemberRetainer",
        {
            "memberId": second_member,
            "amount": {"amount": "900.00", "currency": "EUR"},
            "period": "WEEKLY",
            "startsOn": "2026-01-01",
        },
        "retainer { id }",
    )["retainer"]
    shipment = gql.mutate(
        w["keys"]["MANAGER"],
        "createShipment",
        {
            "partnershipId": approved["member"]["partnershipId"],
            "product": "Shoes",
            "value": {"amount": "90.00", "currency": "EUR"},
            "address": "1 Main St",
        },
        "shipment { id }",
    )["shipment"]
    node = "query($id: ID!) { node(id: $id) { id } }"
    for row in (retainer, shipment, {"id": second_member}):
        assert gql(w["keys"]["INFLUENCER"], node, id=row["id"]) == {"node": None}
        assert gql(second_key, node, id=row["id"]) == {"node": {"id": row["id"]}}


def test_shipments_cost_the_campaign_and_their_address_is_sealed(gql, db, factory):
    w = factory.world()
    address = "Ana Lopez\n12 Rue de la Paix\n75002 Paris"
    created = gql.mutate(
        w["keys"]["MANAGER"],
        "createShipment",
        {
            "partnershipId": gid(w["partnership"]),
            "product": "Trail shoes",
            "value": {"amount": "60.00", "currency": "EUR"},
            "quantity": 2,
            "address": address,
        },
        "shipment { id status address totalValue { amount } }",
    )
    assert created["userErrors"] == []
    shipment = created["shipment"]
    assert shipment["address"] == address and shipment["totalValue"]["amount"] == "120.00"
    raw = db.execute(text("SELECT * FROM shipments")).all()
    assert raw and not [r for r in raw if "Rue de la Paix" in " ".join(map(str, r))]
    cost = db.scalars(
        select(CampaignCost).where(CampaignCost.partnership_id == w["partnership"].id)
    ).one()
    assert (cost.amount, cost.currency, cost.kind) == (12_000, "EUR", "GIFTED_PRODUCT")
    scope = Scope(organization_id=w["org"].id, campaign_id=w["campaign"].id)
    perf = performance(
        db, scope, "EUR", datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    )
    assert perf.gifted == 12_000
    # Masked for FINANCE and the influencer itself.
    query = """query($id: ID!) { partnership(id: $id) { shipments(first: 5) { edges { node {
        address } } } } }"""
    for role in ("FINANCE", "INFLUENCER"):
        node = gql(w["keys"][role], query, id=gid(w["partnership"]))["partnership"]["shipments"]
        assert (
            node["edges"][0]["node"]["address"] == "A*** L***, 1*** R*** d*** l*** P***, 7*** P***"
        )
    # Status transitions; bad inputs.
    select_ = "shipment { status trackingNumber }"
    ok = gql.mutate(
        w["keys"]["MANAGER"],
        "updateShipment",
        {"shipmentId": shipment["id"], "status": "SHIPPED", "trackingNumber": "1Z99"},
        select_,
    )
    assert ok["shipment"] == {"status": "SHIPPED", "trackingNumber": "1Z99"}
    back = gql.mutate(
        w["keys"]["MANAGER"],
        "updateShipment",
        {"shipmentId": shipment["id"], "status": "ORDERED"},
        select_,
    )
    assert back["userErrors"][0]["code"] == "INVALID_TRANSITION"
    finance = gql.mutate(
        w["keys"]["FINANCE"],
        "updateShipment",
        {"shipmentId": shipment["id"], "status": "DELIVERED"},
        select_,
    )
    assert finance["userErrors"][0]["code"] == "FORBIDDEN"
    other = factory.world()
    stranger = gql.mutate(
        other["keys"]["ADMIN"],
        "updateShipment",
        {"shipmentId": shipment["id"], "status": "DELIVERED"},
        select_,
    )
    assert stranger["userErrors"][0]["code"] == "NOT_FOUND"
    assert (
        db.scalar(
            select(Shipment.status).where(
                Shipment.id == int(db.scalars(select(Shipment.id)).all()[-1])
            )
        )
        == "SHIPPED"
    )


@pytest.mark.parametrize(
    ("patch", "field", "code"),
    [
        ({"quantity": 0}, "quantity", "OUT_OF_RANGE"),
        ({"address": "  "}, "address", "REQUIRED"),
        ({"value": {"amount": "-1", "currency": "EUR"}}, "value.amount", "INVALID_AMOUNT"),
        ({"product": ""}, "product", "REQUIRED"),
    ],
)
def test_bad_shipments_are_refused(gql, factory, patch, field, code):
    w = factory.world()
    payload = {
        "partnershipId": gid(w["partnership"]),
        "product": "Shoes",
        "value": {"amount": "60.00", "currency": "EUR"},
        "address": "1 Main St",
        **patch,
    }
    result = gql.mutate(w["keys"]["MANAGER"], "createShipment", payload, "shipment { id }")
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(field, code)]


@pytest.mark.parametrize(
    ("patch", "field", "code"),
    [
        ({"name": " "}, "name", "REQUIRED"),
        ({"currency": "EURO"}, "currency", "INVALID_CURRENCY"),
        ({"landingUrl": "ftp://x"}, "landingUrl", "INVALID_URL"),
        (
            {"questions": [{"key": "Bad Key", "label": "x", "kind": "TEXT"}]},
            "questions[0].key",
            "INVALID",
        ),
        (
            {"questions": [{"key": "c", "label": "x", "kind": "CHOICE"}]},
            "questions[0].choices",
            "REQUIRED",
        ),
    ],
)
def test_bad_programs_are_refused(gql, factory, patch, field, code):
    w = factory.world()
    payload = {
        "brandId": gid(w["brand"]),
        "name": "P",
        "currency": "EUR",
        "landingUrl": "https://shop.example.com/",
        **patch,
    }
    result = gql.mutate(w["keys"]["ADMIN"], "createProgram", payload, "program { id }")
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(field, code)]
    finance = gql.mutate(w["keys"]["FINANCE"], "createProgram", payload, "program { id }")
    assert finance["userErrors"][0]["code"] == "FORBIDDEN"
