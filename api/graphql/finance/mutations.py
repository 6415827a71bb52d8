from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from enum import Enum

import strawberry
from sqlalchemy.orm import Session

from api.finance import payouts
from api.finance.errors import FinanceError as FinanceProblem
from api.graphql import inputs
from api.graphql.context import Info
from api.graphql.errors import Problem, UserErrors, problem
from api.graphql.finance.types import (
    Conversion,
    FinanceError,
    FinanceErrorCode,
    LedgerEntry,
    PayoutBatch,
)
from api.graphql.lookup import load_visible
from api.graphql.money import amount_or_error, currency_or_error, raw_decimal
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.ledger import posting
from api.models import Conversion as ConversionModel
from api.models import Influencer as InfluencerModel
from api.models import Partnership as PartnershipModel
from api.models import PayoutBatch as PayoutBatchModel
from api.models.ledger import EntryKind
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


@strawberry.input
class CancelPayoutBatchInput:
    payout_batch_id: strawberry.ID


@strawberry.enum(name="ManualLedgerEntryKind")
class ManualKind(Enum):
    BONUS = "BONUS"
    ADJUSTMENT = "ADJUSTMENT"


@strawberry.input
class CreateLedgerAdjustmentInput:
    influencer_id: strawberry.ID
    kind: ManualKind
    amount: Decimal = strawberry.field(
        description="Major units, signed for an ADJUSTMENT (a BONUS is positive); never 0."
    )
    currency: str
    memo: str = strawberry.field(description="Why: shown on the influencer's statement.")
    idempotency_key: str = strawberry.field(
        description="Chosen by the client (e.g. a UUID): a retry with the same key returns the "
        "entry already posted instead of posting it twice."
    )
    partnership_id: strawberry.ID | None = strawberry.field(
        default=None, description="The partnership it belongs to, if any (counts in its cost)."
    )


@strawberry.type
class LedgerEntryPayload:
    ledger_entry: LedgerEntry | None = None
    created: bool = strawberry.field(
        default=False, description="False when the idempotency key had been used already."
    )
    user_errors: list[FinanceError]  # type: ignore[valid-type]


@strawberry.type
class ReviewConversionPayload:
    conversion: Conversion | None = None
    user_errors: list[FinanceError]  # type: ignore[valid-type]


MAX_REVIEW_BATCH = 100


@strawberry.input
class ReviewConversionsInput:
    conversion_ids: list[strawberry.ID] = strawberry.field(
        description=f"1-{MAX_REVIEW_BATCH} conversions, each decided as `decision` says."
    )
    decision: ReviewDecision
    note: str | None = strawberry.field(
        default=None, description="Why: kept with each decision's audit record."
    )


@strawberry.type
class ReviewConversionsPayload:
    conversions: list[Conversion] = strawberry.field(default_factory=list)
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


