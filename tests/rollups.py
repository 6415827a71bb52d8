"""Daily rollups for tests that write hourly rollup rows straight through the ORM (the app's
writers keep both in step; a test that bypasses them calls `roll_up_daily` after its rows)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session

from api.finance.analytics import BY_CAMPAIGN, DAILY
from api.ledger.sql import day_of, upsert_add_by_campaign, upsert_add_daily

_NOT_COUNTERS = {"organization_id", "partnership_id", "campaign_id", "influencer_id"}


def roll_up_daily(db: Session, organization_id: int) -> None:
    """An organization's daily rollups made anew from its hourly rows, then committed."""
    db.flush()
    for hourly, daily in DAILY.items():
        mapper: Any = inspect(hourly)
        keys = [c.key for c in mapper.primary_key]
        columns = [c.key for c in mapper.columns]
        counters = [c for c in columns if c not in keys and c not in _NOT_COUNTERS]
        db.execute(delete(daily).where(daily.organization_id == organization_id))
        rows = [
            {c: getattr(r, c) for c in columns}
            for r in db.scalars(select(hourly).where(hourly.organization_id == organization_id))
        ]
        upsert_add_daily(db, daily, rows, keys, counters)
        campaign = BY_CAMPAIGN.get(daily)
        if campaign is not None:
            db.execute(delete(campaign).where(campaign.organization_id == organization_id))
            campaign_keys = [c.key for c in inspect(campaign).primary_key]
            upsert_add_by_campaign(db, campaign, rows, campaign_keys, counters)
    db.commit()


def recount(session: Any, hourly: Any) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """(the hourly rows summed per UTC day, the daily rows), each key -> its counters."""
    mapper: Any = inspect(hourly)
    keys = [c.key for c in mapper.primary_key]
    counters = [c.key for c in mapper.columns if c.key not in keys and c.key not in _NOT_COUNTERS]
    daily = DAILY[hourly]
    summed: dict[Any, list[int]] = {}
    for row in session.scalars(select(hourly)):
        key = tuple(day_of(row.hour) if k == "hour" else getattr(row, k) for k in keys)
        acc = summed.setdefault(key, [0] * len(counters))
        for i, c in enumerate(counters):
            acc[i] += getattr(row, c)
    stored = {
        tuple(row.day if k == "hour" else getattr(row, k) for k in keys): [
            getattr(row, c) for c in counters
        ]
        for row in session.scalars(select(daily))
    }
    # (a row whose counters came back to 0 is the same as none)
    return {k: v for k, v in summed.items() if any(v)}, {k: v for k, v in stored.items() if any(v)}


def recount_by_campaign(session: Any, hourly: Any) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """(the hourly dimension rows summed per campaign and UTC day, the per-campaign rows)."""
    campaign = BY_CAMPAIGN[DAILY[hourly]]
    mapper: Any = inspect(campaign)
    keys = [c.key for c in mapper.primary_key]
    counters = [c.key for c in mapper.columns if c.key not in keys and c.key not in _NOT_COUNTERS]
    summed: dict[Any, list[int]] = {}
    for row in session.scalars(select(hourly)):
        key = tuple(day_of(row.hour) if k == "day" else getattr(row, k) for k in keys)
        acc = summed.setdefault(key, [0] * len(counters))
        for i, c in enumerate(counters):
            acc[i] += getattr(row, c)
    stored = {
        tuple(getattr(row, k) for k in keys): [getattr(row, c) for c in counters]
        for row in session.scalars(select(campaign))
    }
    return {k: v for k, v in summed.items() if any(v)}, {k: v for k, v in stored.items() if any(v)}
