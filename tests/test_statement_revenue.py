"""Statements show first and repeat revenue apart: the CSV's `repeat_order` column, the summary's
`first_order_revenue` / `repeat_revenue`, and `Statement.firstOrderRevenue` / `repeatRevenue`."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from api.finance.export import entry_rows, summary_rows
from api.finance.statements import statement
from api.models import Conversion, LedgerEntry, Refund
from api.models.events import RefundStatus
from api.models.ledger import EntryKind, SourceType
from tests.factories import gid

OCT = datetime(2025, 10, 10, 12, tzinfo=UTC)
_keys = itertools.count()


def _rows(lines: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(lines))))


def _order(db: Any, w: dict[str, Any], amount: int, *, repeat: bool, order_id: str) -> Conversion:
    row = Conversion.keyed(
        db,
        organization_id=w["org"].id,
        brand_id=w["brand"].id,
        order_id=order_id,
        amount=amount,
        currency="EUR",
        occurred_at=OCT,
        received_at=OCT,
        status="APPROVED",
        partnership_id=w["partnership"].id,
        influencer_id=w["influencer"].id,
        campaign_id=w["campaign"].id,
        repeat=repeat,
    )
    db.add(row)
    db.flush()
    return row


def _entry(
    db: Any,
    w: dict[str, Any],
    order: Conversion,
    kind: EntryKind,
    amount: int,
    created: datetime,
    refund: int | None = None,
) -> None:
    refund_row = None
    if refund is not None:
        refund_row = Refund(
            organization_id=w["org"].id,
            brand_id=w["brand"].id,
            refund_id=f"r-{next(_keys)}",
            order_id=order.order_id,
            conversion_id=order.id,
            amount_decimal=str(refund / 100),
            amount=refund,
            currency="EUR",
            occurred_at=created,
            received_at=created,
            status=RefundStatus.APPLIED,
        )
        db.add(refund_row)
        db.flush()
    db.add(
        LedgerEntry(
            organization_id=w["org"].id,
            influencer_id=w["influencer"].id,
            partnership_id=w["partnership"].id,
            campaign_id=w["campaign"].id,
            conversion_id=order.id,
            refund_id=refund_row.id if refund_row else None,
            kind=kind,
            amount=amount,
            currency="EUR",
            source_type=SourceType.REFUND if refund_row else SourceType.CONVERSION,
            created_at=created,
            available_at=created,
            idempotency_key=f"test-revenue:{next(_keys)}",
        )
    )
    db.commit()


def _world(db: Any, factory: Any) -> dict[str, Any]:
    w = factory.world()
    first = _order(db, w, 10_001, repeat=False, order_id="first-1")
    again = _order(db, w, 6_003, repeat=True, order_id="repeat-1")
    old = _order(db, w, 50_000, repeat=False, order_id="september")
    _entry(db, w, old, EntryKind.COMMISSION, 5_000, OCT - timedelta(days=30))  # not October's
    _entry(db, w, first, EntryKind.COMMISSION, 1_000, OCT)
    _entry(db, w, again, EntryKind.COMMISSION, 300, OCT + timedelta(hours=1))
    # October's partial refund of the repeat order lowers October's repeat revenue ...
    _entry(db, w, again, EntryKind.REVERSAL, -100, OCT + timedelta(days=1), refund=2_001)
    # ... a November refund of the first order does not rewrite October.
    _entry(db, w, first, EntryKind.CLAWBACK, -500, OCT + timedelta(days=30), refund=5_000)
    # A rejection (a reversal without a refund) takes back commission, not revenue.
    _entry(db, w, old, EntryKind.REVERSAL, -5_000, OCT + timedelta(days=2))
    return w


def test_statement_and_csv_split_first_and_repeat_revenue(db, factory):
    w = _world(db, factory)
    s = statement(db, w["org"].id, w["influencer"].id, "2025-10", "EUR")
    assert (s.first_order_revenue, s.repeat_revenue) == (10_001, 4_002)
    nov = statement(db, w["org"].id, w["influencer"].id, "2025-11", "EUR")
    assert (nov.first_order_revenue, nov.repeat_revenue) == (-5_000, 0)

    rows = _rows(entry_rows(db, "2025-10", org_id=w["org"].id, currency="EUR"))
    assert [(r["order_id"], r["kind"], r["repeat_order"]) for r in rows] == [
        ("first-1", "COMMISSION", "false"),
        ("repeat-1", "COMMISSION", "true"),
        ("repeat-1", "REVERSAL", "true"),
        ("september", "REVERSAL", "false"),
    ]
    (summary,) = _rows(summary_rows(db, "2025-10", org_id=w["org"].id, currency="EUR"))
    assert (summary["first_order_revenue"], summary["repeat_revenue"]) == ("100.01", "40.02")
    assert (summary["credits"], summary["debits"]) == ("13.00", "51.00")


def test_statement_type_has_first_and_repeat_revenue(db, factory, gql):
    w = _world(db, factory)
    data = gql(
        w["keys"]["FINANCE"],
        'query($i: ID!) { statement(influencerId: $i, period: "2025-10", currency: "EUR") '
        "{ firstOrderRevenue { amount currency } repeatRevenue { amount } "
        "entries { conversion { repeatOrder } } } }",
        i=gid(w["influencer"]),
    )["statement"]
    assert data["firstOrderRevenue"] == {"amount": "100.01", "currency": "EUR"}
    assert data["repeatRevenue"] == {"amount": "40.02"}
    assert [e["conversion"]["repeatOrder"] for e in data["entries"]] == [False, True, True, False]
