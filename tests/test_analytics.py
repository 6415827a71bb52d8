"""performanceSeries, performanceBreakdown and leaderboard through GraphQL, from rollup rows."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from api.models import (
    ClickDimensionRollup,
    ClickRollup,
    PerformanceDimensionRollup,
    PerformanceRollup,
    PostMetricSnapshot,
    TrackedLink,
)
from api.models.ledger import CampaignCost
from tests.factories import gid
from tests.rollups import roll_up_daily

# Around the end of summer time in Berlin (2026-10-25, 03:00 CEST -> 02:00 CET).
DAY0 = datetime(2026, 10, 24, 0, tzinfo=UTC)


def utc(day: int, hour: int) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def _link(db: Any, w: dict[str, Any], partnership: Any) -> TrackedLink:
    link = TrackedLink(
        organization_id=w["org"].id,
        brand_id=w["brand"].id,
        campaign_id=w["campaign"].id,
        partnership_id=partnership.id,
        code=f"t{secrets.token_hex(4)}",
        destination_url="https://shop.example.com",
    )
    db.add(link)
    db.flush()
    return link


def _results(
    db: Any,
    w: dict[str, Any],
    partnership: Any,
    link: Any,
    hour: datetime,
    clicks: int,
    revenue: int,
) -> None:
    """Rollup rows as the worker leaves them: `clicks` clicks (all from GB, on mobile, half of
    them from instagram.com) and one order of `revenue` minor units earning 10 %."""
    ids = {
        "organization_id": w["org"].id,
        "partnership_id": partnership.id,
        "campaign_id": w["campaign"].id,
    }
    db.add(
        ClickRollup(
            link_id=link.id, hour=hour, clicks=clicks, unique_clicks=clicks, bot_hits=0, **ids
        )
    )
    for dimension, value, n in (
        ("COUNTRY", "GB", clicks),
        ("DEVICE", "MOBILE", clicks),
        ("REFERRER", "l.instagram.com", clicks // 2),
    ):
        db.add(
            ClickDimensionRollup(
                link_id=link.id,
                hour=hour,
                dimension=dimension,
                value=value,
                clicks=n,
                unique_clicks=n,
                **ids,
            )
        )
    money = {
        "currency": "EUR",
        "hour": hour,
        "influencer_id": partnership.influencer_id,
        "conversions": 1,
        "revenue": revenue,
        "commission": revenue // 10,
        **ids,
    }
    db.add(PerformanceRollup(link_id=link.id, fees=0, **money))
    db.add(PerformanceDimensionRollup(dimension="COUNTRY", value="GB", **money))


def _world(factory: Any, db: Any) -> dict[str, Any]:
    w = factory.world()
    second = factory.influencer(w["org"], name="Zed")
    w["second"] = factory.partnership(w["campaign"], second)
    w["link"] = _link(db, w, w["partnership"])
    w["link2"] = _link(db, w, w["second"])
    # 23:00 UTC on the 24th is 01:00 on the 25th in Berlin (CEST); 23:00 UTC on the 25th is
    # 00:00 on the 26th (CET): the 25th is 25 hours long.
    _results(db, w, w["partnership"], w["link"], utc(24, 21), 10, 10_000)  # 24th, 23:00 CEST
    _results(db, w, w["partnership"], w["link"], utc(24, 23), 20, 20_000)  # 25th, 01:00
    _results(db, w, w["second"], w["link2"], utc(25, 22), 5, 50_000)  # 25th, 23:00 CET
    _results(db, w, w["second"], w["link2"], utc(25, 23), 1, 1_000)  # 26th, 00:00
    db.add(
        CampaignCost(
            organization_id=w["org"].id,
            campaign_id=w["campaign"].id,
            partnership_id=w["second"].id,
            influencer_id=second.id,
            kind="GIFTED_PRODUCT",
            amount=4_000,
            currency="EUR",
            created_at=utc(25, 12),
            idempotency_key=f"cost:{secrets.token_hex(6)}",
        )
    )
    db.commit()
    roll_up_daily(db, w["org"].id)
    return w


SERIES = """query($c: ID!, $from: DateTime!, $to: DateTime!, $g: Granularity!, $tz: String) {
  campaign(id: $c) { performanceSeries(from: $from, to: $to, granularity: $g, timeZone: $tz) {
    start end clicks uniqueClicks conversions revenue { amount currency } commission { amount }
    cost { amount } } } }"""


def test_a_berlin_series_follows_its_days_and_zero_fills(gql, factory, db):
    w = _world(factory, db)
    key = w["keys"]["MANAGER"]
    # The brand's zone is the default.
    data = gql(
        w["keys"]["ADMIN"],
        """mutation($b: ID!) { updateBrand(input: {brandId: $b, timeZone: "Europe/Berlin"}) {
          brand { timeZone } userErrors { field code } } }""",
        b=gid(w["brand"]),
    )
    assert data == {"updateBrand": {"brand": {"timeZone": "Europe/Berlin"}, "userErrors": []}}
    args = {"c": gid(w["campaign"]), "from": "2026-10-23T22:00:00Z", "to": "2026-10-28T00:00:00Z"}
    days = gql(key, SERIES, g="DAY", **args)["campaign"]["performanceSeries"]
    assert [d["start"] for d in days] == [
        "2026-10-23T22:00:00+00:00",
        "2026-10-24T22:00:00+00:00",
        "2026-10-25T23:00:00+00:00",
        "2026-10-26T23:00:00+00:00",
        "2026-10-27T23:00:00+00:00",
    ]
    assert days[1]["end"] == "2026-10-25T23:00:00+00:00"  # a 25-hour day
    assert [d["clicks"] for d in days] == [10, 25, 1, 0, 0]
    assert [d["revenue"]["amount"] for d in days] == ["100.00", "700.00", "10.00", "0.00", "0.00"]
    assert days[1]["cost"]["amount"] == "110.00"  # 20 + 50 commission + 40 gifted
    assert days[3] == {
        "start": "2026-10-26T23:00:00+00:00",
        "end": "2026-10-27T23:00:00+00:00",
        "clicks": 0,
        "uniqueClicks": 0,
        "conversions": 0,
        "revenue": {"amount": "0.00", "currency": "EUR"},
        "commission": {"amount": "0.00"},
        "cost": {"amount": "0.00"},
    }
    # In UTC the same hours fall on other days.
    utc_days = gql(key, SERIES, g="DAY", tz="UTC", **args)["campaign"]["performanceSeries"]
    assert [d["clicks"] for d in utc_days] == [0, 30, 6, 0, 0]
    hours = gql(key, SERIES, g="HOUR", tz="UTC", **args)["campaign"]["performanceSeries"]
    assert len(hours) == 98 and sum(h["clicks"] for h in hours) == 36
    months = gql(key, SERIES, g="MONTH", **args)["campaign"]["performanceSeries"]
    assert [(m["start"], m["clicks"]) for m in months] == [("2026-09-30T22:00:00+00:00", 36)]
    # UTC days come from the daily rollups, hours from the hourly ones: the same figures.
    for d in utc_days:
        inside = [h for h in hours if d["start"] <= h["start"] < d["end"]]
        assert d["clicks"] == sum(h["clicks"] for h in inside)
        assert d["conversions"] == sum(h["conversions"] for h in inside)
        assert Decimal(d["cost"]["amount"]) == sum(Decimal(h["cost"]["amount"]) for h in inside)
    # London leaves summer time at 01:00 UTC on the 25th: its days before start at 23:00 UTC
    # (read hour by hour), the 25th is 25 hours long, the days after start at midnight UTC.
    london = gql(key, SERIES, g="DAY", tz="Europe/London", **args)["campaign"]["performanceSeries"]
    assert [(d["start"], d["clicks"]) for d in london] == [
        ("2026-10-22T23:00:00+00:00", 0),
        ("2026-10-23T23:00:00+00:00", 10),
        ("2026-10-24T23:00:00+00:00", 26),
        ("2026-10-26T00:00:00+00:00", 0),
        ("2026-10-27T00:00:00+00:00", 0),
    ]
    assert london[2]["cost"]["amount"] == "111.00"  # 20 + 50 + 1 commission + 40 gifted
    weeks = gql(key, SERIES, g="WEEK", tz="UTC", **args)["campaign"]["performanceSeries"]
    assert [(w["start"], w["clicks"], w["revenue"]["amount"]) for w in weeks] == [
        ("2026-10-19T00:00:00+00:00", 36, "810.00"),
        ("2026-10-26T00:00:00+00:00", 0, "0.00"),
    ]


POST_SERIES = """query($c: ID!, $l: ID!, $g: Granularity!) {
  campaign(id: $c) { performanceSeries(from: "2026-10-23T22:00:00Z", to: "2026-10-28T00:00:00Z",
    granularity: $g, timeZone: "Europe/Berlin") {
      impressions reach engagements engagementRate ctr cpm { amount } cpe { amount } } }
  link: node(id: $l) { ... on TrackedLink { performanceSeries(from: "2026-10-23T22:00:00Z",
    to: "2026-10-28T00:00:00Z", granularity: $g, timeZone: "Europe/Berlin") { engagements } } } }"""


def test_series_buckets_carry_the_post_results_of_what_was_published_in_them(gql, factory, db):
    w = _world(factory, db)
    # Berlin days: the 24th (23:00 CEST), then two on the 25th (01:00 CEST, 23:00 CET).
    _post(factory, db, w["partnership"], utc(24, 21), reach=1000, likes=100)
    _post(
        factory,
        db,
        w["partnership"],
        utc(24, 23),
        impressions=2000,
        reach=500,
        likes=25,
        link_clicks=20,
    )
    _post(factory, db, w["second"], utc(25, 22), reach=500, likes=75)
    args = {"c": gid(w["campaign"]), "l": gid(w["link"])}
    data = gql(w["keys"]["MANAGER"], POST_SERIES, g="DAY", **args)
    days = data["campaign"]["performanceSeries"]
    empty = {
        "impressions": None,
        "reach": None,
        "engagements": None,
        "engagementRate": None,
        "ctr": None,
        "cpm": None,
        "cpe": None,
    }
    assert days == [
        # cost of the day: 10.00 commission
        {
            **empty,
            "reach": 1000,
            "engagements": 100,
            "engagementRate": "10.00",
            "cpe": {"amount": "0.10"},
        },
        # 110.00 (20 + 50 commission, 40 gifted) over 100 engagements and 2000 impressions
        {
            "impressions": 2000,
            "reach": 1000,
            "engagements": 100,
            "engagementRate": "10.00",
            "ctr": "1.00",
            "cpm": {"amount": "55.00"},
            "cpe": {"amount": "1.10"},
        },
        empty,
        empty,
        empty,
    ]
    assert [d["engagements"] for d in data["link"]["performanceSeries"]] == [None] * 5
    hours = gql(w["keys"]["MANAGER"], POST_SERIES, g="HOUR", **args)["campaign"]
    assert all(h == empty for h in hours["performanceSeries"])
    week = gql(w["keys"]["MANAGER"], POST_SERIES, g="WEEK", **args)["campaign"]
    assert [b["engagements"] for b in week["performanceSeries"]] == [200, None]
    # An influencer's key: its own posts only.
    own = gql(w["keys"]["INFLUENCER"], POST_SERIES, g="DAY", **args)["campaign"]
    assert [d["engagements"] for d in own["performanceSeries"]] == [100, 25, None, None, None]


def test_series_on_partnerships_influencers_and_links(gql, factory, db):
    w = _world(factory, db)
    q = """query($p: ID!, $i: ID!, $l: ID!) {
      p: partnership(id: $p) { performanceSeries(from: "2026-10-24T00:00:00Z",
        to: "2026-10-26T00:00:00Z", granularity: DAY) { clicks } }
      i: influencer(id: $i) { performanceSeries(from: "2026-10-24T00:00:00Z",
        to: "2026-10-26T00:00:00Z", granularity: DAY, currency: "EUR") { clicks } }
      l: node(id: $l) { ... on TrackedLink { performanceSeries(from: "2026-10-24T00:00:00Z",
        to: "2026-10-26T00:00:00Z", granularity: DAY) { clicks } } } }"""
    data = gql(
        w["keys"]["MANAGER"], q, p=gid(w["second"]), i=gid(w["influencer"]), l=gid(w["link2"])
    )
    assert data["p"]["performanceSeries"] == [{"clicks": 0}, {"clicks": 6}]
    assert data["i"]["performanceSeries"] == [{"clicks": 30}, {"clicks": 0}]
    assert data["l"]["performanceSeries"] == [{"clicks": 0}, {"clicks": 6}]


def test_bad_series_arguments_are_errors(gql, factory, db):
    w = factory.world()
    key = w["keys"]["MANAGER"]
    args = {"c": gid(w["campaign"]), "from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}
    cases = [
        ({"g": "HOUR"}, "more than 1000 hour buckets"),
        ({"g": "DAY", "tz": "Mars/Olympus"}, "unknown time zone"),
        ({"g": "DAY", "to": "2025-12-01T00:00:00Z"}, "to must be after from"),
        ({"g": "DAY", "to": "2030-01-01T00:00:00Z"}, "at most 731 days"),
        ({"g": "DAY", "from": "2026-01-01T00:00:00"}, "needs a time zone"),
    ]
    for extra, message in cases:
        errors = gql.errors(key, SERIES, **{**args, **extra})
        assert message in errors[0]["message"], (extra, errors)
    errors = gql.errors(key, SERIES, **{**args, "g": "YEAR"})
    assert "Granularity" in errors[0]["message"]
    data = gql(
        w["keys"]["ADMIN"],
        """mutation($b: ID!) { updateBrand(input: {brandId: $b, timeZone: "Berlin"}) {
          brand { timeZone } userErrors { field code message } } }""",
        b=gid(w["brand"]),
    )
    assert data["updateBrand"]["brand"] is None
    assert data["updateBrand"]["userErrors"][0]["field"] == "timeZone"
    data = gql(
        w["keys"]["ADMIN"],
        """mutation { createBrand(input: {name: "Tokyo", defaultCurrency: "JPY",
          timeZone: "Asia/Tokyo"}) { brand { timeZone } userErrors { code } } }""",
    )
    assert data["createBrand"]["brand"] == {"timeZone": "Asia/Tokyo"}


BREAKDOWN = """query($c: ID!, $by: BreakdownDimension!, $first: Int, $order: BreakdownOrder) {
  campaign(id: $c) {
    performance(from: "2026-10-20T00:00:00Z", to: "2026-10-30T00:00:00Z") {
      clicks conversions revenue { amount } commission { amount } cost { amount } }
    performanceBreakdown(from: "2026-10-20T00:00:00Z", to: "2026-10-30T00:00:00Z", by: $by,
        first: $first, orderBy: $order) {
      key label performance {
        clicks conversions revenue { amount } commission { amount } cost { amount } } } } }"""


def _flat(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their `performance`'s figures beside their key (and rank, value...)."""
    return [
        {**{k: v for k, v in r.items() if k != "performance"}, **r["performance"]} for r in rows
    ]


