"""Redis key and stream names shared by the API (writer of links) and the tracker (reader).

Cluster-safe: single-key lookups (links, brands' secrets) need no hash tag; the event streams
share the `{ev}` hash tag so a consumer can read several of them in one XREADGROUP on a Redis
Cluster.
"""

from __future__ import annotations


def link(prefix: str, code: str) -> str:
    """JSON of a tracked link, see `tracker.events.LinkRecord`; written by the API."""
    return f"{prefix}:link:{code}"


def brand_secrets(prefix: str, brand_id: int | str) -> str:
    """JSON list of a brand's postback secrets with their expiry; written by the API. (A str
    brand is for patterns: "*" matches every brand.)"""
    return f"{prefix}:brand:{brand_id}:secrets"


def shop_connection(prefix: str, public_id: str) -> str:
    """JSON of a shop connection (`tracker.shops.ShopRecord`): its brand, kind, domain and
    sealed webhook secrets; written by the API, deleted on disconnect."""
    return f"{prefix}:shop:{public_id}"


def clicks_stream(prefix: str) -> str:
    return f"{prefix}:{{ev}}:clicks"


def conversions_stream(prefix: str) -> str:
    """Conversions and refunds, in one stream so a refund is never read before its order."""
    return f"{prefix}:{{ev}}:conversions"


def dead_letter_stream(prefix: str) -> str:
    return f"{prefix}:{{ev}}:dead"


def trackers(prefix: str) -> str:
    """Hash of tracker process -> "<ms>:<redis ms>": every click that process logged before
    <ms> (its clock) was in the clicks stream when Redis's clock read <redis ms>. Written by
    each tracker while it reaches Redis (`tracker.sink`); read by the worker, so that an order
    whose click is still in a tracker's buffer or spool waits for it."""
    return f"{prefix}:{{ev}}:trackers"
