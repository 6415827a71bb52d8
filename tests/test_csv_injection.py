"""No cell of an exported CSV is a formula for a spreadsheet (OWASP CSV injection): hostile
influencer names, campaign names, order ids and memos come out prefixed with "'", while real
numbers (negative amounts) stay numbers. One test per export: the CLI file, the HTTP entries
and the HTTP summary."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from api.cli.reports import cmd_statements_export as export_cli
from api.finance.csvsafe import FORMULA_STARTS, cell
from api.models import Conversion, LedgerEntry
from api.models.ledger import EntryKind, SourceType
from tests.factories import gid

OCT = datetime(2025, 10, 10, 12, tzinfo=UTC)
NAME = '=HYPERLINK("http://x","y")'
CAMPAIGN = "@SUM(A1:A9)"
ORDER = "=1+2"
MEMO = "+cmd|' /C calc'!A0"
PEER = "-2+3"
TAB = "\t=1+1"


def _hostile(db: Any, factory: Any) -> dict[str, Any]:
    w = factory.world()
    w["influencer"].name = NAME
    w["campaign"].name = CAMPAIGN
    peer = factory.influencer(w["org"], name=PEER)
    tab = factory.influencer(w["org"], name=TAB)
    order = Conversion.keyed(
        db,
        organization_id=w["org"].id,
        brand_id=w["brand"].id,
        order_id=ORDER,
        amount=10_000,
        currency="EUR",
        occurred_at=OCT,
        received_at=OCT,
        status="APPROVED",
        partnership_id=w["partnership"].id,
        influencer_id=w["influencer"].id,
        campaign_id=w["campaign"].id,
    )
    db.add(order)
    db.flush()
    for n, (influencer, amount, kind) in enumerate(
        [
            (w["influencer"], 1_000, EntryKind.COMMISSION),
            (w["influencer"], -1_250, EntryKind.ADJUSTMENT),
            (peer, 500, EntryKind.COMMISSION),
            (tab, 300, EntryKind.COMMISSION),
        ]
    ):
        db.add(
            LedgerEntry(
                organization_id=w["org"].id,
                influencer_id=influencer.id,
                partnership_id=w["partnership"].id,
                campaign_id=w["campaign"].id,
                conversion_id=order.id if n == 0 else None,
                kind=kind,
                amount=amount,
                currency="EUR",
                source_type=SourceType.MANUAL,
                created_at=OCT,
                available_at=OCT,
                memo=MEMO,
                idempotency_key=f"csv-injection:{w['org'].id}:{n}",
            )
        )
    db.commit()
    return w


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for value in row:
            if value.startswith(FORMULA_STARTS):
                # only numbers may start with "-": "-12.50"
                assert value[0] == "-" and value[1:].replace(".", "").isdigit(), row


def test_cells():
    assert cell(NAME) == "'" + NAME
    assert cell("-12.50") == "-12.50"  # a number stays a number
    assert cell("-12.50+A1") == "'-12.50+A1"
    assert cell("\r=1") == "'\r=1"
    assert cell("Maya") == "Maya"
    assert cell(None) == ""


def test_cli_export_file(db, factory, tmp_path):
    w = _hostile(db, factory)
    out = tmp_path / "oct.csv"
    args = SimpleNamespace(period="2025-10", currency=None, out=str(out), org=str(w["org"].id))
    assert export_cli(args) == 0
    rows = _cells(out.read_text())
    _assert_no_formula(rows)
    body = list(csv.DictReader(io.StringIO(out.read_text())))
    mine = [r for r in body if r["influencer_id"] == gid(w["influencer"])]
    assert {r["influencer_name"] for r in mine} == {"'" + NAME}
    assert {r["campaign"] for r in mine} == {"'" + CAMPAIGN}
    assert [r["order_id"] for r in mine] == ["'" + ORDER, ""]
    assert [r["amount"] for r in mine] == ["10.00", "-12.50"]
    assert {r["memo"] for r in body} == {"'" + MEMO}
    assert {r["influencer_name"] for r in body} == {"'" + NAME, "'" + PEER, "'" + TAB}


@pytest.mark.parametrize("summary", [False, True])
def test_http_exports(gql, db, factory, summary):
    w = _hostile(db, factory)
    query = "period=2025-10" + ("&summary=1" if summary else "")
    response = gql.http.get(
        f"/exports/statements.csv?{query}",
        headers={"Authorization": f"Bearer {w['keys']['FINANCE']}"},
    )
    assert response.status_code == 200, response.text
    _assert_no_formula(_cells(response.text))
    body = list(csv.DictReader(io.StringIO(response.text)))
    names = {r["influencer_name"] for r in body}
    assert names == {"'" + NAME, "'" + PEER, "'" + TAB}
    if summary:
        mine = next(r for r in body if r["influencer_id"] == gid(w["influencer"]))
        assert (mine["credits"], mine["debits"], mine["closing"]) == ("10.00", "12.50", "-2.50")
    else:
        assert {r["campaign"] for r in body} == {"'" + CAMPAIGN}
        assert "'" + ORDER in {r["order_id"] for r in body}
