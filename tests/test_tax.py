"""Tax profiles (python-stdnum ids, sealed, masked), self-billing invoices numbered without gaps
per organization, and `vouch tax report` against the 1099-NEC threshold."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from api.cli import main
from api.finance import invoices, payout_details, tax
from api.finance.payouts import create_payout_batch, mark_paid
from api.models import InvoiceCounter, PayoutDetailsChange, SelfBillingInvoice
from api.models.payouts import EntityType, PayoutMethod, UsTaxForm
from tests.factories import gid
from tests.test_finance import NOW, TODAY, entry

PROFILE = (
    "taxProfile { country entityType taxIdKind taxId usForm usFormSignedOn usFormExpiresOn "
    "selfBilling }"
)


def _profile(gql: Any, key: str, influencer: Any, **fields: Any) -> Any:
    return gql.mutate(key, "setTaxProfile", {"influencerId": gid(influencer), **fields}, PROFILE)


def test_a_profile_is_checked_sealed_and_masked(gql, db, factory):
    w = factory.world()
    result = _profile(
        gql,
        w["keys"]["INFLUENCER"],
        w["influencer"],
        country="de",
        entityType="COMPANY",
        taxIdKind="vat",
        taxId="DE 136,695 976",
        selfBilling=True,
    )
    assert result["userErrors"] == []
    assert result["taxProfile"] == {
        "country": "DE",
        "entityType": "COMPANY",
        "taxIdKind": "VAT",
        "taxId": "*******5976",
        "usForm": "NONE",
        "usFormSignedOn": None,
        "usFormExpiresOn": None,
        "selfBilling": True,
    }
    raw = db.execute(text("SELECT * FROM tax_profiles")).all()
    assert raw and not [r for r in raw if "136695976" in str(r)]
    change = db.scalars(
        select(PayoutDetailsChange).where(
            PayoutDetailsChange.influencer_id == w["influencer"].id,
            PayoutDetailsChange.subject == "TAX_PROFILE",
        )
    ).one()
    assert "tax_id" in change.fields and "136695976" not in str(change.fields)
    us = _profile(
        gql,
        w["keys"]["ADMIN"],
        w["influencer"],
        country="US",
        entityType="INDIVIDUAL",
        taxIdKind="SSN",
        taxId="536-90-4399",
        usForm="W9",
        usFormSignedOn="2026-01-15",
    )["taxProfile"]
    assert (us["taxId"], us["usForm"], us["usFormExpiresOn"]) == ("*****4399", "W9", None)
    w8 = _profile(
        gql,
        w["keys"]["ADMIN"],
        w["influencer"],
        country="FR",
        entityType="INDIVIDUAL",
        usForm="W8BEN",
        usFormSignedOn="2026-03-01",
    )["taxProfile"]
    assert w8["usFormExpiresOn"] == "2029-12-31"  # the end of the third year after signing


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"country": "DE", "taxIdKind": "VAT", "taxId": "DE136695977"}, "INVALID_TAX_ID", "taxId"),
        ({"country": "US", "taxIdKind": "EIN", "taxId": "07-1234567"}, "INVALID_TAX_ID", "taxId"),
        ({"country": "US", "taxIdKind": "SSN", "taxId": "000-12-3456"}, "INVALID_TAX_ID", "taxId"),
        (
            {"country": "DE", "taxIdKind": "SSN", "taxId": "536-90-4399"},
            "INVALID_TAX_ID",
            "taxIdKind",
        ),
        ({"country": "DE", "taxIdKind": "IBAN", "taxId": "x"}, "INVALID", "taxIdKind"),
        ({"country": "DE", "taxId": "DE136695976"}, "REQUIRED", "taxIdKind"),
        ({"country": "Germany"}, "INVALID", "country"),
        (
            {"country": "DE", "usForm": "W9", "usFormSignedOn": "2026-01-01"},
            "NOT_ALLOWED",
            "usForm",
        ),
        (
            {"country": "US", "usForm": "W8BEN", "usFormSignedOn": "2026-01-01"},
            "NOT_ALLOWED",
            "usForm",
        ),
        (
            {"country": "FR", "usForm": "W8BEN_E", "usFormSignedOn": "2026-01-01"},
            "NOT_ALLOWED",
            "usForm",
        ),
        ({"country": "US", "usForm": "W9"}, "REQUIRED", "usFormSignedOn"),
        (
            {"country": "US", "usForm": "W9", "usFormSignedOn": "2999-01-01"},
            "OUT_OF_RANGE",
            "usFormSignedOn",
        ),
    ],
)
def test_bad_profiles_are_refused(gql, db, factory, fields, code, field):
    w = factory.world()
    result = _profile(gql, w["keys"]["ADMIN"], w["influencer"], entityType="INDIVIDUAL", **fields)
    assert result["taxProfile"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, field)]
    assert tax.profile_of(db, w["influencer"].id) is None


def test_profiles_are_the_influencers_or_an_admins(gql, db, factory):
    w, other = factory.world(), factory.world()
    for role in ("MANAGER", "FINANCE"):
        result = _profile(
            gql, w["keys"][role], w["influencer"], country="DE", entityType="INDIVIDUAL"
        )
        assert result["userErrors"][0]["code"] == "FORBIDDEN"
    result = _profile(
        gql, w["keys"]["INFLUENCER"], other["influencer"], country="DE", entityType="INDIVIDUAL"
    )
    assert result["userErrors"][0]["code"] == "NOT_FOUND"
    assert tax.profile_of(db, other["influencer"].id) is None


# --- self-billing invoices ----------------------------------------------------------------------


def _opt_in(db: Any, w: dict[str, Any], influencer: Any, self_billing: bool = True) -> None:
    profile = tax.validate(
        country="DE",
        entity_type=EntityType.INDIVIDUAL,
        tax_id_kind="VAT",
        tax_id="DE136695976",
        us_form=UsTaxForm.NONE,
        us_form_signed_on=None,
        self_billing=self_billing,
        today=TODAY,
    )
    tax.set_profile(db, w["org"].id, influencer.id, profile, "test")


def _numbers(db: Any, org_id: int) -> list[int]:
    db.expire_all()
    return list(
        db.scalars(
            select(SelfBillingInvoice.number)
            .where(SelfBillingInvoice.organization_id == org_id)
            .order_by(SelfBillingInvoice.number)
        )
    )


def test_invoices_are_numbered_without_gaps_across_batches_and_a_rollback(db, factory, gql):
    w = factory.world()
    org = w["org"].id
    a, b, c = w["influencer"], factory.influencer(w["org"]), factory.influencer(w["org"])
    for who in (a, b):
        _opt_in(db, w, who)
    _opt_in(db, w, c, self_billing=False)  # no invoice for c
    for who, amount in ((a, 1000), (b, 2000), (c, 3000)):
        entry(db, w, amount, influencer=who, created=NOW - timedelta(days=20))
    first = create_payout_batch(db, org, "EUR", TODAY - timedelta(days=5), 0)
    db.commit()
    # A payment that fails after the numbers were taken: rolled back, no number is lost.
    mark_paid(db, first, "TRF-1")
    assert _numbers(db, org) == [1, 2]
    db.rollback()
    assert _numbers(db, org) == []
    assert (
        db.scalar(select(InvoiceCounter.last_number).where(InvoiceCounter.organization_id == org))
        is None
    )
    mark_paid(db, db.merge(first), "TRF-1")
    db.commit()
    assert _numbers(db, org) == [1, 2]
    for who in (a, c):
        entry(db, w, 500, influencer=who, created=NOW - timedelta(days=2))
    second = create_payout_batch(db, org, "EUR", TODAY, 0)
    mark_paid(db, second, "TRF-2")
    db.commit()
    assert _numbers(db, org) == [1, 2, 3]  # a's second invoice; c opted out
    # Another organization counts on its own.
    other = factory.world()
    _opt_in(db, other, other["influencer"])
    entry(db, other, 700, created=NOW - timedelta(days=2))
    mark_paid(db, create_payout_batch(db, other["org"].id, "EUR", TODAY, 0), "TRF-3")
    db.commit()
    assert _numbers(db, other["org"].id) == [1]
    # The PDF: the same invoice renders the same bytes, the "Self-billing" mention, the parties.
    invoice = db.scalars(
        select(SelfBillingInvoice).where(
            SelfBillingInvoice.organization_id == org, SelfBillingInvoice.number == 3
        )
    ).one()
    pdf = invoices.render(invoice)
    assert pdf.startswith(b"%PDF") and pdf == invoices.render(invoice)
    assert (
        b"136695976"
        not in db.execute(text("SELECT parties FROM self_billing_invoices"))
        .scalars()
        .first()
        .encode()
    )
    listed = gql(
        w["keys"]["FINANCE"],
        "query($b: ID!) { selfBillingInvoices(batchId: $b) { number amount { amount } pdfUrl } }",
        b=gid(second),
    )["selfBillingInvoices"]
    assert listed == [
        {"number": "SB-000003", "amount": {"amount": "5.00"}, "pdfUrl": listed[0]["pdfUrl"]}
    ]
    download = gql.http.get(
        listed[0]["pdfUrl"], headers={"Authorization": f"Bearer {w['keys']['INFLUENCER']}"}
    )
    assert download.status_code == 200 and download.content == pdf
    foreign = gql.http.get(
        listed[0]["pdfUrl"], headers={"Authorization": f"Bearer {other['keys']['FINANCE']}"}
    )
    assert foreign.status_code == 404
    manager = gql.http.get(
        listed[0]["pdfUrl"], headers={"Authorization": f"Bearer {w['keys']['MANAGER']}"}
    )
    assert manager.status_code == 403


# --- the 1099-NEC report ------------------------------------------------------------------------


def _us_payee(db: Any, factory: Any, w: dict[str, Any], name: str, cents: int) -> Any:
    who = factory.influencer(w["org"], name=name)
    profile = tax.validate(
        country="US",
        entity_type=EntityType.INDIVIDUAL,
        tax_id_kind="SSN",
        tax_id="536-90-4399",
        us_form=UsTaxForm.W9,
        us_form_signed_on=date(2026, 1, 2),
        self_billing=False,
        today=TODAY,
    )
    tax.set_profile(db, w["org"].id, who.id, profile, "test")
    payout_details.set_details(
        db,
        w["org"].id,
        who.id,
        payout_details.validate(PayoutMethod.PAYPAL, currency="USD", paypal_email="us@example.com"),
        "test",
    )
    entry(db, w, cents, influencer=who, currency="USD")
    return who


def test_tax_report_flags_payees_at_the_threshold(db, factory, capsys, monkeypatch):
    w = factory.world()
    at = _us_payee(db, factory, w, "At Threshold", 200_000)
    below = _us_payee(db, factory, w, "=Below", 199_999)
    mark_paid(db, create_payout_batch(db, w["org"].id, "USD", TODAY, 0), "TRF-US")
    db.commit()
    year = TODAY.year
    assert main(["tax", "report", "--year", str(year), "--org", str(w["org"].id)]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(tax.REPORT_HEADER)
    by_id = {int(r[1]): r for r in rows[1:]}
    threshold = "2000.00" if year >= 2026 else "600.00"
    assert by_id[at.id][2:] == [
        "At Threshold",
        "SSN",
        "*****4399",
        "W9",
        "1",
        "2000.00",
        threshold,
        "yes",
    ]
    assert by_id[below.id][2] == "'=Below"  # csvsafe
    assert by_id[below.id][7:] == ["1999.99", threshold, "yes" if year < 2026 else "no"]
    assert "536904399" not in out
    assert "payees" in err and "2 US payee(s)" in err
    # Configurable: TAX_1099_THRESHOLD in dollars.
    from api.settings import reset_settings

    monkeypatch.setenv("TAX_1099_THRESHOLD", "5000")
    reset_settings()
    try:
        assert main(["tax", "report", "--year", str(year), "--org", str(w["org"].id)]) == 0
        rows = list(csv.reader(io.StringIO(capsys.readouterr()[0])))
        assert {r[9] for r in rows[1:]} == {"no"} and rows[1][8] == "5000.00"
        # Another year: nothing paid.
        assert main(["tax", "report", "--year", str(year - 1), "--org", str(w["org"].id)]) == 0
        assert capsys.readouterr()[0].count("\n") == 1
    finally:
        monkeypatch.delenv("TAX_1099_THRESHOLD")
        reset_settings()
    assert tax.threshold_for(2025, None) == 60_000 and tax.threshold_for(2026, None) == 200_000
    assert main(["tax", "report", "--year", "20266"]) == 2
    assert main(["tax", "report", "--year", "2026", "--org", "no such org"]) == 2
