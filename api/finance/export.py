"""Statements as CSV: one row per ledger entry of a month, or one summary row per influencer.

Entry columns: statement_period, influencer_id (Relay global id), influencer_name, entry_id (global
id), date (created_at, ISO 8601 UTC), kind, campaign, order_id, repeat_order ("true" when the
entry's conversion is a repeat order of a returning customer, "false" for a first order, empty for
an entry without a conversion), amount (signed decimal string in
the currency's major unit), currency, status (derived as of the export: PENDING, AVAILABLE, PAID),
payout_batch (the PAYOUT's batch, or the first PAID batch covering the entry), memo (what the entry
is for, in words: the order and the commission's sum, the refund, who posted or rejected it).

Summary columns: statement_period, influencer_id, influencer_name, currency, opening, credits,
debits, closing (closing = opening + credits - debits; debits positive), first_order_revenue,
repeat_revenue (the period's revenue, first and repeat orders apart: `api.finance.statements`).

Cells a spreadsheet would run as formulas are neutralised (`api.finance.csvsafe`).
Rows stream from a server-side cursor (`yield_per`): memory does not grow with the row count.
Used by `vouch statements export` and by `GET /exports/statements.csv`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from api.db import get_sessionmaker, utcnow
from api.finance.balances import status_expression
from api.finance.csvsafe import line as _line
from api.finance.statements import Period, parse_period, revenue_terms
from api.models import (
    Campaign,
    Conversion,
    Influencer,
    LedgerEntry,
    PayoutBatch,
    PayoutLine,
    Refund,
)
from api.models.ledger import EntryKind, PayoutStatus
from api.money import format_amount
from tracker import globalid

ENTRY_COLUMNS = (
    "statement_period",
    "influencer_id",
    "influencer_name",
    "entry_id",
    "date",
    "kind",
    "campaign",
    "order_id",
    "repeat_order",
    "amount",
    "currency",
    "status",
    "payout_batch",
    "memo",
)
SUMMARY_COLUMNS = (
    "statement_period",
    "influencer_id",
    "influencer_name",
    "currency",
    "opening",
    "credits",
    "debits",
    "closing",
    "first_order_revenue",
    "repeat_revenue",
)
CHUNK = 2_000


def _covering_batch(as_of: datetime) -> Any:
    """The first batch paid by `as_of` covering an entry (the `paid_by_batch` rule), as a
    scalar subquery."""
    b, line = PayoutBatch, PayoutLine
    return (
        select(func.min(b.id))
        .join(line, line.batch_id == b.id)
        .where(
            b.organization_id == LedgerEntry.organization_id,
            b.currency == LedgerEntry.currency,
            b.status == PayoutStatus.PAID,
            b.paid_at <= as_of,
            line.influencer_id == LedgerEntry.influencer_id,
            b.created_at >= LedgerEntry.created_at,
            b.cutoff_at > LedgerEntry.available_at,
            LedgerEntry.kind != EntryKind.PAYOUT,
        )
        .correlate(LedgerEntry)
        .scalar_subquery()
    )


def _filters(
    period: Period | None,
    org_id: int | None,
    currency: str | None,
    influencer_id: int | None = None,
) -> list[Any]:
    where: list[Any] = []
    if influencer_id is not None:  # an INFLUENCER's own statement
        where.append(LedgerEntry.influencer_id == influencer_id)
    if period is not None:
        where += [LedgerEntry.created_at >= period.start, LedgerEntry.created_at < period.end]
    if org_id is not None:
        where.append(LedgerEntry.organization_id == org_id)
    if currency is not None:
        where.append(LedgerEntry.currency == currency)
    return where


def count_entries(session: Session, period: str, org_id: int | None, currency: str | None) -> int:
    where = _filters(parse_period(period), org_id, currency)
    return int(session.scalar(select(func.count()).select_from(LedgerEntry).where(*where)) or 0)


def entry_rows(
    session: Session,
    period: str,
    *,
    org_id: int | None = None,
    currency: str | None = None,
    influencer_id: int | None = None,
    as_of: datetime | None = None,
    header: bool = True,
) -> Iterator[str]:
    """CSV lines (header first) for the period's entries, ordered by influencer then date."""
    p = parse_period(period)
    as_of = as_of or utcnow()
    stmt = (
        select(
            LedgerEntry.id,
            LedgerEntry.influencer_id,
            Influencer.name,
            LedgerEntry.created_at,
            LedgerEntry.kind,
            Campaign.name,
            Conversion.order_id,
            Conversion.repeat,
            LedgerEntry.amount,
            LedgerEntry.currency,
            status_expression(as_of),
            func.coalesce(LedgerEntry.payout_batch_id, _covering_batch(as_of)),
            LedgerEntry.memo,
        )
        .join(Influencer, Influencer.id == LedgerEntry.influencer_id)
        .outerjoin(Campaign, Campaign.id == LedgerEntry.campaign_id)
        .outerjoin(Conversion, Conversion.id == LedgerEntry.conversion_id)
        .where(*_filters(p, org_id, currency, influencer_id))
        .order_by(LedgerEntry.influencer_id, LedgerEntry.created_at, LedgerEntry.id)
        .execution_options(yield_per=CHUNK, stream_results=True)
    )
    if header:
        yield _line(ENTRY_COLUMNS)
    for (
        eid,
        inf,
        name,
        created,
        kind,
        campaign,
        order_id,
        repeat,
        amount,
        cur,
        status,
        batch,
        memo,
    ) in session.execute(stmt):
        yield _line(
            (
                p.label,
                globalid.encode("Influencer", inf),
                name,
                globalid.encode("LedgerEntry", eid),
                created.isoformat(),
                str(kind),
                campaign or "",
                order_id or "",
                "" if repeat is None else ("true" if repeat else "false"),
                format_amount(amount, cur),
                cur,
                status,
                globalid.encode("PayoutBatch", batch) if batch else "",
                memo or "",
            )
        )


