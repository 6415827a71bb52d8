"""Bad input to every brand, influencer and campaign mutation: a userError, and no row changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.models import Brand, Campaign, Influencer, MetricSnapshot, Partnership, SocialAccount
from tests.factories import gid


def _state(db):
    db.expire_all()
    rows = [
        (m.__tablename__, db.scalar(select(func.count()).select_from(m)))
        for m in (Brand, Influencer, SocialAccount, MetricSnapshot, Campaign)
    ]
    campaigns = [
        (c.id, c.name, c.status, c.budget_amount, c.compensation, c.hold_days)
        for c in db.scalars(select(Campaign).order_by(Campaign.id))
    ]
    influencers = [
        (i.id, i.name, i.email, i.country, i.total_followers)
        for i in db.scalars(select(Influencer).order_by(Influencer.id))
    ]
    overrides = [p.compensation_override for p in db.scalars(select(Partnership))]
    return rows, campaigns, influencers, overrides


def _cases(w, account):
    brand, campaign = gid(w["brand"]), gid(w["campaign"])
    inf = gid(w["influencer"])
    base = {
        "brandId": brand,
        "name": "Spring",
        "objective": "CONVERSIONS",
        "landingUrl": "https://shop.example.com/spring",
    }
    pct = {"kind": "PERCENT", "rateBps": 1000}
    return [
        ("createBrand", {"name": " ", "defaultCurrency": "EUR"}, "name", "REQUIRED"),
        (
            "createBrand",
            {"name": "B", "defaultCurrency": "EURO"},
            "defaultCurrency",
            "INVALID_CURRENCY",
        ),
        (
            "createBrand",
            {"name": "B", "defaultCurrency": "EUR", "website": "javascript:alert(1)"},
            "website",
            "INVALID_URL",
        ),
        ("updateBrand", {"brandId": "not-an-id", "name": "x"}, "brandId", "NOT_FOUND"),
        ("updateBrand", {"brandId": campaign, "name": "x"}, "brandId", "NOT_FOUND"),
        ("createInfluencer", {"name": ""}, "name", "REQUIRED"),
        ("createInfluencer", {"name": "A", "email": "nope"}, "email", "INVALID"),
        ("createInfluencer", {"name": "A", "country": "France"}, "country", "INVALID"),
        ("createInfluencer", {"name": "A", "languages": ["english"]}, "languages[0]", "INVALID"),
        (
            "createInfluencer",
            {
                "name": "A",
                "accounts": [{"platform": "INSTAGRAM", "handle": account.handle.upper()}],
            },
            "accounts[0].handle",
            "DUPLICATE",
        ),
        (
            "createInfluencer",
            {"name": "A", "accounts": [{"platform": "INSTAGRAM", "handle": "ok", "followers": -5}]},
            "accounts[0].followers",
            "NEGATIVE",
        ),
        (
            "createInfluencer",
            {
                "name": "A",
                "accounts": [
                    {"platform": "TIKTOK", "handle": "two"},
                    {"platform": "TIKTOK", "handle": "@TWO"},
                ],
            },
            "accounts",
            "DUPLICATE",
        ),
        ("updateInfluencer", {"influencerId": inf, "name": "  "}, "name", "REQUIRED"),
        (
            "updateInfluencer",
            {"influencerId": gid(w["brand"]), "name": "x"},
            "influencerId",
            "NOT_FOUND",
        ),
        (
            "addSocialAccount",
            {
                "influencerId": inf,
                "account": {"platform": account.platform, "handle": "@" + account.handle},
            },
            "account.handle",
            "DUPLICATE",
        ),
        (
            "addSocialAccount",
            {"influencerId": inf, "account": {"platform": "YOUTUBE", "handle": "bad handle!"}},
            "account.handle",
            "INVALID",
        ),
        (
            "addSocialAccount",
            {
                "influencerId": inf,
                "account": {"platform": "YOUTUBE", "handle": "fine", "url": "ftp://x"},
            },
            "account.url",
            "INVALID_URL",
        ),
        (
            "recordMetricSnapshot",
            {"socialAccountId": gid(account), "followers": -1},
            "followers",
            "NEGATIVE",
        ),
        (
            "recordMetricSnapshot",
            {
                "socialAccountId": gid(account),
                "followers": 10,
                "capturedAt": "2999-01-01T00:00:00Z",
            },
            "capturedAt",
            "INVALID",
        ),
        (
            "recordMetricSnapshot",
            {"socialAccountId": inf, "followers": 10},
            "socialAccountId",
            "NOT_FOUND",
        ),
        (
            "archiveInfluencer",
            {"influencerId": "SW5mbHVlbmNlcjo5OTk5OTk="},
            "influencerId",
            "NOT_FOUND",
        ),
        ("createCampaign", {**base, "brandId": inf}, "brandId", "NOT_FOUND"),
        ("createCampaign", {**base, "name": ""}, "name", "REQUIRED"),
        (
            "createCampaign",
            {**base, "landingUrl": "javascript:alert(1)"},
            "landingUrl",
            "INVALID_URL",
        ),
        ("createCampaign", {**base, "currency": "XXX"}, "currency", "INVALID_CURRENCY"),
        (
            "createCampaign",
            {**base, "budget": {"amount": "-5.00", "currency": "EUR"}},
            "budget.amount",
            "INVALID_AMOUNT",
        ),
        (
            "createCampaign",
            {**base, "budget": {"amount": "5.001", "currency": "EUR"}},
            "budget.amount",
            "INVALID_AMOUNT",
        ),
        (
            "createCampaign",
            {**base, "budget": {"amount": "5.00", "currency": "USD"}},
            "budget.currency",
            "INVALID_CURRENCY",
        ),
        (
            "createCampaign",
            {**base, "startsAt": "2026-12-01T00:00:00Z", "endsAt": "2026-11-01T00:00:00Z"},
            "endsAt",
            "INVALID",
        ),
        (
            "createCampaign",
            {**base, "jurisdictions": ["US", "MARS"]},
            "jurisdictions[1]",
            "INVALID",
        ),
        ("createCampaign", {**base, "allowedDomains": ["other.com"]}, "allowedDomains", "INVALID"),
        (
            "createCampaign",
            {**base, "attributionWindowDays": 0},
            "attributionWindowDays",
            "OUT_OF_RANGE",
        ),
        ("createCampaign", {**base, "holdDays": -1}, "holdDays", "OUT_OF_RANGE"),
        (
            "createCampaign",
            {**base, "compensationPlan": {"currency": "USD", "commission": pct}},
            "compensationPlan.currency",
            "INVALID_CURRENCY",
        ),
        (
            "createCampaign",
            {
                **base,
                "compensationPlan": {
                    "currency": "EUR",
                    "commission": {"kind": "PERCENT", "rateBps": 10001},
                },
            },
            "compensationPlan.commission.rateBps",
            "OUT_OF_RANGE",
        ),
        (
            "createCampaign",
            {
                **base,
                "compensationPlan": {
                    "currency": "EUR",
                    "flatFeePerDeliverable": "-1.00",
                    "commission": pct,
                },
            },
            "compensationPlan.flatFeePerDeliverable",
            "NEGATIVE",
        ),
        (
            "updateCampaign",
            {"campaignId": campaign, "landingUrl": "https://evil.com"},
            None,
            None,
        ),  # allowed: no allowed domains set, the landing URL decides
        (
            "transitionCampaign",
            {"campaignId": campaign, "status": "DRAFT"},
            "status",
            "INVALID_TRANSITION",
        ),
        ("setCompensationPlan", {"plan": {"currency": "EUR", "commission": pct}}, None, "REQUIRED"),
        (
            "setCompensationPlan",
            {
                "campaignId": campaign,
                "plan": {
                    "currency": "EUR",
                    "commission": {
                        "kind": "TIERED",
                        "tiers": [{"minMonthlyRevenue": "100.00", "rateBps": 500}],
                    },
                },
            },
            None,
            "INVALID",
        ),
        (
            "setCompensationPlan",
            {
                "partnershipId": gid(w["partnership"]),
                "plan": {"currency": "EUR", "commission": {"kind": "FLAT_PER_CONVERSION"}},
            },
            None,
            "REQUIRED",
        ),
    ]


def test_every_bad_input_is_a_user_error_and_changes_nothing(gql, factory, db):
    w = factory.world()
    account = db.scalars(
        select(SocialAccount).where(SocialAccount.influencer_id == w["influencer"].id)
    ).first()
    key = w["keys"]["ADMIN"]
    checked = 0
    for name, payload, field, code in _cases(w, account):
        if code is None:
            continue
        before = _state(db)
        select_ = "__typename"
        result = gql.mutate(key, name, payload, select_)
        errors = result["userErrors"]
        assert errors, (name, payload)
        assert errors[0]["code"] == code, (name, payload, errors)
        if field is not None:
            assert errors[0]["field"] == field, (name, payload, errors)
        assert errors[0]["message"]
        assert _state(db) == before, (name, payload)
        checked += 1
    assert checked >= 35


@pytest.mark.parametrize("status", ["COMPLETED", "CANCELLED"])
def test_terminal_campaigns_cannot_change(gql, factory, db, status):
    w = factory.world()
    db.get(Campaign, w["campaign"].id).status = status
    db.commit()
    before = _state(db)
    for target in ("ACTIVE", "PAUSED", "DRAFT"):
        result = gql.mutate(
            w["keys"]["ADMIN"],
            "transitionCampaign",
            {"campaignId": gid(w["campaign"]), "status": target},
            "__typename",
        )
        assert result["userErrors"][0]["code"] == "INVALID_TRANSITION"
    result = gql.mutate(
        w["keys"]["ADMIN"],
        "updateCampaign",
        {"campaignId": gid(w["campaign"]), "name": "late"},
        "__typename",
    )
    assert result["userErrors"][0]["code"] == "INVALID_TRANSITION"
    assert _state(db) == before


def test_wrong_types_are_graphql_errors_not_500(gql, factory):
    w = factory.world()
    response = gql.post(
        w["keys"]["ADMIN"], "mutation { createBrand(input: {name: 5}) { userErrors { code } } }"
    )
    assert response.status_code == 200
    assert response.json()["errors"]
    response = gql.post(
        w["keys"]["ADMIN"],
        'mutation { createCampaign(input: {brandId: "x", '
        'name: "n", objective: NOPE, landingUrl: "u"}) { userErrors { code } } }',
    )
    assert response.status_code == 200 and response.json()["errors"]


@pytest.mark.parametrize(
    "query",
    [
        '{ conversions(first: 5, filter: {from: "2026-01-01T00:00:00"}) { totalCount } }',
        '{ conversions(first: 5, filter: {to: "2026-01-01T00:00:00"}) { totalCount } }',
        '{ ledgerEntries(first: 5, filter: {from: "2026-01-01T00:00:00"}) { totalCount } }',
        '{ ledgerEntries(first: 5, filter: {to: "2026-01-01T00:00:00"}) { totalCount } }',
    ],
)
def test_a_time_without_a_zone_in_a_filter_is_an_error_not_a_crash(gql, factory, query):
    """Found by tests/test_fuzz.py: a naive datetime reached the UTC column type."""
    w = factory.world()
    [error] = gql.errors(w["keys"]["FINANCE"], query)
    assert "needs a time zone" in error["message"]


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        ('{search: "ma\\u0000ya"}', "search contains a control character (U+0000)"),
        ('{niche: "be\\u0000auty"}', "niche contains a control character (U+0000)"),
        ('{country: "F\\u0000R"}', "country contains a control character (U+0000)"),
        ('{minEngagementRate: "NaN"}', "minEngagementRate"),
        ('{minEngagementRate: "1e999999999"}', "minEngagementRate"),
    ],
)
def test_bad_influencer_filters_are_errors_not_crashes(gql, factory, filter_, message):
    """A NUL reached PostgreSQL (which refuses it) and a hostile decimal the comparison."""
    w = factory.world()
    query = f"{{ influencers(first: 5, filter: {filter_}) {{ totalCount }} }}"
    [error] = gql.errors(w["keys"]["MANAGER"], query)
    assert message in error["message"] and "Unexpected" not in error["message"]
