"""Payout details (validated, sealed, masked, audited), the debtor account, payout files (SEPA
pain.001.001.09 against the XSD, PayPal and Wise CSV), FX rates and what the ledger keeps."""

from __future__ import annotations

import csv
import io
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from sqlalchemy import select, text

from api.finance import fx, payout_details
from api.finance.errors import FinanceError
from api.finance.export import entry_rows
from api.finance.payouts import create_payout_batch, mark_paid
from api.models import LedgerEntry, OutboxMail, PayoutDetailsChange, PayoutLine
from api.models.ledger import EntryKind
from api.models.payouts import PayoutMethod
from tests.factories import gid
from tests.test_finance import TODAY, entry

XSD = Path(__file__).parent / "data" / "pain.001.001.09.xsd"
IBAN = "DE89370400440532013000"
IBAN_FR = "FR1420041010050500013M02606"
DEBTOR_IBAN = "NL91ABNA0417164300"
DETAILS = (
    "payoutDetails { method currency accountHolder iban bic paypalEmail wiseRecipient updatedBy }"
)
FILE = (
    "query($b: ID!, $f: PayoutFileFormat!) { payoutFile(batchId: $b, format: $f) { filename "
    "contentType content lineCount totals { amount currency } "
    "missingDetails { influencer { id } reason detail } } }"
)


def _set(gql: Any, key: str, influencer: Any, **fields: Any) -> Any:
    return gql.mutate(key, "setPayoutDetails", {"influencerId": gid(influencer), **fields}, DETAILS)


def _rows(db: Any, table: str, influencer: Any) -> int:
    db.expire_all()
    return int(
        db.scalar(
            text(f"SELECT count(*) FROM {table} WHERE influencer_id = :i"), {"i": influencer.id}
        )
    )


def _sepa(holder: str = "Ana Lopez", iban: str = IBAN, **kw: Any) -> dict[str, Any]:
    return {"method": "SEPA", "accountHolder": holder, "iban": iban, **kw}


def _debtor(gql: Any, w: dict[str, Any]) -> None:
    result = gql.mutate(
        w["keys"]["ADMIN"],
        "setPayoutDebtorAccount",
        {"accountHolder": "Acme Brands BV", "iban": DEBTOR_IBAN, "bic": "ABNANL2A"},
        "debtorAccount { iban bic accountHolder }",
    )
    assert result["userErrors"] == []
    assert result["debtorAccount"]["iban"] == "NL91 **** **** **43 00"


# --- details: validation, masking, roles, tenancy -----------------------------------------------


