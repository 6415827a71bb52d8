"""Migration 0026 (per-campaign daily rollups by dimension): made at the upgrade from the daily
dimension rows already there, so a campaign's or a brand's breakdown by a dimension reads the
same figures from them as from the hourly rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect as inspect_db

from api.finance import analytics
from api.models import ClickDimensionRollup, PerformanceDimensionRollup
from tests.rollups import recount_by_campaign, roll_up_daily
from tests.test_analytics import _link


def test_the_upgrade_sums_the_daily_dimension_rollups_per_campaign(factory, db):
    from api.db import get_engine, reset_engine
    from api.migrations import downgrade, upgrade

    w = factory.world()
    partnership = w["partnership"]
    links = [_link(db, w, partnership), _link(db, w, partnership)]  # two links, one campaign
    ids = {
        "organization_id": w["org"].id,
        "partnership_id": partnership.id,
        "campaign_id": w["campaign"].id,
    }
    start = datetime(2026, 3, 28, 20, tzinfo=UTC)
    for i in range(30):  # every 3 hours from the 28th at 20:00 UTC: four UTC days
        hour = start + timedelta(hours=3 * i)
        for n, link in enumerate(links):
            db.add(
                ClickDimensionRollup(
                    link_id=link.id,
                    hour=hour,
                    dimension="COUNTRY",
                    value="DE" if (i + n) % 2 else "FR",
                    clicks=i + 1 + n,
                    unique_clicks=i,
                    **ids,
                )
            )
        for value in ("DE", "SE"):
            db.add(
                PerformanceDimensionRollup(
                    dimension="COUNTRY",
                    value=value,
                    hour=hour,
                    currency="EUR",
                    influencer_id=partnership.influencer_id,
                    conversions=1,
                    revenue=1_000 * (i + 1),
                    commission=100 * (i + 1),
                    **ids,
                )
            )
    roll_up_daily(db, w["org"].id)
    db.close()
    reset_engine()
    try:
        downgrade("0025")
        tables = inspect_db(get_engine()).get_table_names()
        assert "campaign_click_dimension_rollups_daily" not in tables
    finally:
        reset_engine()
        upgrade()
        reset_engine()
    session = db.__class__(bind=get_engine())
    with session:
        for hourly in (ClickDimensionRollup, PerformanceDimensionRollup):
            summed, stored = recount_by_campaign(session, hourly)
            assert summed and stored == summed, hourly.__tablename__
        # From the 28th at 21:30 to the 1st at 04:00: two whole days read per campaign.
        begin, end = start + timedelta(minutes=90), datetime(2026, 4, 1, 4, tzinfo=UTC)
        for scope, scope_id in (("campaign_id", w["campaign"].id), ("brand_id", w["brand"].id)):
            daily, hourly_only = (
                analytics.aggregate(
                    session,
                    w["org"].id,
                    scope,
                    [scope_id],
                    "value",
                    "EUR",
                    begin,
                    end,
                    dimension=analytics.Dimension.COUNTRY,
                    daily=daily,
                )
                for daily in (True, False)
            )
            assert daily == hourly_only and len(daily) == 3, scope  # DE, FR, SE
