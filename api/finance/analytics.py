"""Performance over time and broken down: the same figures as `api.finance.performance`, from
the same hourly rollups (and their daily twins for the whole UTC days of a range), grouped by
(scope, key) where the key is the rollup hour (series), an influencer, a link or a dimension
value (breakdowns, leaderboards).

Every function runs a fixed number of aggregate statements whatever the number of scopes,
keys or hours (a page of campaigns costs what one does); folding hours into local days, weeks
and months is `api.domain.buckets`'s, in Python. With `share_of` (an influencer's id), only that
influencer's share: the rows of its own partnerships.

Post metrics (impressions, reach...) are not in these rollups: series fold the deliverables
by publication time into the same buckets (`api.content.post_metrics.latest_of_many`), and
leaderboards read each partnership's post totals (`post_totals_of_many`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select, union_all
from sqlalchemy.orm import Session

from api.domain.dimensions import UNKNOWN, Dimension
from api.finance.performance import Performance
from api.ledger.rollups import hour_of
from api.ledger.sql import day_of
from api.models import Campaign, Partnership
from api.models.events import ClickRollup
from api.models.ledger import CampaignCost
from api.models.rollups import (
    NO_LINK,
    CampaignClickDimensionRollupDaily,
    CampaignPerformanceDimensionRollupDaily,
    ClickDimensionRollup,
    ClickDimensionRollupDaily,
    ClickRollupDaily,
    PerformanceDimensionRollup,
    PerformanceDimensionRollupDaily,
    PerformanceRollup,
    PerformanceRollupDaily,
)

log = logging.getLogger("vouch.analytics")

SCOPES = ("campaign_id", "partnership_id", "influencer_id", "link_id", "brand_id")
KEYS = ("hour", "influencer_id", "link_id", "value")


def zero(currency: str) -> Performance:
    return Performance(currency, 0, 0, 0, 0, 0, 0, 0)


def add(a: Performance, b: Performance) -> Performance:
    return Performance(
        currency=a.currency,
        clicks=a.clicks + b.clicks,
        unique_clicks=a.unique_clicks + b.unique_clicks,
        conversions=a.conversions + b.conversions,
        revenue=a.revenue + b.revenue,
        commission=a.commission + b.commission,
        fees=a.fees + b.fees,
        gifted=a.gifted + b.gifted,
    )


def minus(a: Performance, b: Performance) -> Performance:
    return Performance(
        currency=a.currency,
        clicks=a.clicks - b.clicks,
        unique_clicks=a.unique_clicks - b.unique_clicks,
        conversions=a.conversions - b.conversions,
        revenue=a.revenue - b.revenue,
        commission=a.commission - b.commission,
        fees=a.fees - b.fees,
        gifted=a.gifted - b.gifted,
    )


# Each hourly rollup's daily (UTC) twin: the same counters summed per day.
DAILY: dict[Any, Any] = {
    ClickRollup: ClickRollupDaily,
    ClickDimensionRollup: ClickDimensionRollupDaily,
    PerformanceRollup: PerformanceRollupDaily,
    PerformanceDimensionRollup: PerformanceDimensionRollupDaily,
}


# A daily dimension rollup's per-campaign twin (no link or partnership in its key): what a
# campaign's or a brand's breakdown by a dimension reads for whole days.
BY_CAMPAIGN: dict[Any, Any] = {
    ClickDimensionRollupDaily: CampaignClickDimensionRollupDaily,
    PerformanceDimensionRollupDaily: CampaignPerformanceDimensionRollupDaily,
}


def by_campaign(where: Spans, scope: str, share_of: int | None) -> Spans:
    """`where` with the daily dimension rollups replaced by their per-campaign twins when the
    scope is a campaign or a brand (the same sums, one row per campaign instead of one per link
    or partnership); an influencer's share needs the partnership, so it keeps them."""
    if scope not in ("campaign_id", "brand_id") or share_of is not None:
        return where
    return [(BY_CAMPAIGN.get(model, model), lo, hi) for model, lo, hi in where]


def _time(model: Any) -> Any:
    """The time column of a rollup: `hour`, or `day` for a daily one."""
    return model.day if hasattr(model, "day") else model.hour


def _column(model: Any, name: str) -> tuple[Any, Any]:
    """A grouping or scope column of `model`, and the join it needs (or None): a brand is its
    campaigns'; click rollups have no influencer column (it is their partnerships')."""
    if name == "brand_id":
        return Campaign.brand_id, (Campaign, Campaign.id == model.campaign_id)
    if name == "influencer_id" and not hasattr(model, "influencer_id"):
        return Partnership.influencer_id, (Partnership, Partnership.id == model.partnership_id)
    if name == "hour":
        if model is CampaignCost:
            return model.created_at, None  # rounded down to its hour in Python
        return _time(model), None  # a daily row: its day's first hour
    return getattr(model, name), None


Spans = list[tuple[Any, datetime, datetime]]  # (model, start, end): where to read what


