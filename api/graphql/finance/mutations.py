from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import Enum

import strawberry

from api.finance import payouts
from api.finance.errors import FinanceError as FinanceProblem
from api.graphql.context import Info
from api.graphql.errors import Problem, UserErrors, problem
from api.graphql.finance.types import Conversion, FinanceError, FinanceErrorCode, PayoutBatch
from api.graphql.lookup import load_visible
from api.graphql.money import currency_or_error
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.ledger import posting
from api.models import Conversion as ConversionModel
from api.models import PayoutBatch as PayoutBatchModel
from api.money import MoneyError, parse_amount

ERRORS = (FinanceError, FinanceErrorCode)


@strawberry.enum(name="ConversionReviewDecision")
class ReviewDecision(Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


@strawberry.input
class ReviewConversionInput:
    conversion_id: strawberry.ID
    decision: ReviewDecision
    reason: str | None = None


@strawberry.input
class CreatePayoutBatchInput:
    currency: str
    as_of: date = strawberry.field(description="Entries available by the end of this day (UTC).")
    minimum_amount: Decimal = strawberry.field(
        default=Decimal(0), description="Influencers owed less wait for a later batch."
    )


@strawberry.input
class MarkPayoutBatchPaidInput:
    payout_batch_id: strawberry.ID
    reference: str


@strawberry.type
class ReviewConversionPayload:
    conversion: Conversion | None = None
    user_errors: list[FinanceError]  # type: ignore[valid-type]


@strawberry.type
class PayoutBatchPayload:
    payout_batch: PayoutBatch | None = None
    user_errors: list[FinanceError]  # type: ignore[valid-type]


def _as_user_error(exc: FinanceProblem | posting.PostingError, field: str | None) -> UserErrors:
    code = exc.code if exc.code in FinanceErrorCode.__members__ else "INVALID"
    return UserErrors(Problem(getattr(exc, "field", None) or field, exc.message, code))


def _load(info: Info, model: type, gid: strawberry.ID, type_name: str, field: str) -> object:
    return load_visible(info, model, type_name, gid, field)


@strawberry.type
class FinanceMutation:
    @strawberry.mutation(description="Approves (crediting its commission) or rejects a conversion.")
    def review_conversion(
        self, info: Info, input: ReviewConversionInput
    ) -> ReviewConversionPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "finance")
            row = _load(info, ConversionModel, input.conversion_id, "Conversion", "conversionId")
            assert isinstance(row, ConversionModel)
            reason = (input.reason or "").strip() or None
            if reason is not None and len(reason) > 2000:
                raise problem("reason", "reason must be at most 2000 characters", "TOO_LONG")
            review = (
                posting.approve_conversion
                if input.decision is ReviewDecision.APPROVE
                else posting.reject_conversion
            )
            try:
                review(ctx.session, row, ctx.viewer.label, reason)
            except posting.PostingError as exc:
                raise _as_user_error(exc, "conversionId") from None
            ctx.session.flush()
            return {"conversion": Conversion.from_row(ctx.session.get_one(ConversionModel, row.id))}

        return run_mutation(info, ReviewConversionPayload, ERRORS, body)

    @strawberry.mutation(
        description="Creates the payout batch of a currency and day, or returns the existing one."
    )
    def create_payout_batch(self, info: Info, input: CreatePayoutBatchInput) -> PayoutBatchPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "finance")
            currency = currency_or_error(input.currency, "currency")
            try:
                minimum = parse_amount(input.minimum_amount, currency)
            except MoneyError as exc:
                code = "NEGATIVE" if input.minimum_amount < 0 else "INVALID_AMOUNT"
                raise problem("minimumAmount", str(exc), code) from None
            try:
                batch = payouts.create_payout_batch(
                    ctx.session, ctx.viewer.organization_id, currency, input.as_of, minimum
                )
            except FinanceProblem as exc:
                raise _as_user_error(exc, None) from None
            return {"payout_batch": PayoutBatch.from_row(batch)}

        return run_mutation(info, PayoutBatchPayload, ERRORS, body)

    @strawberry.mutation(description="Marks a batch paid: appends one PAYOUT entry per line.")
    def mark_payout_batch_paid(
        self, info: Info, input: MarkPayoutBatchPaidInput
    ) -> PayoutBatchPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "finance")
            row = _load(
                info, PayoutBatchModel, input.payout_batch_id, "PayoutBatch", "payoutBatchId"
            )
            assert isinstance(row, PayoutBatchModel)
            try:
                batch = payouts.mark_paid(ctx.session, row, input.reference)
            except FinanceProblem as exc:
                raise _as_user_error(exc, None) from None
            return {"payout_batch": PayoutBatch.from_row(batch)}

        return run_mutation(info, PayoutBatchPayload, ERRORS, body)