def summary_rows(
    session: Session,
    period: str,
    *,
    org_id: int | None = None,
    currency: str | None = None,
    influencer_id: int | None = None,
    header: bool = True,
) -> Iterator[str]:
    """One line per influencer and currency with any entry up to the period's end."""
    p = parse_period(period)
    amount = LedgerEntry.amount
    before = LedgerEntry.created_at < p.start
    inside = and_(LedgerEntry.created_at >= p.start, LedgerEntry.created_at < p.end)
    stmt = (
        select(
            LedgerEntry.influencer_id,
            Influencer.name,
            LedgerEntry.currency,
            func.coalesce(func.sum(case((before, amount), else_=0)), 0),
            func.coalesce(func.sum(case((and_(inside, amount > 0), amount), else_=0)), 0),
            func.coalesce(func.sum(case((and_(inside, amount < 0), -amount), else_=0)), 0),
            *revenue_terms(inside),
        )
        .join(Influencer, Influencer.id == LedgerEntry.influencer_id)
        .outerjoin(Conversion, Conversion.id == LedgerEntry.conversion_id)
        .outerjoin(Refund, Refund.id == LedgerEntry.refund_id)
        .where(*_filters(None, org_id, currency, influencer_id), LedgerEntry.created_at < p.end)
        .group_by(LedgerEntry.influencer_id, Influencer.name, LedgerEntry.currency)
        .order_by(LedgerEntry.influencer_id, LedgerEntry.currency)
        .execution_options(yield_per=CHUNK, stream_results=True)
    )
    if header:
        yield _line(SUMMARY_COLUMNS)
    for inf, name, cur, opening, credits, debits, first, again in session.execute(stmt):
        opening, credits, debits = int(opening), int(credits), int(debits)
        yield _line(
            (
                p.label,
                globalid.encode("Influencer", inf),
                name,
                cur,
                *(
                    format_amount(v, cur)
                    for v in (
                        opening,
                        credits,
                        debits,
                        opening + credits - debits,
                        int(first),
                        int(again),
                    )
                ),
            )
        )


def stream(
    period: str,
    *,
    org_id: int | None,
    currency: str | None,
    summary: bool,
    influencer_id: int | None = None,
) -> Iterator[str]:
    """Lines from a session of its own, closed when the stream ends (for HTTP responses)."""
    with get_sessionmaker()() as session:
        rows = summary_rows if summary else entry_rows
        yield from rows(
            session, period, org_id=org_id, currency=currency, influencer_id=influencer_id
        )
