"""Contracts that are signed: a version renders to the same PDF every time, the influencer signs
it with its typed name, Vouch keeps who, when, the IP hash and the SHA-256 of that PDF; new
terms are a new version to sign and the old one keeps its signature."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from api import contracts
from api.models import Contract, ContractSignature
from tests.factories import gid

TERMS = "contract { id version pdfSha256 pdfUrl signature { typedName } } "
SIGN = "signature { signedBy typedName signedAt pdfSha256 ipHash } contract { acceptedBy }"


def _terms(gql: Any, w: dict[str, Any], **fields: Any) -> Any:
    result = gql.mutate(
        w["keys"]["MANAGER"],
        "setContractTerms",
        {
            "partnershipId": gid(w["partnership"]),
            "usageRights": "ORGANIC",
            "usageRightsDays": 90,
            "usageRightsRegions": ["FR", "DE"],
            "exclusivityDays": 30,
            "exclusivityCategories": ["skincare"],
            "deliverablesDue": "1 Instagram reel by 2026-12-20",
            **fields,
        },
        TERMS,
    )
    assert result["userErrors"] == [], result
    return result["contract"]


def _sign(gql: Any, key: str, contract_id: str, name: str = "Ana Lopez", **kw: Any) -> Any:
    return gql.mutate(
        key, "signContract", {"contractId": contract_id, "typedName": name, **kw}, SIGN
    )


def test_sign_a_version_then_a_new_version(gql, db, factory):
    w = factory.world()
    first = _terms(gql, w)
    # The same version, the same bytes: the download is what the hash says.
    download = gql.http.get(
        first["pdfUrl"], headers={"Authorization": f"Bearer {w['keys']['INFLUENCER']}"}
    )
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    digest = hashlib.sha256(download.content).hexdigest()
    assert digest == first["pdfSha256"] == download.headers["x-vouch-sha256"]
    for term in (b"skincare", b"30 days", b"90 days", b"FR, DE", b"1 Instagram reel"):
        assert term in download.content, term
    signed = _sign(gql, w["keys"]["INFLUENCER"], first["id"], "  Ana   Lopez ", pdfSha256=digest)
    assert signed["userErrors"] == []
    s = signed["signature"]
    assert (s["typedName"], s["pdfSha256"]) == ("Ana Lopez", digest)
    assert s["signedBy"] == f"influencer:{w['influencer'].id}"
    assert s["ipHash"] and len(s["ipHash"]) == 32 and "testclient" not in s["ipHash"]
    assert signed["contract"]["acceptedBy"] == s["signedBy"]
    # Signed once.
    again = _sign(gql, w["keys"]["INFLUENCER"], first["id"])
    assert again["userErrors"][0]["code"] == "ALREADY_SIGNED"
    # New terms: a new version to sign; the old one and its signature stay.
    second = _terms(gql, w, exclusivityDays=60)
    assert second["version"] == 2 and second["pdfSha256"] != digest
    stale = _sign(gql, w["keys"]["INFLUENCER"], second["id"], pdfSha256=digest)
    assert stale["userErrors"][0]["code"] == "DOCUMENT_CHANGED"
    old = _sign(gql, w["keys"]["INFLUENCER"], first["id"])
    assert old["userErrors"][0]["code"] == "ALREADY_SIGNED"
    assert _sign(gql, w["keys"]["INFLUENCER"], second["id"])["userErrors"] == []
    history = gql(
        w["keys"]["ADMIN"],
        "query($p: ID!) { partnership(id: $p) { contractHistory { version pdfSha256 "
        "signature { pdfSha256 } } } }",
        p=gid(w["partnership"]),
    )["partnership"]["contractHistory"]
    assert [(c["version"], c["signature"]["pdfSha256"] == c["pdfSha256"]) for c in history] == [
        (1, True),
        (2, True),
    ]
    assert history[0]["pdfSha256"] == digest  # the first version still renders the same PDF
    db.expire_all()
    rows = db.scalars(
        select(ContractSignature).where(ContractSignature.partnership_id == w["partnership"].id)
    ).all()
    assert len(rows) == 2


def test_signing_is_the_influencers_own_and_checked(gql, db, factory):
    w, other = factory.world(), factory.world()
    contract = _terms(gql, w)
    for role in ("ADMIN", "MANAGER", "FINANCE"):
        assert _sign(gql, w["keys"][role], contract["id"])["userErrors"][0]["code"] == "FORBIDDEN"
    # Another influencer's contract (another organization's too) is NOT_FOUND.
    assert _sign(gql, other["keys"]["INFLUENCER"], contract["id"])["userErrors"][0]["code"] == (
        "NOT_FOUND"
    )
    second = factory.influencer(w["org"])
    key = factory.key(w["org"], "INFLUENCER", second)
    assert _sign(gql, key, contract["id"])["userErrors"][0]["code"] == "NOT_FOUND"
    for name, code in (
        ("", "REQUIRED"),
        ("   ", "REQUIRED"),
        ("x" * 201, "TOO_LONG"),
        ("A\x00B", "INVALID"),
    ):
        result = _sign(gql, w["keys"]["INFLUENCER"], contract["id"], name)
        assert result["userErrors"][0]["code"] == code, name
        assert result["userErrors"][0]["field"] == "typedName"
    nope = _sign(gql, w["keys"]["INFLUENCER"], contract["id"], pdfSha256="0" * 64)
    assert nope["userErrors"][0]["code"] == "DOCUMENT_CHANGED"
    db.expire_all()
    assert (
        contracts.signature_of(
            db,
            int(
                db.scalars(
                    select(Contract.id).where(Contract.partnership_id == w["partnership"].id)
                ).one()
            ),
        )
        is None
    )
    # The PDF download is scoped too.
    foreign = gql.http.get(
        contract["pdfUrl"], headers={"Authorization": f"Bearer {other['keys']['ADMIN']}"}
    )
    assert foreign.status_code == 404
    assert gql.http.get(contract["pdfUrl"]).status_code == 401


def test_the_pdf_is_deterministic_and_shows_the_terms(db, factory):
    w = factory.world()
    row = factory.contract(w["partnership"], created_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    pdf = contracts.pdf_of(db, row)
    assert pdf == contracts.pdf_of(db, row)
    assert b"/CreationDate (D:20261102093000Z" in pdf
    document = contracts.snapshot(db, row)
    assert document["influencer"] == w["influencer"].name and document["version"] == row.version
    # A version made before snapshots existed freezes what it shows when it is signed.
    signature = contracts.sign(
        db,
        row,
        influencer_id=w["influencer"].id,
        signed_by="test",
        typed_name="Ana",
        ip_hash=None,
    )
    assert row.document == document and signature.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    db.rollback()
