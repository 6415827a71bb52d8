"""Discovery: every new filter and sort of `influencers(filter:, orderBy:)`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.db import utcnow
from api.models import AudienceSnapshot, CampaignCost, PerformanceRollup, SocialAccount
from tests.factories import gid

LIST = """query($f: InfluencerFilter, $o: InfluencerOrder) {
  influencers(first: 50, filter: $f, orderBy: $o) { totalCount edges { node { id } } } }"""


def _audience(db, account, *, countries=(), ages=(), genders=(), fake=None, days_ago=0):
    db.add(
        AudienceSnapshot(
            organization_id=account.organization_id,
            social_account_id=account.id,
            influencer_id=account.influencer_id,
            captured_at=utcnow() - timedelta(days=days_ago),
            countries=[list(c) for c in countries],
            age_bands=[list(a) for a in ages],
            genders=[list(g) for g in genders],
            fake_share=fake,
        )
    )
    db.commit()


def _world(factory, db):
    org = factory.org()
    fr = factory.influencer(org, accounts=0, niches=["beauty"], languages=["fr"])
    factory.account(fr, followers=50_000, avg_likes=2_500, avg_comments=0)  # 5 %
    us = factory.influencer(org, accounts=0, niches=["fitness"], languages=["en"])
    factory.account(us, platform="TIKTOK", followers=400_000, avg_likes=8_000, avg_comments=0)
    mixed = factory.influencer(org, accounts=0, niches=["beauty", "travel"], languages=["en"])
    factory.account(mixed, followers=10_000, avg_likes=100, avg_comments=0)  # 1 %
    by_influencer = {
        a.influencer_id: a
        for a in db.scalars(select(SocialAccount).where(SocialAccount.organization_id == org.id))
    }
    _audience(db, by_influencer[fr.id], countries=[("DE", 9_000)], days_ago=30)  # superseded
    _audience(
        db,
        by_influencer[fr.id],
        countries=[("FR", 7_000), ("BE", 1_000)],
        ages=[("18-24", 6_000), ("25-34", 4_000)],
        genders=[("FEMALE", 8_000), ("MALE", 2_000)],
    )
    _audience(
        db,
        by_influencer[us.id],
        countries=[("US", 8_000), ("FR", 500)],
        ages=[("25-34", 3_000), ("35-44", 7_000)],
        genders=[("MALE", 6_000), ("FEMALE", 4_000)],
    )
    _audience(db, by_influencer[mixed.id], countries=[("FR", 3_000), ("US", 3_000)])
    return org, fr, us, mixed


def _ids(gql, key, f=None, o=None):
    data = gql(key, LIST, f=f, o=o)["influencers"]
    return [e["node"]["id"] for e in data["edges"]]


def test_every_filter(gql, factory, db):
    org, fr, us, mixed = _world(factory, db)
    other = factory.org()
    factory.influencer(other, niches=["beauty"], languages=["fr"])  # never listed
    key = factory.key(org, "MANAGER")

    def found(**f):
        return set(_ids(gql, key, f))

    assert found(audienceCountry={"country": "fr"}) == {gid(fr), gid(us), gid(mixed)}
    assert found(audienceCountry={"country": "FR", "minShare": 3_000}) == {gid(fr), gid(mixed)}
    assert found(audienceCountry={"country": "FR", "minShare": 7_001}) == set()
    assert found(audienceCountry={"country": "DE"}) == set()  # only in an older snapshot
    assert found(audienceAgeBand={"band": "AGE_35_44", "minShare": 5_000}) == {gid(us)}
    assert found(audienceAgeBand={"band": "AGE_18_24"}) == {gid(fr)}
    assert found(audienceGender={"gender": "FEMALE", "minShare": 5_000}) == {gid(fr)}
    assert found(minEngagementRate="4", maxEngagementRate="5") == {gid(fr)}
    assert found(maxEngagementRate="1.5") == {gid(mixed)}
    assert found(minFollowers=20_000, maxFollowers=100_000) == {gid(fr)}
    assert found(niche="Beauty") == {gid(fr), gid(mixed)}
    assert found(platform="TIKTOK") == {gid(us)}
    assert found(language="EN") == {gid(us), gid(mixed)}
    assert found(language="en", niche="travel", audienceCountry={"country": "US"}) == {gid(mixed)}

    brand, other_brand = factory.brand(org), factory.brand(org)
    campaign = factory.campaign(brand)
    factory.partnership(campaign, fr, status="COMPLETED")
    factory.partnership(campaign, us, status="DECLINED")  # never worked together
    factory.partnership(factory.campaign(other_brand), mixed)
    assert found(workedWithBrandId=gid(brand)) == {gid(fr)}
    assert found(workedWithBrandId=gid(other_brand)) == {gid(mixed)}
    foreign = factory.brand(other)
    assert found(workedWithBrandId=gid(foreign)) == set()


def test_bad_filter_values_are_errors(gql, factory):
    org = factory.org()
    key = factory.key(org, "MANAGER")
    for f in (
        {"audienceCountry": {"country": "XX"}},
        {"audienceCountry": {"country": "FR", "minShare": -1}},
        {"audienceAgeBand": {"band": "AGE_18_24", "minShare": 10_001}},
        {"workedWithBrandId": "nope"},
    ):
        assert gql.errors(key, LIST, f=f), f
    assert gql.errors(key, LIST, o={"field": "ROI_WITH_BRAND"})  # needs a brand


def _roi(db, partnership, revenue, commission, gifted=0, currency="EUR"):
    db.add(
        PerformanceRollup(
            partnership_id=partnership.id,
            link_id=0,
            hour=utcnow().replace(minute=0, second=0, microsecond=0),
            currency=currency,
            organization_id=partnership.organization_id,
            campaign_id=partnership.campaign_id,
            influencer_id=partnership.influencer_id,
            conversions=1,
            revenue=revenue,
            commission=commission,
            fees=0,
        )
    )
    if gifted:
        db.add(
            CampaignCost(
                organization_id=partnership.organization_id,
                campaign_id=partnership.campaign_id,
                partnership_id=partnership.id,
                influencer_id=partnership.influencer_id,
                kind="GIFTED_PRODUCT",
                amount=gifted,
                currency=currency,
                idempotency_key=f"gift-{partnership.id}",
            )
        )
    db.commit()


def test_every_sort(gql, factory, db):
    org, fr, us, mixed = _world(factory, db)
    key = factory.key(org, "MANAGER")
    down = "DESC"
    assert _ids(gql, key, o={"field": "FOLLOWERS", "direction": down}) == [
        gid(us),
        gid(fr),
        gid(mixed),
    ]
    assert _ids(gql, key, o={"field": "ENGAGEMENT_RATE", "direction": down}) == [
        gid(fr),
        gid(us),
        gid(mixed),
    ]
    quality = _ids(gql, key, o={"field": "AUDIENCE_QUALITY", "direction": down})
    assert sorted(quality) == sorted([gid(fr), gid(us), gid(mixed)])

    brand = factory.brand(org)
    campaign = factory.campaign(brand)
    _roi(db, factory.partnership(campaign, fr), revenue=10_000, commission=1_000, gifted=1_000)
    _roi(db, factory.partnership(campaign, us), revenue=3_000, commission=1_000)
    _roi(db, factory.partnership(campaign, mixed), revenue=90_000, commission=1, currency="USD")
    roi = {"field": "ROI_WITH_BRAND", "brandId": gid(brand), "direction": down}
    # fr: (10,000 - 2,000) / 2,000 = 400 %; us: 200 %; mixed: no cost in EUR, sorts last.
    assert _ids(gql, key, o=roi) == [gid(fr), gid(us), gid(mixed)]
    assert _ids(gql, key, o={**roi, "direction": "ASC"}) == [gid(mixed), gid(us), gid(fr)]
    # The cursor carries the ROI: the second page starts after the first.
    page = gql(
        key,
        "query($o: InfluencerOrder) { influencers(first: 1, orderBy: $o) "
        "{ pageInfo { endCursor } } }",
        o=roi,
    )["influencers"]["pageInfo"]["endCursor"]
    rest = gql(
        key,
        "query($o: InfluencerOrder, $a: String) { influencers(first: 5, orderBy: $o, after: $a) "
        "{ edges { node { id } } } }",
        o=roi,
        a=page,
    )["influencers"]["edges"]
    assert [e["node"]["id"] for e in rest] == [gid(us), gid(mixed)]
