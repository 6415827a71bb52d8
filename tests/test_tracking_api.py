"""Tracked links and discount codes through the GraphQL API, with what they publish to Redis."""

from __future__ import annotations

import itertools
import json
import logging
import re
from decimal import Decimal
from typing import Any

import pytest
from hashids import Hashids
from sqlalchemy import event, func, select

from api.domain import validation
from api.graphql.relay import decode_id
from api.models import DiscountCode, TrackedLink
from api.models.enums import Role
from api.settings import get_settings
from api.tracking import codes
from tests.factories import gid
from tests.redis_server import free_port
from tests.tracking_fixtures import redis_env_fixture  # noqa: F401 - redis_env
from tracker import keys
from tracker.events import LinkRecord

LINK = (
    "link { id code url destinationUrl active createdAt deactivatedAt "
    "utm { source medium campaign content } }"
)
CODE = "discountCode { id code percentOff active deactivatedAt }"
URL_RE = re.compile(r"[A-Za-z0-9_-]+")


@pytest.fixture
def world(factory: Any, redis_env: Any) -> dict[str, Any]:
    return dict(factory.world())


def issue_link(
    gql: Any,
    key: str,
    partnership: Any,
    url: str | None = "https://shop.example.com/spring",
    **extra: Any,
) -> Any:
    pid = partnership if isinstance(partnership, str) else gid(partnership)
    data: dict[str, Any] = {"partnershipId": pid}
    if url is not None:
        data["destinationUrl"] = url
    data.update(extra)
    return gql.mutate(key, "issueTrackedLink", data, LINK)


def issue_code(
    gql: Any, key: str, partnership: Any, percent: str = "15", code: str | None = None
) -> Any:
    data: dict[str, Any] = {"partnershipId": gid(partnership), "percentOff": percent}
    if code is not None:
        data["code"] = code
    return gql.mutate(key, "issueDiscountCode", data, CODE)


def codes_of(payload: Any) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def link_count(db: Any, partnership: Any) -> int:
    return db.scalar(select(func.count()).where(TrackedLink.partnership_id == partnership.id))


def stored(redis_env: Any, key: str) -> Any:
    raw = redis_env.client.get(key)
    return json.loads(raw) if raw is not None else None


# --- tracked links -------------------------------------------------------------------------


def test_issue_link_code_url_and_record(gql, world, redis_env):
    w = world
    settings = get_settings()
    first = issue_link(
        gql,
        w["keys"]["MANAGER"],
        w["partnership"],
        utm={"source": "instagram", "medium": "influencer", "campaign": " spring ", "content": ""},
    )
    second = issue_link(
        gql, w["keys"]["ADMIN"], w["partnership"], "https://www.shop.example.com/b?x=1"
    )
    assert first["userErrors"] == [] and second["userErrors"] == []
    a, b = first["link"], second["link"]
    ids: list[Any] = [decode_id(a["id"], "TrackedLink"), decode_id(b["id"], "TrackedLink")]
    hashids = Hashids(salt=settings.hashids_salt, min_length=7)
    for link, pk in zip((a, b), ids, strict=True):
        assert len(link["code"]) >= 7 and URL_RE.fullmatch(link["code"])
        assert hashids.decode(link["code"]) == (pk,)
        assert link["url"] == settings.tracker.public_url.rstrip("/") + "/c/" + link["code"]
        assert link["active"] is True and link["deactivatedAt"] is None and link["createdAt"]
    assert ids[1] == ids[0] + 1 and a["code"] != b["code"]
    # consecutive ids do not give codes that look consecutive
    assert a["code"][:-1] != b["code"][:-1]
    assert a["destinationUrl"] == "https://shop.example.com/spring"
    assert a["utm"] == {
        "source": "instagram",
        "medium": "influencer",
        "campaign": "spring",
        "content": None,
    }
    assert b["utm"] == {"source": None, "medium": None, "campaign": None, "content": None}

    record = stored(redis_env, keys.link(redis_env.prefix, a["code"]))
    p, c = w["partnership"], w["campaign"]
    assert record == {
        "link_id": ids[0],
        "partnership_id": p.id,
        "campaign_id": c.id,
        "brand_id": w["brand"].id,
        "organization_id": w["org"].id,
        "code": a["code"],
        "destination": "https://shop.example.com/spring",
        "utm": {
            "source": "instagram",
            "medium": "influencer",
            "campaign": "spring",
            "content": None,
        },
        "active": True,
    }
    parsed = LinkRecord.from_json(redis_env.client.get(keys.link(redis_env.prefix, b["code"])))
    assert parsed.link_id == ids[1] and parsed.active


