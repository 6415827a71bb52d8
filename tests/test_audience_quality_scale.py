"""Issue 19: audienceQuality on a page costs what the page costs, not what the organization does.

The peer medians it compares with are kept in `audience_peer_medians` when accounts change, so a
page of 50 reads the stored medians, its own accounts and their snapshots: the same statements
and the same rows for an organization of 100 influencers as for one of 10,000.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from api.db import get_engine, utcnow
from api.domain import audience_quality as aq
from api.influencers.audience import roster, thresholds_of
from api.influencers.derived import refresh_peer_medians, stored_peer_medians
from api.models import Influencer, MetricSnapshot, SocialAccount

PAGE = """{ influencers(first: 50) { edges { node { id
  audienceQuality { score signals { code message weight } } } } } }"""


def _seed(session: Session, org_id: int, n: int) -> None:
    """n influencers with an account and two metric snapshots each, by bulk insert; followers
    in four tiers whatever n, so both organizations have the same peer groups."""
    now = utcnow()
    followers = [(5_000, 20_000, 150_000, 600_000)[i % 4] + 37 * (i % 100) for i in range(n)]
    conn = session.connection()
    influencers = conn.execute(
        Influencer.__table__.insert().returning(
            Influencer.__table__.c.id, sort_by_parameter_order=True
        ),
        [
            {
                "organization_id": org_id,
                "name": f"Scale {org_id}-{i}",
                "languages": [],
                "niches": [],
                "customer_ids": [],
                "total_followers": followers[i],
                "max_followers": followers[i],
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ],
    )
    influencer_ids = influencers.scalars().all()
    accounts = conn.execute(
        SocialAccount.__table__.insert().returning(
            SocialAccount.__table__.c.id, sort_by_parameter_order=True
        ),
        [
            {
                "organization_id": org_id,
                "influencer_id": influencer_ids[i],
                "platform": "INSTAGRAM",
                "handle": f"scale{org_id}_{i}",
                "handle_key": f"scale{org_id}_{i}",
                "followers": followers[i],
                "following": 300 + i % 900,
                "posts": 120,
                "verified": False,
                "avg_likes": followers[i] * (1 + (i * 7919) % 90) // 1_000,
                "avg_comments": 5 + i % 40,
                "avg_views": 0,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ],
    )
    account_ids = accounts.scalars().all()
    conn.execute(
        MetricSnapshot.__table__.insert(),
        [
            {
                "organization_id": org_id,
                "social_account_id": account_ids[i],
                "captured_at": now - timedelta(days=7 * weeks),
                "followers": followers[i] - 1_000,
                "avg_likes": followers[i] * (1 + (i * 7919) % 90) // 1_000,
                "avg_comments": 5 + i % 40,
                "avg_views": 0,
                "posts_sampled": 12,
                "created_at": now,
            }
            for i in range(n)
            for weeks in (1, 2)
        ],
    )
    refresh_peer_medians(session, org_id)  # bulk inserts bypass the session hooks
    session.commit()


@contextmanager
def _counting() -> Any:
    """Statements sent and rows they returned, during the block."""
    counter = {"statements": 0, "rows": 0}

    def before(*_: Any) -> None:
        counter["statements"] += 1

    def rows(state: Any) -> Any:
        if not state.is_select:
            return None
        frozen = state.invoke_statement().freeze()
        counter["rows"] += len(frozen.data)
        return frozen()

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", before)
    event.listen(Session, "do_orm_execute", rows)
    try:
        yield counter
    finally:
        event.remove(Session, "do_orm_execute", rows)
        event.remove(engine, "before_cursor_execute", before)


def _page_cost(gql: Any, key: str) -> tuple[dict[str, int], list[Any]]:
    gql(key, "{ viewer { role } }")  # a key's first request records its use: not the page's
    with _counting() as counter:
        data = gql(key, PAGE)
    return counter, [e["node"]["audienceQuality"] for e in data["influencers"]["edges"]]


def test_audience_quality_page_cost_does_not_grow_with_the_organization(gql, factory, db):
    small, big = factory.org(), factory.org()
    _seed(db, small.id, 100)
    _seed(db, big.id, 10_000)
    small_cost, small_page = _page_cost(gql, factory.key(small, "MANAGER"))
    big_cost, big_page = _page_cost(gql, factory.key(big, "MANAGER"))
    assert len(small_page) == len(big_page) == 50
    assert big_cost["statements"] == small_cost["statements"], (small_cost, big_cost)
    assert big_cost["rows"] == small_cost["rows"], (small_cost, big_cost)
    assert big_cost["rows"] < 400  # the page's 50 accounts and 100 snapshots, and a few more

    # The stored medians are the ones the whole roster gives, so the scores are unchanged.
    thresholds = thresholds_of(db, big.id)
    by_influencer = roster(db, big.id)
    medians = aq.peer_medians([a for accs in by_influencer.values() for a in accs], thresholds)
    assert stored_peer_medians(db, big.id) == medians
    assert medians  # enough peers in the big organization for a median
    first_ids = sorted(by_influencer)[:50]
    expected = [aq.influencer_quality(by_influencer[i], medians, thresholds) for i in first_ids]
    assert [(q["score"], [s["message"] for s in q["signals"]]) for q in big_page] == [
        (q.score, [s.message for s in q.signals]) for q in expected if q
    ]
    assert any(q["signals"] for q in big_page)  # the medians matter: some are compared
