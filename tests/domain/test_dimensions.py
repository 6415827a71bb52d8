"""Device class, referrer host, platform and country code of a click (api.domain.dimensions)."""

from __future__ import annotations

import pytest

from api.domain.dimensions import (
    Device,
    country_code,
    device_class,
    platform_of,
    referrer_host,
)
from api.domain.platforms import Platform


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Instagram",
            "MOBILE",
        ),
        ("Mozilla/5.0 (Linux; Android 14; SM-S918B) Chrome/125.0 Mobile Safari/537.36", "MOBILE"),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 Chrome/124.0 Safari",
            "TABLET",
        ),
        ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15", "TABLET"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/125.0.0.0 Safari/537.36", "DESKTOP"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Version/17.4.1 Safari", "DESKTOP"),
        ("Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0", "DESKTOP"),
        ("Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/538.1", "OTHER"),
        ("Mozilla/5.0 (PlayStation 5 3.11) AppleWebKit/605.1.15", "OTHER"),
        ("", "OTHER"),
        ("curl/8.0", "OTHER"),
    ],
)
def test_device_class(user_agent: str, device: str) -> None:
    assert device_class(user_agent) is Device(device)


def test_referrer_host_keeps_the_host_only() -> None:
    assert referrer_host("https://l.instagram.com/") == "l.instagram.com"
    assert referrer_host("https://WWW.Google.COM/search") == "google.com"
    assert referrer_host("http://198.51.100.7:8080/x") == "198.51.100.7"
    for bad in ("", "not a url", "https://", "https://exa mple.com/", "https://[::1/", "//\\x"):
        assert referrer_host(bad) == "", bad
    assert referrer_host("https://" + "a" * 300 + ".com/") == ""


def test_platform_of_a_referrer_host() -> None:
    assert platform_of("l.instagram.com") is Platform.INSTAGRAM
    assert platform_of("lm.facebook.com") is Platform.FACEBOOK
    assert platform_of("t.co") is Platform.X
    assert platform_of("m.youtube.com") is Platform.YOUTUBE
    assert platform_of("notinstagram.com") is None
    assert platform_of("google.com") is None
    assert platform_of("") is None


def test_country_codes() -> None:
    assert country_code("gb") == "GB"
    assert country_code("--") == country_code("") == country_code(None) == ""
    assert country_code("GBR") == ""