def test_deactivate_link_publishes_inactive_record(gql, world, redis_env):
    w = world
    link = issue_link(gql, w["keys"]["MANAGER"], w["partnership"])["link"]
    key = keys.link(redis_env.prefix, link["code"])
    out = gql.mutate(w["keys"]["MANAGER"], "deactivateTrackedLink", {"linkId": link["id"]}, LINK)
    assert out["userErrors"] == []
    assert out["link"]["active"] is False and out["link"]["deactivatedAt"]
    assert stored(redis_env, key)["active"] is False
    assert not LinkRecord.from_json(redis_env.client.get(key)).active
    # deactivating again changes nothing, and republishes the same record
    redis_env.client.delete(key)
    again = gql.mutate(w["keys"]["ADMIN"], "deactivateTrackedLink", {"linkId": link["id"]}, LINK)
    assert again["userErrors"] == []
    assert again["link"]["deactivatedAt"] == out["link"]["deactivatedAt"]
    assert stored(redis_env, key)["active"] is False


def test_a_link_deactivated_through_the_api_stops_on_every_tracker_within_the_ttl(
    gql, world, redis_env, tmp_path
):
    """Two tracker processes, each with its own link cache: both stop redirecting a link the
    API deactivated once their cached entry is older than TRACKER_CACHE_TTL."""
    import asyncio
    import time

    import httpx

    from tests.tracker.helpers import BROWSER_UA, lifespan
    from tracker.app import create_app
    from tracker.settings import RedisSettings, TrackerSettings

    ttl = 0.5
    link = issue_link(gql, world["keys"]["MANAGER"], world["partnership"])["link"]
    path = f"/c/{link['code']}"

    def settings(name: str) -> TrackerSettings:
        return TrackerSettings(
            redis=RedisSettings(url=redis_env.url, cluster_url="", prefix=redis_env.prefix),
            spool_dir=str(tmp_path / name),
            ip_hash_key="test-ip-hash-key",
            cache_ttl_seconds=ttl,
            flush_delay_ms=1.0,
        )

    async def scenario() -> tuple[list[int], list[int], float]:
        apps = [create_app(settings("one")), create_app(settings("two"))]
        async with lifespan(apps[0]), lifespan(apps[1]):
            clients = [
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                    base_url="http://t.example",
                )
                for app in apps
            ]
            headers = {"user-agent": BROWSER_UA}
            before = [(await c.get(path, headers=headers)).status_code for c in clients]
            out = gql.mutate(
                world["keys"]["MANAGER"], "deactivateTrackedLink", {"linkId": link["id"]}, LINK
            )
            assert out["userErrors"] == []
            deactivated = time.monotonic()
            # each tracker sees the deactivation once its cached entry is older than the TTL
            while True:
                after = [(await c.get(path, headers=headers)).status_code for c in clients]
                if after == [404, 404] or time.monotonic() - deactivated > 5 * ttl:
                    break
                await asyncio.sleep(0.02)
            took = time.monotonic() - deactivated
            for client in clients:
                await client.aclose()
        return before, after, took

    before, after, took = asyncio.run(scenario())
    assert before == [302, 302]
    assert after == [404, 404]
    assert took < 2 * ttl  # the TTL (less the time the mutation took), and a loaded machine


def test_destination_defaults_to_landing_url_and_respects_allowed_domains(gql, factory, redis_env):
    w = factory.world()
    out = issue_link(gql, w["keys"]["MANAGER"], w["partnership"], url=None)
    assert out["link"]["destinationUrl"] == w["campaign"].landing_url

    campaign = factory.campaign(
        w["brand"],
        landing_url="https://example.com/x",
        allowed_domains=["example.com", "other-shop.org"],
    )
    partnership = factory.partnership(campaign, w["influencer"])
    key = w["keys"]["MANAGER"]
    for ok in ("https://example.com/a", "https://deep.sub.example.com/", "http://other-shop.org/p"):
        assert issue_link(gql, key, partnership, ok)["userErrors"] == [], ok
    for bad in (
        "https://notother-shop.org/",
        "https://example.co/",
        "https://other-shop.org.evil.com/",
    ):
        assert codes_of(issue_link(gql, key, partnership, bad)) == ["INVALID_URL"], bad


