from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

import strawberry

from api import contracts
from api.accounts import lockout
from api.db import utcnow
from api.finance import fx, tax
from api.finance import payout_details as details
from api.finance.errors import FinanceError
from api.graphql.context import Info
from api.graphql.errors import Problem, UserErrors
from api.graphql.lookup import load_visible
from api.graphql.money import raw_decimal
from api.graphql.mutation import run_mutation
from api.graphql.partnerships.mutations import actor
from api.graphql.partnerships.types import Contract
from api.graphql.payouts.types import (
    ContractSignature,
    DebtorAccount,
    EntityType,
    FxRate,
    PayoutDetails,
    PayoutError,
    PayoutErrorCode,
    PayoutMethod,
    TaxProfile,
    UsTaxForm,
)
from api.graphql.permissions import require
from api.models import Contract as ContractModel
from api.models import Influencer as InfluencerModel
from api.models import PayoutBatch as PayoutBatchModel
from api.models.payouts import PayoutMethod as MethodEnum
from api.settings import get_settings

ERRORS = (PayoutError, PayoutErrorCode)
T = TypeVar("T")


@strawberry.input
class SetPayoutDetailsInput:
    influencer_id: strawberry.ID
    method: PayoutMethod
    currency: str | None = strawberry.field(
        default=None, description="What the payee is paid in (SEPA: EUR, the default)."
    )
    account_holder: str | None = None
    iban: str | None = None
    bic: str | None = strawberry.field(
        default=None, description="Optional: the IBAN's bank's when known; its country must match."
    )
    paypal_email: str | None = None
    wise_recipient: str | None = strawberry.field(
        default=None, description="A Wise recipient id, or the recipient's e-mail."
    )


@strawberry.input
class SetPayoutDebtorAccountInput:
    account_holder: str
    iban: str
    bic: str | None = None


@strawberry.input
class SetPayoutBatchFxRateInput:
    batch_id: strawberry.ID
    currency: str
    rate: Decimal = strawberry.field(
        description="Units of `currency` for 1 unit of the batch currency, up to 8 places."
    )


@strawberry.input
class SetTaxProfileInput:
    influencer_id: strawberry.ID
    country: str
    entity_type: EntityType
    tax_id_kind: str | None = strawberry.field(default=None, description="VAT, EIN, SSN or ITIN.")
    tax_id: str | None = None
    us_form: UsTaxForm = UsTaxForm.NONE
    us_form_signed_on: date | None = None
    self_billing: bool = strawberry.field(
        default=False, description="Agreed that the brand issues the payee's invoices."
    )


@strawberry.input
class SignContractInput:
    contract_id: strawberry.ID
    typed_name: str
    pdf_sha256: str | None = strawberry.field(
        default=None,
        description="The SHA-256 of the PDF the influencer read: refused if it changed since.",
    )


@strawberry.type
class PayoutDetailsPayload:
    payout_details: PayoutDetails | None = None
    user_errors: list[PayoutError]  # type: ignore[valid-type]


@strawberry.type
class PayoutDebtorAccountPayload:
    debtor_account: DebtorAccount | None = None
    user_errors: list[PayoutError]  # type: ignore[valid-type]


@strawberry.type
class PayoutFxRatePayload:
    fx_rate: FxRate | None = None
    user_errors: list[PayoutError]  # type: ignore[valid-type]


@strawberry.type
class TaxProfilePayload:
    tax_profile: TaxProfile | None = None
    user_errors: list[PayoutError]  # type: ignore[valid-type]


@strawberry.type
class SignContractPayload:
    signature: ContractSignature | None = None
    contract: Contract | None = None
    user_errors: list[PayoutError]  # type: ignore[valid-type]


def _domain(call: Callable[[], T]) -> T:
    """Runs a domain call, its FinanceError as the user error."""
    try:
        return call()
    except FinanceError as exc:
        code = exc.code if exc.code in PayoutErrorCode.__members__ else "INVALID"
        raise UserErrors(Problem(exc.field, exc.message, code)) from None


def debtor_view(account: details.Account, row_updated: tuple[object, str]) -> DebtorAccount:
    updated_at, updated_by = row_updated
    return DebtorAccount(
        account_holder=account.account_holder,
        iban=details.mask_iban(account.iban) if account.iban else None,
        bic=account.bic,
        updated_at=updated_at,  # type: ignore[arg-type]
        updated_by=updated_by,
    )


def _client_hash(info: Info) -> str | None:
    request = info.context.request
    if request is None:
        return None
    peer = request.client.host if request.client else ""
    return lockout.client_subject(get_settings(), peer, request.headers.get("x-forwarded-for", ""))


