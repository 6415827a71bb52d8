"""Disclosure checks and audience quality through the API."""

from __future__ import annotations

from datetime import timedelta

from api.db import utcnow
from api.influencers.audience import refresh_scores
from api.models import MetricSnapshot
from tests.factories import gid

CHECK = """query($input: CheckDisclosureInput!) {
  checkDisclosure(input: $input) {
  rulesVersion worstVerdict
  results { jurisdiction verdict findings { code message start end } } } }"""


def _check(gql, key, caption, jurisdictions, **extra):
    data = gql(
        key,
        CHECK,
        input={
            "caption": caption,
            "platform": "INSTAGRAM",
            "format": "POST",
            "connection": "PAID",
            "jurisdictions": jurisdictions,
            **extra,
        },
    )
    return {r["jurisdiction"]: r for r in data["checkDisclosure"]["results"]}, data


def test_check_disclosure_done_when_examples(gql, factory):
    key = factory.world()["keys"]["MANAGER"]
    results, data = _check(gql, key, "#ad Love this serum! #skincare", ["US", "UK", "FR", "DE"])
    assert data["checkDisclosure"]["rulesVersion"]
    assert results["US"]["verdict"] == "PASS" and results["UK"]["verdict"] == "PASS"
    assert results["FR"]["verdict"] == "FAIL" and results["DE"]["verdict"] == "FAIL"
    assert "Publicité" in " ".join(f["message"] for f in results["FR"]["findings"])
    assert any(
        w in " ".join(f["message"] for f in results["DE"]["findings"])
        for w in ("Werbung", "Anzeige")
    )
    results, _ = _check(gql, key, "#sp thanks @brand", ["US", "UK", "IE", "DE", "FR", "EU"])
    for jurisdiction, result in results.items():
        assert result["verdict"] == "FAIL", jurisdiction
        codes = [f["code"] for f in result["findings"]]
        assert "AMBIGUOUS_LABEL" in codes, (jurisdiction, codes)
        span = next(f for f in result["findings"] if f["code"] == "AMBIGUOUS_LABEL")
        assert (span["start"], span["end"]) == (0, 3)


def test_check_disclosure_in_the_new_markets_with_the_creators_comments(gql, factory):
    key = factory.world()["keys"]["INFLUENCER"]  # a creator checks as they type
    markets = ["ES", "IT", "NL", "CA", "AU", "BR"]
    results, _ = _check(gql, key, "#publi Mi rutina con @glowco", markets)
    assert {j: r["verdict"] for j, r in results.items()} == {
        "ES": "PASS",
        "IT": "FAIL",
        "NL": "FAIL",
        "CA": "FAIL",
        "AU": "FAIL",
        "BR": "PASS",
    }
    # A label only in the first comment does not count, and the finding says where it is.
    results, _ = _check(gql, key, "Nuova routine @glowco", ["IT"], comments=["Grazie!", "#adv"])
    (finding,) = results["IT"]["findings"]
    assert finding["code"] == "LABEL_ONLY_IN_COMMENT" and finding["start"] is None
    assert '"#adv"' in finding["message"]
    # Spelt out letter by letter: found, but for a reviewer.
    results, _ = _check(gql, key, "# a d v Nuova routine @glowco", ["IT"])
    assert results["IT"]["verdict"] == "NEEDS_REVIEW"
    assert [f["code"] for f in results["IT"]["findings"]] == ["OBFUSCATED_LABEL"]
    assert (results["IT"]["findings"][0]["start"], results["IT"]["findings"][0]["end"]) == (0, 7)
    # Every market by default.
    data = gql(key, CHECK, input={"caption": "#ad", "platform": "INSTAGRAM", "format": "POST"})
    assert len(data["checkDisclosure"]["results"]) == 12


