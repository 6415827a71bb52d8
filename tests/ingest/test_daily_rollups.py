"""The daily (UTC) rollups are the hourly ones summed per day, kept in step by the same writers
(clicks at ingest, conversions, refunds and ledger entries at commit), and a report reads the
same figures whether it takes the whole UTC days of its range from them or every hour."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from api.domain.dimensions import Dimension
from api.finance import analytics
from api.ledger.sql import day_of
from tests.ingest import seed
from tests.ingest.helpers import drain, push
from tests.rollups import recount, recount_by_campaign

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
VISITS = [
    ("81.2.69.0", IPHONE, "https://l.instagram.com/"),
    ("8.8.8.0", MAC, "https://www.google.com/search"),
    ("2a00:1450:4001::", IPHONE, "https://www.tiktok.com/"),
]


def _events(w: seed.World, now: int) -> list[Any]:
    """Clicks every 97 minutes over four days (both partners, bots too), a third of them
    with an order ten minutes later, and discount-code orders: UTC midnights in between."""
    events: list[Any] = []
    for i in range(60):
        ts = now - 97 * 60_000 * i - 60_000
        ip, ua, referer = VISITS[i % 3]
        click = dataclasses.replace(
            seed.click(w, w.partners[i % 2], ts_ms=ts, bot=i % 11 == 5, unique=i % 4 != 0),
            ip=ip,
            user_agent=ua,
            referer=referer,
        )
        events.append(click)
        if i % 3 == 0 and not click.bot:
            events.append(
                seed.conversion(
                    w, f"o-{i}", 1_000 * (i + 1), click_id=click.event_id, occurred=ts + 600_000
                )
            )
    for j, hours in enumerate((5, 29, 53)):
        events.append(
            seed.conversion(
                w,
                f"code-{j}",
                2_500,
                code=w.partners[j % 2].discount_code,
                occurred=now - hours * 3_600_000,
            )
        )
    return events


def test_daily_rollups_are_the_hourly_ones_summed_per_utc_day(rds, prefix, sessions, session):
    w = seed.world(session, partners=2, hold_days=0)
    now = seed.now_ms()
    events = _events(w, now)
    push(rds, prefix, *events)
    drain(rds, sessions, prefix)
    # A partial refund (revenue and commission down at the order's hour and day), then every
    # event again: a replay counts nothing, in either rollup.
    push(
        rds, prefix, seed.refund(w, "r-1", "o-3", "1.50"), seed.refund(w, "r-2", "code-1", "25.00")
    )
    drain(rds, sessions, prefix)
    push(rds, prefix, *events)
    drain(rds, sessions, prefix)
    session.commit()

    for hourly in analytics.DAILY:
        summed, stored = recount(session, hourly)
        assert summed, hourly.__tablename__
        assert len({k for k in summed}) < sum(1 for _ in session.scalars(select(hourly)))
        assert stored == summed, hourly.__tablename__
    # The per-campaign rollups by dimension: the dimension rows summed per campaign and day,
    # fewer rows than the partnership- or link-keyed daily ones.
    for hourly in (analytics.ClickDimensionRollup, analytics.PerformanceDimensionRollup):
        summed, stored = recount_by_campaign(session, hourly)
        assert summed, hourly.__tablename__
        assert len(summed) < len(recount(session, hourly)[0]), hourly.__tablename__
        assert stored == summed, hourly.__tablename__

    # The same figures from both paths, for ranges whose edges are not UTC midnights.
    campaign = w.partners[0].campaign_id
    end = datetime.fromtimestamp(now / 1000, UTC)
    windows = [
        (end - timedelta(days=4, minutes=17), end + timedelta(hours=1)),
        (day_of(end) - timedelta(days=3, hours=-5), day_of(end) - timedelta(hours=7)),
        (day_of(end) - timedelta(days=3), day_of(end)),  # whole days only
        (day_of(end) - timedelta(days=2), end + timedelta(minutes=1)),
    ]
    queries: list[tuple[str, int, str | None, Dimension | None]] = [
        ("campaign_id", campaign, None, None),
        ("campaign_id", campaign, "influencer_id", None),
        ("campaign_id", campaign, "link_id", None),
        ("brand_id", w.brand_id, "influencer_id", None),
        ("brand_id", w.brand_id, "value", Dimension.COUNTRY),
        ("brand_id", w.brand_id, "value", Dimension.DISCOUNT_CODE),
        ("partnership_id", w.partners[1].partnership_id, None, None),
        *(
            ("campaign_id", campaign, "value", d)
            for d in (
                Dimension.COUNTRY,
                Dimension.DEVICE,
                Dimension.REFERRER,
                Dimension.DISCOUNT_CODE,
            )
        ),
    ]
    for start, stop in windows:
        assert any(
            m is analytics.DAILY[analytics.ClickRollup]
            for m, _, _ in analytics.spans(analytics.ClickRollup, start, stop, True)
        ), (start, stop)
        for scope, scope_id, key, dimension in queries:
            both = [
                analytics.aggregate(
                    session,
                    w.org_id,
                    scope,
                    [scope_id],
                    key,
                    "EUR",
                    start,
                    stop,
                    dimension=dimension,
                    daily=daily,
                )
                for daily in (True, False)
            ]
            assert both[0] == both[1], (start, stop, scope, key, dimension)
            assert both[0], (start, stop, scope, key, dimension)
    # An influencer's share reads its own rows on both paths.
    own = w.partners[0].influencer_id
    start, stop = windows[0]
    assert analytics.aggregate(
        session, w.org_id, "campaign_id", [campaign], None, "EUR", start, stop, share_of=own
    ) == analytics.aggregate(
        session,
        w.org_id,
        "campaign_id",
        [campaign],
        None,
        "EUR",
        start,
        stop,
        share_of=own,
        daily=False,
    )
    # Series by UTC day: the daily rows keyed by their day are the hours folded into days.
    start, stop = day_of(end) - timedelta(days=4), day_of(end) + timedelta(days=1)
    by_day = analytics.aggregate(
        session, w.org_id, "campaign_id", [campaign], "hour", "EUR", start, stop
    )
    by_hour = analytics.aggregate(
        session, w.org_id, "campaign_id", [campaign], "hour", "EUR", start, stop, daily=False
    )
    folded: dict[Any, Any] = {}
    for (s, hour), p in by_hour.items():
        k = (s, day_of(hour))
        folded[k] = analytics.add(folded[k], p) if k in folded else p
    assert by_day == folded and len(folded) >= 4
