"""The file a bank, PayPal or Wise needs to pay a batch: one line per payee, amounts exact.

- SEPA_PAIN_001: an ISO 20022 credit transfer, pain.001.001.09 (the EPC schemes' version since
  March 2024), built with `sepaxml` and validated against the schema it ships before it is
  returned; the debtor is the organization's account (`payout_details.set_debtor`).
- PAYPAL_PAYOUTS_CSV: PayPal's Payouts web upload, its columns by position and no header row:
  recipient, amount, currency, customer id (30 characters), note, wallet (PAYPAL). One currency
  a file: the batch's.
- WISE_BATCH_CSV: Wise's batch transfer CSV by e-mail or saved recipient, the amount fixed on the
  recipient's side (`amountCurrency` = target), so what the payee receives is the line's.

Each line carries the batch reference (`batch_reference`): the SEPA end-to-end id and remittance
text, PayPal's customer id and note, Wise's reference. A payee is in a file only if its payout
details are for that rail and its currency can be paid; every other one is listed in `missing`
with the reason, never dropped silently. CSV cells go through `csvsafe`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sepaxml import SepaTransfer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.finance import csvsafe, fx
from api.finance.errors import FinanceError
from api.finance.payout_details import Account, account_of, debtor_of
from api.finance.payouts import lines_of
from api.models import Influencer, PayoutBatch, PayoutDetails, PayoutLine
from api.models.ledger import PayoutStatus
from api.models.payouts import PayoutMethod
from api.money import format_amount


class PayoutFileFormat(StrEnum):
    SEPA_PAIN_001 = "SEPA_PAIN_001"
    PAYPAL_PAYOUTS_CSV = "PAYPAL_PAYOUTS_CSV"
    WISE_BATCH_CSV = "WISE_BATCH_CSV"


class MissingReason(StrEnum):
    NO_PAYOUT_DETAILS = "NO_PAYOUT_DETAILS"
    OTHER_METHOD = "OTHER_METHOD"  # paid by another rail: in that rail's file
    NO_FX_RATE = "NO_FX_RATE"  # paid in a currency the batch has no rate for
    CURRENCY_NOT_SUPPORTED = "CURRENCY_NOT_SUPPORTED"  # SEPA is EUR; a PayPal file one currency


METHOD = {
    PayoutFileFormat.SEPA_PAIN_001: PayoutMethod.SEPA,
    PayoutFileFormat.PAYPAL_PAYOUTS_CSV: PayoutMethod.PAYPAL,
    PayoutFileFormat.WISE_BATCH_CSV: PayoutMethod.WISE,
}
SEPA_SCHEMA = "pain.001.001.09"
PAYPAL_COLUMNS = ("recipient", "amount", "currency", "customer_id", "note", "wallet")  # no header
WISE_HEADER = (
    "name",
    "recipientEmail",
    "recipientId",
    "sourceCurrency",
    "targetCurrency",
    "amount",
    "amountCurrency",
    "reference",
)


@dataclass(frozen=True)
class Missing:
    influencer_id: int
    reason: MissingReason
    detail: str


@dataclass(frozen=True)
class Included:
    line: PayoutLine
    name: str
    account: Account
    payment: fx.Payment


@dataclass
class PayoutFile:
    content: str
    filename: str
    content_type: str
    included: list[Included] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)


def batch_reference(batch: PayoutBatch) -> str:
    """The batch's reference on every line (and the SEPA message id): at most 35 characters."""
    return f"VOUCH-{batch.organization_id}-{batch.id}"


def line_reference(batch: PayoutBatch, line: PayoutLine) -> str:
    return f"{batch_reference(batch)}-{line.id}"


def _sort(
    session: Session, batch: PayoutBatch, fmt: PayoutFileFormat
) -> tuple[list[Included], list[Missing]]:
    lines = lines_of(session, batch)
    ids = [line.influencer_id for line in lines]
    details = {
        row.influencer_id: row
        for row in session.scalars(
            select(PayoutDetails).where(PayoutDetails.influencer_id.in_(ids))
        )
    }
    names = dict(
        session.execute(select(Influencer.id, Influencer.name).where(Influencer.id.in_(ids))).all()
    )
    rates = fx.rates_of(session, batch.id)
    included: list[Included] = []
    missing: list[Missing] = []
    for line in lines:
        row = details.get(line.influencer_id)
        if row is None:
            missing.append(
                Missing(line.influencer_id, MissingReason.NO_PAYOUT_DETAILS, "no payout details")
            )
            continue
        if row.method is not METHOD[fmt]:
            missing.append(
                Missing(
                    line.influencer_id,
                    MissingReason.OTHER_METHOD,
                    f"paid by {row.method.value}: in that file",
                )
            )
            continue
        paid = fx.payment(line, batch.currency, row.currency, rates)
        if paid is None:
            missing.append(
                Missing(
                    line.influencer_id,
                    MissingReason.NO_FX_RATE,
                    f"paid in {row.currency}: the batch has no {batch.currency}/{row.currency} "
                    "rate (setPayoutBatchFxRate)",
                )
            )
            continue
        wanted = {
            PayoutFileFormat.SEPA_PAIN_001: "EUR",
            PayoutFileFormat.PAYPAL_PAYOUTS_CSV: batch.currency,
        }.get(fmt)
        if wanted is not None and paid.currency != wanted:
            missing.append(
                Missing(
                    line.influencer_id,
                    MissingReason.CURRENCY_NOT_SUPPORTED,
                    f"paid in {paid.currency}: this file pays {wanted} only",
                )
            )
            continue
        account = account_of(row)
        name = account.account_holder or names.get(line.influencer_id) or ""
        included.append(Included(line, name, account, paid))
    return included, missing


