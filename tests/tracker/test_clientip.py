"""Which IP is the shopper's, and what of it is kept."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tracker.clientip import ClientIp, IpHasher, parse_ip, truncate_ip

PROXIES = ClientIp(["10.0.0.0/8", "2001:db8:ffff::/48"])


def test_without_trusted_proxies_the_socket_peer_is_the_client() -> None:
    assert ClientIp([]).resolve("203.0.113.9", "1.2.3.4") == "203.0.113.9"


def test_untrusted_peer_cannot_forge_its_address() -> None:
    assert PROXIES.resolve("203.0.113.9", "1.2.3.4, 10.0.0.1") == "203.0.113.9"


def test_trusted_peer_gives_the_right_most_untrusted_hop() -> None:
    # the shopper wrote "6.6.6.6" itself; our proxies appended 198.51.100.7 and 10.0.0.2
    assert PROXIES.resolve("10.0.0.3", "6.6.6.6, 198.51.100.7, 10.0.0.2") == "198.51.100.7"
    assert PROXIES.resolve("10.0.0.3", "198.51.100.7") == "198.51.100.7"


def test_garbage_hop_stops_at_the_last_trusted_address() -> None:
    assert PROXIES.resolve("10.0.0.3", "198.51.100.7, nonsense, 10.0.0.2") == "10.0.0.2"
    assert PROXIES.resolve("10.0.0.3", "nonsense") == "10.0.0.3"


def test_all_hops_trusted_gives_the_left_most() -> None:
    assert PROXIES.resolve("10.0.0.3", "10.1.1.1, 10.0.0.2") == "10.1.1.1"


def test_ipv6_ports_brackets_and_mapped_addresses() -> None:
    assert PROXIES.resolve("2001:db8:ffff::1", "[2001:DB8::5]:443") == "2001:db8::5"
    assert PROXIES.resolve("::ffff:10.0.0.3", "198.51.100.7:5555") == "198.51.100.7"
    assert parse_ip("::ffff:198.51.100.7") == parse_ip("198.51.100.7")
    assert parse_ip("999.1.1.1") is None and parse_ip("") is None


@pytest.mark.parametrize(
    ("ip", "truncated"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::"),
        ("::ffff:203.0.113.77", "203.0.113.0"),
        ("", ""),
        ("not-an-ip", ""),
    ],
)
def test_truncation(ip: str, truncated: str) -> None:
    assert truncate_ip(ip) == truncated


def test_ip_hash_is_hmac_sha256_of_the_full_ip() -> None:
    key = b"k" * 100  # longer than a block: hashed first, as HMAC does
    for k in (b"secret", key):
        expected = hmac.new(k, b"203.0.113.77", hashlib.sha256).hexdigest()
        assert IpHasher(k)("203.0.113.77") == expected
    assert IpHasher(b"a")("1.1.1.1") != IpHasher(b"b")("1.1.1.1")
