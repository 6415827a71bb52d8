"""Partnership mutations: invitations, answers, status moves and contract versions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from api.models import ContentSubmission, Contract, Deliverable, Partnership
from tests import refusals
from tests.factories import gid

P_FIELDS = "partnership { id status connection respondedAt responseNote }"
C_FIELDS = (
    "contract { version usageRights usageRightsDays usageRightsRegions exclusivityDays "
    "exclusivityCategories paymentTermsDays approvalRounds deliverablesDue acceptedAt } "
    "partnership { contractHistory { version paymentTermsDays acceptedBy } contract { version } }"
)


MODELS = (Partnership, Contract, Deliverable, ContentSubmission)


def state(db: Any, org: Any) -> dict[str, list[dict[str, Any]]]:
    return refusals.org_rows(db, org, MODELS)


def refused(
    gql: Any,
    db: Any,
    w: dict[str, Any],
    role: str,
    name: str,
    input: dict[str, Any],
    field: str | None,
    code: str,
    select_: str = P_FIELDS,
) -> dict[str, Any]:
    return refusals.refused(gql, db, w, MODELS, role, name, input, field, code, select_)


@pytest.fixture
def w(factory: Any) -> dict[str, Any]:
    world = factory.world()
    world["other"] = factory.world()  # another organization
    world["newcomer"] = factory.influencer(world["org"])
    return world


def invite(w: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"campaignId": gid(w["campaign"]), "influencerId": gid(w["newcomer"]), **extra}


# --- createPartnership ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["MANAGER", "ADMIN"])
def test_create_partnership(gql, db, w, role):
    payload = gql.mutate(w["keys"][role], "createPartnership", invite(w, message="Hi!"), P_FIELDS)
    assert payload["userErrors"] == []
    p = payload["partnership"]
    assert (p["status"], p["connection"], p["respondedAt"]) == ("INVITED", "PAID", None)
    row = db.scalar(select(Partnership).where(Partnership.influencer_id == w["newcomer"].id))
    assert (row.campaign_id, row.status, row.organization_id) == (
        w["campaign"].id,
        "INVITED",
        w["org"].id,
    )
    assert gid(row) == p["id"]


def test_create_partnership_with_connection(gql, w):
    payload = gql.mutate(
        w["keys"]["MANAGER"], "createPartnership", invite(w, connection="GIFTED"), P_FIELDS
    )
    assert payload["partnership"]["connection"] == "GIFTED"


def test_invitation_message_is_stored_and_returned(gql, db, factory, w):
    payload = gql.mutate(
        w["keys"]["MANAGER"],
        "createPartnership",
        invite(w, message="  Hi! Our spring line, 3 reels.  "),
        "partnership { id invitationMessage }",
    )
    assert payload["userErrors"] == []
    assert payload["partnership"]["invitationMessage"] == "Hi! Our spring line, 3 reels."
    db.expire_all()
    row = db.scalar(select(Partnership).where(Partnership.influencer_id == w["newcomer"].id))
    assert row.invitation_message == "Hi! Our spring line, 3 reels."
    # Whoever sees the partnership reads it: the invited influencer (its own key) and FINANCE.
    newcomer_key = factory.key(w["org"], "INFLUENCER", w["newcomer"])
    query = "query($id: ID!) { partnership(id: $id) { invitationMessage } }"
    for key in (newcomer_key, w["keys"]["FINANCE"]):
        data = gql(key, query, id=payload["partnership"]["id"])
        assert data["partnership"] == {"invitationMessage": "Hi! Our spring line, 3 reels."}
    # Another influencer of the organization does not see it at all.
    assert gql(w["keys"]["INFLUENCER"], query, id=payload["partnership"]["id"]) == {
        "partnership": None
    }


def test_invitation_message_limit(gql, db, factory, w):
    refused(
        gql,
        db,
        w,
        "MANAGER",
        "createPartnership",
        invite(w, message="x" * 5001),
        "message",
        "TOO_LONG",
    )
    mine = select(Partnership).where(Partnership.influencer_id == w["newcomer"].id)
    assert db.scalars(mine).all() == []  # nothing written
    payload = gql.mutate(
        w["keys"]["MANAGER"],
        "createPartnership",
        invite(w, message="x" * 5000),
        "partnership { invitationMessage }",
    )
    assert payload["partnership"]["invitationMessage"] == "x" * 5000
    # Without a message (or a blank one) there is none.
    other = factory.influencer(w["org"])
    payload = gql.mutate(
        w["keys"]["MANAGER"],
        "createPartnership",
        invite(w, influencerId=gid(other), message="   "),
        "partnership { invitationMessage }",
    )
    assert payload["partnership"] == {"invitationMessage": None}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"campaignId": "nope"}, "campaignId", "NOT_FOUND"),
        # a well-formed global id of no campaign: Campaign:99999999
        ({"campaignId": "Q2FtcGFpZ246OTk5OTk5OTk="}, "campaignId", "NOT_FOUND"),
        ({"influencerId": ""}, "influencerId", "NOT_FOUND"),
        ({"campaignId": "other:campaign"}, "campaignId", "NOT_FOUND"),
        ({"influencerId": "other:influencer"}, "influencerId", "NOT_FOUND"),
        ({"influencerId": "campaign"}, "influencerId", "NOT_FOUND"),  # a gid of the wrong type
        ({"influencerId": "influencer"}, "influencerId", "DUPLICATE"),
        ({"message": "x" * 5001}, "message", "TOO_LONG"),
    ],
)
def test_create_partnership_bad_input(gql, db, w, change, field, code):
    input = invite(w)
    for key, value in change.items():
        if value.startswith("other:"):
            value = gid(w["other"][value.split(":")[1]])
        elif value in ("campaign", "influencer"):
            value = gid(w[value])
        input[key] = value
    payload = refused(gql, db, w, "MANAGER", "createPartnership", input, field, code)
    assert payload["partnership"] is None


@pytest.mark.parametrize("status", ["COMPLETED", "CANCELLED"])
def test_create_partnership_closed_campaign(gql, db, factory, w, status):
    campaign = factory.campaign(w["brand"], status=status)
    refused(
        gql,
        db,
        w,
        "MANAGER",
        "createPartnership",
        invite(w, campaignId=gid(campaign)),
        "campaignId",
        "INVALID_TRANSITION",
    )


def test_create_partnership_archived(gql, db, factory, w):
    from api.db import utcnow

    archived = factory.influencer(w["org"], archived_at=utcnow())
    refused(
        gql,
        db,
        w,
        "MANAGER",
        "createPartnership",
        invite(w, influencerId=gid(archived)),
        "influencerId",
        "NOT_ALLOWED",
    )
    campaign = factory.campaign(w["brand"], archived_at=utcnow())
    refused(
        gql,
        db,
        w,
        "MANAGER",
        "createPartnership",
        invite(w, campaignId=gid(campaign)),
        "campaignId",
        "NOT_ALLOWED",
    )


@pytest.mark.parametrize("role", ["FINANCE", "INFLUENCER"])
def test_create_partnership_forbidden(gql, db, w, role):
    refused(gql, db, w, role, "createPartnership", invite(w), None, "FORBIDDEN")


# --- respondToPartnership ------------------------------------------------------------------


def invited(factory: Any, w: dict[str, Any], influencer: Any = None) -> Partnership:
    return factory.partnership(
        factory.campaign(w["brand"]), influencer or w["influencer"], status="INVITED"
    )


def test_influencer_accepts_own_invitation_and_latest_contract(gql, db, factory, w):
    p = invited(factory, w)
    v1 = factory.contract(p, version=1)
    v2 = factory.contract(p, version=2, payment_terms_days=45)
    payload = gql.mutate(
        w["keys"]["INFLUENCER"],
        "respondToPartnership",
        {"partnershipId": gid(p), "decision": "ACCEPT", "note": " Deal "},
        P_FIELDS + " contract: partnership { contract { version acceptedBy } }",
    )
    assert payload["userErrors"] == []
    assert payload["partnership"]["status"] == "ACCEPTED"
    assert payload["partnership"]["respondedAt"] is not None
    assert payload["partnership"]["responseNote"] == "Deal"
    assert payload["contract"]["contract"] == {
        "version": 2,
        "acceptedBy": f"influencer:{w['influencer'].id}",
    }
    db.expire_all()
    assert db.get(Contract, v2.id).accepted_at is not None
    assert db.get(Contract, v1.id).accepted_at is None  # only the latest version is accepted
    assert db.get(Partnership, p.id).status == "ACCEPTED"


def test_manager_accepts_for_influencer_without_contract(gql, db, factory, w):
    p = invited(factory, w)
    payload = gql.mutate(
        w["keys"]["MANAGER"],
        "respondToPartnership",
        {"partnershipId": gid(p), "decision": "ACCEPT"},
        P_FIELDS,
    )
    assert payload["partnership"]["status"] == "ACCEPTED"


def test_manager_accept_records_key_label(gql, db, factory, w):
    p = invited(factory, w)
    contract = factory.contract(p)
    gql.mutate(
        w["keys"]["ADMIN"],
        "respondToPartnership",
        {"partnershipId": gid(p), "decision": "ACCEPT"},
        P_FIELDS,
    )
    db.expire_all()
    assert re.fullmatch(r"ADMIN key [0-9a-f]{8}", db.get(Contract, contract.id).accepted_by)


def test_influencer_declines(gql, db, factory, w):
    p = invited(factory, w)
    contract = factory.contract(p)
    payload = gql.mutate(
        w["keys"]["INFLUENCER"],
        "respondToPartnership",
        {"partnershipId": gid(p), "decision": "DECLINE", "note": "Busy"},
        P_FIELDS,
    )
    assert (payload["partnership"]["status"], payload["partnership"]["responseNote"]) == (
        "DECLINED",
        "Busy",
    )
    db.expire_all()
    assert db.get(Contract, contract.id).accepted_at is None


def test_respond_refusals(gql, db, factory, w):
    mine = invited(factory, w)
    someone = factory.influencer(w["org"])
    theirs = invited(factory, w, someone)

    def respond(role: str, p: Any, field: str | None, code: str, **extra: Any) -> None:
        refused(
            gql,
            db,
            w,
            role,
            "respondToPartnership",
            {"partnershipId": gid(p), "decision": "ACCEPT", **extra},
            field,
            code,
        )

    respond("INFLUENCER", theirs, "partnershipId", "NOT_FOUND")  # not its partnership
    respond("FINANCE", mine, None, "FORBIDDEN")
    respond("MANAGER", w["other"]["partnership"], "partnershipId", "NOT_FOUND")
    respond("INFLUENCER", w["partnership"], "decision", "INVALID_TRANSITION")  # ACTIVE already
    respond("INFLUENCER", mine, "note", "TOO_LONG", note="x" * 2001)
    refused(
        gql,
        db,
        w,
        "INFLUENCER",
        "respondToPartnership",
        {"partnershipId": gid(w["other"]["partnership"]), "decision": "DECLINE"},
        "partnershipId",
        "NOT_FOUND",
    )


def test_respond_twice_is_illegal(gql, db, factory, w):
    p = invited(factory, w)
    gql.mutate(
        w["keys"]["INFLUENCER"],
        "respondToPartnership",
        {"partnershipId": gid(p), "decision": "DECLINE"},
        P_FIELDS,
    )
    refused(
        gql,
        db,
        w,
        "INFLUENCER",
        "respondToPartnership",
        {"partnershipId": gid(p), "decision": "ACCEPT"},
        "decision",
        "INVALID_TRANSITION",
    )


# --- transitionPartnership -----------------------------------------------------------------


def test_transition_lifecycle(gql, db, factory, w):
    p = factory.partnership(factory.campaign(w["brand"]), w["newcomer"], status="ACCEPTED")
    for status in ("ACTIVE", "COMPLETED"):
        payload = gql.mutate(
            w["keys"]["MANAGER"],
            "transitionPartnership",
            {"partnershipId": gid(p), "status": status},
            P_FIELDS,
        )
        assert payload["userErrors"] == []
        assert payload["partnership"]["status"] == status
    db.expire_all()
    assert db.get(Partnership, p.id).status == "COMPLETED"
    refused(
        gql,
        db,
        w,
        "ADMIN",
        "transitionPartnership",
        {"partnershipId": gid(p), "status": "ACTIVE"},
        "status",
        "INVALID_TRANSITION",
    )


@pytest.mark.parametrize("source", ["ACCEPTED", "ACTIVE"])
def test_terminate(gql, factory, w, source):
    p = factory.partnership(factory.campaign(w["brand"]), w["newcomer"], status=source)
    payload = gql.mutate(
        w["keys"]["ADMIN"],
        "transitionPartnership",
        {"partnershipId": gid(p), "status": "TERMINATED"},
        P_FIELDS,
    )
    assert payload["partnership"]["status"] == "TERMINATED"


def test_transition_refusals(gql, db, factory, w):
    p = invited(factory, w)

    def move(role: str, target: Any, status: str, field: str | None, code: str) -> None:
        refused(
            gql,
            db,
            w,
            role,
            "transitionPartnership",
            {"partnershipId": gid(target), "status": status},
            field,
            code,
        )

    move("MANAGER", p, "ACCEPTED", "status", "INVALID_TRANSITION")  # the influencer's answer
    move("MANAGER", p, "DECLINED", "status", "INVALID_TRANSITION")
    move("MANAGER", p, "ACTIVE", "status", "INVALID_TRANSITION")
    move("MANAGER", p, "TERMINATED", "status", "INVALID_TRANSITION")
    move("INFLUENCER", w["partnership"], "COMPLETED", None, "FORBIDDEN")
    move("FINANCE", w["partnership"], "COMPLETED", None, "FORBIDDEN")
    move("MANAGER", w["other"]["partnership"], "COMPLETED", "partnershipId", "NOT_FOUND")


# --- withdrawing an invitation -------------------------------------------------------------


def withdraw(gql: Any, key: str, p: Any) -> dict[str, Any]:
    payload: dict[str, Any] = gql.mutate(
        key,
        "transitionPartnership",
        {"partnershipId": gid(p), "status": "WITHDRAWN"},
        P_FIELDS,
    )
    return payload


def refuse_withdrawal(
    gql: Any, db: Any, w: dict[str, Any], role: str, p: Any, field: str | None, code: str
) -> dict[str, Any]:
    """A withdrawal expected to fail (see `refused`)."""
    input = {"partnershipId": gid(p), "status": "WITHDRAWN"}
    return refused(gql, db, w, role, "transitionPartnership", input, field, code)


def move_campaign(
    gql: Any, key: str, campaign: Any, status: str, select_: str = "campaign { status }"
) -> dict[str, Any]:
    payload: dict[str, Any] = gql.mutate(
        key, "transitionCampaign", {"campaignId": gid(campaign), "status": status}, select_
    )
    return payload


@pytest.mark.parametrize("role", ["MANAGER", "ADMIN"])
def test_brand_withdraws_an_unanswered_invitation(gql, db, factory, w, role):
    p = invited(factory, w)
    payload = withdraw(gql, w["keys"][role], p)
    assert payload["userErrors"] == []
    assert payload["partnership"]["status"] == "WITHDRAWN"
    assert payload["partnership"]["respondedAt"] is None  # not the influencer's answer
    db.expire_all()
    assert db.get(Partnership, p.id).status == "WITHDRAWN"
    # Withdrawn is final: the brand cannot take it back either.
    refuse_withdrawal(gql, db, w, role, p, "status", "INVALID_TRANSITION")


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        ("ACCEPTED", "from ACCEPTED a partnership can move to ACTIVE, TERMINATED"),
        ("ACTIVE", "from ACTIVE a partnership can move to COMPLETED, TERMINATED"),
        ("DECLINED", "DECLINED is final"),
        ("COMPLETED", "COMPLETED is final"),
        ("TERMINATED", "TERMINATED is final"),
    ],
)
def test_only_an_invitation_can_be_withdrawn(gql, db, factory, w, source, allowed):
    p = factory.partnership(factory.campaign(w["brand"]), w["newcomer"], status=source)
    payload = refuse_withdrawal(gql, db, w, "MANAGER", p, "status", "INVALID_TRANSITION")
    assert payload["userErrors"][0]["message"] == (
        f"cannot change partnership status from {source} to WITHDRAWN: {allowed}"
    )
    assert payload["partnership"] is None
    db.expire_all()
    assert db.get(Partnership, p.id).status == source


@pytest.mark.parametrize("role", ["FINANCE", "INFLUENCER"])
def test_withdraw_forbidden(gql, db, factory, w, role):
    p = invited(factory, w)  # the INFLUENCER key's own invitation
    refuse_withdrawal(gql, db, w, role, p, None, "FORBIDDEN")


def test_another_organization_cannot_withdraw(gql, db, factory, w):
    their_campaign = factory.campaign(w["other"]["brand"])
    theirs = factory.partnership(their_campaign, w["other"]["influencer"], status="INVITED")
    for role in ("ADMIN", "MANAGER"):
        refuse_withdrawal(gql, db, w, role, theirs, "partnershipId", "NOT_FOUND")
        # ... nor by ending their campaign.
        payload = move_campaign(gql, w["keys"][role], their_campaign, "CANCELLED")
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            ("campaignId", "NOT_FOUND")
        ]
    db.expire_all()
    assert db.get(Partnership, theirs.id).status == "INVITED"


@pytest.mark.parametrize("decision", ["ACCEPT", "DECLINE"])
@pytest.mark.parametrize("role", ["INFLUENCER", "MANAGER"])
def test_respond_to_a_withdrawn_invitation_is_refused(gql, db, factory, w, decision, role):
    p = invited(factory, w)
    factory.contract(p)
    assert withdraw(gql, w["keys"]["MANAGER"], p)["userErrors"] == []
    payload = refused(
        gql,
        db,
        w,
        role,
        "respondToPartnership",
        {"partnershipId": gid(p), "decision": decision, "note": "Yes!"},
        "decision",
        "INVALID_TRANSITION",
    )
    assert "WITHDRAWN is final" in payload["userErrors"][0]["message"]
    db.expire_all()
    row = db.get(Partnership, p.id)
    assert (row.status, row.responded_at, row.response_note) == ("WITHDRAWN", None, None)
    assert db.scalar(select(Contract).where(Contract.partnership_id == p.id)).accepted_at is None


# --- a campaign that ends withdraws its invitations ----------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("ACTIVE", "CANCELLED"),
        ("ACTIVE", "COMPLETED"),
        ("PAUSED", "CANCELLED"),
        ("DRAFT", "CANCELLED"),
    ],
)
def test_ending_a_campaign_withdraws_only_its_invitations(gql, db, factory, w, source, target):
    campaign = factory.campaign(w["brand"], status=source)
    sibling = factory.campaign(w["brand"])
    people = [factory.influencer(w["org"]) for _ in range(3)]
    pending = factory.partnership(campaign, people[0], status="INVITED")
    pending_too = factory.partnership(campaign, w["newcomer"], status="INVITED")
    accepted = factory.partnership(campaign, people[1], status="ACCEPTED")
    declined = factory.partnership(campaign, people[2], status="DECLINED")
    elsewhere = factory.partnership(sibling, people[0], status="INVITED")
    theirs = invited(factory, w["other"])
    untouched = (accepted, declined, elsewhere, theirs)

    def rows(ps: tuple[Partnership, ...]) -> list[dict[str, Any]]:
        db.expire_all()
        columns = Partnership.__table__.columns
        return [{c.key: getattr(db.get(Partnership, p.id), c.key) for c in columns} for p in ps]

    before = rows(untouched)
    stamped = rows((pending,))[0]["updated_at"]
    payload = move_campaign(gql, w["keys"]["MANAGER"], campaign, target, "campaign { id status }")
    assert payload == {
        "campaign": {"id": gid(campaign), "status": target},
        "userErrors": [],
    }
    db.expire_all()
    assert [db.get(Partnership, p.id).status for p in (pending, pending_too)] == [
        "WITHDRAWN",
        "WITHDRAWN",
    ]
    assert rows((pending,))[0]["updated_at"] > stamped
    assert rows(untouched) == before
    data = gql(
        w["keys"]["ADMIN"],
        "query($c: ID!) { withdrawn: partnerships(filter: {status: WITHDRAWN, campaignId: $c}) "
        "{ totalCount } invited: partnerships(filter: {status: INVITED}) { totalCount } }",
        c=gid(campaign),
    )
    assert data["withdrawn"] == {"totalCount": 2}
    assert data["invited"] == {"totalCount": 1}  # the sibling campaign's


def test_pausing_a_campaign_keeps_its_invitations(gql, db, factory, w):
    campaign = factory.campaign(w["brand"])
    p = factory.partnership(campaign, w["newcomer"], status="INVITED")
    payload = move_campaign(gql, w["keys"]["MANAGER"], campaign, "PAUSED")
    assert payload["campaign"] == {"status": "PAUSED"}
    db.expire_all()
    assert db.get(Partnership, p.id).status == "INVITED"


def test_a_refused_campaign_transition_withdraws_nothing(gql, db, factory, w):
    campaign = factory.campaign(w["brand"], status="DRAFT")
    p = factory.partnership(campaign, w["newcomer"], status="INVITED")
    for role in ("FINANCE", "INFLUENCER"):
        payload = move_campaign(gql, w["keys"][role], campaign, "CANCELLED")
        assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]
    # A DRAFT campaign cannot complete: refused, and nothing withdrawn.
    payload = move_campaign(gql, w["keys"]["MANAGER"], campaign, "COMPLETED")
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_TRANSITION"]
    db.expire_all()
    assert db.get(Partnership, p.id).status == "INVITED"
    payload = move_campaign(gql, w["keys"]["ADMIN"], campaign, "CANCELLED")
    assert payload["campaign"] == {"status": "CANCELLED"}
    db.expire_all()
    assert db.get(Partnership, p.id).status == "WITHDRAWN"


# --- setContractTerms ----------------------------------------------------------------------


def terms(w: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"partnershipId": gid(w["partnership"]), "usageRights": "ORGANIC", **extra}


def test_contract_versions_keep_history(gql, db, w):
    first = gql.mutate(
        w["keys"]["MANAGER"],
        "setContractTerms",
        terms(
            w,
            deliverablesDue="2 reels by June",
            usageRightsDays=90,
            usageRightsRegions=["fr", "EU", "FR"],
            exclusivityDays=30,
            exclusivityCategories=["Skincare", "skincare "],
            paymentTermsDays=45,
            approvalRounds=3,
            killFee={"amount": "250.00", "currency": "EUR"},
        ),
        C_FIELDS,
    )
    assert first["userErrors"] == []
    assert first["contract"] == {
        "version": 1,
        "usageRights": "ORGANIC",
        "usageRightsDays": 90,
        "usageRightsRegions": ["FR", "EU"],
        "exclusivityDays": 30,
        "exclusivityCategories": ["skincare"],
        "paymentTermsDays": 45,
        "approvalRounds": 3,
        "deliverablesDue": "2 reels by June",
        "acceptedAt": None,
    }
    second = gql.mutate(
        w["keys"]["ADMIN"],
        "setContractTerms",
        terms(w, usageRights="NONE", paymentTermsDays=0),
        C_FIELDS,
    )
    assert second["userErrors"] == []
    c = second["contract"]
    assert (c["version"], c["usageRights"], c["paymentTermsDays"], c["approvalRounds"]) == (
        2,
        "NONE",
        0,
        2,
    )
    assert second["partnership"]["contract"] == {"version": 2}
    history = second["partnership"]["contractHistory"]
    assert [(h["version"], h["paymentTermsDays"]) for h in history] == [(1, 45), (2, 0)]
    db.expire_all()
    rows = db.scalars(
        select(Contract)
        .where(Contract.partnership_id == w["partnership"].id)
        .order_by(Contract.version)
    ).all()
    assert [(r.version, r.kill_fee_amount, r.payment_terms_days) for r in rows] == [
        (1, 25000, 45),
        (2, None, 0),
    ]


def test_contract_terms_on_invited_partnership(gql, factory, w):
    p = invited(factory, w)
    payload = gql.mutate(
        w["keys"]["MANAGER"],
        "setContractTerms",
        {"partnershipId": gid(p), "usageRights": "FULL_COMMERCIAL"},
        C_FIELDS,
    )
    assert payload["contract"]["version"] == 1


@pytest.mark.parametrize(
    ("extra", "field", "code"),
    [
        ({"usageRightsDays": 3651}, "usageRightsDays", "OUT_OF_RANGE"),
        ({"usageRightsDays": -1}, "usageRightsDays", "OUT_OF_RANGE"),
        ({"exclusivityDays": -1}, "exclusivityDays", "OUT_OF_RANGE"),
        ({"exclusivityDays": 3651}, "exclusivityDays", "OUT_OF_RANGE"),
        ({"paymentTermsDays": 181}, "paymentTermsDays", "OUT_OF_RANGE"),
        ({"paymentTermsDays": -5}, "paymentTermsDays", "OUT_OF_RANGE"),
        ({"approvalRounds": 11}, "approvalRounds", "OUT_OF_RANGE"),
        ({"approvalRounds": -1}, "approvalRounds", "OUT_OF_RANGE"),
        ({"killFee": {"amount": "10", "currency": "USD"}}, "killFee.currency", "INVALID_CURRENCY"),
        ({"killFee": {"amount": "10", "currency": "ZZZ"}}, "killFee.currency", "INVALID_CURRENCY"),
        ({"killFee": {"amount": "-1", "currency": "EUR"}}, "killFee.amount", "INVALID_AMOUNT"),
        ({"killFee": {"amount": "1.001", "currency": "EUR"}}, "killFee.amount", "INVALID_AMOUNT"),
        ({"usageRightsRegions": ["France"]}, "usageRightsRegions[0]", "INVALID"),
        ({"usageRightsRegions": ["FR"] * 51}, "usageRightsRegions", "TOO_LONG"),
        ({"exclusivityCategories": [" "]}, "exclusivityCategories[0]", "REQUIRED"),
        ({"exclusivityCategories": ["x" * 51]}, "exclusivityCategories[0]", "TOO_LONG"),
        ({"deliverablesDue": "x" * 5001}, "deliverablesDue", "TOO_LONG"),
        ({"usageRights": "NONE", "usageRightsDays": 30}, "usageRightsDays", "NOT_ALLOWED"),
        ({"partnershipId": "nope"}, "partnershipId", "NOT_FOUND"),
        ({"partnershipId": "other"}, "partnershipId", "NOT_FOUND"),
    ],
)
def test_contract_terms_bad_input(gql, db, factory, w, extra, field, code):
    factory.contract(w["partnership"])  # a version 1 that must stay the latest
    if extra.get("partnershipId") == "other":
        extra = {"partnershipId": gid(w["other"]["partnership"])}
    payload = refused(
        gql, db, w, "MANAGER", "setContractTerms", terms(w, **extra), field, code, C_FIELDS
    )
    assert payload["contract"] is None


@pytest.mark.parametrize("status", ["DECLINED", "COMPLETED", "TERMINATED"])
def test_contract_terms_refused_on_ended_partnership(gql, db, factory, w, status):
    p = factory.partnership(factory.campaign(w["brand"]), w["newcomer"], status=status)
    refused(
        gql,
        db,
        w,
        "MANAGER",
        "setContractTerms",
        {**terms(w), "partnershipId": gid(p)},
        "partnershipId",
        "INVALID_TRANSITION",
        C_FIELDS,
    )


@pytest.mark.parametrize("role", ["FINANCE", "INFLUENCER"])
def test_contract_terms_forbidden(gql, db, w, role):
    refused(gql, db, w, role, "setContractTerms", terms(w), None, "FORBIDDEN", C_FIELDS)


def test_influencer_reads_own_contract_history_only(gql, factory, w):
    factory.contract(w["partnership"], version=1)
    factory.contract(w["partnership"], version=2)
    query = "query($id: ID!) { partnership(id: $id) { contractHistory { version } } }"
    data = gql(w["keys"]["INFLUENCER"], query, id=gid(w["partnership"]))
    assert [c["version"] for c in data["partnership"]["contractHistory"]] == [1, 2]
    other = factory.partnership(factory.campaign(w["brand"]), w["newcomer"])
    assert gql(w["keys"]["INFLUENCER"], query, id=gid(other))["partnership"] is None


def test_accepting_records_the_gifted_product_as_a_cost_once(gql, db, factory):
    from sqlalchemy import select

    from api.domain.commission import Commission, CommissionKind, CompensationPlan, GiftedProduct
    from api.models.ledger import CampaignCost, LedgerEntry
    from tests.factories import gid

    org = factory.org()
    brand = factory.brand(org)
    plan = CompensationPlan(
        currency="EUR",
        commission=Commission(kind=CommissionKind.PERCENT, bps=1000),
        gifted_product=GiftedProduct("Serum kit", 4_500),
    )
    campaign = factory.campaign(brand, compensation=plan.to_dict())
    influencer = factory.influencer(org)
    partnership = factory.partnership(campaign, influencer, status="INVITED")
    key = factory.key(org, "INFLUENCER", influencer)
    result = gql.mutate(
        key,
        "respondToPartnership",
        {"partnershipId": gid(partnership), "decision": "ACCEPT"},
        "partnership { status }",
    )
    assert result["userErrors"] == []
    db.expire_all()
    costs = db.scalars(
        select(CampaignCost).where(CampaignCost.partnership_id == partnership.id)
    ).all()
    assert [(c.kind, c.amount, c.currency) for c in costs] == [("GIFTED_PRODUCT", 4_500, "EUR")]
    # A cost, never money owed: no ledger entry for the gift.
    assert (
        db.scalars(select(LedgerEntry).where(LedgerEntry.partnership_id == partnership.id)).all()
        == []
    )