BAD_DESTINATIONS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "//evil.com/spring",
    "///evil.com",
    "https:/evil.com",
    "https:evil.com",
    "https://evil.com/",
    "https://example.com/",  # the parent of the landing host is not allowed by default
    "https://shop.example.com.evil.com/",
    "https://shop.example.com.xn--80ak6aa92e.com/",
    "https://evil.com@shop.example.com/",
    "https://shop.example.com@evil.com/",
    "https://@shop.example.com/",
    "https://user:pass@shop.example.com/",
    "https://evil.com%40shop.example.com/",
    "https://shop%2eexample%2ecom/",
    "https://shop.example.com\\@evil.com/",
    "https:\\\\evil.com",
    "https://shop.ex\u0430mple.com/",  # a Cyrillic a
    "https://\u0455hop.example.com/",  # a Cyrillic s
    "https://shop.example.com\u3002evil.com/",
    "https://shop.example.com/a\r\nSet-Cookie: x=1",
    "https://shop.example.com/a b",
    "https://shop.example.com/\x00",
    "https://shop.example.com:99999/",
    "https://[::1]/",
    "http://127.0.0.1/",
    "ftp://shop.example.com/file",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "mailto:someone@shop.example.com",
    "/spring",
    "spring/sale",
    "shop.example.com/spring",
    "",
    "   ",
    "https://shop.example.com/" + "a" * 2100,
]


def test_every_bad_destination_is_invalid_url_and_creates_nothing(gql, db, world, redis_env):
    w = world
    before_rows, before_keys = link_count(db, w["partnership"]), redis_env.keys()
    for url in BAD_DESTINATIONS:
        out = issue_link(gql, w["keys"]["MANAGER"], w["partnership"], url)
        assert out["link"] is None, url
        assert [(e["field"], e["code"]) for e in out["userErrors"]] == [
            ("destinationUrl", "INVALID_URL")
        ], url
    assert link_count(db, w["partnership"]) == before_rows
    assert redis_env.keys() == before_keys


def test_redirect_url_helper():
    allowed = ["shop.example.com"]
    assert validation.redirect_url(" https://shop.example.com/x?y=1#z ", allowed) == (
        "https://shop.example.com/x?y=1#z"
    )
    assert validation.redirect_url("HTTPS://WWW.SHOP.EXAMPLE.COM/", allowed)
    assert validation.redirect_url("http://127.0.0.1:8080/x", ["127.0.0.1"])
    for url in BAD_DESTINATIONS:
        assert validation.redirect_url(url, allowed) is None, url


def test_utm_values_are_checked(gql, db, world):
    w = world
    out = issue_link(gql, w["keys"]["MANAGER"], w["partnership"], utm={"source": "x" * 201})
    assert [(e["field"], e["code"]) for e in out["userErrors"]] == [("utm.source", "TOO_LONG")]
    out = issue_link(gql, w["keys"]["MANAGER"], w["partnership"], utm={"content": "a\nb"})
    assert [(e["field"], e["code"]) for e in out["userErrors"]] == [("utm.content", "INVALID")]
    out = issue_link(gql, w["keys"]["MANAGER"], w["partnership"], utm={"medium": "y" * 200})
    assert out["userErrors"] == [] and out["link"]["utm"]["medium"] == "y" * 200


def test_partnership_and_campaign_must_be_under_way(gql, factory, redis_env):
    w = factory.world()
    key = w["keys"]["MANAGER"]
    for status, ok in (
        ("INVITED", False),
        ("DECLINED", False),
        ("ACCEPTED", True),
        ("COMPLETED", False),
        ("TERMINATED", False),
    ):
        p = factory.partnership(factory.campaign(w["brand"]), w["influencer"], status=status)
        link, code = issue_link(gql, key, p), issue_code(gql, key, p, code=None)
        expected = [] if ok else ["PARTNERSHIP_NOT_ACTIVE"]
        assert codes_of(link) == expected and codes_of(code) == expected, status
    campaign_statuses = (
        ("DRAFT", True),
        ("PAUSED", True),
        ("COMPLETED", False),
        ("CANCELLED", False),
    )
    for status, ok in campaign_statuses:
        p = factory.partnership(factory.campaign(w["brand"], status=status), w["influencer"])
        expected = [] if ok else ["CAMPAIGN_ENDED"]
        assert codes_of(issue_link(gql, key, p)) == expected, status
        assert codes_of(issue_code(gql, key, p, percent="10")) == expected, status


