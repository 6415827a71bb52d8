"""recordAudienceSnapshot, the audience fields, and the fake share in audience quality."""

from __future__ import annotations

from datetime import timedelta

from api.db import utcnow
from tests.factories import gid

SELECT = """snapshot { capturedAt fakeShare countries { country share }
  ageBands { band share } genders { gender share } }
  account { suspiciousAudiencePct }"""

AGES = [
    {"band": "AGE_18_24", "share": 4_000},
    {"band": "AGE_25_34", "share": 4_000},
    {"band": "AGE_35_44", "share": 2_000},
]


def _record(gql, key, account, **fields):
    return gql.mutate(
        key, "recordAudienceSnapshot", {"socialAccountId": gid(account), **fields}, SELECT
    )


def test_snapshots_are_kept_and_the_latest_feeds_the_summary_and_quality(gql, factory):
    org = factory.org()
    influencer = factory.influencer(org, accounts=0)
    big = factory.account(influencer, followers=90_000)
    small = factory.account(influencer, followers=10_000)
    key = factory.key(org, "MANAGER")
    old = (utcnow() - timedelta(days=30)).isoformat()
    first = _record(
        gql, key, big, capturedAt=old, countries=[{"country": "de", "share": 10_000}], fakeShare=0
    )
    assert first["userErrors"] == []
    latest = _record(
        gql,
        key,
        big,
        countries=[{"country": "FR", "share": 6_000}, {"country": "US", "share": 2_000}],
        ageBands=AGES,
        genders=[{"gender": "FEMALE", "share": 7_000}, {"gender": "MALE", "share": 3_000}],
        fakeShare=4_000,
    )
    assert latest["userErrors"] == []
    assert latest["snapshot"]["countries"] == [
        {"country": "FR", "share": 6_000},
        {"country": "US", "share": 2_000},
    ]
    assert latest["account"]["suspiciousAudiencePct"] == "40.00"
    assert (
        _record(gql, key, small, countries=[{"country": "US", "share": 10_000}])["userErrors"] == []
    )
    data = gql(
        key,
        """query($id: ID!) { influencer(id: $id) {
          audience { fakeShare countries { country share } ageBands { band share } }
          audienceQuality { signals { code weight } }
          accounts { handle audience { fakeShare } audienceHistory { capturedAt } } } }""",
        id=gid(influencer),
    )["influencer"]
    # 90 % of the followers are on the big account: FR 54 %, US 18 % + 10 %, DE gone (old).
    assert data["audience"]["countries"] == [
        {"country": "FR", "share": 5_400},
        {"country": "US", "share": 2_800},
    ]
    assert data["audience"]["fakeShare"] == 4_000  # only the big account reports it
    assert [a["share"] for a in data["audience"]["ageBands"]] == [4_000, 4_000, 2_000]
    big_account = next(a for a in data["accounts"] if a["handle"] == big.handle)
    assert big_account["audience"]["fakeShare"] == 4_000
    assert len(big_account["audienceHistory"]) == 2  # the old snapshot is kept
    signals = data["audienceQuality"]["signals"]
    suspicious = [s for s in signals if s["code"] == "SUSPICIOUS_AUDIENCE"]
    assert suspicious and suspicious[0]["weight"] == 25  # 40 % - the 15 % baseline


