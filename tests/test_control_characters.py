"""Control and bidi-override characters in names and free text are userErrors (code INVALID,
naming the field and the character), never an "Unexpected error" (PostgreSQL refuses NUL in
text) and never stored; multi-line text keeps its line breaks and tabs."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import select

from api.models import Brand, Influencer
from tests.factories import gid

# NUL (PostgreSQL refuses it), a C1 control, a bidi override and a bidi isolate.
BAD = ("\x00", "\x1b", "\x85", "\u202e", "\u2066")


def _world(factory: Any) -> dict[str, Any]:
    w = factory.world()
    w["deliverable"] = factory.deliverable(w["partnership"])
    return w


def _campaign(w: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "brandId": gid(w["brand"]),
        "name": "Spring",
        "objective": "CONVERSIONS",
        "landingUrl": "https://shop.example.com/spring",
        **extra,
    }


def _adjustment(w: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "influencerId": gid(w["influencer"]),
        "kind": "BONUS",
        "amount": "5.00",
        "currency": "EUR",
        "memo": "launch bonus",
        "idempotencyKey": secrets.token_hex(8),
        **extra,
    }


def _cases(w: dict[str, Any], c: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(role, mutation, input, field at fault) with the character `c` in one text."""
    partnership = gid(w["partnership"])
    return [
        ("ADMIN", "createBrand", {"name": f"Glow{c}Co", "defaultCurrency": "EUR"}, "name"),
        (
            "ADMIN",
            "createBrand",
            {"name": "Glow", "defaultCurrency": "EUR", "website": f"https://glow.example/a{c}b"},
            "website",
        ),
        ("MANAGER", "createInfluencer", {"name": f"Ma{c}ya"}, "name"),
        ("MANAGER", "createInfluencer", {"name": "Maya", "notes": f"a{c}b"}, "notes"),
        ("MANAGER", "createInfluencer", {"name": "Maya", "agentName": f"A{c}B"}, "agentName"),
        ("MANAGER", "createInfluencer", {"name": "Maya", "email": f"m{c}@x.io"}, "email"),
        ("MANAGER", "createInfluencer", {"name": "Maya", "niches": ["ok", f"b{c}c"]}, "niches[1]"),
        (
            "MANAGER",
            "createInfluencer",
            {"name": "Maya", "customerIds": [f"c{c}d"]},
            "customerIds[0]",
        ),
        ("MANAGER", "createCampaign", _campaign(w, name=f"Spr{c}ing"), "name"),
        ("MANAGER", "createCampaign", _campaign(w, brief=f"Show{c}it"), "brief"),
        ("MANAGER", "createCampaign", _campaign(w, requiredLabels=[f"a{c}d"]), "requiredLabels[0]"),
        (
            "MANAGER",
            "createDeliverable",
            {
                "partnershipId": partnership,
                "platform": "INSTAGRAM",
                "format": "REEL",
                "title": f"R{c}eel",
            },
            "title",
        ),
        (
            "INFLUENCER",
            "submitContent",
            {"deliverableId": gid(w["deliverable"]), "caption": f"#ad{c} love it"},
            "caption",
        ),
        (
            "MANAGER",
            "issueTrackedLink",
            {"partnershipId": partnership, "utm": {"source": f"i{c}g"}},
            "utm.source",
        ),
        ("FINANCE", "createLedgerAdjustment", _adjustment(w, memo=f"bo{c}nus"), "memo"),
        (
            "FINANCE",
            "createLedgerAdjustment",
            _adjustment(w, idempotencyKey=f"k{c}k"),
            "idempotencyKey",
        ),
        ("ADMIN", "createApiKey", {"role": "FINANCE", "label": f"lap{c}top"}, "label"),
    ]


_SELECT = {
    "createBrand": "brand { id }",
    "createInfluencer": "influencer { id }",
    "createCampaign": "campaign { id }",
    "createDeliverable": "deliverable { id }",
    "submitContent": "submission { id }",
    "issueTrackedLink": "link { id }",
    "createLedgerAdjustment": "ledgerEntry { id }",
    "createApiKey": "apiKey { id }",
}


@pytest.mark.parametrize("char", BAD, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_are_refused(gql, db, factory, char):
    w = _world(factory)
    for role, name, data, field in _cases(w, char):
        payload = gql.mutate(w["keys"][role], name, data, _SELECT[name])
        assert payload["userErrors"] == [
            {
                "field": field,
                "message": f"{field} contains a control character (U+{ord(char):04X})",
                "code": "INVALID_URL" if field == "website" else "INVALID",
            }
        ], (name, field)
    db.expire_all()
    org = w["org"].id
    assert db.scalars(select(Brand.name).where(Brand.organization_id == org)).all() == [
        w["brand"].name
    ]
    assert db.scalars(select(Influencer.name).where(Influencer.organization_id == org)).all() == [
        w["influencer"].name
    ]


def test_multiline_text_keeps_line_breaks_and_tabs(gql, db, factory):
    w = _world(factory)
    notes = "line one\r\n\tline two\nline three"
    out = gql.mutate(
        w["keys"]["MANAGER"],
        "createInfluencer",
        {"name": "Maya", "notes": notes},
        "influencer { id }",
    )
    assert out["userErrors"] == []
    db.expire_all()
    row = db.scalars(
        select(Influencer).where(
            Influencer.organization_id == w["org"].id, Influencer.name == "Maya"
        )
    ).one()
    assert row.notes == notes
    # a single-line text refuses the tab a multi-line one keeps
    out = gql.mutate(
        w["keys"]["MANAGER"], "createInfluencer", {"name": "Ma\tya"}, "influencer { id }"
    )
    assert out["userErrors"][0]["message"] == "name contains a control character (U+0009)"
    # right-to-left text itself is fine: only overrides and isolates are refused
    out = gql.mutate(
        w["keys"]["MANAGER"],
        "createInfluencer",
        {"name": "\u0645\u0627\u064a\u0627 \u200f"},
        "influencer { id }",
    )
    assert out["userErrors"] == []
