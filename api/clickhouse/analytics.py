"""Clicks, unique clicks, conversions and revenue from ClickHouse's raw events, grouped as
`api.finance.analytics.aggregate` groups the rollups (ANALYTICS_SOURCE=clickhouse), with the
rollups' rules: bots are never clicks; a conversion counts while APPROVED and attributed, at
the hour it was placed, its revenue net of the refunds APPLIED to it; dimension rows leave out
unknown ('') values. Reads dedupe with FINAL, so a row the sink wrote twice counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from api.clickhouse.client import Client
from api.domain.dimensions import Dimension

SCOPES = {"campaign_id", "partnership_id", "influencer_id", "link_id", "brand_id"}
_DIMENSION = {
    Dimension.COUNTRY: "country",
    Dimension.DEVICE: "device",
    Dimension.REFERRER: "referrer_host",
    Dimension.DISCOUNT_CODE: "if(attributed_via = 'DISCOUNT_CODE', upperUTF8(discount_code), '')",
}


def _key(key: str | None, dimension: Dimension | None) -> str:
    if key is None:
        return "toUInt64(0)"
    if key == "hour":
        return "toUnixTimestamp(toStartOfHour(occurred_at))"
    if key == "value":
        if dimension is None:
            raise ValueError("a value key needs a dimension")
        return _DIMENSION[dimension]
    if key in ("influencer_id", "link_id"):
        return key
    raise ValueError(f"unknown key {key!r}")


def _value(key: str | None, raw: Any) -> Any:
    if key == "hour":
        return datetime.fromtimestamp(int(raw), UTC)
    if key == "value":
        return str(raw)
    return int(raw)


def events(
    client: Client,
    organization_id: int,
    scope: str,
    ids: Sequence[int],
    key: str | None,
    currency: str,
    start: datetime,
    end: datetime,
    *,
    dimension: Dimension | None = None,
    share_of: int | None = None,
) -> dict[tuple[int, Any], dict[str, int]]:
    """(scope id, key) -> {clicks, unique_clicks, conversions, revenue} over [start, end) (whole
    hours), as the rollups would say. Two statements."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    key_sql = _key(key, dimension)
    params: dict[str, Any] = {
        "org": organization_id,
        "ids": list(ids),
        "start": start,
        "end": end,
        "currency": currency,
        "share": share_of or 0,
    }
    where = [
        "organization_id = {org:UInt64}",
        f"{scope} IN {{ids:Array(UInt64)}}",
        "occurred_at >= {start:DateTime64(6, 'UTC')}",
        "occurred_at < {end:DateTime64(6, 'UTC')}",
    ]
    if share_of is not None:
        where.append("influencer_id = {share:UInt64}")
    if dimension is not None:
        where.append(f"{key_sql} != ''")
    result: dict[tuple[int, Any], dict[str, int]] = {}

    def bump(s: Any, k: Any, **figures: int) -> None:
        row = result.setdefault(
            (int(s), _value(key, k)),
            {"clicks": 0, "unique_clicks": 0, "conversions": 0, "revenue": 0},
        )
        for name, value in figures.items():
            row[name] += int(value)

    if dimension is not Dimension.DISCOUNT_CODE:  # codes are typed at checkout: no clicks
        # Bot-only hours have a (zero) click rollup row; dimension rollups never count bots.
        bots = " AND NOT bot" if dimension is not None else ""
        sql = (
            f"SELECT {scope}, {key_sql} AS k, countIf(NOT bot), countIf(is_unique AND NOT bot) "
            f"FROM clicks FINAL WHERE {' AND '.join(where)}{bots} GROUP BY {scope}, k"
        )
        for s, k, clicks, unique in client.query(sql, params):
            bump(s, k, clicks=clicks, unique_clicks=unique)

    sql = (
        f"SELECT c.{scope}, c.k, count(), sum(c.amount - r.refunded) FROM ("
        f"  SELECT id, {scope}, {key_sql} AS k, amount FROM conversions FINAL"
        f"  WHERE {' AND '.join(where)} AND status = 'APPROVED' AND partnership_id != 0"
        "   AND currency = {currency:String}"
        ") AS c LEFT JOIN ("
        "  SELECT conversion_id, sum(amount) AS refunded FROM refunds FINAL"
        "  WHERE organization_id = {org:UInt64} AND status = 'APPLIED' GROUP BY conversion_id"
        f") AS r ON r.conversion_id = c.id GROUP BY c.{scope}, c.k"
    )
    for s, k, conversions, revenue in client.query(sql, params):
        bump(s, k, conversions=conversions, revenue=revenue)
    return result
