"""A program's monthly figures per member, from the performance rollups (never raw scans)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models.programs import LevelMetric
from api.models.rollups import PerformanceRollup


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def month_figures(
    session: Session,
    partnership_ids: Iterable[int],
    currency: str,
    month: date,
    metric: LevelMetric,
) -> dict[int, int]:
    """{partnership id: conversions or revenue (net of refunds) in the month}, one statement;
    a partnership without activity is absent (0)."""
    ids = sorted(set(partnership_ids))
    if not ids:
        return {}
    start, end = month_bounds(month)
    r = PerformanceRollup
    column = r.revenue if metric is LevelMetric.REVENUE else r.conversions
    rows = session.execute(
        select(r.partnership_id, func.sum(column))
        .where(
            r.partnership_id.in_(ids),
            r.currency == currency,
            r.hour >= start,
            r.hour < end,
        )
        .group_by(r.partnership_id)
    ).all()
    return {pid: int(total or 0) for pid, total in rows}
