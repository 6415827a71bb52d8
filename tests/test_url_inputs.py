"""Every URL input of every mutation refuses hosts on the local network and malformed hosts,
ports and userinfo (`api.domain.validation.public_url`), saying why, and changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from api.domain import validation
from api.settings import reset_settings
from tests.factories import gid

# (url, what the message says after the field's name)
BAD = [
    ("http://127.0.0.1/", "points at a loopback address (127.0.0.1)"),
    ("http://127.0.0.1:8000/graphql", "points at a loopback address (127.0.0.1)"),
    (
        "http://169.254.169.254/latest/meta-data/",
        "points at a link-local address (169.254.169.254)",
    ),
    ("http://0x7f000001/", "points at a loopback address (127.0.0.1 written as 0x7f000001)"),
    ("http://2130706433/", "points at a loopback address (127.0.0.1 written as 2130706433)"),
    ("http://0177.0.0.1/", "points at a loopback address (127.0.0.1 written as 0177.0.0.1)"),
    ("http://127.1/", "points at a loopback address (127.0.0.1 written as 127.1)"),
    ("http://0xa9.0xfe.0xa9.0xfe/", "points at a link-local address (169.254.169.254 written"),
    ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "points at a loopback address (127.0.0.1)"),
    ("http://[::1]/", "points at a loopback address (::1)"),
    ("http://[::ffff:127.0.0.1]/", "points at a loopback address (127.0.0.1 inside ::ffff:"),
    ("http://[64:ff9b::a9fe:a9fe]/", "points at a link-local address (169.254.169.254 inside"),
    ("http://[2002:a00:1::]/", "points at a private address (10.0.0.1 inside 2002:a00:1::)"),
    ("http://[fe80::1]/", "points at a link-local address (fe80::1)"),
    ("http://[fe80::1%25eth0]/", "has a malformed host ([fe80::1%25eth0]): no zone id"),
    ("http://[fd12:3456::1]/", "points at a private address (fd12:3456::1)"),
    ("http://10.0.0.1/", "points at a private address (10.0.0.1)"),
    ("http://172.16.5.4/", "points at a private address (172.16.5.4)"),
    ("https://192.168.1.1:8443/", "points at a private address (192.168.1.1)"),
    ("http://100.64.0.1/", "points at a shared (carrier-grade NAT) address (100.64.0.1)"),
    ("http://224.0.0.1/", "points at a multicast address (224.0.0.1)"),
    ("http://0.0.0.0/", "points at the unspecified address (0.0.0.0)"),
    ("http://[::]/", "points at the unspecified address (::)"),
    ("http://240.0.0.1/", "points at a reserved address (240.0.0.1)"),
    ("http://255.255.255.255/", "points at a reserved address (255.255.255.255)"),
    ("http://192.0.2.1/", "points at a reserved address (192.0.2.1)"),
    ("http://localhost/", "points at a local host name (localhost)"),
    ("http://LOCALHOST.:3000/", "points at a local host name (LOCALHOST.)"),
    ("http://api.localhost/", "points at a local host name (api.localhost)"),
    ("http://printer.local/", "points at a local host name (printer.local)"),
    ("http://metadata.google.internal/", "points at a local host name (metadata.google."),
    ("http://router.home.arpa/", "points at a local host name (router.home.arpa)"),
    ("http://intranet/", "has a host without a domain (intranet): use a public domain name"),
    ("https://shop.example.com:99999/", "has an invalid port (99999): a port is 1-65535"),
    ("https://shop.example.com:0/", "has an invalid port (0)"),
    ("https://shop.example.com:+443/", "has an invalid port (+443)"),
    ("https://shop.example.com:/", "has an invalid port ()"),
    ("http://evil@10.0.0.1/", "must not carry credentials or a user name (user@host)"),
    ("https://user:pw@shop.example.com/", "must not carry credentials"),
    ("https://@shop.example.com/", "must not carry credentials"),
    ("https://shop.example.com@evil.com/", "must not carry credentials"),
    ("http://1572395042/", "writes the IPv4 address 93.184.216.34 as 1572395042: write"),
    ("http://93.184.216.034/", "writes the IPv4 address 93.184.216.28 as 93.184.216.034"),
    ("http://1.2.3.4.5/", "has a malformed host (1.2.3.4.5)"),
    ("http://256.1.1.1/", "has a malformed host (256.1.1.1)"),
    ("http://example.123/", "has a malformed host (example.123)"),
    ("http://shop%2eexample.com/", "has a malformed host (shop%2eexample.com)"),
    ("http://a..b.com/", "has a malformed host (a..b.com)"),
    ("http://-shop.example.com/", "has a malformed host (-shop.example.com)"),
    ("http://[::1/", "has a malformed host"),
    ("http://:80/", "must be an absolute http(s) URL"),
    ("ftp://shop.example.com/file", "must be an absolute http(s) URL"),
    ("javascript:alert(1)", "must be an absolute http(s) URL"),
    ("//shop.example.com/", "must be an absolute http(s) URL"),
    ("https://shop.example.com/a b", "must not contain spaces, control characters or backslash"),
    ("https://shop.example.com\\@evil.com/", "must not contain spaces, control characters"),
    ("https://shop.example.com/\x00", "must not contain spaces, control characters"),
    ("https://shop.example.com/" + "a" * 2100, "is longer than 2048 characters"),
]

GOOD = [
    "https://shop.example.com/spring?utm=x#top",
    "HTTPS://SHOP.EXAMPLE.COM/",
    "https://shop.example.com./",
    "https://shop.example.com:8443/x",
    "http://93.184.216.34/",
    "https://[2606:4700:4700::1111]/",
    "https://b\u00fccher.example/stra\u00dfe",
    "https://xn--bcher-kva.example/",
    "https://0x.example.com/",  # a name whose first label looks like hex is still a name
]


@pytest.mark.parametrize(("url", "reason"), BAD)
def test_public_url_refuses(url, reason):
    with pytest.raises(validation.UrlRefused) as refused:
        validation.public_url(url)
    assert refused.value.reason.startswith(reason), refused.value.reason


@pytest.mark.parametrize("url", GOOD)
def test_public_url_accepts(url):
    assert validation.public_url(f"  {url} ") == url


def test_allow_private_urls_allows_the_local_network_but_not_bad_spellings():
    for url in (
        "http://localhost:3000/",
        "http://127.0.0.1:8000/",
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://intranet/",
        "http://169.254.169.254/",
    ):
        assert validation.public_url(url, allow_private=True) == url
    for url, reason in (
        ("http://0x7f000001/", "writes the IPv4 address 127.0.0.1 as 0x7f000001"),
        ("http://0.0.0.0/", "points at the unspecified address"),
        ("http://224.0.0.1/", "points at a multicast address"),
        ("http://evil@localhost/", "must not carry credentials"),
        ("http://localhost:99999/", "has an invalid port"),
    ):
        with pytest.raises(validation.UrlRefused) as refused:
            validation.public_url(url, allow_private=True)
        assert refused.value.reason.startswith(reason), (url, refused.value.reason)


# --- through every mutation with a URL input --------------------------------------------------

Case = tuple[str, str, Callable[[dict[str, Any], str], dict[str, Any]], str, str, str]


def _cases() -> list[Case]:
    """(mutation, role, input for a URL, userError field, message's name, selection)."""

    def campaign(w: dict[str, Any], url: str) -> dict[str, Any]:
        return {
            "brandId": gid(w["brand"]),
            "name": "Spring",
            "objective": "CONVERSIONS",
            "landingUrl": url,
        }

    def account(url: str) -> dict[str, Any]:
        return {"platform": "YOUTUBE", "handle": "urlcheck", "url": url}

    return [
        (
            "createBrand",
            "ADMIN",
            lambda w, u: {"name": "B", "defaultCurrency": "EUR", "website": u},
            "website",
            "website",
            "brand { id website }",
        ),
        (
            "updateBrand",
            "ADMIN",
            lambda w, u: {"brandId": gid(w["brand"]), "website": u},
            "website",
            "website",
            "brand { id website }",
        ),
        ("createCampaign", "MANAGER", campaign, "landingUrl", "landingUrl", "campaign { id }"),
        (
            "updateCampaign",
            "MANAGER",
            lambda w, u: {"campaignId": gid(w["campaign"]), "landingUrl": u},
            "landingUrl",
            "landingUrl",
            "campaign { id landingUrl }",
        ),
        (
            "createInfluencer",
            "MANAGER",
            lambda w, u: {"name": "A", "accounts": [account(u)]},
            "accounts[0].url",
            "url",
            "influencer { id }",
        ),
        (
            "addSocialAccount",
            "MANAGER",
            lambda w, u: {"influencerId": gid(w["influencer"]), "account": account(u)},
            "account.url",
            "url",
            "influencer { id }",
        ),
        (
            "issueTrackedLink",
            "MANAGER",
            lambda w, u: {"partnershipId": gid(w["partnership"]), "destinationUrl": u},
            "destinationUrl",
            "destinationUrl",
            "link { id }",
        ),
        (
            "submitContent",
            "INFLUENCER",
            lambda w, u: {"deliverableId": gid(w["deliverable"]), "caption": "#ad", "mediaUrl": u},
            "mediaUrl",
            "mediaUrl",
            "submission { id }",
        ),
        (
            "markDeliverablePublished",
            "MANAGER",
            lambda w, u: {"deliverableId": gid(w["deliverable"]), "url": u},
            "url",
            "url",
            "deliverable { id }",
        ),
    ]


CASES = _cases()


@pytest.fixture
def w(factory: Any) -> dict[str, Any]:
    world = factory.world()
    world["deliverable"] = factory.deliverable(world["partnership"])
    return world


def _counts(db: Any) -> list[int]:
    from sqlalchemy import func, select

    from api.models import (
        Brand,
        Campaign,
        ContentSubmission,
        Influencer,
        SocialAccount,
        TrackedLink,
    )

    db.expire_all()
    models = (Brand, Campaign, Influencer, SocialAccount, TrackedLink, ContentSubmission)
    return [db.scalar(select(func.count()).select_from(m)) for m in models]


@pytest.mark.parametrize(
    ("mutation", "role", "build", "field", "name", "select"), CASES, ids=[c[0] for c in CASES]
)
def test_every_url_input_refuses_every_bad_url(
    gql, db, w, mutation, role, build, field, name, select
):
    before = _counts(db)
    for url, reason in BAD:
        out = gql.mutate(w["keys"][role], mutation, build(w, url), select)
        assert [(e["field"], e["code"]) for e in out["userErrors"]] == [(field, "INVALID_URL")], (
            url,
            out,
        )
        message = out["userErrors"][0]["message"]
        if "\x00" in url:  # the mutations' own control-character check names the character
            assert message.endswith(f"{name} contains a control character (U+0000)"), message
            continue
        assert message.startswith(f"{name} {reason}"), (url, message)
    assert _counts(db) == before


@pytest.mark.parametrize(
    ("mutation", "role", "build", "field", "select"),
    [c[:4] + c[5:] for c in CASES if c[0] in ("createBrand", "createCampaign", "addSocialAccount")],
)
def test_url_inputs_accept_public_urls(gql, w, mutation, role, build, field, select):
    for n, url in enumerate(GOOD):
        data = build(w, url)
        if mutation == "addSocialAccount":
            data["account"]["handle"] = f"urlcheck{n}"
        out = gql.mutate(w["keys"][role], mutation, data, select)
        assert out["userErrors"] == [], (url, out)


def test_a_link_to_a_landing_url_stored_before_the_rule_is_refused(gql, db, w):
    w["campaign"].landing_url = "http://127.0.0.1:9000/"
    db.commit()
    out = gql.mutate(
        w["keys"]["MANAGER"],
        "issueTrackedLink",
        {"partnershipId": gid(w["partnership"])},
        "link { id }",
    )
    assert out["userErrors"] == [
        {
            "field": "destinationUrl",
            "message": "the campaign's landingUrl points at a loopback address (127.0.0.1)",
            "code": "INVALID_URL",
        }
    ]


@pytest.fixture
def private_urls_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "1")
    reset_settings()
    yield
    monkeypatch.delenv("ALLOW_PRIVATE_URLS")
    reset_settings()


def test_allow_private_urls_setting(gql, w, private_urls_allowed):
    key = w["keys"]["MANAGER"]
    data = CASES[2][2](w, "http://localhost:3000/shop")
    out = gql.mutate(key, "createCampaign", data, "campaign { landingUrl }")
    assert out["userErrors"] == [] and out["campaign"]["landingUrl"] == data["landingUrl"]
    data["landingUrl"] = "http://0x7f000001/"
    out = gql.mutate(key, "createCampaign", data, "campaign { landingUrl }")
    assert out["userErrors"][0]["code"] == "INVALID_URL"


def test_allow_private_urls_is_0_or_1(monkeypatch):
    from api.settings import Settings
    from tracker.settings import SettingError

    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "maybe")
    with pytest.raises(SettingError, match="ALLOW_PRIVATE_URLS"):
        Settings()
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "0")
    assert Settings().allow_private_urls is False
