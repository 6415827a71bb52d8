"""recordPostMetrics, Deliverable.metrics / metricsHistory and the derived figures, through the
API: every bad input refused without a row written, idempotency, tenancy, self-reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.domain.post_metrics import MetricSource
from api.models import CampaignCost, Deliverable, PostMetricSnapshot
from api.models.ledger import CostKind
from tests import refusals
from tests.factories import gid

NOW = datetime.now(UTC).replace(microsecond=0)
PUBLISHED = NOW - timedelta(days=10)
FIELDS = (
    "metrics { capturedAt impressions reach views likes comments shares saves linkClicks "
    "followersAtPosting source recordedBy engagements engagementRate engagementRateByFollowers "
    "ctr cost { amount currency } cpm { amount } cpe { amount } cpv { amount } "
    "costPerClick { amount } } created"
)
MODELS = (PostMetricSnapshot,)


@pytest.fixture
def w(factory: Any) -> dict[str, Any]:
    world = factory.world()
    p = world["partnership"]
    world["published"] = factory.deliverable(
        p, status="PUBLISHED", published_at=PUBLISHED, published_url="https://ig.example/p/1"
    )
    world["draft"] = factory.deliverable(p, title="Draft post")
    return world


def reading(deliverable: Any, at: datetime, **counts: Any) -> dict[str, Any]:
    values = {"impressions": 1000, "reach": 800, "likes": 60, "comments": 10, "shares": 5}
    values.update(counts)
    return {"deliverableId": gid(deliverable), "capturedAt": at.isoformat(), **values}


def record(gql: Any, key: str, input: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = gql.mutate(key, "recordPostMetrics", input, FIELDS)
    return payload


def refused(gql, db, w, input, field, code, role="MANAGER"):
    return refusals.refused(
        gql, db, w, MODELS, role, "recordPostMetrics", input, field, code, "created"
    )


def gift(db: Any, w: dict[str, Any], amount: int) -> None:
    """Gifted product of `amount` cents to the world's partnership: its cost."""
    db.add(
        CampaignCost(
            organization_id=w["org"].id,
            campaign_id=w["campaign"].id,
            partnership_id=w["partnership"].id,
            influencer_id=w["influencer"].id,
            kind=CostKind.GIFTED_PRODUCT,
            amount=amount,
            currency="EUR",
            idempotency_key=f"gift:pm:{w['partnership'].id}:{amount}",
        )
    )
    db.commit()


def test_a_manager_records_a_snapshot_with_its_derived_figures(gql, db, w):
    gift(db, w, 10_000)
    at = NOW - timedelta(days=1)
    payload = record(
        gql,
        w["keys"]["MANAGER"],
        reading(w["published"], at, views=400, saves=5, linkClicks=30, followersAtPosting=4000),
    )
    assert payload["userErrors"] == [] and payload["created"] is True
    m = payload["metrics"]
    assert m["engagements"] == 80  # 60 + 10 + 5 + 5
    assert m["engagementRate"] == "10.00"  # 80 / 800
    assert m["engagementRateByFollowers"] == "2.00"  # 80 / 4000
    assert m["ctr"] == "3.00"  # 30 / 1000
    assert m["source"] == "MANUAL" and m["recordedBy"]
    # The one published deliverable carries the partnership's whole cost: 100.00 EUR.
    assert m["cost"] == {"amount": "100.00", "currency": "EUR"}
    assert m["cpm"] == {"amount": "100.00"}  # 10000 x 1000 / 1000 impressions
    assert m["cpe"] == {"amount": "1.25"}  # 10000 / 80
    assert m["cpv"] == {"amount": "0.25"}
    assert m["costPerClick"] == {"amount": "3.33"}  # 333.33 minor units, half-even


def test_the_same_snapshot_again_is_idempotent_and_other_numbers_conflict(gql, db, w):
    key = w["keys"]["MANAGER"]
    at = NOW - timedelta(days=2)
    first = record(gql, key, reading(w["published"], at))
    again = record(gql, key, reading(w["published"], at))
    assert first["created"] is True and again["created"] is False
    assert again["userErrors"] == [] and again["metrics"] == first["metrics"]
    refused(gql, db, w, reading(w["published"], at, likes=61), "capturedAt", "CONFLICT")
    assert db.query(PostMetricSnapshot).filter_by(organization_id=w["org"].id).count() == 1


