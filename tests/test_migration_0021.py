"""Migration 0021 (event partitions) on a database with data in 0020's tables: up, every row is
there with its id, the references hold (the ledger, refunds and claims through conversion_keys),
on PostgreSQL the rows sit in their month's partition and the next order continues the ids; down
again, 0020's tables hold the same rows with the same keys."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from tests.ingest.seed import world

EVENT_TABLES = ("clicks", "conversions", "orphan_visits", "refunds", "ledger_entries")


def _admin(base: str, sql: str) -> None:
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture
def fresh(tmp_path: Any, monkeypatch: Any) -> Iterator[str]:
    """A database of its own, empty, that `api.migrations` works on."""
    from api.db import reset_engine
    from api.settings import reset_settings

    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    name = f"vouch_m0021_{secrets.token_hex(4)}"
    if base:
        _admin(base, f'CREATE DATABASE "{name}"')
        url = f"{base.rpartition('/')[0]}/{name}"
    else:
        url = f"sqlite:///{tmp_path}/m0021.db"
    monkeypatch.setenv("DATABASE_URL", url)
    reset_settings()
    reset_engine()
    try:
        yield url
    finally:
        reset_engine()
        monkeypatch.undo()
        reset_settings()
        reset_engine()
        if base:
            _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _at(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def _fill(conn: Any, w: Any) -> dict[str, Any]:
    """0020's raw event tables and what refers to them: clicks and orders in three months, a
    refund, a commission and its reversal, a customer claim, orphan visits."""
    p = w.p
    common = {"o": w.org_id, "b": w.brand_id, "p": p.partnership_id, "k": p.campaign_id}
    for i, at in enumerate((_at(2026, 9), _at(2026, 10), _at(2026, 10, 20), datetime.now(UTC))):
        conn.execute(
            text(
                "INSERT INTO clicks (click_id, organization_id, link_id, partnership_id, "
                "campaign_id, occurred_at, bot, is_unique, created_at) "
                "VALUES (:c, :o, :l, :p, :k, :t, false, true, :t)"
            ),
            {**common, "c": f"click-{i}", "l": p.link_id, "t": at},
        )
        conn.execute(
            text("INSERT INTO orphan_visits (event_id, code, hour) VALUES (:e, 'nope', :t)"),
            {"e": f"orphan-{i}", "t": at.replace(minute=0)},
        )
    orders = {}
    for order_id, at in (("A-1", _at(2026, 9)), ("A-2", _at(2026, 10)), ("A-3", _at(2026, 11))):
        orders[order_id] = conn.scalar(
            text(
                "INSERT INTO conversions (organization_id, brand_id, order_id, amount, currency, "
                "occurred_at, received_at, status, hold_reasons, created_at, updated_at, "
                "partnership_id, influencer_id, campaign_id, click_id) "
                "VALUES (:o, :b, :order, 10000, 'EUR', :t, :t, 'APPROVED', '[]', :t, :t, :p, "
                ":i, :k, 'click-0') RETURNING id"
            ),
            {**common, "order": order_id, "t": at, "i": p.influencer_id},
        )
    refund = conn.scalar(
        text(
            "INSERT INTO refunds (organization_id, brand_id, refund_id, order_id, conversion_id, "
            "amount_decimal, amount, currency, occurred_at, received_at, status, created_at, "
            "updated_at) VALUES (:o, :b, 'R-1', 'A-1', :c, '20.00', 2000, 'EUR', :t, :t, "
            "'APPLIED', :t, :t) RETURNING id"
        ),
        {**common, "c": orders["A-1"], "t": _at(2026, 10)},
    )
    entry = (
        "INSERT INTO ledger_entries (organization_id, influencer_id, partnership_id, "
        "campaign_id, kind, amount, currency, source_type, source_id, conversion_id, refund_id, "
        "created_at, available_at, idempotency_key) VALUES (:o, :i, :p, :k, :kind, :amount, "
        "'EUR', :st, :sid, :c, :r, :t, :t, :key)"
    )
    conn.execute(
        text(entry),
        {
            **common,
            "i": p.influencer_id,
            "kind": "COMMISSION",
            "amount": 1000,
            "st": "CONVERSION",
            "sid": orders["A-1"],
            "c": orders["A-1"],
            "r": None,
            "t": _at(2026, 9),
            "key": f"commission:{orders['A-1']}",
        },
    )
    conn.execute(
        text(entry),
        {
            **common,
            "i": p.influencer_id,
            "kind": "REVERSAL",
            "amount": -200,
            "st": "REFUND",
            "sid": refund,
            "c": orders["A-1"],
            "r": refund,
            "t": _at(2026, 10),
            "key": f"reversal:{refund}",
        },
    )
    conn.execute(
        text(
            "INSERT INTO customer_claims (organization_id, brand_id, customer_key, "
            "partnership_id, campaign_id, conversion_id, claimed_at) "
            "VALUES (:o, :b, 'cust-1', :p, :k, :c, :t)"
        ),
        {**common, "c": orders["A-2"], "t": _at(2026, 10)},
    )
    return orders


def _rows(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the event tables and their referrers, by key, in key order."""
    queries = {
        "clicks": "SELECT id, click_id, occurred_at FROM clicks ORDER BY id",
        "conversions": "SELECT id, brand_id, order_id, occurred_at, amount FROM conversions "
        "ORDER BY id",
        "orphan_visits": "SELECT event_id, hour FROM orphan_visits ORDER BY event_id",
        "refunds": "SELECT id, conversion_id, amount FROM refunds ORDER BY id",
        "ledger_entries": "SELECT id, conversion_id, refund_id, amount FROM ledger_entries "
        "ORDER BY id",
        "customer_claims": "SELECT id, conversion_id FROM customer_claims ORDER BY id",
    }
    return {
        name: [tuple(r) for r in conn.execute(text(sql)).all()] for name, sql in queries.items()
    }


