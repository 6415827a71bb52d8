"""Where a click goes: destination + UTM + vclid, and nothing a request can change."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from tracker.events import LinkRecord, Utm
from tracker.redirect import location

CID = "01J0000000000000000000000A"


def test_appends_utm_and_click_id_keeping_query_and_fragment() -> None:
    url = location(
        "https://shop.example.com/p/shoes?color=red&size=42#reviews",
        Utm(source="instagram", medium="influencer", campaign="spring", content="reel-1"),
        CID,
    )
    assert url == (
        "https://shop.example.com/p/shoes?color=red&size=42&utm_source=instagram"
        "&utm_medium=influencer&utm_campaign=spring&utm_content=reel-1&vclid=" + CID + "#reviews"
    )


def test_destination_without_query() -> None:
    assert location("https://shop.example.com", Utm(), CID) == (
        f"https://shop.example.com?vclid={CID}"
    )
    assert location("https://shop.example.com/#top", Utm(), CID) == (
        f"https://shop.example.com/?vclid={CID}#top"
    )


def test_link_utm_wins_over_the_destinations_own() -> None:
    # Dub's rule: the link's UTM values are set on the URL, replacing same-named parameters
    # (every occurrence); a UTM value the link leaves unset keeps the destination's.
    url = location(
        "https://shop.example.com/?utm_source=newsletter&utm_medium=email&utm_source=x&a=1",
        Utm(source="tiktok", campaign="launch"),
        CID,
    )
    params = parse_qsl(urlsplit(url).query)
    assert params == [
        ("utm_medium", "email"),
        ("a", "1"),
        ("utm_source", "tiktok"),
        ("utm_campaign", "launch"),
        ("vclid", CID),
    ]


def test_existing_vclid_is_replaced() -> None:
    url = location("https://shop.example.com/?vclid=forged&b=2", Utm(), CID)
    assert parse_qsl(urlsplit(url).query) == [("b", "2"), ("vclid", CID)]


def test_encoded_characters_survive_byte_for_byte() -> None:
    destination = (
        "https://shop.example.com/a%2Fb/%E2%82%AC?next=%2Fcart%3Fx%3D1%26y%3D2"
        "&q=a+b%20c&e=%25&plus=%2B&empty=&flag#frag%20ment"
    )
    url = location(destination, Utm(source="ig"), CID)
    assert url == (
        "https://shop.example.com/a%2Fb/%E2%82%AC?next=%2Fcart%3Fx%3D1%26y%3D2"
        f"&q=a+b%20c&e=%25&plus=%2B&empty=&flag&utm_source=ig&vclid={CID}#frag%20ment"
    )


def test_encoded_utm_name_in_destination_is_recognised() -> None:
    url = location("https://shop.example.com/?utm%5Fsource=old&x=1", Utm(source="new"), CID)
    assert parse_qsl(urlsplit(url).query) == [("x", "1"), ("utm_source", "new"), ("vclid", CID)]


def test_utm_values_are_percent_encoded() -> None:
    url = location(
        "https://shop.example.com/",
        Utm(source="a&b=c", campaign="été 2024", content="#x?/"),
        CID,
    )
    assert "utm_source=a%26b%3Dc" in url
    assert "utm_campaign=%C3%A9t%C3%A9%202024" in url
    assert "utm_content=%23x%3F%2F" in url
    assert dict(parse_qsl(urlsplit(url).query))["utm_source"] == "a&b=c"


def test_unsafe_characters_are_escaped_so_the_header_cannot_be_split() -> None:
    url = location('https://shop.example.com/a b/"q"<x>\\y`?t=é', Utm(), CID)
    assert url == f"https://shop.example.com/a%20b/%22q%22%3Cx%3E%5Cy%60?t=%C3%A9&vclid={CID}"
    assert url.isascii()


def test_backslash_cannot_move_the_host() -> None:
    # Python (and so the API's validation) reads the host as evil.example; escaping the
    # backslash makes browsers read the same host instead of shop.example.com.
    destination = "https://shop.example.com\\@evil.example/path"
    url = location(destination, Utm(), CID)
    assert "\\" not in url
    assert urlsplit(url).hostname == urlsplit(destination).hostname


def test_non_ascii_host_is_idna_encoded() -> None:
    url = location("https://bücher.example/straße?x=1", Utm(), CID)
    assert url == f"https://xn--bcher-kva.example/stra%C3%9Fe?x=1&vclid={CID}"


@pytest.mark.parametrize(
    "destination",
    [
        "javascript:alert(1)",
        "//evil.example/",
        "/relative/path",
        "ftp://files.example/x",
        "https:///no-host",
        "data:text/html,<script>alert(1)</script>",
        "https://shop.example.com/\r\nSet-Cookie: a=b",
        "https://shop.example.com/\x00",
        "",
    ],
)
def test_link_record_rejects_destinations_that_are_not_absolute_http(destination: str) -> None:
    with pytest.raises(ValueError):
        LinkRecord(1, 2, 3, 4, 5, "abc", destination)
