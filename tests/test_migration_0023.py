"""Migration 0023 (daily rollups): made at the upgrade from the hourly rows already there, so a
report reads the same figures from both paths on a database that had only hourly rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect as inspect_db

from api.finance import analytics
from api.models import (
    ClickDimensionRollup,
    ClickRollup,
    PerformanceDimensionRollup,
    PerformanceRollup,
)
from tests.rollups import recount
from tests.test_analytics import _link


def test_the_upgrade_sums_the_hourly_rollups_per_utc_day(factory, db):
    from api.db import get_engine, reset_engine
    from api.migrations import downgrade, upgrade

    w = factory.world()
    partnership = w["partnership"]
    link = _link(db, w, partnership)
    ids = {
        "organization_id": w["org"].id,
        "partnership_id": partnership.id,
        "campaign_id": w["campaign"].id,
    }
    start = datetime(2026, 3, 28, 20, tzinfo=UTC)
    for i in range(30):  # every 3 hours from the 28th at 20:00 UTC: four UTC days
        hour = start + timedelta(hours=3 * i)
        db.add(
            ClickRollup(
                link_id=link.id, hour=hour, clicks=i + 1, unique_clicks=i, bot_hits=1, **ids
            )
        )
        db.add(
            ClickDimensionRollup(
                link_id=link.id,
                hour=hour,
                dimension="COUNTRY",
                value="DE" if i % 2 else "FR",
                clicks=i + 1,
                unique_clicks=i,
                **ids,
            )
        )
        money = {
            "hour": hour,
            "currency": "EUR",
            "influencer_id": partnership.influencer_id,
            "conversions": 1,
            "revenue": 1_000 * (i + 1),
            "commission": 100 * (i + 1),
            **ids,
        }
        db.add(PerformanceRollup(link_id=link.id, repeat_revenue=i, fees=10 * i, **money))
        db.add(PerformanceDimensionRollup(dimension="COUNTRY", value="DE", **money))
    db.commit()
    db.close()
    reset_engine()
    try:
        downgrade("0022")
        assert "click_rollups_daily" not in inspect_db(get_engine()).get_table_names()
    finally:
        reset_engine()
        upgrade()
        reset_engine()
    session = db.__class__(bind=get_engine())
    with session:
        for hourly in analytics.DAILY:
            summed, stored = recount(session, hourly)
            assert summed and stored == summed, hourly.__tablename__
        # From the 28th at 21:30 to the 1st at 04:00: two whole days read daily.
        begin, end = start + timedelta(minutes=90), datetime(2026, 4, 1, 4, tzinfo=UTC)
        for key, dimension in (
            (None, None),
            ("link_id", None),
            ("value", analytics.Dimension.COUNTRY),
        ):
            daily, hourly_only = (
                analytics.aggregate(
                    session,
                    w["org"].id,
                    "campaign_id",
                    [w["campaign"].id],
                    key,
                    "EUR",
                    begin,
                    end,
                    dimension=dimension,
                    daily=daily,
                )
                for daily in (True, False)
            )
            assert daily == hourly_only and daily, key