# --- discount codes ------------------------------------------------------------------------


def test_discount_code_issue_publish_and_deactivate(gql, world, redis_env):
    w = world
    out = issue_code(gql, w["keys"]["MANAGER"], w["partnership"], percent="12.5", code=" maya125 ")
    assert out["userErrors"] == []
    dc = out["discountCode"]
    assert dc["code"] == "MAYA125" and Decimal(dc["percentOff"]) == Decimal("12.5") and dc["active"]
    assert decode_id(dc["id"], "DiscountCode") > 0
    # Not sent to the tracker, which passes a postback's code on for the worker to look up.
    assert list(redis_env.client.scan_iter(match=redis_env.prefix + ":dcode:*")) == []
    off = gql.mutate(
        w["keys"]["ADMIN"], "deactivateDiscountCode", {"discountCodeId": dc["id"]}, CODE
    )
    assert off["userErrors"] == [] and off["discountCode"]["active"] is False
    assert off["discountCode"]["deactivatedAt"]
    assert list(redis_env.client.scan_iter(match=redis_env.prefix + ":dcode:*")) == []


def test_discount_code_validation(gql, db, world):
    w = world
    key, p = w["keys"]["MANAGER"], w["partnership"]
    for bad in ("AB1", "MAYA-15", "MAYA 15", "X" * 25, "MAYÄ15", "", "   ", "maya15!"):
        out = issue_code(gql, key, p, code=bad)
        assert [(e["field"], e["code"]) for e in out["userErrors"]] == [("code", "INVALID")], bad
    for bad in ("0", "-5", "100.01", "12.345", "0.001", "1000"):
        out = issue_code(gql, key, p, percent=bad, code="GOODCODE")
        assert [(e["field"], e["code"]) for e in out["userErrors"]] == [
            ("percentOff", "OUT_OF_RANGE")
        ], bad
    assert db.scalar(select(func.count()).where(DiscountCode.partnership_id == p.id)) == 0
    for percent, shown in (("100", "100"), ("0.01", "0.01"), ("15.50", "15.5")):
        out = issue_code(gql, key, p, percent=percent, code=f"OK{percent.replace('.', '')}X")
        assert out["userErrors"] == []
        assert Decimal(out["discountCode"]["percentOff"]) == Decimal(shown)


def test_discount_codes_are_unique_per_brand_case_insensitively(gql, factory, redis_env):
    w = factory.world()
    key = w["keys"]["MANAGER"]
    other_influencer = factory.influencer(w["org"])
    same_brand = factory.partnership(factory.campaign(w["brand"]), other_influencer)
    assert issue_code(gql, key, w["partnership"], code="MAYA15")["userErrors"] == []
    for code, partnership in (("maya15", w["partnership"]), ("Maya15", same_brand)):
        out = issue_code(gql, key, partnership, code=code)
        assert [(e["field"], e["code"]) for e in out["userErrors"]] == [("code", "DUPLICATE")]
    # a deactivated code still holds its name
    dc = issue_code(gql, key, w["partnership"], code="SPRING10", percent="10")["discountCode"]
    gql.mutate(key, "deactivateDiscountCode", {"discountCodeId": dc["id"]}, CODE)
    assert codes_of(issue_code(gql, key, same_brand, code="spring10")) == ["DUPLICATE"]
    # the same code in another brand of the organization is fine
    other_brand = factory.brand(w["org"])
    elsewhere = factory.partnership(factory.campaign(other_brand), w["influencer"])
    assert issue_code(gql, key, elsewhere, code="maya15")["discountCode"]["code"] == "MAYA15"


def test_unique_constraint_is_the_last_guard(gql, db, world, monkeypatch):
    """Two issues racing for one code: the loser gets DUPLICATE, not a 500."""
    w = world
    key = w["keys"]["MANAGER"]
    assert issue_code(gql, key, w["partnership"], code="RACE15")["userErrors"] == []
    # as if the other transaction had not committed yet when this one looked
    monkeypatch.setattr(codes, "default_code_prefix", lambda handle, bps: "NOTHINGTAKEN")
    monkeypatch.setattr(codes, "default_code_candidates", lambda handle, bps: iter(["RACE15"]))
    out = issue_code(gql, key, w["partnership"])
    assert [(e["field"], e["code"]) for e in out["userErrors"]] == [("code", "DUPLICATE")]
    assert (
        db.scalar(
            select(func.count()).where(
                DiscountCode.code == "RACE15", DiscountCode.brand_id == w["brand"].id
            )
        )
        == 1
    )


