"""Keeping `PerformanceRollup` in step with conversions, refunds and ledger entries.

Each function here is called by the code that records a fact, right after it was really
recorded (an insert that did not conflict, a status that really changed), in the same
transaction: so the counters are exactly once whenever the facts are.

The deltas are added up in the session (`session.info`) and written when the transaction
commits, in one INSERT ... ON CONFLICT DO UPDATE SET x = x + delta over every row it touched,
in key order: one statement per transaction instead of one per fact, and concurrent writers
lock rollup rows in the same order (no deadlocks). A rollback forgets them. So a query in the
same transaction does not see them yet: reports read committed data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from api.ledger.sql import upsert_add
from api.models import Conversion
from api.models.ledger import EntryKind, SourceType
from api.models.rollups import NO_LINK, PerformanceRollup

COMMISSION_KINDS = frozenset({EntryKind.COMMISSION, EntryKind.REVERSAL, EntryKind.CLAWBACK})
FEE_KINDS = frozenset({EntryKind.FLAT_FEE, EntryKind.BONUS, EntryKind.RETAINER})
_COUNTERS = ("conversions", "revenue", "commission", "fees")
_KEY = ("partnership_id", "link_id", "hour", "currency")
_PENDING = "performance_rollup_deltas"


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


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    rows = [pending[k] for k in sorted(pending, key=_sort_key)]
    rows = [r for r in rows if any(r[c] for c in _COUNTERS)]  # +1 and -1 cancel out
    upsert_add(session, PerformanceRollup, rows, list(_KEY), list(_COUNTERS))


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    partnership_id, link_id, hour, currency = key
    return (partnership_id, link_id, hour.timestamp(), currency)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


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
    bump(
        session,
        _key(conversion, hour_of(conversion.occurred_at), conversion.currency),
        conversions=sign,
        revenue=sign * (conversion.amount - refunded),
    )


def count_refund(session: Session, conversion: Conversion, amount: int) -> None:
    """A refund of `amount` minor units was applied to an APPROVED conversion."""
    if conversion.partnership_id is None:
        return
    bump(
        session,
        _key(conversion, hour_of(conversion.occurred_at), conversion.currency),
        revenue=-amount,
    )


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
