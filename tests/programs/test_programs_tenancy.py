"""Every programs mutation with another organization's ids: NOT_FOUND, nothing changed; and the
bad inputs the other tests leave out."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from api.db import utcnow
from api.models import Influencer, Partnership, ProgramLevelChange, Retainer
from api.programs import service
from tests.factories import gid
from tests.programs.helpers import member, program_with_levels, retainer

EUR = {"amount": "10.00", "currency": "EUR"}


@pytest.fixture
def theirs(db, factory):
    """A program of one organization with a member, a retainer; and a world of another."""
    mine = factory.world()
    w = program_with_levels(db, factory, org=mine["org"])
    m = member(db, factory, w)
    fee = retainer(db, m, 1_000, date(2026, 1, 1))
    invited = service.invite(db, w["program"], factory.influencer(w["org"]).id, None)
    db.commit()
    return {
        "w": w,
        "member": m,
        "invited": invited,
        "retainer": fee,
        "mine": mine,
        "other": factory.world(),
    }


CASES = {
    "updateProgram": lambda t: {"programId": gid(t["w"]["program"]), "name": "x"},
    "updateProgramLevel": lambda t: {"levelId": gid(t["w"]["levels"][1]), "name": "x"},
    "reviewProgramApplication": lambda t: {"memberId": gid(t["invited"]), "approve": False},
    "setMemberLevel": lambda t: {
        "memberId": gid(t["member"]),
        "levelId": gid(t["w"]["levels"][2]),
    },
    "setMemberRetainer": lambda t: {
        "memberId": gid(t["member"]),
        "amount": EUR,
        "period": "WEEKLY",
        "startsOn": "2026-02-01",
    },
    "leaveProgram": lambda t: {"memberId": gid(t["member"])},
    "endRetainer": lambda t: {"retainerId": gid(t["retainer"]), "endsOn": "2026-03-01"},
    "addProgramBonus": lambda t: {
        "programId": gid(t["w"]["program"]),
        "description": "x",
        "metric": "CONVERSIONS",
        "target": "3",
        "amount": EUR,
    },
    "createShipment": lambda t: {
        "partnershipId": gid(t["mine"]["partnership"]),
        "product": "x",
        "value": EUR,
        "address": "1 Main St",
    },
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_another_organizations_ids_are_not_found(gql, db, theirs, name):
    before = db.scalar(select(func.count()).select_from(ProgramLevelChange))
    result = gql.mutate(theirs["other"]["keys"]["ADMIN"], name, CASES[name](theirs), "__typename")
    assert result["userErrors"][0]["code"] == "NOT_FOUND", result
    # The same input with the owner's ADMIN key goes through: the refusal was the tenancy.
    ok = gql.mutate(theirs["mine"]["keys"]["ADMIN"], name, CASES[name](theirs), "__typename")
    assert ok["userErrors"] == [], (name, ok)
    if name == "setMemberLevel":
        assert db.scalar(select(func.count()).select_from(ProgramLevelChange)) == before + 1


def test_an_influencer_applies_only_to_its_own_organizations_programs(gql, theirs):
    other_key = theirs["other"]["keys"]["INFLUENCER"]
    result = gql.mutate(
        other_key, "applyToProgram", {"programId": gid(theirs["w"]["program"])}, "__typename"
    )
    assert result["userErrors"][0]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("name", "patch", "field", "code"),
    [
        ("endRetainer", {"endsOn": "2025-12-01"}, "endsOn", "OUT_OF_RANGE"),
        (
            "setMemberRetainer",
            {"amount": {"amount": "0", "currency": "EUR"}},
            "amount.amount",
            "INVALID_AMOUNT",
        ),
        ("setMemberRetainer", {"endsOn": "2026-01-01"}, "endsOn", "OUT_OF_RANGE"),
        ("addProgramBonus", {"target": "0"}, "target", "OUT_OF_RANGE"),
        (
            "addProgramBonus",
            {"amount": {"amount": "1", "currency": "GBP"}},
            "amount.currency",
            "INVALID_CURRENCY",
        ),
        ("updateProgramLevel", {"threshold": "-5"}, "threshold", "INVALID_AMOUNT"),
        ("updateProgramLevel", {"threshold": "9000"}, "threshold", "NOT_ASCENDING"),
        (
            "updateProgram",
            {"questions": [{"key": "a", "label": "", "kind": "TEXT"}]},
            "questions[0].label",
            "REQUIRED",
        ),
    ],
)
def test_bad_inputs(gql, theirs, name, patch, field, code):
    base = CASES[name](theirs)
    if name == "setMemberRetainer":
        base["startsOn"] = "2026-01-01"
    result = gql.mutate(theirs["mine"]["keys"]["MANAGER"], name, {**base, **patch}, "__typename")
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(field, code)], result


def test_leaving_a_program(gql, db, factory, theirs):
    m = theirs["member"]
    influencer = db.get(Influencer, m.influencer_id)
    own_key = factory.key(theirs["w"]["org"], "INFLUENCER", influencer)
    stranger_key = theirs["mine"]["keys"]["INFLUENCER"]  # another influencer, same organization
    payload = {"memberId": gid(m), "note": "moving on"}
    result = gql.mutate(stranger_key, "leaveProgram", payload, "member { status }")
    assert result["userErrors"][0]["code"] == "NOT_FOUND"
    result = gql.mutate(own_key, "leaveProgram", payload, "member { status }")
    assert result == {"member": {"status": "LEFT"}, "userErrors": []}
    again = gql.mutate(own_key, "leaveProgram", payload, "member { status }")
    assert again["userErrors"][0]["code"] == "INVALID_STATUS"
    db.expire_all()
    assert db.get(Partnership, m.partnership_id).status == "TERMINATED"
    assert db.get(Retainer, theirs["retainer"].id).ends_on == utcnow().date()
    invite = gql.mutate(
        theirs["mine"]["keys"]["MANAGER"],
        "inviteToProgram",
        {"programId": gid(theirs["w"]["program"]), "influencerId": gid(influencer)},
        "member { id }",
    )
    assert invite["userErrors"][0]["code"] == "INVALID_STATUS"