def test_default_code_from_largest_account(gql, factory, redis_env):
    w = factory.world()
    key = w["keys"]["MANAGER"]
    maya = factory.influencer(w["org"], accounts=0)
    factory.account(maya, handle="small.one", followers=900)
    factory.account(maya, handle="maya.beauty_fr", followers=50_000, platform="TIKTOK")
    p = factory.partnership(w["campaign"], maya)
    codes = [issue_code(gql, key, p, percent="15")["discountCode"]["code"] for _ in range(3)]
    assert codes == ["MAYABEAUTYFR15", "MAYABEAUTYFR152", "MAYABEAUTYFR153"]
    # an explicit code that a default would take makes the default skip it
    assert issue_code(gql, key, p, percent="20", code="mayabeautyfr20")["userErrors"] == []
    assert issue_code(gql, key, p, percent="20")["discountCode"]["code"] == "MAYABEAUTYFR202"
    assert issue_code(gql, key, p, percent="12.5")["discountCode"]["code"] == "MAYABEAUTYFR125"


def test_default_code_rules():
    def take(handle: str, bps: int, n: int = 3) -> list[str]:
        return list(itertools.islice(codes.default_code_candidates(handle, bps), n))

    assert take("@Maya", 1500) == ["MAYA15", "MAYA152", "MAYA153"]
    long = take("a" * 40, 1000, 2)
    assert long == ["A" * 22 + "10", "A" * 21 + "102"] and all(len(c) <= 24 for c in long)
    assert take("__", 500, 1) == ["VOUCH5"]
    assert take("x", 500, 1) == ["XVOUCH5"]
    assert take(None, 10000, 1) == ["VOUCH100"]
    for handle, bps in (("maya", 1500), ("a" * 40, 1250), ("", 1)):
        prefix = codes.default_code_prefix(handle, bps)
        assert all(
            c.startswith(prefix) and codes.normalize_code(c) == c
            for c in codes.default_code_candidates(handle, bps)
        )
    assert codes.percent_to_bps(Decimal("15")) == 1500
    assert codes.percent_to_bps(Decimal("NaN")) is None
    assert str(codes.bps_to_percent(10000)) == "100"
    assert str(codes.bps_to_percent(1250)) == "12.5"
    code = codes.link_code(42, "salt", 7)
    assert codes.link_id_of(code, "salt", 7) == 42
    assert codes.link_id_of(code, "other-salt", 7) is None


# --- roles and tenancy ---------------------------------------------------------------------

PARTNERSHIP_LINKS = """query($id: ID!) { partnership(id: $id) {
  links { id code url active } discountCodes { id code percentOff active } } }"""
NODE = (
    "query($id: ID!) { node(id: $id) { id ... on TrackedLink { code partnership { id } } "
    "... on DiscountCode { code } } }"
)


def test_role_matrix(gql, factory, world):
    w = world
    link = issue_link(gql, w["keys"]["ADMIN"], w["partnership"])["link"]
    dc = issue_code(gql, w["keys"]["ADMIN"], w["partnership"], code="ROLES15")["discountCode"]
    for role in ("FINANCE", "INFLUENCER"):
        key = w["keys"][role]
        assert codes_of(issue_link(gql, key, w["partnership"])) == ["FORBIDDEN"], role
        assert codes_of(issue_code(gql, key, w["partnership"], code="NOPE15")) == ["FORBIDDEN"]
        assert codes_of(gql.mutate(key, "deactivateTrackedLink", {"linkId": link["id"]}, LINK)) == [
            "FORBIDDEN"
        ]
        assert codes_of(
            gql.mutate(key, "deactivateDiscountCode", {"discountCodeId": dc["id"]}, CODE)
        ) == ["FORBIDDEN"]
    # the influencer reads their own links and codes
    seen = gql(w["keys"]["INFLUENCER"], PARTNERSHIP_LINKS, id=gid(w["partnership"]))["partnership"]
    assert [x["code"] for x in seen["links"]] == [link["code"]] and seen["links"][0]["active"]
    assert [x["code"] for x in seen["discountCodes"]] == ["ROLES15"]
    node = gql(w["keys"]["INFLUENCER"], NODE, id=link["id"])["node"]
    assert node["code"] == link["code"] and node["partnership"]["id"] == gid(w["partnership"])
    assert gql(w["keys"]["FINANCE"], NODE, id=dc["id"])["node"]["code"] == "ROLES15"
    # another influencer of the organization sees none of it
    other = factory.influencer(w["org"])
    other_key = factory.key(w["org"], Role.INFLUENCER, other)
    assert gql(other_key, PARTNERSHIP_LINKS, id=gid(w["partnership"]))["partnership"] is None
    assert gql(other_key, NODE, id=link["id"])["node"] is None
    assert gql(other_key, NODE, id=dc["id"])["node"] is None