def _unmatched(conn: Any, target: str) -> int:
    """References to a conversion that is not in `target` (conversions or conversion_keys)."""
    return sum(
        int(
            conn.scalar(
                text(
                    f"SELECT count(*) FROM {table} t WHERE t.conversion_id IS NOT NULL AND NOT "
                    f"EXISTS (SELECT 1 FROM {target} c WHERE c.id = t.conversion_id)"
                )
            )
        )
        for table in ("refunds", "ledger_entries", "customer_claims")
    )


def test_0021_migrates_data_forward_and_back(fresh: str) -> None:
    from api.db import get_engine
    from api.migrations import check, current_revision, downgrade, upgrade

    # the world is made with today's models, at head, then taken down to 0020 (later
    # migrations add columns the models know and 0020 does not)
    upgrade()
    engine = get_engine()
    with Session(engine) as session:
        w = world(session)
    downgrade("0020")
    with engine.begin() as conn:
        orders = _fill(conn, w)
        before = _rows(conn)
    assert len(before["clicks"]) == 4 and len(before["conversions"]) == 3

    upgrade("0021")
    assert current_revision() == "0021"
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        assert _rows(conn) == before
        keys = conn.execute(
            text("SELECT id, brand_id, order_id FROM conversion_keys ORDER BY id")
        ).all()
        assert [(k.id, k.order_id) for k in keys] == sorted((v, k) for k, v in orders.items())
        assert _unmatched(conn, "conversion_keys") == 0
        assert _unmatched(conn, "conversions") == 0
        # A key that is already recorded is refused by the database itself.
        with pytest.raises(Exception, match=r"(?i)unique"), conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO conversion_keys (brand_id, order_id, occurred_at) "
                    "VALUES (:b, 'A-1', :t)"
                ),
                {"b": w.brand_id, "t": _at(2026, 12)},
            )
        # The next key continues after the migrated ids.
        new_id = conn.scalar(
            text(
                "INSERT INTO conversion_keys (brand_id, order_id, occurred_at) "
                "VALUES (:b, 'A-4', :t) RETURNING id"
            ),
            {"b": w.brand_id, "t": datetime.now(UTC)},
        )
        assert new_id > max(orders.values())
        conn.execute(text("DELETE FROM conversion_keys WHERE id = :i"), {"i": new_id})
        if postgres:
            placed = dict(
                conn.execute(
                    text("SELECT order_id, tableoid::regclass::text FROM conversions")
                ).all()
            )
            assert placed == {
                "A-1": "conversions_y2026m09",
                "A-2": "conversions_y2026m10",
                "A-3": "conversions_y2026m11",
            }
            kinds = dict(
                conn.execute(
                    text(
                        "SELECT relname, relkind FROM pg_class WHERE relname IN "
                        "('clicks', 'conversions', 'orphan_visits')"
                    )
                ).all()
            )
            assert kinds == {"clicks": "p", "conversions": "p", "orphan_visits": "p"}
            history = conn.scalar(text("SELECT count(*) FROM clicks_history"))
            assert history == 0  # the first partition is the first month with rows
    upgrade()  # and on to head, where the models match the database
    check()

    downgrade("0020")
    with engine.begin() as conn:
        assert _rows(conn) == before
        assert _unmatched(conn, "conversions") == 0
        if postgres:
            kinds = conn.scalars(
                text(
                    "SELECT relkind FROM pg_class WHERE relname IN "
                    "('clicks', 'conversions', 'orphan_visits')"
                )
            ).all()
            assert sorted(kinds) == ["r", "r", "r"]
        assert not inspect(conn).has_table("conversion_keys")
        # 0020's conversions count their ids on from where the keys were.
        again = conn.scalar(
            text(
                "INSERT INTO conversions (organization_id, brand_id, order_id, amount, currency, "
                "occurred_at, received_at, status, hold_reasons, created_at, updated_at) "
                "VALUES (:o, :b, 'A-5', 1, 'EUR', :t, :t, 'APPROVED', '[]', :t, :t) RETURNING id"
            ),
            {"o": w.org_id, "b": w.brand_id, "t": datetime.now(UTC)},
        )
        assert again > max(orders.values())
    upgrade()
