"""Tracker settings: the public URL of tracked links follows the address it listens on unless
TRACKER_PUBLIC_URL says otherwise."""

from __future__ import annotations

import pytest

from tracker.settings import TrackerSettings


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({}, "http://127.0.0.1:8001"),
        ({"TRACKER_PORT": "18001"}, "http://127.0.0.1:18001"),
        ({"TRACKER_HOST": "0.0.0.0", "TRACKER_PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"TRACKER_HOST": "::1"}, "http://[::1]:8001"),
        (
            {"TRACKER_PUBLIC_URL": "https://go.example.com", "TRACKER_PORT": "9"},
            "https://go.example.com",
        ),
        ({"TRACKER_PUBLIC_URL": ""}, "http://127.0.0.1:8001"),
    ],
)
def test_public_url(monkeypatch, env, url):
    for name in ("TRACKER_HOST", "TRACKER_PORT", "TRACKER_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert TrackerSettings().public_url == url


@pytest.mark.parametrize(
    ("value", "interface"), [(None, "rsgi"), ("ASGI", "asgi"), ("rsgi", "rsgi")]
)
def test_interface_defaults_to_rsgi(monkeypatch, value, interface):
    monkeypatch.delenv("TRACKER_INTERFACE", raising=False)
    if value is not None:
        monkeypatch.setenv("TRACKER_INTERFACE", value)
    assert TrackerSettings().interface == interface


def test_an_unknown_interface_is_refused(monkeypatch):
    monkeypatch.setenv("TRACKER_INTERFACE", "wsgi")
    with pytest.raises(ValueError, match=r"TRACKER_INTERFACE 'wsgi': must be one of rsgi, asgi"):
        TrackerSettings()


def test_server_options_follow_the_interface():
    from tracker.server import server_options

    assert server_options()["interface"].value == "rsgi"
    assert server_options("asgi")["interface"].value == "asgi"


def test_the_country_header(monkeypatch):
    monkeypatch.delenv("TRACKER_COUNTRY_HEADER", raising=False)
    assert TrackerSettings().country_header == ""  # off by default
    monkeypatch.setenv("TRACKER_COUNTRY_HEADER", " CF-IPCountry ")
    assert TrackerSettings().country_header == "cf-ipcountry"
    monkeypatch.setenv("TRACKER_COUNTRY_HEADER", "CF IPCountry")
    with pytest.raises(ValueError, match=r"TRACKER_COUNTRY_HEADER 'cf ipcountry': must be an HTTP"):
        TrackerSettings()
