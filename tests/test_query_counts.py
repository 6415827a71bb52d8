"""The number of SQL statements of a query does not grow with its page size (DataLoaders)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from api.accounts.keys import verified
from api.db import get_engine
from api.models import Influencer, Partnership, SocialAccount

QUERY = """
query($n: Int!) {
  influencers(first: $n, orderBy: {field: FOLLOWERS, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name tier engagementRate
      accounts { handle platform followers engagementRate tier snapshots { followers } }
      partnerships { status contract { version } deliverables { title }
        campaign { name status brand { name } compensationPlan { currency } } }
    } }
  }
}
"""


@contextmanager
def count_statements() -> Any:
    counter: dict[str, Any] = {"n": 0, "sql": []}

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counter["n"] += 1
        counter["sql"].append(statement.split("\n", 1)[0][:120])  # what a failure shows

    # Every counted request reads its key once: a key the process kept from an earlier request
    # may or may not still be believed (10 s, the keys' version in Redis), which is not what a
    # page costs.
    verified.clear()
    engine = get_engine()
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


def used_key(gql: Any, factory: Any, org: Any) -> str:
    """An ADMIN key that has made a request: a key's first request also records its last use
    (one UPDATE, then at most one a minute), which is not part of what a page costs."""
    key: str = factory.key(org, "ADMIN")
    gql(key, "{ viewer { role } }")
    return key


def test_statements_do_not_grow_with_page_size(gql, factory, db):
    org = factory.org()
    brand = factory.brand(org)
    campaigns = [factory.campaign(brand) for _ in range(3)]
    influencers = [
        Influencer(
            organization_id=org.id,
            name=f"Creator {i:03}",
            total_followers=1000 + i,
            max_followers=1000 + i,
            languages=[],
            niches=[],
            customer_ids=[],
        )
        for i in range(120)
    ]
    db.add_all(influencers)
    db.flush()
    db.add_all(
        SocialAccount(
            organization_id=org.id,
            influencer_id=inf.id,
            platform=platform,
            handle=f"h{inf.id}{platform.lower()}",
            handle_key=f"h{inf.id}{platform.lower()}",
            followers=1000 + inf.id,
        )
        for inf in influencers
        for platform in ("INSTAGRAM", "TIKTOK")
    )
    db.add_all(
        Partnership(
            organization_id=org.id,
            campaign_id=campaigns[i % 3].id,
            influencer_id=inf.id,
            status="ACTIVE",
            connection="PAID",
        )
        for i, inf in enumerate(influencers)
    )
    db.commit()
    key = used_key(gql, factory, org)

    counts = {}
    for n in (10, 100):
        with count_statements() as counter:
            data = gql(key, QUERY, n=n)
        assert len(data["influencers"]["edges"]) == n
        assert all(len(e["node"]["accounts"]) == 2 for e in data["influencers"]["edges"])
        assert all(len(e["node"]["partnerships"]) == 1 for e in data["influencers"]["edges"])
        counts[n] = counter["n"]
    assert counts[10] == counts[100], counts
    # key lookup, org thresholds, page, count, accounts, snapshots, partnerships, contracts,
    # deliverables, campaigns, brands: a fixed number, whatever the page size.
    assert counts[100] <= 14, counts


PERFORMANCE = """
query($n: Int!, $from: DateTime!, $to: DateTime!) {
  campaigns(first: $n) { nodes {
    name performance(from: $from, to: $to) { clicks revenue { amount } impressions cpm { amount } }
    partnerships { performance(from: $from, to: $to) { conversions }
      influencer { performance(from: $from, to: $to, currency: "EUR") { cost { amount } } } } } }
}
"""


def test_performance_of_a_page_is_a_fixed_number_of_statements(gql, factory, db):
    org = factory.org()
    brand = factory.brand(org)
    for _ in range(12):
        campaign = factory.campaign(brand)
        factory.partnership(campaign, factory.influencer(org))
    db.commit()
    key = used_key(gql, factory, org)

    def check(data: Any, n: int) -> None:
        nodes = data["campaigns"]["nodes"]
        assert len(nodes) == n and all(c["performance"]["clicks"] == 0 for c in nodes)

    counts = statements_per_page(gql, key, PERFORMANCE, check)
    assert counts[2] == counts[12], counts


def test_a_page_in_two_currencies_costs_what_one_currency_does(gql, factory, db):
    """Campaigns of an EUR and a GBP brand on one page: one performance batch for both
    currencies, each campaign's figures in its own currency."""
    from api.models.rollups import PerformanceRollup

    org = factory.org()
    hour = datetime(2026, 6, 1, 12, tzinfo=UTC)
    for currency, revenue in (("EUR", 1_000), ("GBP", 700)):
        brand = factory.brand(org, default_currency=currency)
        for _ in range(6):
            campaign = factory.campaign(brand)
            partnership = factory.partnership(campaign, factory.influencer(org))
            db.add(
                PerformanceRollup(
                    partnership_id=partnership.id,
                    link_id=0,
                    hour=hour,
                    currency=currency,
                    organization_id=org.id,
                    campaign_id=campaign.id,
                    influencer_id=partnership.influencer_id,
                    conversions=1,
                    revenue=revenue,
                    commission=100,
                    fees=0,
                )
            )
    db.commit()
    key = used_key(gql, factory, org)
    window = {"from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    query = """query($n: Int!, $from: DateTime!, $to: DateTime!) { campaigns(first: $n) {
      nodes { currency performance(from: $from, to: $to) { currency revenue { amount } } } } }"""
    counts = {}
    for n in (1, 12):  # the first campaign alone (one currency), then all (two)
        with count_statements() as counter:
            nodes = gql(key, query, n=n, **window)["campaigns"]["nodes"]
        counts[n] = counter["n"]
        assert len(nodes) == n
        for c in nodes:
            assert c["performance"]["currency"] == c["currency"]
            amount = {"EUR": "10.00", "GBP": "7.00"}[c["currency"]]
            assert c["performance"]["revenue"]["amount"] == amount, c
    assert {c["currency"] for c in nodes} == {"EUR", "GBP"}
    assert counts[1] == counts[12], counts


def statements_per_page(gql: Any, key: str, query: str, check: Any) -> dict[int, int]:
    """The statements of `query` over 2026 for pages of 2 and 12, each result `check`ed."""
    window = {"from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    counts = {}
    for n in (2, 12):
        with count_statements() as counter:
            data = gql(key, query, n=n, **window)
        check(data, n)
        counts[n] = counter["n"]
    return counts


POST_METRICS = """
query($n: Int!, $from: DateTime!, $to: DateTime!) {
  partnerships(first: $n) { nodes {
    performance(from: $from, to: $to) { impressions engagementRate ctr cpm { amount } }
    deliverables { metrics { likes engagementRate cost { amount } cpm { amount } cpe { amount } }
      metricsHistory { capturedAt likes } } } }
}
"""


def test_post_metrics_of_a_page_are_a_fixed_number_of_statements(gql, factory, db):
    from datetime import UTC, datetime, timedelta

    from api.models import PostMetricSnapshot

    org = factory.org()
    brand = factory.brand(org)
    published = datetime(2026, 6, 1, tzinfo=UTC)
    campaign = factory.campaign(brand)
    for _ in range(12):
        partnership = factory.partnership(campaign, factory.influencer(org))
        for _ in range(2):
            post = factory.deliverable(partnership, status="PUBLISHED", published_at=published)
            db.add_all(
                PostMetricSnapshot(
                    organization_id=org.id,
                    deliverable_id=post.id,
                    captured_at=published + timedelta(days=day),
                    impressions=1000 * day,
                    reach=500 * day,
                    likes=10 * day,
                    source="MANUAL",
                )
                for day in (1, 2, 3)
            )
    db.commit()
    key = used_key(gql, factory, org)

    def check(data: Any, n: int) -> None:
        nodes = data["partnerships"]["nodes"]
        assert len(nodes) == n
        assert all(p["performance"]["impressions"] == 6000 for p in nodes)  # 2 posts x 3000
        assert all(len(d["metricsHistory"]) == 3 for p in nodes for d in p["deliverables"])
        assert all(d["metrics"]["likes"] == 30 for p in nodes for d in p["deliverables"])

    counts = statements_per_page(gql, key, POST_METRICS, check)
    assert counts[2] == counts[12], counts


LIVE_POSTS = """
query($n: Int!) {
  partnerships(first: $n) { nodes { deliverables { breachedAt
    findings { kind reasons deliverable { id } partnership { id } }
    usageRights { channels state } } } }
  contentFindings(first: $n) { edges { node { kind deliverable { title } partnership { id } } } }
  usageRightsExpiring(within: 30, first: $n) { edges { node { usageRights { state } } } }
}
"""


def test_findings_and_usage_rights_of_a_page_are_a_fixed_number_of_statements(gql, factory, db):
    from datetime import timedelta

    from api.db import utcnow
    from api.models import ContentFinding, DeliverableUsageRights

    org = factory.org()
    brand = factory.brand(org)
    campaign = factory.campaign(brand)
    for i in range(12):
        partnership = factory.partnership(campaign, factory.influencer(org))
        post = factory.deliverable(partnership, status="PUBLISHED", published_at=utcnow())
        db.add(
            ContentFinding(
                organization_id=org.id,
                brand_id=brand.id,
                campaign_id=campaign.id,
                partnership_id=partnership.id,
                deliverable_id=post.id,
                kind="DISCLOSURE_REMOVED",
                subject=f"Deliverable:{post.id}",
                fingerprint=f"{i:064d}",
                source="MANUAL",
                evidence={"reasons": ["gone"]},
            )
        )
        db.add(
            DeliverableUsageRights(
                organization_id=org.id,
                deliverable_id=post.id,
                channels=["ORGANIC"],
                territories=["WORLDWIDE"],
                expires_at=utcnow() + timedelta(days=5 + i),
                basis="CONTRACT",
            )
        )
    db.commit()
    key = used_key(gql, factory, org)

    def check(data: Any, n: int) -> None:
        nodes = data["partnerships"]["nodes"]
        assert len(nodes) == n
        assert all(len(d["findings"]) == 1 for p in nodes for d in p["deliverables"])
        assert len(data["contentFindings"]["edges"]) == n
        assert len(data["usageRightsExpiring"]["edges"]) == n

    counts = statements_per_page(gql, key, LIVE_POSTS, check)
    # A page of 2 may load more: its findings (newest first) are not the first partnerships'
    # deliverables, which a page of 12 has loaded already. Never more for a larger page.
    assert counts[12] <= counts[2], counts


ANALYTICS = """
query($n: Int!, $from: DateTime!, $to: DateTime!) {
  campaigns(first: $n) { nodes {
    performanceSeries(from: $from, to: $to, granularity: DAY) {
      start clicks revenue { amount } engagements }
    byInfluencer: performanceBreakdown(from: $from, to: $to, by: INFLUENCER, first: 100) {
      key label performance { clicks cost { amount } engagements cpm { amount } } }
    byCountry: performanceBreakdown(from: $from, to: $to, by: COUNTRY) {
      key performance { clicks revenue { amount } } }
    leaderboard(from: $from, to: $to, metric: CLICKS, first: 100) {
      rank influencer { name } performance { clicks roi } }
    byCpe: leaderboard(from: $from, to: $to, metric: CPE, first: 100) {
      value performance { engagements cpe { amount } } }
    partnerships { performanceSeries(from: $from, to: $to, granularity: WEEK) { clicks reach } }
    brand { performanceBreakdown(from: $from, to: $to, by: LINK) {
      label performance { clicks } } } } }
}
"""


def test_series_breakdowns_and_leaderboards_are_a_fixed_number_of_statements(gql, factory, db):
    """1 campaign of 1 influencer, then 6 campaigns with up to 12 influencers each: rows,
    buckets, breakdown rows and leaderboard entries all grow, the statements do not."""
    from api.models import ClickDimensionRollup, ClickRollup, PostMetricSnapshot, TrackedLink
    from tests.rollups import roll_up_daily

    org = factory.org()
    brand = factory.brand(org, time_zone="Europe/Berlin")
    key = used_key(gql, factory, org)
    window = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    hour = datetime(2026, 11, 10, 12, tzinfo=UTC)

    def campaign_with(influencers: int) -> None:
        campaign = factory.campaign(brand)
        for i in range(influencers):
            partnership = factory.partnership(campaign, factory.influencer(org))
            link = TrackedLink(
                organization_id=org.id,
                brand_id=brand.id,
                campaign_id=campaign.id,
                partnership_id=partnership.id,
                code=f"q{campaign.id}x{i}",
                destination_url="https://shop.example.com",
            )
            db.add(link)
            db.flush()
            ids = {
                "organization_id": org.id,
                "link_id": link.id,
                "partnership_id": partnership.id,
                "campaign_id": campaign.id,
            }
            db.add(ClickRollup(hour=hour, clicks=i + 1, unique_clicks=1, bot_hits=0, **ids))
            post = factory.deliverable(partnership, status="PUBLISHED", published_at=hour)
            db.add(
                PostMetricSnapshot(
                    organization_id=org.id,
                    deliverable_id=post.id,
                    captured_at=hour,
                    reach=100,
                    likes=i + 1,
                    source="MANUAL",
                )
            )
            db.add(
                ClickDimensionRollup(
                    hour=hour,
                    dimension="COUNTRY",
                    value="A" + chr(65 + i),
                    clicks=i + 1,
                    unique_clicks=1,
                    **ids,
                )
            )
        db.commit()
        roll_up_daily(db, org.id)

    campaign_with(1)
    counts: dict[int, int] = {}
    statements: dict[int, list[str]] = {}
    for step in (1, 2):
        with count_statements() as counter:
            nodes = gql(key, ANALYTICS, n=100, **window)["campaigns"]["nodes"]
        counts[step] = counter["n"]
        statements[step] = counter["sql"]
        # Berlin days: 1 November to 1 December (00:00 UTC is 01:00 there)
        assert all(len(c["performanceSeries"]) == 31 for c in nodes)
        if step == 1:
            assert len(nodes) == 1 and len(nodes[0]["leaderboard"]) == 1
            for _ in range(5):
                campaign_with(12)
        else:
            assert len(nodes) == 6
            assert max(len(c["byInfluencer"]) for c in nodes) == 12
            assert max(len(c["leaderboard"]) for c in nodes) == 12
            assert max(e["performance"]["engagements"] for c in nodes for e in c["byCpe"]) == 12
            days = [d["engagements"] or 0 for c in nodes for d in c["performanceSeries"]]
            assert max(days) == sum(range(1, 13))  # a campaign's posts, all on one day
    assert counts[1] == counts[2], (counts, statements)
