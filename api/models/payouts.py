"""Paying influencers: payout details, the organization's debtor account, batch FX rates, tax
profiles, self-billing invoices, and the signatures of contracts.

Every value that identifies a bank account, a PayPal or Wise account or a tax id is stored
sealed (`tracker.sealing`, keys from VOUCH_SECRET_KEYS): one token per row holding a JSON
object, never a column in clear. `vouch secrets reencrypt` seals them again with the newest key.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from api.db import Base, BigId, UTCDateTime, utcnow
from api.models.columns import enum_column, fk, pk
from api.models.partnerships import Partnership


class PayoutMethod(StrEnum):
    SEPA = "SEPA"
    PAYPAL = "PAYPAL"
    WISE = "WISE"


class EntityType(StrEnum):
    INDIVIDUAL = "INDIVIDUAL"
    COMPANY = "COMPANY"


class UsTaxForm(StrEnum):
    NONE = "NONE"
    W9 = "W9"  # a US person certified its TIN
    W8BEN = "W8BEN"  # a foreign individual
    W8BEN_E = "W8BEN_E"  # a foreign entity


class PayoutDetails(Base):
    """How one influencer is paid: the method, the payout currency, and the account sealed."""

    __tablename__ = "payout_details"
    __table_args__ = (UniqueConstraint("influencer_id"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    influencer_id: Mapped[int] = fk("influencers.id", index=False)
    method: Mapped[PayoutMethod] = enum_column(PayoutMethod)
    currency: Mapped[str] = mapped_column(String(3))  # what the payee is paid in
    sealed: Mapped[str] = mapped_column(Text)  # {"iban", "bic", "account_holder", ...}
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return PayoutDetails.influencer_id == influencer_id


class PayoutDetailsChange(Base):
    """The audit record of one change of payout details or tax profile: who, when and which
    kinds of field changed, never the values, and the e-mail that tells the influencer
    (`api.finance.payout_details.notify_payout_details_changed`), pending until sent."""

    __tablename__ = "payout_details_changes"

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    influencer_id: Mapped[int] = fk("influencers.id")
    subject: Mapped[str] = mapped_column(String(32))  # PAYOUT_DETAILS or TAX_PROFILE
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The e-mail to send (`notify_payout_details_changed`): to whom, and its text (kinds of
    # field, never values). `notified_at`: when the e-mail was queued (api.mail: the outbox, or
    # SMTP once the change commits).
    notify_to: Mapped[str | None] = mapped_column(String(320), nullable=True)
    notification: Mapped[str | None] = mapped_column(Text, nullable=True)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return PayoutDetailsChange.influencer_id == influencer_id


class DebtorAccount(Base):
    """The organization's own account that pays the SEPA batches (name, IBAN, BIC), sealed."""

    __tablename__ = "debtor_accounts"
    __table_args__ = (UniqueConstraint("organization_id"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id", index=False)
    sealed: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return false()


class PayoutFxRate(Base):
    """The rate finance entered for a DRAFT batch: 1 unit of the batch currency = `rate` units
    of `currency`."""

    __tablename__ = "payout_fx_rates"
    __table_args__ = (UniqueConstraint("batch_id", "currency"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    batch_id: Mapped[int] = fk("payout_batches.id", index=False)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 8))
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return false()


class TaxProfile(Base):
    """An influencer's tax status. The tax or VAT id is sealed; its kind is not."""

    __tablename__ = "tax_profiles"
    __table_args__ = (UniqueConstraint("influencer_id"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    influencer_id: Mapped[int] = fk("influencers.id", index=False)
    country: Mapped[str] = mapped_column(String(2))
    entity_type: Mapped[EntityType] = enum_column(EntityType)
    tax_id_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sealed: Mapped[str | None] = mapped_column(Text, nullable=True)  # {"tax_id": ...}
    us_form: Mapped[UsTaxForm] = enum_column(UsTaxForm, default=UsTaxForm.NONE)
    us_form_signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    us_form_expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Agreed beforehand that the brand issues the invoices (Directive 2006/112/EC art. 224).
    self_billing: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return TaxProfile.influencer_id == influencer_id


class InvoiceCounter(Base):
    """The last self-billing invoice number of an organization, taken in the transaction that
    pays a batch: a rolled-back payment takes no number."""

    __tablename__ = "invoice_counters"

    organization_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class SelfBillingInvoice(Base):
    """One self-billing invoice per paid payout line of a payee who opted in; numbered without
    gaps per organization. `parties` is sealed (it holds the supplier's tax id)."""

    __tablename__ = "self_billing_invoices"
    __table_args__ = (
        UniqueConstraint("organization_id", "number"),
        UniqueConstraint("payout_line_id"),
    )

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id", index=False)
    influencer_id: Mapped[int] = fk("influencers.id")
    payout_line_id: Mapped[int] = fk("payout_lines.id", index=False)
    number: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigId)
    currency: Mapped[str] = mapped_column(String(3))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    parties: Mapped[str] = mapped_column(Text)

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        return SelfBillingInvoice.influencer_id == influencer_id


class ContractSignature(Base):
    """An influencer's acceptance of one contract version: who, when, from which client (the
    keyed hash of its IP) and the SHA-256 of the exact PDF it was shown."""

    __tablename__ = "contract_signatures"
    __table_args__ = (UniqueConstraint("contract_id"),)

    id: Mapped[int] = pk()
    organization_id: Mapped[int] = fk("organizations.id")
    contract_id: Mapped[int] = fk("contracts.id", index=False)
    partnership_id: Mapped[int] = fk("partnerships.id")
    signed_by: Mapped[str] = mapped_column(String(200))
    typed_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64))

    @staticmethod
    def influencer_scope(influencer_id: int) -> ColumnElement[bool]:
        own = select(Partnership.id).where(Partnership.influencer_id == influencer_id)
        return ContractSignature.partnership_id.in_(own)


__all__ = [
    "ContractSignature",
    "DebtorAccount",
    "EntityType",
    "InvoiceCounter",
    "PayoutDetails",
    "PayoutDetailsChange",
    "PayoutFxRate",
    "PayoutMethod",
    "SelfBillingInvoice",
    "TaxProfile",
    "UsTaxForm",
]