def test_a_campaign_takes_the_new_markets_as_jurisdictions(gql, factory):
    w = factory.world()
    data = gql(
        w["keys"]["MANAGER"],
        """mutation($input: CreateCampaignInput!) { createCampaign(input: $input) {
          campaign { jurisdictions } userErrors { field code } } }""",
        input={
            "brandId": gid(w["brand"]),
            "name": "Verano",
            "objective": "CONVERSIONS",
            "landingUrl": "https://shop.example.com/verano",
            "jurisdictions": ["es", "BR", "CA"],
        },
    )["createCampaign"]
    assert data["userErrors"] == []
    assert data["campaign"]["jurisdictions"] == ["ES", "BR", "CA"]


def test_check_disclosure_bad_input_is_a_graphql_error(gql, factory):
    key = factory.world()["keys"]["MANAGER"]
    errors = gql.errors(
        key, CHECK, input={"caption": "x" * 5001, "platform": "INSTAGRAM", "format": "POST"}
    )
    assert "at most 5000" in errors[0]["message"]
    errors = gql.errors(
        key, CHECK, input={"caption": "#ad", "platform": "MYSPACE", "format": "POST"}
    )
    assert errors
    base = {"caption": "#ad", "platform": "INSTAGRAM", "format": "POST"}
    errors = gql.errors(key, CHECK, input={**base, "comments": ["x" * 5001]})
    assert "comment must be at most 5000" in errors[0]["message"]
    errors = gql.errors(key, CHECK, input={**base, "comments": ["#ad"] * 21})
    assert "at most 20 comments" in errors[0]["message"]
    errors = gql.errors(key, CHECK, input={**base, "jurisdictions": ["MX"]})
    assert errors


def _plant_fake(factory, org, followers, following, likes):
    inf = factory.influencer(org, accounts=0)
    account = factory.account(
        inf,
        followers=followers,
        following=following,
        avg_likes=likes,
        avg_comments=likes // 50,
        handle=f"acct{inf.id}",
    )
    return inf, account


def test_planted_fakes_rank_last_by_audience_quality(gql, factory, db):
    org = factory.org()
    genuine = []
    for i in range(12):
        followers = 60_000 + i * 9_000
        inf, _ = _plant_fake(factory, org, followers, 400 + i * 30, followers * 3 // 100)
        genuine.append(inf)
    fakes = []
    # Follow-for-follow with dead engagement; then a bought follower jump with flat likes.
    inf, _ = _plant_fake(factory, org, 80_000, 78_000, 150)
    fakes.append(inf)
    inf, account = _plant_fake(factory, org, 240_000, 600, 1_800)
    now = utcnow()
    for weeks, followers in ((6, 55_000), (4, 58_000), (2, 60_000), (1, 240_000)):
        db.add(
            MetricSnapshot(
                organization_id=org.id,
                social_account_id=account.id,
                captured_at=now - timedelta(weeks=weeks),
                followers=followers,
                avg_likes=1_800,
                avg_comments=36,
            )
        )
    db.commit()
    fakes.append(inf)
    refresh_scores(db, org.id)
    db.commit()
    key = factory.key(org, "MANAGER")
    data = gql(
        key,
        """{ influencers(first: 100, orderBy: {field: AUDIENCE_QUALITY, direction: DESC})
        { edges { node { id audienceQuality { score signals { code message weight } } } } } }""",
    )
    nodes = [e["node"] for e in data["influencers"]["edges"]]
    assert {n["id"] for n in nodes[-2:]} == {gid(f) for f in fakes}
    scores = [n["audienceQuality"]["score"] for n in nodes]
    assert scores == sorted(scores, reverse=True)
    worst = nodes[-1]["audienceQuality"]
    assert worst["signals"] and all(s["message"] and s["weight"] > 0 for s in worst["signals"])
    filtered = gql(
        key,
        "{ influencers(first: 100, filter: {minAudienceQuality: 80}) { edges { node { id } } } }",
    )
    ids = {e["node"]["id"] for e in filtered["influencers"]["edges"]}
    assert not ids & {gid(f) for f in fakes}
    assert {gid(g) for g in genuine} <= ids