def test_details_are_masked_sealed_and_audited(gql, db, factory, caplog):
    w = factory.world()
    caplog.set_level(logging.INFO, logger="vouch.payouts")
    result = _set(
        gql, w["keys"]["INFLUENCER"], w["influencer"], **_sepa(iban="de89 3704 0044 0532 0130 00")
    )
    assert result["userErrors"] == []
    shown = result["payoutDetails"]
    assert shown["iban"] == "DE89 **** **** **** **30 00"
    assert shown["bic"] == "COBADEFFXXX"  # the IBAN's bank's, from schwifty's registry
    assert (shown["method"], shown["currency"], shown["accountHolder"]) == (
        "SEPA",
        "EUR",
        "Ana Lopez",
    )
    assert shown["updatedBy"] == f"influencer:{w['influencer'].id}"
    # Never in clear in the database: read the raw rows.
    raw = db.execute(text("SELECT * FROM payout_details")).all()  # every row, every column
    assert raw and not [r for r in raw if IBAN in " ".join(map(str, r)) or "370400" in str(r)]
    # Nor in the log, which names the kinds of field that changed.
    assert IBAN not in caplog.text and "0532" not in caplog.text
    assert "iban" in caplog.text
    change = db.scalars(
        select(PayoutDetailsChange).where(PayoutDetailsChange.influencer_id == w["influencer"].id)
    ).one()
    assert change.fields == ["account_holder", "bic", "currency", "iban", "method"]
    assert change.notify_to == w["influencer"].email
    # the e-mail to the influencer, in the local outbox (no SMTP_HOST), without the values
    mail = db.scalars(select(OutboxMail).where(OutboxMail.recipient == w["influencer"].email)).one()
    assert mail.subject == "Your payout details in Vouch changed"
    assert mail.body == change.notification and change.notified_at is not None
    assert IBAN[-6:] not in mail.body
    assert "iban" in change.notification and f"influencer:{w['influencer'].id}" in (
        change.notification
    )
    assert IBAN[-6:] not in change.notification and "Ana Lopez" not in change.notification
    # The same details again record nothing; PayPal replaces them, audited.
    assert _set(gql, w["keys"]["ADMIN"], w["influencer"], **_sepa())["userErrors"] == []
    paypal = _set(
        gql,
        w["keys"]["ADMIN"],
        w["influencer"],
        method="PAYPAL",
        paypalEmail="Ana.Lopez@Example.com",
        currency="usd",
    )["payoutDetails"]
    assert (paypal["paypalEmail"], paypal["iban"], paypal["currency"]) == (
        "a***@example.com",
        None,
        "USD",
    )
    db.expire_all()
    changes = db.scalars(
        select(PayoutDetailsChange)
        .where(PayoutDetailsChange.influencer_id == w["influencer"].id)
        .order_by(PayoutDetailsChange.id)
    ).all()
    assert [c.fields for c in changes][-1] == [
        "account_holder",
        "bic",
        "currency",
        "iban",
        "method",
        "paypal_email",
    ]
    assert len(changes) == 2
    read = gql(
        w["keys"]["FINANCE"],
        "query($i: ID!) { payoutDetails(influencerId: $i) { paypalEmail } }",
        i=gid(w["influencer"]),
    )
    assert read["payoutDetails"]["paypalEmail"] == "a***@example.com"
    audit = gql(
        w["keys"]["INFLUENCER"],
        "query($i: ID!) { payoutDetailsChanges(influencerId: $i) { subject fields changedBy "
        "notifiedAt } }",
        i=gid(w["influencer"]),
    )["payoutDetailsChanges"]
    assert [a["subject"] for a in audit] == ["PAYOUT_DETAILS"] * 2
    assert all(a["notifiedAt"] for a in audit)  # both e-mailed
    assert "ADMIN key" in audit[0]["changedBy"]  # newest first: the ADMIN's change to PayPal
    assert audit[1]["changedBy"] == f"influencer:{w['influencer'].id}"
    assert "paypal_email" in audit[0]["fields"]


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        (_sepa(iban="DE89370400440532013001"), "INVALID_IBAN", "iban"),  # checksum
        (_sepa(iban="XX00"), "INVALID_IBAN", "iban"),
        (_sepa(bic="BNPAFRPPXXX"), "BIC_MISMATCH", "bic"),  # a French BIC, a German IBAN
        (_sepa(bic="NOT A BIC"), "INVALID_BIC", "bic"),
        (_sepa(holder=""), "REQUIRED", "accountHolder"),
        (_sepa(currency="USD"), "CURRENCY_NOT_SUPPORTED", "currency"),
        (_sepa(paypalEmail="a@b.co"), "NOT_ALLOWED", "paypalEmail"),
        (
            {"method": "PAYPAL", "paypalEmail": "not-an-email", "currency": "EUR"},
            "INVALID_EMAIL",
            "paypalEmail",
        ),
        (
            {"method": "PAYPAL", "paypalEmail": "a@b.co", "currency": "EURO"},
            "INVALID_CURRENCY",
            "currency",
        ),
        (
            {"method": "WISE", "accountHolder": "Ana", "currency": "EUR"},
            "REQUIRED",
            "wiseRecipient",
        ),
        (
            {"method": "WISE", "accountHolder": "Ana", "wiseRecipient": "x@", "currency": "EUR"},
            "INVALID_EMAIL",
            "wiseRecipient",
        ),
    ],
)
def test_bad_details_are_refused_and_change_nothing(gql, db, factory, fields, code, field):
    w = factory.world()
    result = _set(gql, w["keys"]["ADMIN"], w["influencer"], **fields)
    assert result["payoutDetails"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, field)]
    assert _rows(db, "payout_details", w["influencer"]) == 0
    assert _rows(db, "payout_details_changes", w["influencer"]) == 0


