"""The CSV export: rows sum to the ledger, summaries reconcile, the HTTP endpoint's auth."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from api.cli.reports import cmd_statements_export as export_cli
from api.finance.balances import net_total
from api.finance.export import ENTRY_COLUMNS, entry_rows, summary_rows
from api.finance.payouts import create_payout_batch, mark_paid
from api.finance.statements import statement
from api.models.ledger import EntryKind
from tests.factories import gid
from tests.test_finance import entry

OCT = datetime(2025, 10, 10, 12, tzinfo=UTC)


def _rows(lines):
    return list(csv.DictReader(io.StringIO("".join(lines))))


def _ledger(db, factory):
    w = factory.world()
    peer = factory.influencer(w["org"])
    entry(db, w, 10_000, created=OCT - timedelta(days=40))  # before the period
    entry(db, w, 2_550, created=OCT)
    entry(db, w, -300, kind=EntryKind.REVERSAL, created=OCT + timedelta(days=1))
    entry(db, w, 777, created=OCT + timedelta(days=2), influencer=peer)
    entry(db, w, 999, created=OCT, currency="USD")
    batch = create_payout_batch(
        db, w["org"].id, "EUR", date(2025, 10, 20), 0, now=OCT + timedelta(days=10)
    )
    mark_paid(db, batch, "SEPA-1", now=OCT + timedelta(days=11))
    db.commit()
    return w, peer, batch


def test_entry_rows_sum_to_the_ledger(db, factory):
    w, peer, batch = _ledger(db, factory)
    lines = list(entry_rows(db, "2025-10", org_id=w["org"].id, currency="EUR"))
    assert lines[0].strip() == ",".join(ENTRY_COLUMNS)
    rows = _rows(lines)
    mine = [r for r in rows if r["influencer_id"] == gid(w["influencer"])]
    # commission, reversal, payout of the batch (10000 + 2550 - 300)
    assert [r["kind"] for r in mine] == ["COMMISSION", "REVERSAL", "PAYOUT"]
    assert [r["amount"] for r in mine] == ["25.50", "-3.00", "-122.50"]
    assert {r["status"] for r in mine} == {"PAID"}
    assert {r["payout_batch"] for r in mine} == {gid(batch)}
    s = statement(db, w["org"].id, w["influencer"].id, "2025-10", "EUR")
    total = sum(Decimal(r["amount"]) for r in mine)
    assert total * 100 == s.closing_balance - s.opening_balance
    net = net_total(db, w["org"].id, w["influencer"].id, "EUR")
    assert s.opening_balance + total * 100 == net == 0  # everything was paid out
    summary = _rows(summary_rows(db, "2025-10", org_id=w["org"].id, currency="EUR"))
    by_inf = {r["influencer_id"]: r for r in summary}
    assert by_inf[gid(w["influencer"])] == {
        "statement_period": "2025-10",
        "influencer_id": gid(w["influencer"]),
        "influencer_name": w["influencer"].name,
        "currency": "EUR",
        "opening": "100.00",
        "credits": "25.50",
        "debits": "125.50",
        "closing": "0.00",
        "first_order_revenue": "0.00",  # no conversion behind these entries
        "repeat_revenue": "0.00",
    }
    assert (by_inf[gid(peer)]["credits"], by_inf[gid(peer)]["closing"]) == ("7.77", "0.00")


def test_cli_writes_a_file_with_progress(db, factory, tmp_path, capsys):
    w, _, _ = _ledger(db, factory)
    out = tmp_path / "oct.csv"
    args = SimpleNamespace(period="2025-10", currency="eur", out=str(out), org=str(w["org"].id))
    assert export_cli(args) == 0
    assert len(_rows(out.read_text())) == 5  # 3 EUR rows of the influencer, 2 of the peer
    assert "100%" in capsys.readouterr().err
    bad = SimpleNamespace(period="2025-13", currency=None, out=str(out), org=None)
    assert export_cli(bad) == 2


@pytest.mark.parametrize(
    ("role", "query", "status"),
    [
        (None, "period=2025-10", 401),
        ("bad", "period=2025-10", 401),
        ("MANAGER", "period=2025-10", 403),
        ("INFLUENCER", "period=2025-10", 200),  # its own entries only
        ("FINANCE", "period=2025-13", 422),
        ("FINANCE", "period=9999-12", 422),
        ("FINANCE", "", 422),
        ("ADMIN", "period=2025-10&currency=EURO", 422),
        ("FINANCE", "period=2025-10&currency=EUR", 200),
        ("ADMIN", "period=2025-10&summary=1", 200),
    ],
)
def test_http_export(gql, db, factory, role, query, status):
    w, _, _ = _ledger(db, factory)
    other = factory.world()
    entry(db, other, 123, created=OCT)
    headers = {}
    if role == "bad":
        headers["Authorization"] = "Bearer vch_nope_nope"
    elif role:
        headers["Authorization"] = f"Bearer {w['keys'][role]}"
    response = gql.http.get(f"/exports/statements.csv?{query}", headers=headers)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["error"] == (
            f"A{'n' if role == 'INFLUENCER' else ''} {role} key cannot approve commissions, "
            "adjust the ledger, pay out or export statements: this needs an ADMIN or FINANCE key"
        )
    if status == 422:
        body = response.json()
        assert body["field"] in ("period", "currency") and body["error"]
    if status == 200:
        rows = _rows(response.text)
        assert response.headers["content-type"].startswith("text/csv")
        assert gid(other["influencer"]) not in {r["influencer_id"] for r in rows}
        if role == "INFLUENCER":
            assert rows and {r["influencer_id"] for r in rows} == {gid(w["influencer"])}
        elif "summary" in query:
            assert {r["currency"] for r in rows} == {"EUR", "USD"}
        else:
            assert len(rows) == 5