def spans(model: Any, start: datetime, end: datetime, daily: bool) -> Spans:
    """Where the hours [start, end) of an hourly rollup are: with `daily`, the whole UTC days
    between them in its daily twin and the partial days at the edges in the hourly rows
    (the same sums, 24 times fewer rows); otherwise all in the hourly rows."""
    twin = DAILY.get(model)
    if twin is None or not daily:
        return [(model, start, end)]
    first = day_of(start)
    if first < start:
        first += timedelta(days=1)
    last = day_of(end)
    if first >= last:  # no whole day inside
        return [(model, start, end)]
    edges = [(model, a, b) for a, b in ((start, first), (last, end)) if a < b]
    return [*edges, (twin, first, last)]


def _grouped(
    session: Session,
    where: Spans,
    sums: Callable[[Any], list[Any]],
    scope: str,
    ids: list[int],
    key: str | None,
    conditions: Callable[[Any], list[ColumnElement[bool]]],
    share_of: int | None,
) -> list[Any]:
    """The sums by (scope id, key) of each span's rows, in one statement (a UNION ALL of a
    grouped select per span, each a range scan of its index: a (scope, key) may come once from
    each, and callers add them up)."""
    selects = []
    for model, lo, hi in where:
        scope_col, scope_join = _column(model, scope)
        key_col, key_join = _column(model, key) if key else (literal(0), None)
        stmt = select(scope_col, key_col, *sums(model)).select_from(model)
        for join in (scope_join, key_join):
            if join is not None:
                stmt = stmt.join(*join)
        t = _time(model) if model is not CampaignCost else model.created_at
        stmt = stmt.where(scope_col.in_(ids), t >= lo, t < hi, *conditions(model))
        if share_of is not None:
            stmt = stmt.where(model.influencer_scope(share_of))
        selects.append(stmt.group_by(scope_col, key_col))
    statement = selects[0] if len(selects) == 1 else union_all(*selects)
    return list(session.execute(statement).all())


def aggregate(
    session: Session,
    organization_id: int,
    scope: str,
    ids: Iterable[int],
    key: str | None,
    currency: str,
    start: datetime,
    end: datetime,
    *,
    dimension: Dimension | None = None,
    share_of: int | None = None,
    daily: bool = True,
) -> dict[tuple[int, Any], Performance]:
    """Performance by (scope id, key) over [start, end) rounded down to hours, for the scopes
    `ids` of kind `scope` (SCOPES) and the key `key` (KEYS; None: one row per scope, key 0).
    With `dimension`, the key is that dimension's value ("value") and the figures are what the
    dimension rollups keep (clicks, conversions, revenue, commission; fees and gifts belong to
    no click). Rows with no figure are absent. Three statements at most (with
    ANALYTICS_SOURCE=clickhouse, two of them on ClickHouse).

    The whole UTC days of the range are read from the daily rollups (`spans`) unless `daily`
    is False; with the key "hour" a day's figures are then keyed by its first hour, so a
    caller folding hours into buckets passes `daily` only when every bucket edge is a UTC
    midnight (ClickHouse's figures are keyed the same way)."""
    start, end = hour_of(start), hour_of(end)
    wanted = sorted(set(ids))
    # (scope id, key) -> counters in _FIGURES order, made Performances at the end
    totals: dict[tuple[int, Any], list[int]] = {}
    if not wanted:
        return {}

    def bump(scope_id: Any, k: Any, **figures: int) -> None:
        row = totals.get((scope_id, k))
        if row is None:
            row = totals[(scope_id, k)] = [0] * len(_FIGURES)
        for name, value in figures.items():
            row[_INDEX[name]] += value

    # ANALYTICS_SOURCE=clickhouse: clicks, conversions and revenue from the raw events there
    # (`api.clickhouse.analytics`), commission, fees and gifts from the rollups still.
    # ClickHouse unreachable: the rollups, which say the same (to the sink's last round).
    raw = _clickhouse_events(
        organization_id, scope, wanted, key, currency, start, end, dimension, share_of
    )
    if raw is not None and key == "hour" and daily:
        raw = _by_day(raw, spans(ClickRollup, start, end, daily))
    for (s, k), figures in (raw or {}).items():
        bump(s, k, **figures)

    clicks: Any = ClickDimensionRollup if dimension else ClickRollup
    if raw is None and dimension is not Dimension.DISCOUNT_CODE:  # codes: typed, never clicked
        # Click rollups have no influencer column: grouped by partnership (an index-only scan,
        # no join per row), then partnerships mapped to their influencers in one statement.
        by_partnership = key == "influencer_id"
        rows = _grouped(
            session,
            by_campaign(spans(clicks, start, end, daily), scope, share_of),
            lambda m: [func.sum(m.clicks), func.sum(m.unique_clicks)],
            scope,
            wanted,
            "partnership_id" if by_partnership else key,
            lambda m: [
                m.organization_id == organization_id,
                *([m.dimension == dimension] if dimension else []),
            ],
            share_of,
        )
        if by_partnership:
            influencer_of: dict[int, int] = {
                pid: influencer
                for pid, influencer in session.execute(
                    select(Partnership.id, Partnership.influencer_id).where(
                        Partnership.id.in_(sorted({k for _, k, _, _ in rows}) or [0])
                    )
                )
            }
            rows = [(s, influencer_of.get(k), n, u) for s, k, n, u in rows]
        for s, k, n, u in rows:
            bump(s, k, clicks=int(n or 0), unique_clicks=int(u or 0))

    rollup: Any = PerformanceDimensionRollup if dimension else PerformanceRollup

    def sums(m: Any) -> list[Any]:
        found: list[Any] = [func.sum(m.conversions), func.sum(m.revenue), func.sum(m.commission)]
        if raw is not None:  # ClickHouse's already
            found[:2] = [literal(0), literal(0)]
        return found if dimension else [*found, func.sum(m.fees)]

    for s, k, *values in _grouped(
        session,
        by_campaign(spans(rollup, start, end, daily), scope, share_of),
        sums,
        scope,
        wanted,
        key,
        lambda m: [
            m.organization_id == organization_id,
            m.currency == currency,
            *([m.dimension == dimension] if dimension else []),
        ],
        share_of,
    ):
        conversions, revenue, commission, *fees = (int(v or 0) for v in values)
        bump(
            s,
            k,
            conversions=conversions,
            revenue=revenue,
            commission=commission,
            fees=fees[0] if fees else 0,
        )

    # Gifts go to partnerships, never through a link or a click.
    if dimension is None and key != "link_id" and scope != "link_id":
        for s, k, amount in _grouped(
            session,
            [(CampaignCost, start, end)],
            lambda m: [func.sum(m.amount)],
            scope,
            wanted,
            key,
            lambda m: [m.organization_id == organization_id, m.currency == currency],
            share_of,
        ):
            bump(s, hour_of(k) if key == "hour" else k, gifted=int(amount or 0))
    return {
        (int(scope_id), k): _performance(currency, row) for (scope_id, k), row in totals.items()
    }


