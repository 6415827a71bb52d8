"""Coupon and deal sites: whether an order's referrer is one (`data/coupon_sites.json`, a
curated list with each site's source). A host matches itself and its subdomains."""

from __future__ import annotations

import functools
import json
from importlib import resources


@functools.cache
def hosts() -> frozenset[str]:
    text = resources.files("api.domain").joinpath("data/coupon_sites.json").read_text("utf-8")
    return frozenset(site["host"].lower() for site in json.loads(text)["sites"])


def is_coupon_site(host: str | None) -> bool:
    """Whether `host` (a bare host name, any case, "www." or not) is on the list."""
    if not host:
        return False
    name = host.strip().lower().rstrip(".")
    known = hosts()
    parts = name.split(".")
    return any(".".join(parts[i:]) in known for i in range(len(parts) - 1))
