"""The country of a click's network, from the offline database `geoip2fast` ships (MaxMind
GeoLite2 country data, IPv4 and IPv6, no network access). Looked up once, at ingest, from the
truncated address the tracker logs (/24 or /48: a country never splits a /24 in its data), so
neither the tracker nor the database ever sees more of the shopper's address than before.

Loading the data takes ~0.3 s, once per process, on the first click; a lookup ~5 µs, and the
answers for recent networks are cached.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from api.domain.dimensions import UNKNOWN, country_code


@cache
def _database() -> Any:
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz", verbose=False)


@lru_cache(maxsize=65_536)
def country_of(network: str) -> str:
    """The ISO country code of an address or truncated address, UNKNOWN when not known
    (private ranges, garbage, empty)."""
    if not network:
        return UNKNOWN
    try:
        found = _database().lookup(network)
    except Exception:  # the library raises its own errors for addresses it cannot parse
        return UNKNOWN
    return country_code(getattr(found, "country_code", None))