@strawberry.type
class PayoutMutation:
    @strawberry.mutation(
        description="Sets how an influencer is paid. Only the influencer itself (its own key) or "
        "an ADMIN; stored sealed, shown masked, every change audited and notified."
    )
    def set_payout_details(self, info: Info, input: SetPayoutDetailsInput) -> PayoutDetailsPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "payout_details")
            influencer: InfluencerModel = load_visible(
                info, InfluencerModel, "Influencer", input.influencer_id, "influencerId"
            )
            account = _domain(
                lambda: details.validate(
                    MethodEnum(input.method),
                    currency=input.currency,
                    account_holder=input.account_holder,
                    iban=input.iban,
                    bic=input.bic,
                    paypal_email=input.paypal_email,
                    wise_recipient=input.wise_recipient,
                )
            )
            row, _change = details.set_details(
                ctx.session, ctx.viewer.organization_id, influencer.id, account, actor(ctx.viewer)
            )
            ctx.session.flush()
            return {"payout_details": PayoutDetails.from_row(row)}

        return run_mutation(info, PayoutDetailsPayload, ERRORS, body)

    @strawberry.mutation(
        description="Sets the organization's own account that SEPA payout files pay from (ADMIN)."
    )
    def set_payout_debtor_account(
        self, info: Info, input: SetPayoutDebtorAccountInput
    ) -> PayoutDebtorAccountPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "debtor_account")
            account = _domain(
                lambda: details.validate(
                    MethodEnum.SEPA,
                    currency="EUR",
                    account_holder=input.account_holder,
                    iban=input.iban,
                    bic=input.bic,
                )
            )
            row = details.set_debtor(
                ctx.session, ctx.viewer.organization_id, account, ctx.viewer.label
            )
            return {"debtor_account": debtor_view(account, (row.updated_at, row.updated_by))}

        return run_mutation(info, PayoutDebtorAccountPayload, ERRORS, body)

    @strawberry.mutation(
        description="Enters the rate a DRAFT batch pays a currency at (payees paid in another "
        "currency than the batch's): the lines keep both amounts and the rate once paid."
    )
    def set_payout_batch_fx_rate(
        self, info: Info, input: SetPayoutBatchFxRateInput
    ) -> PayoutFxRatePayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "finance")
            batch: PayoutBatchModel = load_visible(
                info, PayoutBatchModel, "PayoutBatch", input.batch_id, "batchId", lock=True
            )
            rate = _domain(lambda: fx.parse_rate(raw_decimal(input.rate)))
            row = _domain(
                lambda: fx.set_rate(ctx.session, batch, input.currency, rate, ctx.viewer.label)
            )
            return {
                "fx_rate": FxRate(
                    currency=row.currency, rate=row.rate, set_by=row.set_by, set_at=row.set_at
                )
            }

        return run_mutation(info, PayoutFxRatePayload, ERRORS, body)

    @strawberry.mutation(
        description="Sets an influencer's tax profile (the influencer itself or an ADMIN); the "
        "tax id is checked with python-stdnum, stored sealed and shown masked."
    )
    def set_tax_profile(self, info: Info, input: SetTaxProfileInput) -> TaxProfilePayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "payout_details")
            influencer: InfluencerModel = load_visible(
                info, InfluencerModel, "Influencer", input.influencer_id, "influencerId"
            )
            profile = _domain(
                lambda: tax.validate(
                    country=input.country,
                    entity_type=EntityType(input.entity_type),
                    tax_id_kind=(input.tax_id_kind or "").strip().upper() or None,
                    tax_id=input.tax_id,
                    us_form=UsTaxForm(input.us_form),
                    us_form_signed_on=input.us_form_signed_on,
                    self_billing=input.self_billing,
                    today=utcnow().date(),
                )
            )
            row = tax.set_profile(
                ctx.session, ctx.viewer.organization_id, influencer.id, profile, actor(ctx.viewer)
            )
            return {"tax_profile": TaxProfile.from_row(row)}

        return run_mutation(info, TaxProfilePayload, ERRORS, body)

    @strawberry.mutation(
        description="The influencer signs the latest version of its contract with its typed "
        "name; Vouch records who, when, the IP hash and the SHA-256 of the exact PDF."
    )
    def sign_contract(self, info: Info, input: SignContractInput) -> SignContractPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "contract_sign")
            contract: ContractModel = load_visible(
                info, ContractModel, "Contract", input.contract_id, "contractId", lock=True
            )
            assert ctx.viewer.influencer_id is not None  # an INFLUENCER key sees only its own
            signature = _domain(
                lambda: contracts.sign(
                    ctx.session,
                    contract,
                    influencer_id=ctx.viewer.influencer_id or 0,
                    signed_by=actor(ctx.viewer),
                    typed_name=input.typed_name,
                    ip_hash=_client_hash(info),
                    expected_sha256=input.pdf_sha256,
                )
            )
            return {
                "signature": ContractSignature.from_row(signature),
                "contract": Contract.from_row(contract),
            }

        return run_mutation(info, SignContractPayload, ERRORS, body)