def _on_batch(
    info: Info,
    gid: strawberry.ID,
    action: Callable[[Session, PayoutBatchModel], PayoutBatchModel],
) -> PayoutBatchPayload:
    """A FINANCE/ADMIN action on one of the organization's payout batches."""

    def body() -> dict[str, object]:
        ctx = info.context
        require(ctx.viewer, "finance")
        row = _load(info, PayoutBatchModel, gid, "PayoutBatch", "payoutBatchId")
        assert isinstance(row, PayoutBatchModel)
        try:
            batch = action(ctx.session, row)
        except FinanceProblem as exc:
            raise _as_user_error(exc, None) from None
        return {"payout_batch": PayoutBatch.from_row(batch)}

    return run_mutation(info, PayoutBatchPayload, ERRORS, body)


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
            reason = inputs.text(input.reason, "reason", 2000, multiline=True)
            approve = input.decision is ReviewDecision.APPROVE
            try:
                posting.review_conversion(ctx.session, row, approve, ctx.viewer.label, reason)
            except posting.PostingError as exc:
                raise _as_user_error(exc, "conversionId") from None
            ctx.session.flush()
            return {"conversion": Conversion.from_row(ctx.session.get_one(ConversionModel, row.id))}

        return run_mutation(info, ReviewConversionPayload, ERRORS, body)

    @strawberry.mutation(
        description="Approves or rejects up to 100 conversions at once (FINANCE, ADMIN): "
        "all or none (one that cannot be decided refuses the batch, naming it), each decision "
        "an audit record sharing the batch's id."
    )
    def review_conversions(
        self, info: Info, input: ReviewConversionsInput
    ) -> ReviewConversionsPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "finance")
            ids = list(dict.fromkeys(input.conversion_ids))
            if not ids:
                raise problem("conversionIds", "give at least one conversion", "REQUIRED")
            if len(ids) > MAX_REVIEW_BATCH:
                raise problem(
                    "conversionIds", f"at most {MAX_REVIEW_BATCH} conversions", "TOO_LONG"
                )
            note = inputs.text(input.note, "note", 2000, multiline=True)
            rows: list[ConversionModel] = [
                load_visible(info, ConversionModel, "Conversion", gid, f"conversionIds.{n}")
                for n, gid in enumerate(ids)
            ]
            approve = input.decision is ReviewDecision.APPROVE
            batch_id = str(uuid.uuid4())
            for n, row in enumerate(rows):
                try:
                    posting.review_conversion(
                        ctx.session, row, approve, ctx.viewer.label, note, batch_id=batch_id
                    )
                except posting.PostingError as exc:
                    raise _as_user_error(exc, f"conversionIds.{n}") from None
            ctx.session.flush()
            return {
                "conversions": [
                    Conversion.from_row(ctx.session.get_one(ConversionModel, r.id)) for r in rows
                ]
            }

        return run_mutation(info, ReviewConversionsPayload, ERRORS, body)

    @strawberry.mutation(
        description="Creates the payout batch of a currency and day, or returns the existing "
        "one; refused (NOTHING_PAYABLE) when it would have no line."
    )
    def create_payout_batch(self, info: Info, input: CreatePayoutBatchInput) -> PayoutBatchPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "finance")
            currency = currency_or_error(input.currency, "currency")
            raw = raw_decimal(input.minimum_amount)
            try:
                minimum = parse_amount(raw, currency)
            except MoneyError as exc:
                # from the text: comparing a NaN with 0 raises
                code = "NEGATIVE" if str(raw).strip().startswith("-") else "INVALID_AMOUNT"
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
        return _on_batch(
            info,
            input.payout_batch_id,
            lambda s, row: payouts.mark_paid(
                s, row, inputs.no_controls(input.reference, "reference")
            ),
        )

    @strawberry.mutation(
        description="Cancels a DRAFT batch (kept, CANCELLED, with who and when): its lines are "
        "payable again by the next batch. A paid batch cannot be cancelled."
    )
    def cancel_payout_batch(self, info: Info, input: CancelPayoutBatchInput) -> PayoutBatchPayload:
        label = info.context.viewer.label
        return _on_batch(
            info, input.payout_batch_id, lambda s, row: payouts.cancel_batch(s, row, label)
        )

    @strawberry.mutation(
        description="Posts a BONUS or a manual ADJUSTMENT, available at once: the ledger is "
        "append-only, so this is how a mistake is corrected."
    )
    def create_ledger_adjustment(
        self, info: Info, input: CreateLedgerAdjustmentInput
    ) -> LedgerEntryPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "finance")
            influencer = _load(
                info, InfluencerModel, input.influencer_id, "Influencer", "influencerId"
            )
            assert isinstance(influencer, InfluencerModel)
            partnership: PartnershipModel | None = None
            if input.partnership_id is not None:
                row = _load(
                    info, PartnershipModel, input.partnership_id, "Partnership", "partnershipId"
                )
                assert isinstance(row, PartnershipModel)
                partnership = row
            currency = currency_or_error(input.currency, "currency")
            amount = amount_or_error(input.amount, currency, "amount", allow_negative=True)
            memo = inputs.no_controls(input.memo.strip(), "memo", multiline=True)
            if not memo:
                raise problem("memo", "memo is required: say why", "REQUIRED")
            if len(memo) > 500:
                raise problem("memo", "memo must be at most 500 characters", "TOO_LONG")
            key = inputs.no_controls(input.idempotency_key.strip(), "idempotencyKey")
            if not 1 <= len(key) <= 100:
                raise problem("idempotencyKey", "idempotencyKey must be 1-100 characters")
            try:
                entry, created = posting.post_manual_entry(
                    ctx.session,
                    organization_id=ctx.viewer.organization_id,
                    influencer_id=influencer.id,
                    partnership=partnership,
                    kind=EntryKind(input.kind.value),
                    amount=amount,
                    currency=currency,
                    memo=memo,
                    client_key=key,
                    author=ctx.viewer.label,
                )
            except posting.PostingError as exc:
                field = {
                    "INVALID_AMOUNT": "amount",
                    "NEGATIVE": "amount",
                    "IDEMPOTENCY_KEY_REUSED": "idempotencyKey",
                }.get(exc.code, "partnershipId")
                raise _as_user_error(exc, field) from None
            return {"ledger_entry": LedgerEntry.from_row(entry), "created": created}

        return run_mutation(info, LedgerEntryPayload, ERRORS, body)