def _sum(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for row in rows:
        for name in ("clicks", "conversions", "revenue", "commission", "cost"):
            value = row[name]
            if isinstance(value, dict):
                amount = Decimal(total.get(name, {"amount": "0"})["amount"]) + Decimal(
                    value["amount"]
                )
                total[name] = {"amount": f"{amount:.2f}"}
            else:
                total[name] = total.get(name, 0) + value
    return total


def test_breakdowns_are_sorted_and_add_up_to_the_total(gql, factory, db):
    w = _world(factory, db)
    key = w["keys"]["MANAGER"]
    for by in ("INFLUENCER", "LINK", "COUNTRY", "DEVICE", "REFERRER", "PLATFORM", "DISCOUNT_CODE"):
        for first in (1, 10):
            data = gql(key, BREAKDOWN, c=gid(w["campaign"]), by=by, first=first)["campaign"]
            rows = _flat(data["performanceBreakdown"])
            assert _sum(rows) == data["performance"], (by, first, rows)
    rows = _flat(
        gql(key, BREAKDOWN, c=gid(w["campaign"]), by="INFLUENCER")["campaign"][
            "performanceBreakdown"
        ]
    )
    assert [(r["label"], r["revenue"]["amount"]) for r in rows] == [
        ("Zed", "510.00"),
        (w["influencer"].name, "300.00"),
    ]
    assert (
        rows[0]["key"] == gid(w["second"].influencer)
        if hasattr(w["second"], "influencer")
        else True
    )
    rows = _flat(
        gql(key, BREAKDOWN, c=gid(w["campaign"]), by="INFLUENCER", order="CLICKS")["campaign"][
            "performanceBreakdown"
        ]
    )
    assert [r["clicks"] for r in rows] == [30, 6]
    rows = _flat(
        gql(key, BREAKDOWN, c=gid(w["campaign"]), by="COUNTRY", first=5)["campaign"][
            "performanceBreakdown"
        ]
    )
    assert (
        rows[0]["key"] == "GB"
        and rows[0]["clicks"] == 36
        and rows[0]["revenue"]["amount"] == "810.00"
    )
    assert rows[1]["key"] == "OTHER" and rows[1]["cost"]["amount"] == "40.00"  # the gift
    rows = _flat(
        gql(key, BREAKDOWN, c=gid(w["campaign"]), by="PLATFORM")["campaign"]["performanceBreakdown"]
    )
    assert (rows[0]["key"], rows[0]["label"], rows[0]["clicks"]) == ("INSTAGRAM", "Instagram", 17)
    brand = gql(
        key,
        """query($b: ID!) { brand(id: $b) { performanceBreakdown(from: "2026-10-20T00:00:00Z",
          to: "2026-10-30T00:00:00Z", by: DEVICE) { key label performance { clicks } } } }""",
        b=gid(w["brand"]),
    )
    assert brand["brand"]["performanceBreakdown"][0] == {
        "key": "MOBILE",
        "label": "Mobile",
        "performance": {"clicks": 36},
    }


LEADERBOARD = """query($c: ID!, $m: LeaderboardMetric!) { campaign(id: $c) {
  leaderboard(from: "2026-10-20T00:00:00Z", to: "2026-10-30T00:00:00Z", metric: $m) {
    rank value influencer { name } performance { clicks revenue { amount } } } } }"""


def test_the_leaderboard_ranks_influencers_by_the_metric(gql, factory, db):
    w = _world(factory, db)
    third = factory.partnership(w["campaign"], factory.influencer(w["org"], name="Amy"))
    assert third
    key, c = w["keys"]["MANAGER"], gid(w["campaign"])
    board = gql(key, LEADERBOARD, c=c, m="REVENUE")["campaign"]["leaderboard"]
    assert [(e["rank"], e["influencer"]["name"], e["value"]) for e in board] == [
        (1, "Zed", "510.00"),
        (2, w["influencer"].name, "300.00"),
        (3, "Amy", "0.00"),
    ]
    board = gql(key, LEADERBOARD, c=c, m="CLICKS")["campaign"]["leaderboard"]
    assert [e["influencer"]["name"] for e in board][:2] == [w["influencer"].name, "Zed"]
    board = gql(key, LEADERBOARD, c=c, m="ROI")["campaign"]["leaderboard"]
    # ROI: (300 - 30) / 30 = 9 for the first; (510 - 51 - 40) / 91 for Zed; none without cost.
    assert [(e["influencer"]["name"], e["value"]) for e in board] == [
        (w["influencer"].name, "9.0000"),
        ("Zed", "4.6044"),
        ("Amy", None),
    ]
    # An influencer's key: itself only.
    own = gql(w["keys"]["INFLUENCER"], LEADERBOARD, c=c, m="REVENUE")["campaign"]["leaderboard"]
    assert [(e["rank"], e["influencer"]["name"]) for e in own] == [(1, w["influencer"].name)]


def _post(factory: Any, db: Any, partnership: Any, published: datetime, **counts: int) -> None:
    """A deliverable published at `published` with two snapshots: only the latest counts."""
    post = factory.deliverable(partnership, status="PUBLISHED", published_at=published)
    for day, scale in ((1, 2), (2, 1)):  # the earlier snapshot has half the counts
        db.add(
            PostMetricSnapshot(
                organization_id=partnership.organization_id,
                deliverable_id=post.id,
                captured_at=published + timedelta(days=day),
                source="MANUAL",
                **{name: n // scale for name, n in counts.items()},
            )
        )
    db.commit()


POST_BOARD = """query($c: ID!, $m: LeaderboardMetric!) { campaign(id: $c) {
  leaderboard(from: "2026-10-20T00:00:00Z", to: "2026-10-30T00:00:00Z", metric: $m) {
    rank value influencer { name }
    performance { engagements engagementRate cpe { amount } } } } }"""


def test_the_leaderboard_ranks_by_engagement_rate_and_cpe_with_no_posts_last(gql, factory, db):
    w = _world(factory, db)
    factory.partnership(w["campaign"], factory.influencer(w["org"], name="Amy"))  # no posts
    first = w["influencer"].name
    # First: 100 engagements over reach 1000 (10 %), cost 30.00 -> CPE 0.30.
    _post(factory, db, w["partnership"], utc(24, 10), reach=1000, likes=80, comments=20)
    # Zed: 50 over 250 (20 %), cost 91.00 -> CPE 1.82; a post published outside the range and
    # another organization's do not count.
    _post(factory, db, w["second"], utc(25, 10), reach=250, likes=50)
    _post(factory, db, w["second"], utc(30, 0), reach=10, likes=10_000)
    other = factory.world()
    _post(factory, db, other["partnership"], utc(25, 10), reach=1, likes=1_000)
    key, c = w["keys"]["MANAGER"], gid(w["campaign"])
    board = gql(key, POST_BOARD, c=c, m="ENGAGEMENT_RATE")["campaign"]["leaderboard"]
    assert [(e["rank"], e["influencer"]["name"], e["value"]) for e in board] == [
        (1, "Zed", "20.00"),
        (2, first, "10.00"),
        (3, "Amy", None),
    ]
    assert [e["performance"]["engagements"] for e in board] == [50, 100, None]
    board = gql(key, POST_BOARD, c=c, m="CPE")["campaign"]["leaderboard"]
    # Lowest cost per engagement first; without engagements last.
    assert [(e["influencer"]["name"], e["value"], e["performance"]["cpe"]) for e in board] == [
        (first, "0.30", {"amount": "0.30"}),
        ("Zed", "1.82", {"amount": "1.82"}),
        ("Amy", None, None),
    ]
    own = gql(w["keys"]["INFLUENCER"], POST_BOARD, c=c, m="CPE")["campaign"]["leaderboard"]
    assert [(e["influencer"]["name"], e["value"]) for e in own] == [(first, "0.30")]


def test_another_organizations_campaign_is_not_found(gql, factory, db):
    w = _world(factory, db)
    other = factory.world()
    q = """query($c: ID!) { campaign(id: $c) { id
      performanceSeries(from: "2026-10-20T00:00:00Z", to: "2026-10-30T00:00:00Z",
        granularity: DAY) { clicks }
      performanceBreakdown(from: "2026-10-20T00:00:00Z", to: "2026-10-30T00:00:00Z",
        by: COUNTRY) { performance { clicks } }
      leaderboard(from: "2026-10-20T00:00:00Z", to: "2026-10-30T00:00:00Z",
        metric: CLICKS) { rank } } }"""
    assert gql(other["keys"]["ADMIN"], q, c=gid(w["campaign"])) == {"campaign": None}
    mine = gql(w["keys"]["ADMIN"], q, c=gid(w["campaign"]))["campaign"]
    assert sum(d["clicks"] for d in mine["performanceSeries"]) == 36
