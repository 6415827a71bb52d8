"""performance(from, to): rollup clicks, net revenue, ledger commission and cost, and ratios."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pytest

from api.db import utcnow
from api.ingest.conversions import apply_waiting
from api.ledger.posting import PostingError, approve_conversion, post_entry
from api.models import TrackedLink
from api.models.events import Click, ClickRollup, Conversion, Refund
from api.models.ledger import CampaignCost
from tests.factories import gid

FIELDS = """clicks uniqueClicks conversions revenue { amount currency } commission { amount }
  cost { amount } conversionRate epc { amount } averageOrderValue { amount } roi roas"""


def _world_with_results(factory, db):
    w = factory.world()
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    link = TrackedLink(
        organization_id=w["org"].id,
        brand_id=w["brand"].id,
        campaign_id=w["campaign"].id,
        partnership_id=w["partnership"].id,
        code=f"t{secrets.token_hex(4)}",
        destination_url="https://shop.example.com",
    )
    db.add(link)
    db.flush()
    common = {
        "organization_id": w["org"].id,
        "link_id": link.id,
        "partnership_id": w["partnership"].id,
        "campaign_id": w["campaign"].id,
    }
    db.add_all(
        [
            ClickRollup(
                hour=now - timedelta(hours=2), clicks=60, unique_clicks=50, bot_hits=7, **common
            ),
            ClickRollup(
                hour=now - timedelta(hours=1), clicks=40, unique_clicks=30, bot_hits=0, **common
            ),
            ClickRollup(
                hour=now - timedelta(days=40), clicks=999, unique_clicks=999, bot_hits=0, **common
            ),
        ]
    )
    click_id = secrets.token_hex(8)
    db.add(Click(click_id=click_id, occurred_at=now - timedelta(hours=2), **common))
    # Orders go the way the worker's do: held ones approved (crediting the plan's 10 %), a
    # refund applied (reversing its share), a flat fee posted; the rollups follow each step.
    orders = []
    for amount, currency in ((10_000, "EUR"), (5_000, "EUR"), (7_000, "USD")):
        c = Conversion.keyed(
            db,
            organization_id=w["org"].id,
            brand_id=w["brand"].id,
            order_id=secrets.token_hex(6),
            amount=amount,
            currency=currency,
            occurred_at=now - timedelta(minutes=30),
            received_at=now,
            click_id=click_id,
            link_id=link.id,
            partnership_id=w["partnership"].id,
            influencer_id=w["influencer"].id,
            campaign_id=w["campaign"].id,
            attributed_via="CLICK",
            status="HELD",
        )
        db.add(c)
        orders.append(c)
    db.flush()
    for order in orders[:2]:
        assert approve_conversion(db, order, "test")
    with pytest.raises(PostingError):  # the plan pays in EUR: the USD order stays held
        approve_conversion(db, orders[2], "test")
    db.add(
        Refund(
            organization_id=w["org"].id,
            brand_id=w["brand"].id,
            refund_id="r1",
            order_id=orders[0].order_id,
            amount_decimal="20.00",
            currency="EUR",
            occurred_at=now,
            received_at=now,
            status="WAITING",
        )
    )
    db.flush()
    assert apply_waiting(db, w["brand"].id, orders[0].order_id, utcnow()) == 1
    post_entry(
        db,
        {
            "organization_id": w["org"].id,
            "influencer_id": w["influencer"].id,
            "partnership_id": w["partnership"].id,
            "campaign_id": w["campaign"].id,
            "kind": "FLAT_FEE",
            "amount": 3_000,
            "currency": "EUR",
            "source_type": "DELIVERABLE",
            "source_id": 1,
            "created_at": utcnow(),
            "available_at": utcnow(),
            "idempotency_key": f"test:{secrets.token_hex(8)}",
        },
    )
    db.add(
        CampaignCost(
            organization_id=w["org"].id,
            campaign_id=w["campaign"].id,
            partnership_id=w["partnership"].id,
            influencer_id=w["influencer"].id,
            kind="GIFTED_PRODUCT",
            amount=700,
            currency="EUR",
            idempotency_key=f"cost:{secrets.token_hex(6)}",
        )
    )
    db.commit()
    return w, link, now


def test_performance_sums_and_ratios(gql, factory, db):
    w, link, now = _world_with_results(factory, db)
    window = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    q = f"""query($c: ID!, $p: ID!, $i: ID!, $l: ID!, $from: DateTime!, $to: DateTime!) {{
      c: campaign(id: $c) {{ performance(from: $from, to: $to) {{ {FIELDS} }} }}
      p: partnership(id: $p) {{ performance(from: $from, to: $to) {{ {FIELDS} }} }}
      i: influencer(id: $i) {{
        performance(from: $from, to: $to, currency: "EUR") {{ {FIELDS} }} }}
      l: node(id: $l) {{ ... on TrackedLink {{
        performance(from: $from, to: $to) {{ {FIELDS} }} }} }}
    }}"""
    data = gql(
        w["keys"]["FINANCE"],
        q,
        c=gid(w["campaign"]),
        p=gid(w["partnership"]),
        i=gid(w["influencer"]),
        l=gid(link),
        **window,
    )
    for name in ("c", "p", "i"):
        perf = data[name]["performance"]
        assert perf["clicks"] == 100 and perf["uniqueClicks"] == 80, name
        assert perf["conversions"] == 2  # the USD order is another currency
        assert perf["revenue"] == {"amount": "130.00", "currency": "EUR"}  # 150 - 20 refunded
        assert perf["commission"]["amount"] == "13.00"  # 10 + 5 - 2
        assert perf["cost"]["amount"] == "50.00"  # 13 + 30 fee + 7 gifted
        assert perf["conversionRate"] == "2.5000"  # 2 / 80 unique clicks
        assert perf["epc"]["amount"] == "0.13"
        assert perf["averageOrderValue"]["amount"] == "65.00"
        assert perf["roi"] == "1.6000" and perf["roas"] == "2.6000"
    link_perf = data["l"]["performance"]
    assert link_perf["conversions"] == 2 and link_perf["cost"]["amount"] == "13.00"  # no fees


def test_performance_bad_input_is_a_graphql_error(gql, factory):
    w = factory.world()
    key = w["keys"]["ADMIN"]
    q = """query($c: ID!, $from: DateTime!, $to: DateTime!, $cur: String) {
      campaign(id: $c) { performance(from: $from, to: $to, currency: $cur) { clicks } } }"""
    now = datetime.fromisoformat("2026-10-01T00:00:00+00:00")
    errors = gql.errors(
        key, q, c=gid(w["campaign"]), **{"from": now.isoformat(), "to": now.isoformat()}
    )
    assert "to must be after from" in errors[0]["message"]
    errors = gql.errors(
        key,
        q,
        c=gid(w["campaign"]),
        cur="XXX",
        **{"from": now.isoformat(), "to": (now + timedelta(days=1)).isoformat()},
    )
    assert "unknown currency" in errors[0]["message"]


def test_migration_backfills_the_rollups_the_live_paths_keep(factory, db):
    """Downgrading below the rollups and upgrading again rebuilds, from the stored conversions,
    refunds and entries, exactly the rows the posting functions maintained."""
    from sqlalchemy import select

    from api.db import reset_engine
    from api.migrations import downgrade, upgrade
    from api.models import PerformanceRollup

    w, _link, _now = _world_with_results(factory, db)
    own = select(PerformanceRollup).where(PerformanceRollup.organization_id == w["org"].id)

    def rows() -> list[tuple]:
        db.expire_all()
        return sorted(
            (
                r.partnership_id,
                r.link_id,
                r.hour,
                r.currency,
                r.conversions,
                r.revenue,
                r.commission,
                r.fees,
            )
            for r in db.scalars(own)
        )

    live = rows()
    assert len(live) >= 2 and any(r[1] == _link.id for r in live)
    db.close()
    reset_engine()
    downgrade("0004")
    upgrade()
    reset_engine()
    assert rows() == live