def _by_day(
    found: dict[tuple[int, Any], dict[str, int]], where: Spans
) -> dict[tuple[int, Any], dict[str, int]]:
    """Hourly figures keyed as the rollups key them: the hours of the whole UTC days that
    `where` reads from a daily table by their day's first hour."""
    days = [(lo, hi) for model, lo, hi in where if model not in DAILY]
    result: dict[tuple[int, Any], dict[str, int]] = {}
    for (s, hour), figures in found.items():
        k = day_of(hour) if any(lo <= hour < hi for lo, hi in days) else hour
        row = result.setdefault((s, k), dict.fromkeys(figures, 0))
        for name, value in figures.items():
            row[name] += value
    return result


_clickhouse_down_until = 0.0  # after a failure, the rollups for a while (no wait per request)
CLICKHOUSE_RETRY_S = 10.0


def _clickhouse_events(
    organization_id: int,
    scope: str,
    ids: list[int],
    key: str | None,
    currency: str,
    start: datetime,
    end: datetime,
    dimension: Dimension | None,
    share_of: int | None,
) -> dict[tuple[int, Any], dict[str, int]] | None:
    """With ANALYTICS_SOURCE=clickhouse, the event figures from there (`api.clickhouse.
    analytics.events`); None: read them from the rollups (the setting, or ClickHouse down)."""
    global _clickhouse_down_until
    from api.settings import get_settings

    settings = get_settings()
    if settings.analytics_source != "clickhouse" or time.monotonic() < _clickhouse_down_until:
        return None
    from api.clickhouse.analytics import events
    from api.clickhouse.client import ClickHouseError, connect

    try:
        return events(
            connect(settings.clickhouse_url),
            organization_id,
            scope,
            ids,
            key,
            currency,
            start,
            end,
            dimension=dimension,
            share_of=share_of,
        )
    except ClickHouseError as exc:
        _clickhouse_down_until = time.monotonic() + CLICKHOUSE_RETRY_S
        log.warning("clickhouse unavailable: analytics from the rollups", extra={"error": str(exc)})
        return None


def _performance(currency: str, row: list[int]) -> Performance:
    clicks, unique_clicks, conversions, revenue, commission, fees, gifted = row
    return Performance(
        currency, clicks, unique_clicks, conversions, revenue, commission, fees, gifted
    )


# Performance's counters, in the order of its fields after `currency`.
_FIGURES = ("clicks", "unique_clicks", "conversions", "revenue", "commission", "fees", "gifted")
_INDEX = {name: i for i, name in enumerate(_FIGURES)}


def by_scope(
    rows: dict[tuple[int, Any], Performance], ids: Iterable[int]
) -> dict[int, dict[Any, Performance]]:
    """`aggregate`'s rows per scope id (every id present, maybe empty)."""
    result: dict[int, dict[Any, Performance]] = {i: {} for i in ids}
    for (scope_id, k), p in rows.items():
        result.setdefault(scope_id, {})[k] = p
    return result


def known(key: Any) -> bool:
    """A breakdown key that names something: not an unknown dimension value, not NO_LINK."""
    return key not in (UNKNOWN, NO_LINK, None)
