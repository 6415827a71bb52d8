"""Keeping `PerformanceRollup` (and its dimension and daily twins) in step with conversions,
refunds and ledger entries.

Each function here is called by the code that records a fact, right after it was really
recorded (an insert that did not conflict, a status that really changed), in the same
transaction: so the counters are exactly once whenever the facts are.

The deltas are added up in the session (`session.info`) and written when the transaction
commits, in one INSERT ... ON CONFLICT DO UPDATE SET x = x + delta over every row it touched,
in key order (and the same deltas summed per UTC day into the daily rollups): a statement per
table and transaction instead of one per fact, and concurrent writers
lock rollup rows in the same order (no deadlocks). A rollback forgets them; a SAVEPOINT rolled
back forgets only the deltas added inside it (the facts it undid), as the database does. So a
query in the same transaction does not see them yet: reports read committed data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from api.domain.dimensions import UNKNOWN, Dimension
from api.ledger.sql import upsert_add, upsert_add_by_campaign, upsert_add_daily
from api.models import Conversion
from api.models.events import AttributedVia
from api.models.ledger import EntryKind, SourceType
from api.models.rollups import (
    NO_LINK,
    CampaignPerformanceDimensionRollupDaily,
    PerformanceDimensionRollup,
    PerformanceDimensionRollupDaily,
    PerformanceRollup,
    PerformanceRollupDaily,
)

COMMISSION_KINDS = frozenset({EntryKind.COMMISSION, EntryKind.REVERSAL, EntryKind.CLAWBACK})
FEE_KINDS = frozenset({EntryKind.FLAT_FEE, EntryKind.BONUS, EntryKind.RETAINER})
_COUNTERS = ("conversions", "revenue", "repeat_revenue", "commission", "fees")
_KEY = ("partnership_id", "link_id", "hour", "currency")
_PENDING = "performance_rollup_deltas"
_DIM_COUNTERS = ("conversions", "revenue", "commission")
_DIM_KEY = ("partnership_id", "hour", "currency", "dimension", "value")
_PENDING_DIMS = "performance_dimension_rollup_deltas"
_CAMPAIGN_DIM_KEY = ("campaign_id", "dimension", "day", "currency", "value")
_SAVEPOINTS = "performance_rollup_savepoints"  # SAVEPOINT -> the deltas when it began


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def bump(session: Session, values: dict[str, Any], **deltas: int) -> None:
    """Adds `deltas` (counter name -> amount) to the row keyed by `values` (which also carries
    organization, campaign and influencer) when the transaction commits."""
    if not any(deltas.values()):
        return
    pending: dict[tuple[Any, ...], dict[str, Any]] = session.info.setdefault(_PENDING, {})
    key = tuple(values[k] for k in _KEY)
    row = pending.get(key)
    if row is None:
        row = pending[key] = {**values, **dict.fromkeys(_COUNTERS, 0)}
    for counter, delta in deltas.items():
        row[counter] += delta


def _bump_dimensions(
    session: Session, conversion: Conversion, hour: datetime, **deltas: int
) -> None:
    """The same deltas, by each dimension value the conversion has (`dimension_values`)."""
    pending: dict[tuple[Any, ...], dict[str, Any]] = session.info.setdefault(_PENDING_DIMS, {})
    currency = conversion.currency
    for dimension, value in dimension_values(conversion).items():
        key = (conversion.partnership_id, hour, currency, str(dimension), value)
        row = pending.get(key)
        if row is None:
            row = pending[key] = {
                **dict(zip(_DIM_KEY, key, strict=True)),
                "organization_id": conversion.organization_id,
                "campaign_id": conversion.campaign_id,
                "influencer_id": conversion.influencer_id,
                **dict.fromkeys(_DIM_COUNTERS, 0),
            }
        for counter, delta in deltas.items():
            row[counter] += delta


def dimension_values(conversion: Conversion) -> dict[Dimension, str]:
    """What a conversion is by each dimension (unknown ones left out): its click's country,
    device and referrer (inherited at ingest), or the discount code it came through."""
    values = {
        Dimension.COUNTRY: conversion.country or UNKNOWN,
        Dimension.DEVICE: conversion.device or UNKNOWN,
        Dimension.REFERRER: conversion.referrer_host or UNKNOWN,
        Dimension.DISCOUNT_CODE: (
            (conversion.discount_code or "").upper()
            if conversion.attributed_via == AttributedVia.DISCOUNT_CODE
            else UNKNOWN
        ),
    }
    return {d: v for d, v in values.items() if v != UNKNOWN}


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # a SAVEPOINT released: not yet
        return
    pending = session.info.pop(_PENDING, None)
    dims = session.info.pop(_PENDING_DIMS, None)
    if pending:
        rows = [pending[k] for k in sorted(pending, key=_sort_key)]
        rows = [r for r in rows if any(r[c] for c in _COUNTERS)]  # +1 and -1 cancel out
        upsert_add(session, PerformanceRollup, rows, list(_KEY), list(_COUNTERS))
        upsert_add_daily(session, PerformanceRollupDaily, rows, list(_KEY), list(_COUNTERS))
    if dims:
        rows = [dims[k] for k in sorted(dims, key=_dim_sort_key)]
        rows = [r for r in rows if any(r[c] for c in _DIM_COUNTERS)]
        upsert_add(session, PerformanceDimensionRollup, rows, list(_DIM_KEY), list(_DIM_COUNTERS))
        upsert_add_daily(
            session, PerformanceDimensionRollupDaily, rows, list(_DIM_KEY), list(_DIM_COUNTERS)
        )
        upsert_add_by_campaign(
            session,
            CampaignPerformanceDimensionRollupDaily,
            rows,
            list(_CAMPAIGN_DIM_KEY),
            list(_DIM_COUNTERS),
        )


def _dim_sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    partnership_id, hour, currency, dimension, value = key
    return (partnership_id, hour.timestamp(), currency, dimension, value)


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    partnership_id, link_id, hour, currency = key
    return (partnership_id, link_id, hour.timestamp(), currency)


def _copy(session: Session) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    return {
        name: {key: dict(row) for key, row in session.info.get(name, {}).items()}
        for name in (_PENDING, _PENDING_DIMS)
    }


@event.listens_for(Session, "after_transaction_create")
def _remember_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_SAVEPOINTS, {})[transaction] = _copy(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    """A SAVEPOINT rolled back puts the deltas back as they were when it began (SQLAlchemy
    fires `after_rollback` for it too, so that event would forget the whole transaction's);
    the whole transaction rolled back forgets them all."""
    if previous_transaction.nested:
        before = session.info.get(_SAVEPOINTS, {}).pop(previous_transaction, None)
        if before is not None:
            session.info.update(before)
    elif previous_transaction.parent is None:
        for name in (_PENDING, _PENDING_DIMS, _SAVEPOINTS):
            session.info.pop(name, None)


@event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_SAVEPOINTS, None)


def _key(conversion: Conversion, hour: datetime, currency: str) -> dict[str, Any]:
    return {
        "partnership_id": conversion.partnership_id,
        "link_id": conversion.link_id or NO_LINK,
        "hour": hour,
        "currency": currency,
        "organization_id": conversion.organization_id,
        "campaign_id": conversion.campaign_id,
        "influencer_id": conversion.influencer_id,
    }


def count_conversion(session: Session, conversion: Conversion, *, sign: int, refunded: int) -> None:
    """An attributed conversion became APPROVED (+1) or stopped being so (-1): its count and its
    revenue net of the `refunded` minor units already applied to it, at the order's hour."""
    if conversion.partnership_id is None:
        return
    hour = hour_of(conversion.occurred_at)
    revenue = sign * (conversion.amount - refunded)
    bump(
        session,
        _key(conversion, hour, conversion.currency),
        conversions=sign,
        revenue=revenue,
        repeat_revenue=revenue if conversion.repeat else 0,
    )
    _bump_dimensions(session, conversion, hour, conversions=sign, revenue=revenue)


def count_refund(session: Session, conversion: Conversion, amount: int) -> None:
    """A refund of `amount` minor units was applied to an APPROVED conversion."""
    if conversion.partnership_id is None:
        return
    hour = hour_of(conversion.occurred_at)
    bump(
        session,
        _key(conversion, hour, conversion.currency),
        revenue=-amount,
        repeat_revenue=-amount if conversion.repeat else 0,
    )
    _bump_dimensions(session, conversion, hour, revenue=-amount)


def count_entry(session: Session, values: dict[str, Any], link_id: int | None) -> None:
    """A ledger entry (its column values) was posted. Only commission and fee kinds of a
    partnership count towards performance (payouts and adjustments don't)."""
    kind = EntryKind(values["kind"])
    if values.get("partnership_id") is None or kind not in COMMISSION_KINDS | FEE_KINDS:
        return
    key = {
        "partnership_id": values["partnership_id"],
        "link_id": link_id or NO_LINK,
        "hour": hour_of(values["created_at"]),
        "currency": values["currency"],
        "organization_id": values["organization_id"],
        "campaign_id": values["campaign_id"],
        "influencer_id": values["influencer_id"],
    }
    # A program bonus taken back is a REVERSAL/CLAWBACK of a fee, not of a commission.
    fee = kind in FEE_KINDS or values.get("source_type") == SourceType.PROGRAM_BONUS
    counter = "fees" if fee else "commission"
    bump(session, key, **{counter: values["amount"]})
    conversion_id = values.get("conversion_id")
    if counter == "commission" and conversion_id is not None:
        # Loaded already by whoever posts the entry (the identity map: no statement).
        conversion = session.get(Conversion, conversion_id)
        if conversion is not None and conversion.currency == values["currency"]:
            _bump_dimensions(session, conversion, key["hour"], commission=values["amount"])
