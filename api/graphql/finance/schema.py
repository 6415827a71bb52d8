from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import GraphQLError

from api.finance.balances import balance as compute_balance
from api.finance.errors import FinanceError as FinanceProblem
from api.finance.statements import parse_period
from api.finance.statements import statement as compute_statement
from api.graphql import inputs
from api.graphql.context import Info
from api.graphql.finance.types import (
    Balance,
    Conversion,
    ConversionStatus,
    LedgerEntry,
    LedgerEntryKind,
    PayoutBatch,
    Statement,
)
from api.graphql.money import Money
from api.graphql.permissions import scoped
from api.graphql.relay import Connection, SortKey, id_argument, paginate
from api.models import Conversion as ConversionModel
from api.models import Influencer as InfluencerModel
from api.models import LedgerEntry as LedgerEntryModel
from api.models import PayoutBatch as PayoutBatchModel
from api.money import MoneyError, normalize_currency


@strawberry.input
class ConversionFilter:
    status: ConversionStatus | None = None
    partnership_id: strawberry.ID | None = None
    campaign_id: strawberry.ID | None = None
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.input
class LedgerEntryFilter:
    influencer_id: strawberry.ID | None = None
    kind: LedgerEntryKind | None = None
    currency: str | None = None
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = strawberry.field(default=None, description="Exclusive.")


def _currency(code: str) -> str:
    try:
        return normalize_currency(code)
    except MoneyError as exc:
        raise GraphQLError(str(exc)) from None


def _influencer_pk(info: Info, gid: strawberry.ID) -> int | None:
    """The influencer's pk if the viewer may see it (other tenants' ids resolve to nothing)."""
    pk = id_argument(gid, "Influencer")
    stmt = scoped(InfluencerModel, info.context.viewer).where(InfluencerModel.id == pk)
    return pk if info.context.session.scalar(stmt) is not None else None


def _money(minor: int, currency: str) -> Money:
    money = Money.of(minor, currency)
    assert money is not None
    return money


@strawberry.type
class FinanceQuery:
    @strawberry.field(description="Conversions (orders), newest first.")
    def conversions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ConversionFilter | None = None,
    ) -> Connection[Conversion]:
        m = ConversionModel
        stmt = scoped(m, info.context.viewer)
        if filter is not None:
            if filter.status is not None:
                stmt = stmt.where(m.status == filter.status.value)
            if filter.partnership_id is not None:
                stmt = stmt.where(
                    m.partnership_id == id_argument(filter.partnership_id, "Partnership")
                )
            if filter.campaign_id is not None:
                stmt = stmt.where(m.campaign_id == id_argument(filter.campaign_id, "Campaign"))
            if filter.from_ is not None:
                stmt = stmt.where(m.occurred_at >= inputs.aware_argument(filter.from_, "from"))
            if filter.to is not None:
                stmt = stmt.where(m.occurred_at < inputs.aware_argument(filter.to, "to"))
        return paginate(
            info,
            stmt,
            model=m,
            node=Conversion.from_row,
            first=first,
            after=after,
            order=SortKey(m.occurred_at, descending=True),
        )

    @strawberry.field(description="Ledger entries, newest first.")
    def ledger_entries(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: LedgerEntryFilter | None = None,
    ) -> Connection[LedgerEntry]:
        m = LedgerEntryModel
        stmt = scoped(m, info.context.viewer)
        if filter is not None:
            if filter.influencer_id is not None:
                stmt = stmt.where(
                    m.influencer_id == id_argument(filter.influencer_id, "Influencer")
                )
            if filter.kind is not None:
                stmt = stmt.where(m.kind == filter.kind.value)
            if filter.currency is not None:
                stmt = stmt.where(m.currency == _currency(filter.currency))
            if filter.from_ is not None:
                stmt = stmt.where(m.created_at >= inputs.aware_argument(filter.from_, "from"))
            if filter.to is not None:
                stmt = stmt.where(m.created_at < inputs.aware_argument(filter.to, "to"))
        return paginate(
            info,
            stmt,
            model=m,
            node=LedgerEntry.from_row,
            first=first,
            after=after,
            order=SortKey(m.created_at, descending=True),
        )

    @strawberry.field(description="Payout batches, newest first.")
    def payout_batches(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PayoutBatch]:
        m = PayoutBatchModel
        return paginate(
            info,
            scoped(m, info.context.viewer),
            model=m,
            node=PayoutBatch.from_row,
            first=first,
            after=after,
            order=SortKey(m.id, descending=True),
        )

    @strawberry.field(
        description="An influencer's balance now, or as it stood at `asOf` (entries made and "
        "batches paid by then); null for an unknown influencer."
    )
    def balance(
        self,
        info: Info,
        influencer_id: strawberry.ID,
        currency: str,
        as_of: datetime | None = None,
    ) -> Balance | None:
        code = _currency(currency)
        inputs.aware_argument(as_of, "asOf")
        pk = _influencer_pk(info, influencer_id)
        if pk is None:
            return None
        b = compute_balance(
            info.context.session, info.context.viewer.organization_id, pk, code, as_of
        )
        return Balance(
            currency=code,
            pending=_money(b.pending, code),
            available=_money(b.available, code),
            paid=_money(b.paid, code),
            held=_money(b.held, code),
        )

    @strawberry.field(
        description="A monthly statement (period YYYY-MM, UTC); null for an unknown influencer."
    )
    def statement(
        self, info: Info, influencer_id: strawberry.ID, period: str, currency: str
    ) -> Statement | None:
        code = _currency(currency)
        try:
            parse_period(period)
        except FinanceProblem as exc:
            raise GraphQLError(exc.message) from None
        pk = _influencer_pk(info, influencer_id)
        if pk is None:
            return None
        s = compute_statement(
            info.context.session, info.context.viewer.organization_id, pk, period, code
        )
        return Statement(
            period=s.period,
            currency=code,
            opening_balance=_money(s.opening_balance, code),
            closing_balance=_money(s.closing_balance, code),
            credits=_money(s.credits, code),
            debits=_money(s.debits, code),
            first_order_revenue=_money(s.first_order_revenue, code),
            repeat_revenue=_money(s.repeat_revenue, code),
            entries=LedgerEntry.from_rows(s.entries),
        )
