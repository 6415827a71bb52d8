"""Influencers' payout details and the organization's debtor account: validated, sealed, masked.

An IBAN and BIC are checked with `schwifty` (country, length, structure, checksum; the BIC's
country must be the IBAN's), e-mails with `api.domain.validation.email`. The account is stored
as one sealed token (`tracker.sealing`) of a JSON object: no column holds it in clear, and the
API shows it only masked (`DE89 **** **** **** **30 00`). The clear values leave Vouch only in
a payout file (`api.finance.payout_files`).

Every change is an audit row (`PayoutDetailsChange`: who, when, which kinds of field, never the
values), and the influencer is told by `notify_payout_details_changed`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.domain import validation
from api.finance.errors import FinanceError
from api.models import DebtorAccount, Influencer, PayoutDetails, PayoutDetailsChange
from api.models.payouts import PayoutMethod
from api.money import MoneyError, normalize_currency
from api.settings import get_settings
from tracker.sealing import VARIABLE, Sealer, Unsealable, sealer

log = logging.getLogger("vouch.payouts")

MAX_NAME = 70  # the EPC limit of a party's name in a SEPA credit transfer
SUBJECT_DETAILS = "PAYOUT_DETAILS"


@dataclass(frozen=True)
class Account:
    """A payee's (or the debtor's) account in clear: only ever in memory."""

    method: PayoutMethod
    currency: str
    account_holder: str | None = None
    iban: str | None = None
    bic: str | None = None
    paypal_email: str | None = None
    wise_recipient_id: str | None = None
    wise_email: str | None = None


def seal_json(values: dict[str, Any]) -> str:
    return sealer(get_settings().secret_keys).seal(json.dumps(values, sort_keys=True))


def unseal_json(token: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(sealer(get_settings().secret_keys).unseal(token))
    return value


def _name(value: str | None, field: str, *, required: bool) -> str | None:
    name = " ".join((value or "").split())
    if not name:
        if required:
            raise FinanceError("REQUIRED", f"{field} is required for this method", field)
        return None
    if len(name) > MAX_NAME:
        raise FinanceError("TOO_LONG", f"{field} must be at most {MAX_NAME} characters", field)
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise FinanceError("INVALID", f"{field} must not contain control characters", field)
    return name


def check_iban(value: str | None, field: str = "iban") -> IBAN:
    if not value or not value.strip():
        raise FinanceError("REQUIRED", f"{field} is required for SEPA", field)
    try:
        return IBAN(value.strip())
    except SchwiftyException as exc:
        raise FinanceError("INVALID_IBAN", f"{field} is not a valid IBAN: {exc}", field) from None


def check_bic(value: str | None, iban: IBAN, field: str = "bic") -> str | None:
    """The BIC in its 8 or 11 characters, or the IBAN's bank's when left out (None if
    schwifty does not know it: SEPA no longer needs a BIC inside the EEA)."""
    if not value or not value.strip():
        known = iban.bic
        return str(known) if known is not None else None
    try:
        bic = BIC(value.strip())
    except SchwiftyException as exc:
        raise FinanceError("INVALID_BIC", f"{field} is not a valid BIC: {exc}", field) from None
    if bic.country_code != iban.country_code:
        raise FinanceError(
            "BIC_MISMATCH",
            f"the BIC's country ({bic.country_code}) is not the IBAN's ({iban.country_code})",
            field,
        )
    return str(bic)


def _email(value: str | None, field: str) -> str:
    checked = validation.email(value or "")
    if checked is None:
        raise FinanceError("INVALID_EMAIL", f"{field} is not an e-mail address", field)
    return checked


def _currency(value: str | None) -> str:
    try:
        return normalize_currency(value or "")
    except MoneyError as exc:
        raise FinanceError("INVALID_CURRENCY", str(exc), "currency") from None


def validate(
    method: PayoutMethod,
    *,
    currency: str | None,
    account_holder: str | None = None,
    iban: str | None = None,
    bic: str | None = None,
    paypal_email: str | None = None,
    wise_recipient: str | None = None,
) -> Account:
    """The account for `method`, checked; raises FinanceError for the first problem. Fields of
    other methods are refused rather than stored unused."""
    others = {
        PayoutMethod.SEPA: {"paypalEmail": paypal_email, "wiseRecipient": wise_recipient},
        PayoutMethod.PAYPAL: {"iban": iban, "bic": bic, "wiseRecipient": wise_recipient},
        PayoutMethod.WISE: {"iban": iban, "bic": bic, "paypalEmail": paypal_email},
    }[method]
    for field, value in others.items():
        if value:
            raise FinanceError("NOT_ALLOWED", f"{field} is not used by {method.value}", field)
    if method is PayoutMethod.SEPA:
        code = _currency(currency or "EUR")
        if code != "EUR":
            raise FinanceError(
                "CURRENCY_NOT_SUPPORTED", "SEPA credit transfers are in EUR only", "currency"
            )
        checked = check_iban(iban)
        return Account(
            method,
            code,
            account_holder=_name(account_holder, "accountHolder", required=True),
            iban=checked.compact,
            bic=check_bic(bic, checked),
        )
    code = _currency(currency)
    if method is PayoutMethod.PAYPAL:
        return Account(
            method,
            code,
            account_holder=_name(account_holder, "accountHolder", required=False),
            paypal_email=_email(paypal_email, "paypalEmail"),
        )
    recipient = (wise_recipient or "").strip()
    holder = _name(account_holder, "accountHolder", required=True)
    if recipient.isascii() and recipient.isdigit() and len(recipient) <= 20:
        return Account(method, code, account_holder=holder, wise_recipient_id=recipient)
    if not recipient:
        raise FinanceError("REQUIRED", "wiseRecipient is required for WISE", "wiseRecipient")
    return Account(
        method, code, account_holder=holder, wise_email=_email(recipient, "wiseRecipient")
    )


def _fields(account: Account) -> dict[str, Any]:
    values = asdict(account)
    values["method"] = account.method.value
    return {k: v for k, v in values.items() if v is not None}


def account_of(row: PayoutDetails | DebtorAccount) -> Account:
    values = unseal_json(row.sealed)
    values["method"] = PayoutMethod(values["method"])
    return Account(**values)


# --- masking: what the API shows --------------------------------------------------------------


def mask_iban(iban: str) -> str:
    """`DE89370400440532013000` -> `DE89 **** **** **** **30 00`: country and check digits and
    the last four characters, in the IBAN's groups of four."""
    compact = iban.replace(" ", "")
    masked = compact[:4] + "*" * max(len(compact) - 8, 0) + compact[-4:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def mask_email(email: str) -> str:
    """`ana.lopez@example.com` -> `a***@example.com`."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_id(value: str) -> str:
    return "*" * max(len(value) - 4, 0) + value[-4:]


@dataclass(frozen=True)
class Masked:
    method: PayoutMethod
    currency: str
    account_holder: str | None
    iban: str | None
    bic: str | None
    paypal_email: str | None
    wise_recipient: str | None
    updated_at: datetime
    updated_by: str


def masked(row: PayoutDetails) -> Masked:
    account = account_of(row)
    return Masked(
        method=account.method,
        currency=account.currency,
        account_holder=account.account_holder,
        iban=mask_iban(account.iban) if account.iban else None,
        bic=account.bic,
        paypal_email=mask_email(account.paypal_email) if account.paypal_email else None,
        wise_recipient=(
            mask_email(account.wise_email)
            if account.wise_email
            else mask_id(account.wise_recipient_id)
            if account.wise_recipient_id
            else None
        ),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


# --- storing ------------------------------------------------------------------------------------


def details_of(session: Session, influencer_id: int) -> PayoutDetails | None:
    return session.scalar(select(PayoutDetails).where(PayoutDetails.influencer_id == influencer_id))


def _changed_kinds(old: Account | None, new: Account) -> list[str]:
    """Which kinds of field differ (for the audit row and the e-mail): names, never values."""
    before = _fields(old) if old else {}
    after = _fields(new)
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def set_details(
    session: Session,
    organization_id: int,
    influencer_id: int,
    account: Account,
    changed_by: str,
    *,
    now: datetime | None = None,
) -> tuple[PayoutDetails, PayoutDetailsChange | None]:
    """Stores the influencer's account sealed, with an audit row and a notification of what
    changed; the same details again change nothing and record nothing."""
    now = now or utcnow()
    row = details_of(session, influencer_id)
    kinds = _changed_kinds(account_of(row) if row else None, account)
    if row is not None and not kinds:
        return row, None
    if row is None:
        row = PayoutDetails(organization_id=organization_id, influencer_id=influencer_id)
        session.add(row)
    row.method = account.method
    row.currency = account.currency
    row.sealed = seal_json(_fields(account))
    row.updated_at = now
    row.updated_by = changed_by
    change = record_change(
        session, organization_id, influencer_id, SUBJECT_DETAILS, kinds, changed_by, now=now
    )
    return row, change


def record_change(
    session: Session,
    organization_id: int,
    influencer_id: int,
    subject: str,
    kinds: list[str],
    changed_by: str,
    *,
    now: datetime,
) -> PayoutDetailsChange:
    change = PayoutDetailsChange(
        organization_id=organization_id,
        influencer_id=influencer_id,
        subject=subject,
        fields=kinds,
        changed_by=changed_by,
        changed_at=now,
    )
    session.add(change)
    # Field names only: the values never reach a log.
    log.info(
        "%s of influencer %s changed by %s: %s",
        subject.lower().replace("_", " "),
        influencer_id,
        changed_by,
        ", ".join(kinds),
    )
    notify_payout_details_changed(session, change)
    return change


def notify_payout_details_changed(session: Session, change: PayoutDetailsChange) -> None:
    """E-mails the influencer that its payout details or tax profile changed (who, when, which
    kinds of field: never the values), so that a change it did not make is noticed; the message
    is kept on the audit row too. Sent when the change commits (`api.mail`)."""
    from api.mail import Mail, deliver_on_commit

    influencer = session.get_one(Influencer, change.influencer_id)
    what = "tax profile" if change.subject != SUBJECT_DETAILS else "payout details"
    fields = ", ".join(k.replace("_", " ") for k in change.fields) or "nothing"
    change.notify_to = influencer.email
    change.notification = (
        f"Hello {influencer.name},\n\nyour {what} in Vouch changed on "
        f"{change.changed_at.strftime('%Y-%m-%d %H:%M UTC')} by {change.changed_by}: {fields}.\n"
        "If you did not make or ask for this change, tell the brand at once: payments go to "
        "the account on file.\n"
    )
    if influencer.email:
        deliver_on_commit(
            session,
            Mail(influencer.email, f"Your {what} in Vouch changed", change.notification),
        )
        change.notified_at = change.changed_at


def set_debtor(
    session: Session, organization_id: int, account: Account, changed_by: str
) -> DebtorAccount:
    """The organization's own account that SEPA batches are paid from, sealed."""
    row = session.scalar(
        select(DebtorAccount).where(DebtorAccount.organization_id == organization_id)
    )
    if row is None:
        row = DebtorAccount(organization_id=organization_id)
        session.add(row)
    row.sealed = seal_json(_fields(account))
    row.updated_at = utcnow()
    row.updated_by = changed_by
    session.flush()
    log.info("debtor account of organization %s changed by %s", organization_id, changed_by)
    return row


def debtor_of(session: Session, organization_id: int) -> Account | None:
    row = session.scalar(
        select(DebtorAccount).where(DebtorAccount.organization_id == organization_id)
    )
    return account_of(row) if row is not None else None


# --- key rotation -------------------------------------------------------------------------------


def _sealed_columns() -> list[tuple[Any, str]]:
    from api.models import SelfBillingInvoice, Shipment, TaxProfile

    return [
        (PayoutDetails, "sealed"),
        (DebtorAccount, "sealed"),
        (TaxProfile, "sealed"),
        (SelfBillingInvoice, "parties"),
        (Shipment, "address_sealed"),  # personal data, sealed the same way
    ]


def reencrypt(session: Session, keys: Sealer, batch_size: int = 500) -> int:
    """Seals every payout detail, debtor account, tax id and invoice's parties that is not under
    the newest key again with it, `batch_size` rows a transaction; returns how many changed.
    Raises `Unsealable`, before changing anything, if a token unseals with none of the keys."""
    for model, column in _sealed_columns():
        for token_id, token in session.execute(select(model.id, getattr(model, column))):
            if token is not None and keys.key_index(token) is None:
                session.rollback()
                raise Unsealable(
                    f"{model.__tablename__} {token_id} is sealed with none of the "
                    f"{len(keys.keys)} keys of {VARIABLE}"
                )
    session.rollback()
    changed = 0
    for model, column in _sealed_columns():
        last = 0
        while True:
            rows = list(
                session.scalars(
                    select(model).where(model.id > last).order_by(model.id).limit(batch_size)
                )
            )
            if not rows:
                break
            last = rows[-1].id
            for row in rows:
                token = getattr(row, column)
                if token is not None and keys.key_index(token) != 0:
                    setattr(row, column, keys.reseal(token))
                    changed += 1
            session.commit()
    return changed
