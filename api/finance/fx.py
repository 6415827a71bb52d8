"""Paying a batch in the payee's currency at a rate finance enters for the batch.

The ledger stays in the batch currency: the PAYOUT entry debits the line's `amount`. What the
payee receives is `amount` x rate in its payout currency, rounded half-even once to that
currency's minor unit (JPY has none, KWD three), and recorded on the line with the rate when the
batch is paid (`freeze`): the source amount, the converted amount and the rate, all kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.finance.errors import FinanceError
from api.models import PayoutBatch, PayoutDetails, PayoutFxRate, PayoutLine
from api.models.ledger import PayoutStatus
from api.money import MoneyError, exponent, normalize_currency, round_half_even

MAX_PLACES = 8
MAX_RATE = Decimal(10) ** 9


def parse_rate(value: object, field: str = "rate") -> Decimal:
    """A positive decimal with at most 8 places (units of the payee currency per unit of the
    batch currency); refused, never rounded, otherwise."""
    text = str(value).strip()
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise FinanceError("INVALID_RATE", f"{field} must be a decimal number", field) from None
    if not rate.is_finite() or "e" in text.lower():
        raise FinanceError("INVALID_RATE", f"{field} must be a plain decimal number", field)
    if rate <= 0 or rate >= MAX_RATE:
        raise FinanceError("INVALID_RATE", f"{field} must be above 0 and below 10^9", field)
    if -rate.as_tuple().exponent > MAX_PLACES:  # type: ignore[operator]
        raise FinanceError(
            "INVALID_RATE", f"{field} has more than {MAX_PLACES} decimal places", field
        )
    return rate


def convert(minor: int, source: str, target: str, rate: Decimal) -> int:
    """`minor` units of `source` in minor units of `target` at `rate`, rounded half-even once:
    1234 EUR cents at 161.5 JPY = 1992.89... -> 1993 JPY."""
    shift = exponent(target) - exponent(source)
    return round_half_even(Decimal(minor) * rate * Decimal(10) ** shift)


def rates_of(session: Session, batch_id: int) -> dict[str, Decimal]:
    rows = session.scalars(select(PayoutFxRate).where(PayoutFxRate.batch_id == batch_id))
    return {row.currency: row.rate for row in rows}


def set_rate(
    session: Session,
    batch: PayoutBatch,
    currency: str,
    rate: Decimal,
    set_by: str,
    *,
    now: datetime | None = None,
) -> PayoutFxRate:
    """Enters (or replaces) the rate of `currency` for a DRAFT batch."""
    try:
        code = normalize_currency(currency)
    except MoneyError as exc:
        raise FinanceError("INVALID_CURRENCY", str(exc), "currency") from None
    if batch.status != PayoutStatus.DRAFT:
        raise FinanceError(
            "NOT_DRAFT",
            f"payout batch {batch.id} is {batch.status}: rates are set on a DRAFT batch",
            "batchId",
        )
    if code == batch.currency:
        raise FinanceError(
            "INVALID_CURRENCY", f"the batch is in {code} already: no rate is needed", "currency"
        )
    row = session.scalar(
        select(PayoutFxRate).where(PayoutFxRate.batch_id == batch.id, PayoutFxRate.currency == code)
    )
    if row is None:
        row = PayoutFxRate(organization_id=batch.organization_id, batch_id=batch.id, currency=code)
        session.add(row)
    row.rate = rate
    row.set_by = set_by
    row.set_at = now or utcnow()
    session.flush()
    return row


@dataclass(frozen=True)
class Payment:
    """What one line pays: `amount` minor units of `currency`, at `rate` (None: no conversion)."""

    amount: int
    currency: str
    rate: Decimal | None


def payee_currencies(session: Session, influencer_ids: list[int]) -> dict[int, str]:
    rows = session.execute(
        select(PayoutDetails.influencer_id, PayoutDetails.currency).where(
            PayoutDetails.influencer_id.in_(influencer_ids)
        )
    )
    return {int(i): c for i, c in rows}


def payment(
    line: PayoutLine, batch_currency: str, payee_currency: str, rates: dict[str, Decimal]
) -> Payment | None:
    """The line in the payee's currency; None when that needs a rate the batch lacks. A paid
    line answers what it recorded."""
    if line.paid_amount is not None and line.paid_currency is not None:
        return Payment(line.paid_amount, line.paid_currency, line.fx_rate)
    if payee_currency == batch_currency:
        return Payment(line.amount, batch_currency, None)
    rate = rates.get(payee_currency)
    if rate is None:
        return None
    return Payment(convert(line.amount, batch_currency, payee_currency, rate), payee_currency, rate)


def freeze(session: Session, batch: PayoutBatch, lines: list[PayoutLine]) -> None:
    """Records on each line what it pays, in the transaction that marks the batch paid.
    Refuses (MISSING_FX_RATE) when a payee's currency has no rate for the batch."""
    currencies = payee_currencies(session, [line.influencer_id for line in lines])
    rates = rates_of(session, batch.id)
    missing = sorted(
        {
            code
            for line in lines
            if (code := currencies.get(line.influencer_id, batch.currency)) != batch.currency
            and code not in rates
        }
    )
    if missing:
        raise FinanceError(
            "MISSING_FX_RATE",
            f"enter the rate of {', '.join(missing)} for payout batch {batch.id} "
            "(setPayoutBatchFxRate) before marking it paid",
            "payoutBatchId",
        )
    for line in lines:
        paid = payment(
            line, batch.currency, currencies.get(line.influencer_id, batch.currency), rates
        )
        assert paid is not None
        line.paid_amount, line.paid_currency, line.fx_rate = paid.amount, paid.currency, paid.rate
