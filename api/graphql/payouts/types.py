"""Payout details (masked), payout files, tax profiles, self-billing invoices, signatures."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

import strawberry

from api.finance import payout_details as details_domain
from api.finance import tax as tax_domain
from api.finance.invoices import invoice_label
from api.finance.payout_files import MissingReason as MissingReasonEnum
from api.finance.payout_files import PayoutFileFormat as PayoutFileFormatEnum
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.influencers.types import Influencer
from api.graphql.loaders import by_id
from api.graphql.money import Money
from api.graphql.relay import ModelNode
from api.models import ContractSignature as ContractSignatureModel
from api.models import Influencer as InfluencerModel
from api.models import PayoutDetails as PayoutDetailsModel
from api.models import SelfBillingInvoice as SelfBillingInvoiceModel
from api.models import TaxProfile as TaxProfileModel
from api.models.payouts import EntityType as EntityTypeEnum
from api.models.payouts import PayoutMethod as PayoutMethodEnum
from api.models.payouts import UsTaxForm as UsTaxFormEnum
from tracker import globalid

PayoutError, PayoutErrorCode = error_type(
    "Payout",
    (
        "INVALID_IBAN",
        "INVALID_BIC",
        "BIC_MISMATCH",
        "INVALID_EMAIL",
        "CURRENCY_NOT_SUPPORTED",
        "INVALID_RATE",
        "NOT_DRAFT",
        "INVALID_TAX_ID",
        "NO_DEBTOR_ACCOUNT",
        "ALREADY_SIGNED",
        "SUPERSEDED",
        "DOCUMENT_CHANGED",
        "ALREADY_CANCELLED",
    ),
)
PayoutMethod = PayoutMethodEnum
strawberry.enum(PayoutMethod, name="PayoutMethod")
PayoutFileFormat = PayoutFileFormatEnum
strawberry.enum(PayoutFileFormat, name="PayoutFileFormat")
MissingReason = MissingReasonEnum
strawberry.enum(MissingReason, name="PayoutMissingReason")
EntityType = EntityTypeEnum
strawberry.enum(EntityType, name="TaxEntityType")
UsTaxForm = UsTaxFormEnum
strawberry.enum(UsTaxForm, name="UsTaxForm")


async def _influencer(info: Info, pk: int) -> Influencer | None:
    row = await by_id(info.context, InfluencerModel).load(pk)
    return Influencer.from_row(row) if row else None


@strawberry.type(
    name="PayoutDetails",
    description="How an influencer is paid, masked: the account itself is never shown.",
)
class PayoutDetails:
    row: strawberry.Private[PayoutDetailsModel]
    method: PayoutMethod
    currency: str
    account_holder: str | None
    iban: str | None = strawberry.field(description="Masked: DE89 **** **** **** **30 00.")
    bic: str | None
    paypal_email: str | None = strawberry.field(description="Masked: a***@example.com.")
    wise_recipient: str | None = strawberry.field(description="Masked.")
    updated_at: datetime
    updated_by: str

    @classmethod
    def from_row(cls, row: PayoutDetailsModel) -> PayoutDetails:
        m = details_domain.masked(row)
        return cls(
            row=row,
            method=m.method,
            currency=m.currency,
            account_holder=m.account_holder,
            iban=m.iban,
            bic=m.bic,
            paypal_email=m.paypal_email,
            wise_recipient=m.wise_recipient,
            updated_at=m.updated_at,
            updated_by=m.updated_by,
        )

    @strawberry.field
    async def influencer(self, info: Info) -> Influencer | None:
        return await _influencer(info, self.row.influencer_id)


@strawberry.type(
    name="PayoutDetailsChange",
    description="An audit record: who changed an influencer's payout details or tax profile, "
    "when, and which kinds of field (never the values).",
)
class PayoutDetailsChange:
    subject: str = strawberry.field(description="PAYOUT_DETAILS or TAX_PROFILE.")
    fields: list[str]
    changed_by: str
    changed_at: datetime
    notified_at: datetime | None = strawberry.field(
        description="When the influencer was e-mailed; null while the e-mail is pending."
    )


@strawberry.type(name="PayoutDebtorAccount", description="The organization's paying account.")
class DebtorAccount:
    account_holder: str | None
    iban: str | None = strawberry.field(description="Masked.")
    bic: str | None
    updated_at: datetime
    updated_by: str


@strawberry.type(name="PayoutMissingDetails", description="A payee held back from a file.")
class MissingDetails:
    influencer_id: strawberry.Private[int]
    reason: MissingReason
    detail: str

    @strawberry.field
    async def influencer(self, info: Info) -> Influencer | None:
        return await _influencer(info, self.influencer_id)


@strawberry.type(name="PayoutFile", description="A batch's payment file, as text.")
class PayoutFile:
    format: PayoutFileFormat
    filename: str
    content_type: str
    content: str = strawberry.field(
        description="The file (empty when no payee can be paid by this rail)."
    )
    line_count: int
    totals: list[Money] = strawberry.field(description="What the file pays, per currency.")
    missing_details: list[MissingDetails] = strawberry.field(
        description="Payees held back from this file, with why."
    )


@strawberry.type(name="PayoutFxRate", description="1 unit of the batch currency in `currency`.")
class FxRate:
    currency: str
    rate: Decimal
    set_by: str
    set_at: datetime


@strawberry.type(name="TaxProfile")
class TaxProfile:
    row: strawberry.Private[TaxProfileModel]
    country: str
    entity_type: EntityType
    tax_id_kind: str | None
    tax_id: str | None = strawberry.field(description="Masked: the last four characters.")
    us_form: UsTaxForm
    us_form_signed_on: date | None
    us_form_expires_on: date | None
    self_billing: bool
    updated_at: datetime
    updated_by: str

    @classmethod
    def from_row(cls, row: TaxProfileModel) -> TaxProfile:
        return cls(
            row=row,
            country=row.country,
            entity_type=row.entity_type,
            tax_id_kind=row.tax_id_kind,
            tax_id=tax_domain.masked_tax_id(row),
            us_form=row.us_form,
            us_form_signed_on=row.us_form_signed_on,
            us_form_expires_on=row.us_form_expires_on,
            self_billing=row.self_billing,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )


@strawberry.type(name="SelfBillingInvoice")
class SelfBillingInvoice(ModelNode):
    __model__ = SelfBillingInvoiceModel
    id: strawberry.relay.NodeID[int]
    issued_at: datetime

    @strawberry.field(description="SB-000001: gapless per organization.")
    def number(self) -> str:
        return invoice_label(self.row.number)

    @strawberry.field
    def amount(self) -> Money:
        money = Money.of(self.row.amount, self.row.currency)
        assert money is not None
        return money

    @strawberry.field(description="Where to download the PDF (the same bearer key).")
    def pdf_url(self) -> str:
        return "/exports/invoice.pdf?id=" + quote(
            globalid.encode("SelfBillingInvoice", self.id), safe=""
        )

    @strawberry.field
    async def influencer(self, info: Info) -> Influencer | None:
        return await _influencer(info, self.row.influencer_id)


@strawberry.type(name="ContractSignature", description="An influencer's acceptance of a version.")
class ContractSignature:
    row: strawberry.Private[ContractSignatureModel]
    signed_by: str
    typed_name: str
    signed_at: datetime
    pdf_sha256: str = strawberry.field(description="The SHA-256 of the exact PDF signed.")
    ip_hash: str | None = strawberry.field(description="The keyed hash of the signer's IP.")

    @classmethod
    def from_row(cls, row: ContractSignatureModel) -> ContractSignature:
        return cls(
            row=row,
            signed_by=row.signed_by,
            typed_name=row.typed_name,
            signed_at=row.signed_at,
            pdf_sha256=row.pdf_sha256,
            ip_hash=row.ip_hash,
        )