@pytest.mark.parametrize(
    ("counts", "field", "code"),
    [
        ({"likes": -1}, "likes", "NEGATIVE"),
        ({"linkClicks": -5}, "linkClicks", "NEGATIVE"),
        ({"reach": 1001}, "reach", "OUT_OF_RANGE"),  # above the 1000 impressions
    ],
)
def test_bad_counters_are_refused(gql, db, w, counts, field, code):
    refused(gql, db, w, reading(w["published"], NOW - timedelta(days=1), **counts), field, code)


def test_bad_times_and_deliverables_are_refused(gql, db, w, factory):
    future = NOW + timedelta(hours=1)
    refused(gql, db, w, reading(w["published"], future), "capturedAt", "OUT_OF_RANGE")
    before = PUBLISHED - timedelta(minutes=1)
    refused(gql, db, w, reading(w["published"], before), "capturedAt", "OUT_OF_RANGE")
    refused(gql, db, w, reading(w["draft"], NOW), "deliverableId", "NOT_PUBLISHED")
    naive = reading(w["published"], NOW) | {"capturedAt": "2026-12-01T10:00:00"}
    refused(gql, db, w, naive, "capturedAt", "INVALID")
    other = factory.world()
    theirs = factory.deliverable(other["partnership"], status="PUBLISHED", published_at=PUBLISHED)
    refused(gql, db, w, reading(theirs, NOW), "deliverableId", "NOT_FOUND")
    refused(gql, db, w, reading(w["published"], NOW), None, "FORBIDDEN", role="FINANCE")


def test_counters_never_go_backwards_in_captured_at_order(gql, db, w):
    key = w["keys"]["MANAGER"]
    d = w["published"]
    assert record(gql, key, reading(d, NOW - timedelta(days=5), likes=50))["created"]
    assert record(gql, key, reading(d, NOW - timedelta(days=1), likes=90))["created"]
    refused(gql, db, w, reading(d, NOW, likes=80), "likes", "REGRESSION")  # after 90
    # Between the two: above the later snapshot's 90 is a regression too.
    refused(gql, db, w, reading(d, NOW - timedelta(days=3), likes=95), "likes", "REGRESSION")
    middle = record(gql, key, reading(d, NOW - timedelta(days=3), likes=70))
    assert middle["created"] and middle["userErrors"] == []


def test_an_influencer_reports_its_own_deliverables_only_as_self_reported(gql, db, w, factory):
    key = w["keys"]["INFLUENCER"]
    payload = record(gql, key, reading(w["published"], NOW, source="PLATFORM_API"))
    assert payload["userErrors"] == [] and payload["metrics"]["source"] == "SELF_REPORTED"
    other = factory.influencer(w["org"])
    theirs = factory.deliverable(
        factory.partnership(w["campaign"], other), status="PUBLISHED", published_at=PUBLISHED
    )
    refused(gql, db, w, reading(theirs, NOW), "deliverableId", "NOT_FOUND", role="INFLUENCER")


def test_metrics_is_the_latest_and_history_is_oldest_first(gql, db, w):
    d = w["published"]
    for days, likes in ((6, 10), (4, 20), (2, 30)):
        db.add(
            PostMetricSnapshot(
                organization_id=d.organization_id,
                deliverable_id=d.id,
                captured_at=NOW - timedelta(days=days),
                likes=likes,
                source=MetricSource.MANUAL,
            )
        )
    db.commit()
    query = """query($id: ID!) { node(id: $id) { ... on Deliverable {
        metrics { likes } all: metricsHistory { likes } two: metricsHistory(last: 2) { likes }
    } } }"""
    data = gql(w["keys"]["MANAGER"], query, id=gid(d))["node"]
    assert data["metrics"] == {"likes": 30}
    assert [m["likes"] for m in data["all"]] == [10, 20, 30]
    assert [m["likes"] for m in data["two"]] == [20, 30]
    assert gql.errors(w["keys"]["MANAGER"], query.replace("last: 2", "last: 101"), id=gid(d))
    draft = gql(w["keys"]["MANAGER"], query, id=gid(w["draft"]))["node"]
    assert draft == {"metrics": None, "all": [], "two": []}