def test_bad_audiences_change_nothing(gql, factory):
    org, other = factory.org(), factory.org()
    influencer = factory.influencer(org, accounts=0)
    account = factory.account(influencer)
    foreign = factory.account(factory.influencer(other, accounts=0))
    key = factory.key(org, "MANAGER")
    cases = [
        (
            {"countries": [{"country": "FR", "share": 7_000}, {"country": "US", "share": 5_000}]},
            "countries",
            "OUT_OF_RANGE",
        ),
        ({"countries": [{"country": "FR", "share": -5}]}, "countries[0].share", "OUT_OF_RANGE"),
        ({"countries": [{"country": "XX", "share": 100}]}, "countries[0].country", "INVALID"),
        ({"ageBands": AGES[:2]}, "ageBands", "OUT_OF_RANGE"),
        ({"fakeShare": 10_001}, "fakeShare", "OUT_OF_RANGE"),
        ({"capturedAt": (utcnow() + timedelta(days=1)).isoformat()}, "capturedAt", "INVALID"),
        ({"capturedAt": "2026-01-01T00:00:00"}, "capturedAt", "INVALID"),
    ]
    for fields, field, code in cases:
        payload = _record(gql, key, account, **fields)
        assert (payload["userErrors"][0]["field"], payload["userErrors"][0]["code"]) == (
            field,
            code,
        ), fields
    empty = _record(gql, key, account)
    assert (empty["userErrors"][0]["field"], empty["userErrors"][0]["code"]) == (None, "REQUIRED")
    payload = _record(gql, key, foreign, fakeShare=100)
    assert payload["userErrors"][0]["code"] == "NOT_FOUND"
    when = (utcnow() - timedelta(hours=1)).isoformat()
    assert _record(gql, key, account, capturedAt=when, fakeShare=100)["userErrors"] == []
    again = _record(gql, key, account, capturedAt=when, fakeShare=200)
    assert again["userErrors"][0]["code"] == "DUPLICATE"
    finance = _record(gql, factory.key(org, "FINANCE"), account, fakeShare=100)
    assert finance["userErrors"][0]["code"] == "FORBIDDEN"
    history = gql(
        key,
        "query($id: ID!) { node(id: $id) { ... on SocialAccount "
        "{ audienceHistory { fakeShare } } } }",
        id=gid(account),
    )["node"]["audienceHistory"]
    assert history == [{"fakeShare": 100}]


def test_an_influencer_key_reads_its_own_audience_only(gql, factory):
    org = factory.org()
    own, other = factory.influencer(org, accounts=0), factory.influencer(org, accounts=0)
    own_account, other_account = factory.account(own), factory.account(other)
    manager = factory.key(org, "MANAGER")
    for account, share in ((own_account, 1_000), (other_account, 9_000)):
        countries = [{"country": "FR", "share": share}]
        assert _record(gql, manager, account, countries=countries)["userErrors"] == []
    key = factory.key(org, "INFLUENCER", influencer=own)
    query = """query($a: ID!, $b: ID!) { a: node(id: $a) { ... on SocialAccount {
      audience { countries { share } } audienceHistory { fakeShare } } }
      b: node(id: $b) { ... on SocialAccount { audience { fakeShare } } }
      influencers(first: 10) { edges { node { audience { countries { share } } } } } }"""
    data = gql(key, query, a=gid(own_account), b=gid(other_account))
    assert data["a"]["audience"]["countries"] == [{"share": 1_000}]
    assert data["b"] is None
    assert [e["node"]["audience"]["countries"] for e in data["influencers"]["edges"]] == [
        [{"share": 1_000}]
    ]
    filtered = gql(
        key,
        '{ influencers(first: 10, filter: {audienceCountry: {country: "FR", minShare: 5000}}) '
        "{ totalCount } }",
    )
    assert filtered["influencers"]["totalCount"] == 0  # the other influencer is not listed


def test_audience_fields_cost_the_same_statements_for_1_or_10_influencers(gql, factory, db):
    from tests.test_query_counts import count_statements, used_key

    org = factory.org()
    manager = factory.key(org, "MANAGER")
    for _ in range(10):
        account = factory.account(factory.influencer(org, accounts=0))
        countries = [{"country": "FR", "share": 5_000}]
        assert (
            _record(gql, manager, account, countries=countries, fakeShare=300)["userErrors"] == []
        )
    key = used_key(gql, factory, org)
    query = """query($n: Int!) { influencers(first: $n) { nodes {
      audience { fakeShare countries { country share } }
      audienceQuality { score }
      accounts { audience { fakeShare } audienceHistory { capturedAt genders { share } } } } } }"""
    costs = []
    for n in (1, 10):
        with count_statements() as counter:
            nodes = gql(key, query, n=n)["influencers"]["nodes"]
        assert len(nodes) == n and all(node["audience"]["fakeShare"] == 300 for node in nodes)
        costs.append(counter["n"])
    assert costs[0] == costs[1], costs