def test_other_organizations_ids_are_not_found(gql, factory, world, redis_env):
    w, other = world, factory.world()
    link = issue_link(gql, w["keys"]["MANAGER"], w["partnership"])["link"]
    dc = issue_code(gql, w["keys"]["MANAGER"], w["partnership"], code="TENANT15")["discountCode"]
    key = other["keys"]["ADMIN"]
    before = redis_env.client.get(keys.link(redis_env.prefix, link["code"]))
    for pid in (gid(w["partnership"]), gid(other["campaign"]), "nonsense", link["id"]):
        out = issue_link(gql, key, pid)
        assert [(e["field"], e["code"]) for e in out["userErrors"]] == [
            ("partnershipId", "NOT_FOUND")
        ], pid
    out = gql.mutate(key, "deactivateTrackedLink", {"linkId": link["id"]}, LINK)
    assert [(e["field"], e["code"]) for e in out["userErrors"]] == [("linkId", "NOT_FOUND")]
    out = gql.mutate(key, "deactivateDiscountCode", {"discountCodeId": dc["id"]}, CODE)
    assert [(e["field"], e["code"]) for e in out["userErrors"]] == [("discountCodeId", "NOT_FOUND")]
    out = gql.mutate(key, "deactivateDiscountCode", {"discountCodeId": link["id"]}, CODE)
    assert codes_of(out) == ["NOT_FOUND"]
    assert gql(key, NODE, id=link["id"])["node"] is None
    assert redis_env.client.get(keys.link(redis_env.prefix, link["code"])) == before


def test_redis_failure_does_not_fail_the_mutation(gql, db, world, redis_env, monkeypatch, caplog):
    from api.settings import reset_settings
    from api.tracking import publish

    # the API's own client, pointed at a port nobody listens on
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    reset_settings()
    publish.reset_redis_client()
    key = world["keys"]["MANAGER"]
    try:
        with caplog.at_level(logging.WARNING, logger="vouch.publish"):
            out = issue_link(gql, key, world["partnership"])
    finally:
        monkeypatch.undo()
        reset_settings()
        publish.reset_redis_client()
    assert out["userErrors"] == [] and out["link"]["code"]
    assert db.scalar(select(TrackedLink.code).where(TrackedLink.code == out["link"]["code"]))
    assert redis_env.client.get(keys.link(redis_env.prefix, out["link"]["code"])) is None
    assert any("the worker retries" in r.getMessage() for r in caplog.records)
    assert gql.mutate(key, "deactivateTrackedLink", {"linkId": out["link"]["id"]}, LINK)["link"]
    assert stored(redis_env, keys.link(redis_env.prefix, out["link"]["code"]))["active"] is False


def test_nested_links_cost_the_same_statements_for_any_page(gql, factory, redis_env):
    from api.db import get_engine

    w = factory.world()
    for _ in range(5):
        p = factory.partnership(factory.campaign(w["brand"]), factory.influencer(w["org"]))
        issue_link(gql, w["keys"]["MANAGER"], p)
        issue_code(gql, w["keys"]["MANAGER"], p)
    query = (
        "query($n: Int) { partnerships(first: $n) { edges { node { "
        "links { code partnership { id } } discountCodes { code } } } } }"
    )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = get_engine()

    def run(n: int) -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            data = gql(w["keys"]["MANAGER"], query, n=n)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(data["partnerships"]["edges"]) == n
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    assert run(2) == run(6)
