"""The number of SQL statements of a query does not grow with its page size (DataLoaders)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

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
    counter = {"n": 0}

    def before(*_: Any) -> None:
        counter["n"] += 1

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
    name performance(from: $from, to: $to) { clicks revenue { amount } }
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
    window = {"from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    counts = {}
    for n in (2, 12):
        with count_statements() as counter:
            data = gql(key, PERFORMANCE, n=n, **window)
        nodes = data["campaigns"]["nodes"]
        assert len(nodes) == n and all(c["performance"]["clicks"] == 0 for c in nodes)
        counts[n] = counter["n"]
    assert counts[2] == counts[12], counts