def test_only_the_influencer_itself_or_an_admin(gql, db, factory):
    w, other = factory.world(), factory.world()
    second = factory.influencer(w["org"])
    for role in ("MANAGER", "FINANCE"):
        result = _set(gql, w["keys"][role], w["influencer"], **_sepa())
        assert result["userErrors"][0]["code"] == "FORBIDDEN"
    # Another influencer of the same organization, and another organization's: NOT_FOUND.
    assert _set(gql, w["keys"]["INFLUENCER"], second, **_sepa())["userErrors"][0]["code"] == (
        "NOT_FOUND"
    )
    assert (
        _set(gql, w["keys"]["ADMIN"], other["influencer"], **_sepa())["userErrors"][0]["code"]
        == "NOT_FOUND"
    )
    assert _rows(db, "payout_details", w["influencer"]) == 0
    # Reading: a MANAGER may not; another tenant's influencer is null.
    errors = gql.errors(
        w["keys"]["MANAGER"],
        "query($i: ID!) { payoutDetails(influencerId: $i) { iban } }",
        i=gid(w["influencer"]),
    )
    assert "MANAGER key cannot read payout details" in errors[0]["message"]
    read = gql(
        w["keys"]["ADMIN"],
        "query($i: ID!) { payoutDetails(influencerId: $i) { iban } }",
        i=gid(other["influencer"]),
    )
    assert read["payoutDetails"] is None


def test_debtor_account_is_admin_only_and_checked(gql, factory):
    w = factory.world()
    for role in ("FINANCE", "MANAGER", "INFLUENCER"):
        result = gql.mutate(
            w["keys"][role],
            "setPayoutDebtorAccount",
            {"accountHolder": "Acme", "iban": DEBTOR_IBAN},
            "debtorAccount { iban }",
        )
        assert result["userErrors"][0]["code"] == "FORBIDDEN"
    bad = gql.mutate(
        w["keys"]["ADMIN"],
        "setPayoutDebtorAccount",
        {"accountHolder": "Acme", "iban": "NL91ABNA0417164301"},
        "debtorAccount { iban }",
    )
    assert bad["userErrors"][0]["code"] == "INVALID_IBAN"


# --- files --------------------------------------------------------------------------------------


def _payees(db: Any, factory: Any, w: dict[str, Any]) -> dict[str, Any]:
    """Four payees: SEPA (123.45), PayPal (0.07), Wise in JPY (50.00 EUR), none (9.99)."""
    sepa, paypal, wise, bare = (
        w["influencer"],
        factory.influencer(w["org"], name="=cmd|' /C calc'!A0"),
        factory.influencer(w["org"], name="Kenji"),
        factory.influencer(w["org"], name="No Details"),
    )
    for who, amount in ((sepa, 12345), (paypal, 7), (wise, 5000), (bare, 999)):
        entry(db, w, amount, influencer=who)
    keys = {"org": w["org"].id}
    payout_details.set_details(
        db,
        keys["org"],
        sepa.id,
        payout_details.validate(
            PayoutMethod.SEPA, currency="EUR", account_holder="Ana Lopez", iban=IBAN_FR
        ),
        "test",
    )
    payout_details.set_details(
        db,
        keys["org"],
        paypal.id,
        payout_details.validate(PayoutMethod.PAYPAL, currency="EUR", paypal_email="pp@example.com"),
        "test",
    )
    payout_details.set_details(
        db,
        keys["org"],
        wise.id,
        payout_details.validate(
            PayoutMethod.WISE,
            currency="JPY",
            account_holder="=Kenji Sato",
            wise_recipient="40001234",
        ),
        "test",
    )
    db.commit()
    return {"sepa": sepa, "paypal": paypal, "wise": wise, "bare": bare}


