"""The shopper's IP: who is believed, and what of it is kept.

`X-Forwarded-For` is read only when the connecting peer is a trusted proxy; then its hops are
walked from the right (the ones our own proxies appended) to the first address that is not a
trusted proxy. A shopper can put anything on the left of that header, never on the right, so
the address can't be forged. Events keep the IP truncated (/24, /48) and a keyed hash of it.

Addresses are parsed with `inet_pton` (the `ipaddress` module costs microseconds per call on
the hot path) into (bits, value) pairs: (32, int) for IPv4, (128, int) for IPv6, an IPv4-mapped
IPv6 address counting as the IPv4 one.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterable
from ipaddress import ip_network

Address = tuple[int, int]  # (32 or 128, integer value)

_inet_pton = socket.inet_pton
_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6

_CACHE_LIMIT = 4096


def parse_ip(text: str) -> Address | None:
    """An address from a socket peer or an X-Forwarded-For hop (port and brackets allowed)."""
    text = text.strip()
    try:
        return 32, int.from_bytes(_inet_pton(_AF_INET, text), "big")
    except OSError:
        pass
    if text.startswith("["):  # [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port
        return parse_ip(text.partition(":")[0]) if "." in text else None
    try:
        value = int.from_bytes(_inet_pton(_AF_INET6, text.partition("%")[0]), "big")
    except OSError:
        return None
    if value >> 32 == 0xFFFF:
        return 32, value & 0xFFFFFFFF
    return 128, value


def format_ip(addr: Address) -> str:
    bits, value = addr
    if bits == 32:
        return socket.inet_ntop(socket.AF_INET, value.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))


class ClientIp:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        networks = [ip_network(cidr.strip(), strict=False) for cidr in trusted_proxies]
        # (bits, network value, mask); an IPv4-mapped IPv6 network is listed as IPv4 too
        self._networks: list[tuple[int, int, int]] = []
        for net in networks:
            bits = net.max_prefixlen
            mask = int(net.netmask)
            self._networks.append((bits, int(net.network_address), mask))
            if bits == 128 and int(net.network_address) >> 32 == 0xFFFF and net.prefixlen >= 96:
                self._networks.append(
                    (32, int(net.network_address) & 0xFFFFFFFF, mask & 0xFFFFFFFF)
                )
        self._trusted_peers: dict[str, bool] = {}

    def trusted(self, addr: Address) -> bool:
        bits, value = addr
        for b, net, mask in self._networks:  # noqa: SIM110 (any() of a generator is slower)
            if b == bits and value & mask == net:
                return True
        return False

    def trusted_peer(self, peer: str) -> bool:
        """Whether the socket address `peer` is one of the trusted proxies (cached)."""
        trusted = self._trusted_peers.get(peer)
        if trusted is None:
            addr = parse_ip(peer)
            trusted = addr is not None and self.trusted(addr)
            if len(self._trusted_peers) >= _CACHE_LIMIT:
                self._trusted_peers.clear()
            self._trusted_peers[peer] = trusted
        return trusted

    def resolve(self, peer: str, forwarded_for: str) -> str:
        """The client IP for a request from socket address `peer` with this X-Forwarded-For."""
        if not self._networks or not forwarded_for:
            return peer
        trusted = self._trusted_peers.get(peer)
        if not (self.trusted_peer(peer) if trusted is None else trusted):
            return peer
        if "," not in forwarded_for:  # one hop, the common case
            try:  # a canonical dotted quad (no spaces, no port) is its own answer
                _inet_pton(_AF_INET, forwarded_for)
                return forwarded_for
            except OSError:
                pass
            addr = parse_ip(forwarded_for)
            if addr is None:
                return peer
            hop = forwarded_for.strip()
            return hop if addr[0] == 32 and ":" not in hop else format_ip(addr)
        client = peer
        for hop in reversed(forwarded_for.split(",")):
            hop = hop.strip()
            addr = parse_ip(hop)
            if addr is None:
                break  # not written by a proxy of ours: keep the last address we trust
            # inet_pton only accepts canonical dotted quads: such a hop is its own string
            client = hop if addr[0] == 32 and ":" not in hop else format_ip(addr)
            if not self.trusted(addr):
                break
        return client


def truncate_ip(ip: str) -> str:
    """The /24 of an IPv4 address or the /48 of an IPv6 one; "" when it is not an address."""
    if ip.count(".") == 3 and ":" not in ip:
        head, _, last = ip.rpartition(".")
        if last.isdigit():
            return head + ".0"
    addr = parse_ip(ip)
    if addr is None:
        return ""
    bits, value = addr
    if bits == 32:
        return format_ip((32, value & 0xFFFFFF00))
    return format_ip((128, value & ~((1 << 80) - 1)))


class IpHasher:
    """HMAC-SHA256 of an IP under a key, with the key's inner and outer states made once."""

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __call__(self, ip: str) -> str:
        inner = self._inner.copy()
        inner.update(ip.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()