def test_a_deliverable_cost_is_split_over_published_deliverables(db, w, factory):
    from api.content.post_metrics import deliverable_costs

    second = factory.deliverable(
        w["partnership"], status="PUBLISHED", published_at=PUBLISHED + timedelta(hours=1)
    )
    gift(db, w, 1001)
    costs = deliverable_costs(db, w["org"].id, [w["published"].id, second.id, w["draft"].id])
    # The earliest published takes the odd cent; the draft costs nothing of it.
    assert costs == {w["published"].id: ("EUR", 501), second.id: ("EUR", 500)}
    assert db.get(Deliverable, w["draft"].id).status == "DRAFT"


def snapshot(db: Any, deliverable: Any, at: datetime, **counts: Any) -> None:
    db.add(
        PostMetricSnapshot(
            organization_id=deliverable.organization_id,
            deliverable_id=deliverable.id,
            captured_at=at,
            source=MetricSource.MANUAL,
            **counts,
        )
    )
    db.commit()


PERFORMANCE = """query($id: ID!, $from: DateTime!, $to: DateTime!) { node(id: $id) {
  ... on Campaign { performance(from: $from, to: $to) {
    impressions reach views engagements engagementRate ctr cost { amount }
    cpm { amount } cpe { amount } cpv { amount } costPerConversion { amount } } } } }"""


def test_performance_sums_the_latest_snapshot_of_posts_published_in_the_range(gql, db, w, factory):
    gift(db, w, 10_000)
    d = w["published"]
    snapshot(db, d, NOW - timedelta(days=5), impressions=1000, reach=500, likes=10)
    snapshot(db, d, NOW - timedelta(days=1), impressions=4000, reach=2000, likes=80, comments=20)
    old = factory.deliverable(
        w["partnership"], status="PUBLISHED", published_at=NOW - timedelta(days=40)
    )
    snapshot(db, old, NOW - timedelta(days=1), impressions=99_000, likes=9000)
    # Another influencer's post in the campaign: in the manager's sums, not in A's share.
    other = factory.deliverable(
        factory.partnership(w["campaign"], factory.influencer(w["org"])),
        status="PUBLISHED",
        published_at=PUBLISHED,
    )
    snapshot(db, other, NOW - timedelta(days=1), impressions=6000, views=3000, likes=100)
    window = {
        "id": gid(w["campaign"]),
        "from": (NOW - timedelta(days=20)).isoformat(),
        "to": (NOW + timedelta(hours=2)).isoformat(),  # rounded down to the hour: past now
    }
    whole = gql(w["keys"]["MANAGER"], PERFORMANCE, **window)["node"]["performance"]
    assert whole["impressions"] == 10_000  # 4000 (latest of d) + 6000; `old` is before `from`
    assert whole["reach"] == 2000 and whole["views"] == 3000
    assert whole["engagements"] == 200  # 100 + 100
    assert whole["engagementRate"] == "5.00"  # 100 / 2000: only d reported reach
    assert whole["ctr"] is None  # nobody reported link clicks
    assert whole["cost"] == {"amount": "100.00"}
    assert whole["cpm"] == {"amount": "10.00"}  # 10000 x 1000 / 10000 impressions
    assert whole["cpe"] == {"amount": "0.50"}
    assert whole["cpv"] == {"amount": "0.03"}  # 3.33 cents, half-even to 3
    assert whole["costPerConversion"] is None  # no conversions
    own = gql(w["keys"]["INFLUENCER"], PERFORMANCE, **window)["node"]["performance"]
    assert (own["impressions"], own["engagements"], own["views"]) == (4000, 100, None)
    empty = window | {"to": (NOW - timedelta(days=15)).isoformat()}
    nothing = gql(w["keys"]["MANAGER"], PERFORMANCE, **empty)["node"]["performance"]
    assert nothing["impressions"] is None and nothing["cpm"] is None