def test_payout_files_end_to_end(gql, db, factory):
    w = factory.world()
    p = _payees(db, factory, w)
    _debtor(gql, w)
    batch = gql.mutate(
        w["keys"]["FINANCE"],
        "createPayoutBatch",
        {"currency": "EUR", "asOf": TODAY.isoformat()},
        "payoutBatch { id }",
    )["payoutBatch"]
    b = batch["id"]
    key = w["keys"]["FINANCE"]

    sepa = gql(key, FILE, b=b, f="SEPA_PAIN_001")["payoutFile"]
    xml = sepa["content"]
    xmlschema.XMLSchema(XSD).validate(xml)  # the ISO 20022 schema itself
    assert sepa["lineCount"] == 1 and sepa["totals"] == [{"amount": "123.45", "currency": "EUR"}]
    assert '<InstdAmt Ccy="EUR">123.45</InstdAmt>' in xml and "<CtrlSum>123.45</CtrlSum>" in xml
    assert IBAN_FR in xml and DEBTOR_IBAN in xml and "<BICFI>ABNANL2A</BICFI>" in xml
    assert xml.count(f"VOUCH-{w['org'].id}-") >= 4  # MsgId, PmtInfId, EndToEndId, Ustrd
    held = {(m["influencer"]["id"], m["reason"]) for m in sepa["missingDetails"]}
    assert held == {
        (gid(p["paypal"]), "OTHER_METHOD"),
        (gid(p["wise"]), "OTHER_METHOD"),
        (gid(p["bare"]), "NO_PAYOUT_DETAILS"),
    }
    assert sepa["filename"].endswith(".xml") and sepa["contentType"] == "application/xml"

    paypal = gql(key, FILE, b=b, f="PAYPAL_PAYOUTS_CSV")["payoutFile"]
    rows = list(csv.reader(io.StringIO(paypal["content"])))
    assert len(rows) == 1  # PayPal's columns go by position: no header row
    assert rows[0][:3] == ["pp@example.com", "0.07", "EUR"] and rows[0][5] == "PAYPAL"
    assert rows[0][3].startswith(f"VOUCH-{w['org'].id}-") and rows[0][4].startswith("VOUCH-")

    # Wise pays JPY: held back until finance enters the rate.
    wise = gql(key, FILE, b=b, f="WISE_BATCH_CSV")["payoutFile"]
    assert wise["lineCount"] == 0
    assert {m["reason"] for m in wise["missingDetails"]} >= {"NO_FX_RATE"}
    rate = gql.mutate(
        key,
        "setPayoutBatchFxRate",
        {"batchId": b, "currency": "jpy", "rate": "161.23456789"},
        "fxRate { currency rate }",
    )
    assert rate["userErrors"] == [] and rate["fxRate"] == {
        "currency": "JPY",
        "rate": "161.23456789",
    }
    wise = gql(key, FILE, b=b, f="WISE_BATCH_CSV")["payoutFile"]
    rows = list(csv.reader(io.StringIO(wise["content"])))
    # 50.00 EUR x 161.23456789 = 8061.7283945 JPY -> 8062 (JPY has no minor unit)
    # The account holder's "=" is neutralised (csvsafe): a spreadsheet shows it as text.
    assert rows[1] == ["'=Kenji Sato", "", "40001234", "EUR", "JPY", "8062", "target", rows[1][7]]
    assert rows[1][7] == f"VOUCH-{w['org'].id}-{rows[1][7].rsplit('-', 1)[1]}"

    # The HTTP download is the same file.
    response = gql.http.get(
        "/exports/payout-file",
        params={"batchId": b, "format": "SEPA_PAIN_001"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200 and IBAN_FR in response.text
    assert "attachment" in response.headers["content-disposition"]
    assert "NO_PAYOUT_DETAILS" in response.headers["x-vouch-held-back"]
    for role, status in (("MANAGER", 403), ("INFLUENCER", 403)):
        r = gql.http.get(
            "/exports/payout-file",
            params={"batchId": b, "format": "SEPA_PAIN_001"},
            headers={"Authorization": f"Bearer {w['keys'][role]}"},
        )
        assert r.status_code == status
    r = gql.http.get(
        "/exports/payout-file",
        params={"batchId": b, "format": "PDF"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 422 and r.json()["field"] == "format"

    # Paid: the lines keep both amounts and the rate; the ledger debits EUR.
    paid = gql.mutate(
        key,
        "markPayoutBatchPaid",
        {"payoutBatchId": b, "reference": "TRF-1"},
        "payoutBatch { lines { amount { amount currency } paidAmount { amount currency } fxRate "
        "influencer { id } } }",
    )
    assert paid["userErrors"] == []
    lines = {line["influencer"]["id"]: line for line in paid["payoutBatch"]["lines"]}
    assert lines[gid(p["wise"])]["paidAmount"] == {"amount": "8062", "currency": "JPY"}
    assert lines[gid(p["wise"])]["fxRate"] == "161.23456789"
    assert lines[gid(p["wise"])]["amount"] == {"amount": "50.00", "currency": "EUR"}
    assert lines[gid(p["sepa"])]["fxRate"] is None
    db.expire_all()
    debit = db.scalars(
        select(LedgerEntry).where(
            LedgerEntry.influencer_id == p["wise"].id, LedgerEntry.kind == EntryKind.PAYOUT
        )
    ).one()
    assert (debit.amount, debit.currency) == (-5000, "EUR")
    # No clear account anywhere but the payout file: not the debtor's row, not the statements.
    raw = " ".join(str(r) for r in db.execute(text("SELECT * FROM debtor_accounts")).all())
    assert raw and DEBTOR_IBAN not in raw and "ABNANL2A" not in raw
    statements = "".join(entry_rows(db, f"{TODAY:%Y-%m}", org_id=w["org"].id))
    for clear in (IBAN_FR, DEBTOR_IBAN, "pp@example.com", "40001234"):
        assert clear not in statements
    assert "Paid in payout batch" in statements


def test_a_rate_is_needed_to_mark_paid_and_only_on_drafts(gql, db, factory):
    w = factory.world()
    entry(db, w, 1000)
    payout_details.set_details(
        db,
        w["org"].id,
        w["influencer"].id,
        payout_details.validate(PayoutMethod.PAYPAL, currency="KWD", paypal_email="k@example.com"),
        "test",
    )
    db.commit()
    batch = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()
    with pytest.raises(FinanceError) as err:
        mark_paid(db, batch, "TRF")
    db.rollback()
    assert err.value.code == "MISSING_FX_RATE"
    key = w["keys"]["FINANCE"]
    b = gid(batch)
    for rate, code in (
        ("0", "INVALID_RATE"),
        ("1.123456789", "INVALID_RATE"),
        ("-2", "INVALID_RATE"),
        ("1e3", "INVALID_RATE"),
    ):
        result = gql.mutate(
            key,
            "setPayoutBatchFxRate",
            {"batchId": b, "currency": "KWD", "rate": rate},
            "fxRate { rate }",
        )
        assert result["userErrors"][0]["code"] == code, rate
    same = gql.mutate(
        key,
        "setPayoutBatchFxRate",
        {"batchId": b, "currency": "EUR", "rate": "1"},
        "fxRate { rate }",
    )
    assert same["userErrors"][0]["code"] == "INVALID_CURRENCY"
    other = factory.world()
    foreign = gql.mutate(
        other["keys"]["FINANCE"],
        "setPayoutBatchFxRate",
        {"batchId": b, "currency": "KWD", "rate": "0.33"},
        "fxRate { rate }",
    )
    assert foreign["userErrors"][0]["code"] == "NOT_FOUND"
    manager = gql.mutate(
        w["keys"]["MANAGER"],
        "setPayoutBatchFxRate",
        {"batchId": b, "currency": "KWD", "rate": "0.33"},
        "fxRate { rate }",
    )
    assert manager["userErrors"][0]["code"] == "FORBIDDEN"
    ok = gql.mutate(
        key,
        "setPayoutBatchFxRate",
        {"batchId": b, "currency": "KWD", "rate": "0.3312345"},
        "fxRate { rate }",
    )
    assert ok["userErrors"] == []
    db.expire_all()
    mark_paid(db, db.merge(batch), "TRF")
    db.commit()
    line = db.scalars(select(PayoutLine).where(PayoutLine.batch_id == batch.id)).one()
    # 10.00 EUR x 0.3312345 = 3.312345 KWD -> 3.312 (three decimals)
    assert (line.amount, line.paid_amount, line.paid_currency, line.fx_rate) == (
        1000,
        3312,
        "KWD",
        Decimal("0.33123450"),
    )
    late = gql.mutate(
        key,
        "setPayoutBatchFxRate",
        {"batchId": b, "currency": "USD", "rate": "1.1"},
        "fxRate { rate }",
    )
    assert late["userErrors"][0]["code"] == "NOT_DRAFT"


def test_conversion_rounds_half_even_once():
    assert fx.convert(1234, "EUR", "USD", Decimal("1.08")) == 1333  # 1332.72
    assert fx.convert(125, "EUR", "USD", Decimal("1.1")) == 138  # 137.5 -> 138 (even)
    assert fx.convert(135, "EUR", "USD", Decimal("1.1")) == 148  # 148.5 -> 148 (even)
    assert fx.convert(5000, "EUR", "JPY", Decimal("161.23456789")) == 8062
    assert fx.convert(1000, "EUR", "KWD", Decimal("0.3312345")) == 3312
    assert fx.convert(3312, "KWD", "EUR", Decimal("3.019")) == 1000  # 999.8928 cents
    assert fx.convert(8062, "JPY", "EUR", Decimal("0.0062")) == 4998  # 4998.44 cents


def test_sepa_needs_the_debtor_account(gql, db, factory):
    w = factory.world()
    _payees(db, factory, w)
    batch = create_payout_batch(db, w["org"].id, "EUR", TODAY, 0)
    db.commit()
    errors = gql.errors(w["keys"]["FINANCE"], FILE, b=gid(batch), f="SEPA_PAIN_001")
    assert "setPayoutDebtorAccount" in errors[0]["message"]
    errors = gql.errors(w["keys"]["MANAGER"], FILE, b=gid(batch), f="WISE_BATCH_CSV")
    assert "MANAGER key cannot" in errors[0]["message"]
    other = factory.world()
    assert (
        gql(other["keys"]["FINANCE"], FILE, b=gid(batch), f="WISE_BATCH_CSV")["payoutFile"] is None
    )


def test_the_change_e_mail_goes_by_smtp_only_once_the_change_commits(db, factory, monkeypatch):
    """With SMTP_HOST set, the e-mail of a change is sent when its transaction commits, and
    not at all when it rolls back (the change did not happen)."""
    from dataclasses import replace

    from api import mail
    from api.settings import get_settings

    sent: list[Any] = []
    smtp = replace(get_settings().smtp, host="smtp.example.com")
    monkeypatch.setattr(mail, "get_settings", lambda: replace(get_settings(), smtp=smtp))
    monkeypatch.setattr(mail, "send_smtp", lambda _smtp, message: sent.append(message))
    factory.world()
    db.commit()
    mail.deliver_on_commit(db, mail.Mail("a@example.com", "rolled back", "x"))
    db.rollback()
    mail.deliver_on_commit(db, mail.Mail("b@example.com", "committed", "y"))
    assert sent == []
    db.commit()
    assert [m.subject for m in sent] == ["committed"]
    db.commit()
    assert len(sent) == 1  # once
