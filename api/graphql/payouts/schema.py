from __future__ import annotations

from collections import defaultdict

import strawberry
from graphql import GraphQLError
from sqlalchemy import select

from api.accounts import roles
from api.db import utcnow
from api.finance import payout_details, payout_files, tax
from api.finance.errors import FinanceError
from api.graphql.context import Info
from api.graphql.money import Money
from api.graphql.payouts.mutations import debtor_view
from api.graphql.payouts.types import (
    DebtorAccount,
    FxRate,
    MissingDetails,
    PayoutDetails,
    PayoutDetailsChange,
    PayoutFile,
    PayoutFileFormat,
    SelfBillingInvoice,
    TaxProfile,
)
from api.graphql.permissions import scoped
from api.graphql.relay import id_argument
from api.models import DebtorAccount as DebtorAccountModel
from api.models import Influencer as InfluencerModel
from api.models import PayoutBatch as PayoutBatchModel
from api.models import PayoutDetailsChange as PayoutDetailsChangeModel
from api.models import PayoutFxRate as PayoutFxRateModel
from api.models import PayoutLine as PayoutLineModel
from api.models import SelfBillingInvoice as SelfBillingInvoiceModel
from api.models.enums import Role

# Masked payout details and tax profiles are for finance, the ADMIN and the influencer itself.
_READERS = frozenset({Role.ADMIN, Role.FINANCE, Role.INFLUENCER})


def _visible_influencer(info: Info, gid: strawberry.ID) -> int | None:
    viewer = info.context.viewer
    if viewer.role not in _READERS:
        raise GraphQLError(
            f"A {viewer.role.value} key cannot read payout details or tax profiles: this needs "
            "an ADMIN, FINANCE or the influencer's own key",
            extensions={"code": "FORBIDDEN"},
        )
    pk = id_argument(gid, "Influencer")
    found = info.context.session.scalar(
        scoped(InfluencerModel, viewer).where(InfluencerModel.id == pk)
    )
    return pk if found is not None else None


def _finance(info: Info) -> None:
    role = info.context.viewer.role
    if not roles.may(role, "finance"):
        raise GraphQLError(roles.refusal(role, "finance"), extensions={"code": "FORBIDDEN"})


def _batch(info: Info, gid: strawberry.ID) -> PayoutBatchModel | None:
    pk = id_argument(gid, "PayoutBatch")
    row: PayoutBatchModel | None = info.context.session.scalar(
        scoped(PayoutBatchModel, info.context.viewer).where(PayoutBatchModel.id == pk)
    )
    return row


def build_file(info: Info, batch: PayoutBatchModel, fmt: PayoutFileFormat) -> PayoutFile:
    try:
        built = payout_files.build(
            info.context.session, batch, payout_files.PayoutFileFormat(fmt), now=utcnow()
        )
    except FinanceError as exc:
        raise GraphQLError(exc.message) from None
    totals: dict[str, int] = defaultdict(int)
    for item in built.included:
        totals[item.payment.currency] += item.payment.amount
    return PayoutFile(
        format=fmt,
        filename=built.filename,
        content_type=built.content_type,
        content=built.content,
        line_count=len(built.included),
        totals=[m for c, v in sorted(totals.items()) if (m := Money.of(v, c)) is not None],
        missing_details=[
            MissingDetails(influencer_id=m.influencer_id, reason=m.reason, detail=m.detail)
            for m in built.missing
        ],
    )


@strawberry.type
class PayoutQuery:
    @strawberry.field(description="An influencer's payout details, masked; null if none.")
    def payout_details(self, info: Info, influencer_id: strawberry.ID) -> PayoutDetails | None:
        pk = _visible_influencer(info, influencer_id)
        row = payout_details.details_of(info.context.session, pk) if pk else None
        return PayoutDetails.from_row(row) if row else None

    @strawberry.field(
        description="The audit of an influencer's payout details and tax profile, newest first "
        "(at most 100)."
    )
    def payout_details_changes(
        self, info: Info, influencer_id: strawberry.ID
    ) -> list[PayoutDetailsChange]:
        pk = _visible_influencer(info, influencer_id)
        if pk is None:
            return []
        m = PayoutDetailsChangeModel
        rows = info.context.session.scalars(
            scoped(m, info.context.viewer)
            .where(m.influencer_id == pk)
            .order_by(m.id.desc())
            .limit(100)
        )
        return [
            PayoutDetailsChange(
                subject=r.subject,
                fields=list(r.fields),
                changed_by=r.changed_by,
                changed_at=r.changed_at,
                notified_at=r.notified_at,
            )
            for r in rows
        ]

    @strawberry.field(description="An influencer's tax profile, the tax id masked.")
    def tax_profile(self, info: Info, influencer_id: strawberry.ID) -> TaxProfile | None:
        pk = _visible_influencer(info, influencer_id)
        row = tax.profile_of(info.context.session, pk) if pk else None
        return TaxProfile.from_row(row) if row else None

    @strawberry.field(description="The organization's paying account, masked (FINANCE, ADMIN).")
    def payout_debtor_account(self, info: Info) -> DebtorAccount | None:
        _finance(info)
        row = info.context.session.scalar(scoped(DebtorAccountModel, info.context.viewer))
        if row is None:
            return None
        return debtor_view(payout_details.account_of(row), (row.updated_at, row.updated_by))

    @strawberry.field(
        description="A payout batch's file for a bank (SEPA pain.001.001.09), PayPal Payouts or "
        "Wise (FINANCE, ADMIN); payees it cannot pay are in missingDetails. Null for an unknown "
        "batch."
    )
    def payout_file(
        self, info: Info, batch_id: strawberry.ID, format: PayoutFileFormat
    ) -> PayoutFile | None:
        _finance(info)
        batch = _batch(info, batch_id)
        return build_file(info, batch, format) if batch is not None else None

    @strawberry.field(description="The FX rates entered for a payout batch (FINANCE, ADMIN).")
    def payout_batch_fx_rates(self, info: Info, batch_id: strawberry.ID) -> list[FxRate]:
        _finance(info)
        batch = _batch(info, batch_id)
        if batch is None:
            return []
        rows = info.context.session.scalars(
            select(PayoutFxRateModel)
            .where(PayoutFxRateModel.batch_id == batch.id)
            .order_by(PayoutFxRateModel.currency)
        )
        return [
            FxRate(currency=r.currency, rate=r.rate, set_by=r.set_by, set_at=r.set_at) for r in rows
        ]

    @strawberry.field(
        description="Self-billing invoices of a payout batch (an INFLUENCER key: its own)."
    )
    def self_billing_invoices(
        self, info: Info, batch_id: strawberry.ID
    ) -> list[SelfBillingInvoice]:
        batch = _batch(info, batch_id)
        if batch is None:
            return []
        lines = select(PayoutLineModel.id).where(PayoutLineModel.batch_id == batch.id)
        rows = info.context.session.scalars(
            scoped(SelfBillingInvoiceModel, info.context.viewer)
            .where(SelfBillingInvoiceModel.payout_line_id.in_(lines))
            .order_by(SelfBillingInvoiceModel.number)
        )
        return SelfBillingInvoice.from_rows(rows)


__all__ = ["PayoutQuery", "build_file"]
