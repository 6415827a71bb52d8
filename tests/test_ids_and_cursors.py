"""Global ids and cursors are canonical and checked: only the exact text the API made is one, and
anything else is a BAD_USER_INPUT error (a NOT_FOUND user error in a mutation), never an
Unexpected error from the driver."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from tests.factories import gid

BAD_USER_INPUT = "BAD_USER_INPUT"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _bad_ids(pk: int) -> list[str]:
    """Ids that name Brand `pk` loosely, or no object: none of them is an id the API made."""
    good = b64(f"Brand:{pk}")
    unpadded = good.rstrip("=") if good.endswith("=") else b64(f"Brand:{pk}0").rstrip("=")
    return [
        b64(f"Brand: {pk}"),
        b64(f"Brand:{pk} "),
        b64(f"Brand:+{pk}"),
        b64(f"Brand:0{pk}"),
        b64(f"Brand:{str(pk).translate(str.maketrans('0123456789', '٠١٢٣٤٥٦٧٨٩'))}"),
        unpadded,  # padding dropped (of Brand:<pk>0 when Brand:<pk> has none)
        b64(f"Brand:{pk}") + "\n",
        b64("Brand:99999999999999999999999"),  # beyond BIGINT
        b64("Foo:1"),  # no such type
        b64("Viewer:1"),  # a type, not a node
        b64("Node:1"),  # an interface
        b64(":1"),
        b64("Brand"),
        "%%%",
        "",
    ]


def test_query_ids_are_canonical_or_bad_user_input(gql, factory):
    w = factory.world()
    key, brand = w["keys"]["MANAGER"], w["brand"]
    good = gid(brand)
    query = "query($i: ID!) { node(id: $i) { id } brand(id: $i) { id } }"
    assert gql(key, query, i=good) == {"node": {"id": good}, "brand": {"id": good}}
    for bad in _bad_ids(brand.id):
        response = gql.post(key, query, {"i": bad})
        assert response.status_code == 200, (bad, response.text)
        body = response.json()
        assert body["data"] == {"node": None, "brand": None}, bad
        codes = {e["path"][0]: e["extensions"]["code"] for e in body["errors"]}
        assert codes == {"node": BAD_USER_INPUT, "brand": BAD_USER_INPUT}, (bad, body)
        assert all("Unexpected" not in e["message"] for e in body["errors"])


def test_ids_of_hidden_or_other_rows_are_null_not_errors(gql, factory):
    """A well-formed id the viewer may not see reads as a row that does not exist."""
    w, other = factory.world(), factory.world()
    key = w["keys"]["MANAGER"]  # a MANAGER sees no API key, even its organization's
    api_key = gql(w["keys"]["ADMIN"], "{ apiKeys(first: 1) { nodes { id } } }")["apiKeys"]
    own_key_id = api_key["nodes"][0]["id"]
    for hidden in (own_key_id, gid(other["brand"]), b64("ApiKey:1")):
        assert gql(key, "query($i: ID!) { node(id: $i) { id } }", i=hidden) == {"node": None}
    assert gql(key, "query($i: ID!) { brand(id: $i) { id } }", i=gid(other["brand"])) == {
        "brand": None
    }


@pytest.mark.parametrize(
    ("query", "variable"),
    [
        ("query($i: ID!) { campaign(id: $i) { id } }", "i"),
        ("query($i: ID!) { influencer(id: $i) { id } }", "i"),
        ("query($i: ID!) { partnership(id: $i) { id } }", "i"),
        ("query($i: ID) { campaigns(filter: {brandId: $i}) { nodes { id } } }", "i"),
        ("query($i: ID) { partnerships(filter: {campaignId: $i}) { nodes { id } } }", "i"),
        ("query($i: ID) { conversions(filter: {partnershipId: $i}) { nodes { id } } }", "i"),
        ("query($i: ID) { ledgerEntries(filter: {influencerId: $i}) { nodes { id } } }", "i"),
        (
            'query($i: ID!) { balance(influencerId: $i, currency: "EUR") { pending { amount } } }',
            "i",
        ),
    ],
)
def test_every_id_argument_refuses_a_loose_id(gql, factory, query, variable):
    w = factory.world()
    for bad in (b64(f"Brand:0{w['brand'].id}"), b64("Foo:1"), "x!"):
        errors = gql.errors(w["keys"]["FINANCE"], query, **{variable: bad})
        assert [e["extensions"]["code"] for e in errors] == [BAD_USER_INPUT], errors
        assert errors[0]["message"].startswith("invalid id ")


def test_mutation_ids_are_canonical_or_not_found(gql, factory, db):
    w = factory.world()
    brand = w["brand"]
    for bad in _bad_ids(brand.id):
        out = gql.mutate(
            w["keys"]["ADMIN"], "updateBrand", {"brandId": bad, "name": "Renamed"}, "brand { id }"
        )
        assert out["brand"] is None, bad
        assert [(e["field"], e["code"]) for e in out["userErrors"]] == [("brandId", "NOT_FOUND")]
    db.refresh(brand)
    assert brand.name != "Renamed"


def _bad_cursors() -> list[Any]:
    return [
        ["x"],
        [1e308],
        [10**30],
        [2**63],
        [None],
        [True],
        [1.5],
        [[1]],
        [{"d": "x"}],
        [{"d": "NaN"}],
        [{"t": "x"}],
        [{"t": "2026-01-01T00:00:00"}],  # naive
        [{"x": 1}],
        "x",
        {},
        [],
        [1, 2],
    ]


@pytest.mark.parametrize("value", _bad_cursors(), ids=repr)
def test_cursors_of_the_wrong_types_are_bad_user_input(gql, factory, value):
    key = factory.world()["keys"]["ADMIN"]
    query = "query($a: String) { brands(first: 1, after: $a) { nodes { id } } }"
    errors = gql.errors(key, query, a=cursor(value))
    assert [(e["message"], e["extensions"]["code"]) for e in errors] == [
        ("invalid cursor: pass an endCursor from a previous page", BAD_USER_INPUT)
    ]


@pytest.mark.parametrize(
    ("query", "value"),
    [
        # (occurred_at, id) for conversions, (created_at, id) for ledger entries
        ("conversions", [{"t": "x"}, 1]),
        ("conversions", [{"t": "2026-01-01T00:00:00"}, 1]),  # naive
        ("conversions", [{"t": "0001-01-01T00:00:00+05:00"}, 1]),  # not UTC
        ("ledgerEntries", [{"t": "2026-01-01T00:00:00+00:00"}, "x"]),
        ("ledgerEntries", [{"t": "2026-01-01T00:00:00Z"}, 1]),  # not the API's spelling
        ("ledgerEntries", [1, 1]),
    ],
)
def test_time_sorted_cursors_are_checked(gql, factory, query, value):
    key = factory.world()["keys"]["FINANCE"]
    errors = gql.errors(
        key, f"query($a: String) {{ {query}(after: $a) {{ nodes {{ id }} }} }}", a=cursor(value)
    )
    assert [e["extensions"]["code"] for e in errors] == [BAD_USER_INPUT]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ENGAGEMENT_RATE", [{"d": "1e999999"}, 1]),
        ("ENGAGEMENT_RATE", [{"d": "Infinity"}, 1]),
        ("ENGAGEMENT_RATE", ["0.5", 1]),
        ("ENGAGEMENT_RATE", [0.5, 1]),
        ("NAME", [1, 1]),
        ("NAME", ["a\x00b", 1]),
        ("NAME", ["a" * 5000, 1]),
        ("FOLLOWERS", [{"d": "1"}, 1]),
        ("FOLLOWERS", [10**30, 1]),
    ],
)
def test_sorted_cursors_match_their_sort_key(gql, factory, field, value):
    key = factory.world()["keys"]["MANAGER"]
    query = (
        "query($a: String, $f: InfluencerOrderField!) { influencers(after: $a, "
        "orderBy: {field: $f}) { nodes { id } } }"
    )
    errors = gql.errors(key, query, a=cursor(value), f=field)
    assert [e["extensions"]["code"] for e in errors] == [BAD_USER_INPUT]


@pytest.mark.parametrize("field", ["FOLLOWERS", "ENGAGEMENT_RATE", "NAME", "CREATED_AT", None])
def test_the_apis_own_cursors_page_through_and_only_they_do(gql, factory, field):
    w = factory.world()
    org = w["org"]
    for rate in (Decimal("0.0125"), None, Decimal("0.5")):
        factory.influencer(org, engagement_rate=rate)
    key = w["keys"]["MANAGER"]
    order = f", orderBy: {{field: {field}}}" if field else ""
    query = (
        f"query($a: String) {{ influencers(first: 1, after: $a{order}) "
        "{ nodes { id } pageInfo { endCursor hasNextPage } totalCount } }"
    )
    seen: list[str] = []
    after = None
    while True:
        page = gql(key, query, a=after)["influencers"]
        seen += [n["id"] for n in page["nodes"]]
        end = page["pageInfo"]["endCursor"]
        if end is not None:
            # another spelling of the same cursor is not a cursor
            for loose in {end + "=" * (-len(end) % 4), end + " ", end + "\n"} - {end}:
                errors = gql.errors(key, query, a=loose)
                assert errors[0]["extensions"]["code"] == BAD_USER_INPUT
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = end
    assert len(seen) == len(set(seen)) == page["totalCount"] == 4


@pytest.mark.parametrize("org", ["\u0661", "9" * 30, "+1", " 1"])
def test_cli_organization_ids_are_ascii_bigints(factory, capsys, org):
    """`--org` is an id or a name: other scripts' digits and numbers past BIGINT are neither
    (int() took an Arabic-Indic one as 1, and 30 nines overflowed the driver)."""
    from api.cli import main

    factory.org()
    assert main(["keys", "create", "--org", org, "--role", "ADMIN"]) == 2
    assert capsys.readouterr().err == f"error: no organization {org!r}\n"


@pytest.mark.parametrize("influencer", ["\u0661", "9" * 30])
def test_cli_influencer_ids_are_ascii_bigints(factory, capsys, influencer):
    from api.cli import main

    org = factory.org()
    args = ["keys", "create", "--org", str(org.id), "--role", "INFLUENCER"]
    assert main([*args, "--influencer", influencer]) == 2
    assert capsys.readouterr().err.startswith(f"error: {influencer!r} is not an influencer id")