class _Transfer(SepaTransfer):
    """sepaxml's transfer with Vouch's message id and creation time instead of random ones, so
    the file of a batch says which batch it is."""

    def __init__(self, config: dict[str, Any], msg_id: str, created: dt.datetime) -> None:
        self._vouch_msg_id = msg_id
        self._vouch_created = created
        super().__init__(config, schema=SEPA_SCHEMA, clean=True)

    def _create_header(self) -> None:
        self.msg_id = self._vouch_msg_id
        super()._create_header()

    def _finalize_batch(self) -> None:
        super()._finalize_batch()
        for node in self._xml.iter("CreDtTm"):
            node.text = self._vouch_created.strftime("%Y-%m-%dT%H:%M:%S")
        for node in self._xml.iter("PmtInfId"):
            node.text = self._vouch_msg_id


def _sepa(session: Session, batch: PayoutBatch, included: list[Included], now: dt.datetime) -> str:
    debtor = debtor_of(session, batch.organization_id)
    if debtor is None or debtor.iban is None:
        raise FinanceError(
            "NO_DEBTOR_ACCOUNT",
            "the organization's own account is not set: setPayoutDebtorAccount first",
            "format",
        )
    config: dict[str, Any] = {
        "name": debtor.account_holder or "",
        "IBAN": debtor.iban,
        "batch": True,
        "currency": "EUR",
    }
    if debtor.bic:
        config["BIC"] = debtor.bic
    transfer = _Transfer(config, batch_reference(batch), now)
    execution = max(now.date(), batch.as_of)
    for item in included:
        payment: dict[str, Any] = {
            "name": item.name,
            "IBAN": item.account.iban,
            "amount": item.payment.amount,
            "execution_date": execution,
            "description": f"{batch_reference(batch)} payout of {batch.as_of.isoformat()}",
            "endtoend_id": line_reference(batch, item.line),
        }
        if item.account.bic:
            payment["BIC"] = item.account.bic
        transfer.add_payment(payment)
    xml: bytes = transfer.export(validate=True, pretty_print=True)
    return xml.decode("utf-8")


def _paypal(batch: PayoutBatch, included: list[Included]) -> str:
    out = []
    for item in included:
        out.append(
            csvsafe.line(
                (
                    item.account.paypal_email,
                    format_amount(item.payment.amount, item.payment.currency),
                    item.payment.currency,
                    line_reference(batch, item.line)[:30],
                    f"{batch_reference(batch)}: payout of {batch.as_of.isoformat()}",
                    "PAYPAL",
                )
            )
        )
    return "".join(out)


def _wise(batch: PayoutBatch, included: list[Included]) -> str:
    out = [csvsafe.line(WISE_HEADER)]
    for item in included:
        out.append(
            csvsafe.line(
                (
                    item.name,
                    item.account.wise_email or "",
                    item.account.wise_recipient_id or "",
                    batch.currency,
                    item.payment.currency,
                    format_amount(item.payment.amount, item.payment.currency),
                    "target",
                    batch_reference(batch),
                )
            )
        )
    return "".join(out)


def build(
    session: Session, batch: PayoutBatch, fmt: PayoutFileFormat, *, now: dt.datetime
) -> PayoutFile:
    """The batch's file in `fmt` with the payees it holds back. A CANCELLED batch pays nothing
    and has no file."""
    if batch.status == PayoutStatus.CANCELLED:
        raise FinanceError(
            "ALREADY_CANCELLED",
            f"payout batch {batch.id} was cancelled: it pays nothing",
            "batchId",
        )
    included, missing = _sort(session, batch, fmt)
    stem = f"payouts-{batch_reference(batch).lower()}"
    if fmt is PayoutFileFormat.SEPA_PAIN_001:
        content = _sepa(session, batch, included, now) if included else ""
        return PayoutFile(content, f"{stem}.xml", "application/xml", included, missing)
    content = (
        _paypal(batch, included)
        if fmt is PayoutFileFormat.PAYPAL_PAYOUTS_CSV
        else _wise(batch, included)
    )
    suffix = "paypal" if fmt is PayoutFileFormat.PAYPAL_PAYOUTS_CSV else "wise"
    return PayoutFile(content, f"{stem}-{suffix}.csv", "text/csv; charset=utf-8", included, missing)
