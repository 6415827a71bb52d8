"""Finance types: conversions, ledger entries (with their derived status), payout batches."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader

from api.db import utcnow
from api.finance.balances import status_expression
from api.graphql.campaigns.types import Campaign
from api.graphql.context import Context, Info
from api.graphql.errors import error_type
from api.graphql.influencers.types import Influencer
from api.graphql.loaders import by_id, one_of
from api.graphql.money import Money
from api.graphql.partnerships.types import Partnership
from api.graphql.permissions import scoped
from api.graphql.relay import ModelNode
from api.models import Campaign as CampaignModel
from api.models import Conversion as ConversionModel
from api.models import Influencer as InfluencerModel
from api.models import LedgerEntry as LedgerEntryModel
from api.models import Partnership as PartnershipModel
from api.models import PayoutBatch as PayoutBatchModel
from api.models import PayoutLine as PayoutLineModel
from api.models.enums import Role
from api.models.events import ConversionStatus as ConversionStatusEnum
from api.models.ledger import EntryKind as EntryKindEnum
from api.models.ledger import PayoutStatus as PayoutStatusEnum

FinanceError, FinanceErrorCode = error_type(
    "Finance",
    (
        "INVALID_PERIOD",
        "ALREADY_PAID",
        "DRAFT_BATCH_EXISTS",
        "NOTHING_PAYABLE",
        "ALREADY_CANCELLED",
        "ALREADY_REJECTED",
        "NOT_ATTRIBUTED",
        "NOT_PRICEABLE",
        "IDEMPOTENCY_KEY_REUSED",
        "MISSING_FX_RATE",
    ),
)
ConversionStatus = ConversionStatusEnum
strawberry.enum(ConversionStatus, name="ConversionStatus")
LedgerEntryKind = EntryKindEnum
strawberry.enum(LedgerEntryKind, name="LedgerEntryKind")
PayoutBatchStatus = PayoutStatusEnum
strawberry.enum(PayoutBatchStatus, name="PayoutBatchStatus")


@strawberry.enum(description="An entry's status, derived from the ledger when it is read.")
class LedgerEntryStatus(Enum):
    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"
    PAID = "PAID"
    HELD = "HELD"
    REJECTED = "REJECTED"


def entry_statuses(ctx: Context) -> DataLoader[int, str]:
    """Derived statuses of a page of entries in one statement."""

    async def load(ids: list[int]) -> list[str]:
        now = utcnow()
        rows = ctx.session.execute(
            select(LedgerEntryModel.id, status_expression(now)).where(
                one_of(ctx.session, LedgerEntryModel.id, ids)
            )
        ).all()
        found = {i: s for i, s in rows}
        return [found.get(i, "PENDING") for i in ids]

    return ctx.loader("ledger_entry_status", lambda: DataLoader(load))


async def _partnership(info: Info, pk: int | None) -> Partnership | None:
    row = await by_id(info.context, PartnershipModel).load(pk) if pk else None
    return Partnership.from_row(row) if row else None


RISK_HOLD_FOR_INFLUENCER = "held for the brand's review"


@strawberry.type(name="Conversion")
class Conversion(ModelNode):
    __model__ = ConversionModel
    id: strawberry.relay.NodeID[int]
    order_id: str
    currency: str
    occurred_at: datetime
    received_at: datetime
    status: ConversionStatus
    hold_reasons: list[str]
    reviewed_at: datetime | None
    discount_code: str | None

    @strawberry.field(
        description="Why it was held or decided. A creator-risk hold's reasons (RISK_SCORE) "
        "are the brand's: an INFLUENCER key reads a plain sentence instead until reviewed."
    )
    def review_reason(self, info: Info) -> str | None:
        reason: str | None = self.row.review_reason
        hidden = (
            info.context.viewer.role is Role.INFLUENCER
            and "RISK_SCORE" in (self.row.hold_reasons or [])
            and self.row.reviewed_at is None
        )
        return RISK_HOLD_FOR_INFLUENCER if hidden else reason

    @strawberry.field(
        description="Why the order counts as a leaked discount-code sale (from a coupon site, "
        "or with no click while its code is suspected of leaking): it earns the plan's "
        "leakedOrderRateBps when the plan has one. Null otherwise."
    )
    def leak_reason(self) -> str | None:
        value: str | None = self.row.leak_reason
        return value

    @strawberry.field(description="The order's value.")
    def amount(self) -> Money:
        money = Money.of(self.row.amount, self.currency)
        assert money is not None
        return money

    @strawberry.field(
        description="CLICK, DISCOUNT_CODE, or CUSTOMER (a repeat order of a customer the "
        "influencer brought); null when unattributed."
    )
    def attributed_via(self) -> str | None:
        return self.row.attributed_via.value if self.row.attributed_via else None

    @strawberry.field(
        description="A later order of a customer the influencer brought (its commission uses "
        "the plan's repeat-order rate when it has one)."
    )
    def repeat_order(self) -> bool:
        return bool(self.row.repeat)

    @strawberry.field
    def unattributed_reason(self) -> str | None:
        reason = self.row.unattributed_reason
        return reason.value if reason else None

    @strawberry.field
    async def partnership(self, info: Info) -> Partnership | None:
        return await _partnership(info, self.row.partnership_id)

    @strawberry.field
    async def campaign(self, info: Info) -> Campaign | None:
        pk = self.row.campaign_id
        row = await by_id(info.context, CampaignModel).load(pk) if pk else None
        return Campaign.from_row(row) if row else None


@strawberry.type(name="LedgerEntry")
class LedgerEntry(ModelNode):
    __model__ = LedgerEntryModel
    id: strawberry.relay.NodeID[int]
    kind: LedgerEntryKind
    currency: str
    created_at: datetime
    available_at: datetime
    memo: str | None
    basis_points: int | None

    @strawberry.field(description="Signed: credits are positive, reversals and payouts negative.")
    def amount(self) -> Money:
        money = Money.of(self.row.amount, self.currency)
        assert money is not None
        return money

    @strawberry.field(
        description="PENDING until availableAt, then AVAILABLE, PAID once a paid "
        "payout batch covers it. PAYOUT entries are PAID."
    )
    async def status(self, info: Info) -> LedgerEntryStatus:
        return LedgerEntryStatus(await entry_statuses(info.context).load(self.id))

    @strawberry.field
    async def influencer(self, info: Info) -> Influencer | None:
        row = await by_id(info.context, InfluencerModel).load(self.row.influencer_id)
        return Influencer.from_row(row) if row else None

    @strawberry.field
    async def partnership(self, info: Info) -> Partnership | None:
        return await _partnership(info, self.row.partnership_id)

    @strawberry.field
    async def conversion(self, info: Info) -> Conversion | None:
        pk = self.row.conversion_id
        row = await by_id(info.context, ConversionModel).load(pk) if pk else None
        return Conversion.from_row(row) if row else None


@strawberry.type(name="PayoutLine")
class PayoutLine:
    row: strawberry.Private[PayoutLineModel]

    @strawberry.field
    def amount(self) -> Money:
        money = Money.of(self.row.amount, self.row.currency)
        assert money is not None
        return money

    @strawberry.field(
        description="What the payee received, in its payout currency (set when the batch is "
        "paid); `amount` is what the ledger debited, in the batch currency."
    )
    def paid_amount(self) -> Money | None:
        if self.row.paid_amount is None or self.row.paid_currency is None:
            return None
        return Money.of(self.row.paid_amount, self.row.paid_currency)

    @strawberry.field(description="The batch's rate paidAmount was converted at, if any.")
    def fx_rate(self) -> Decimal | None:
        return self.row.fx_rate

    @strawberry.field
    async def influencer(self, info: Info) -> Influencer | None:
        row = await by_id(info.context, InfluencerModel).load(self.row.influencer_id)
        return Influencer.from_row(row) if row else None


def batch_lines(ctx: Context) -> DataLoader[int, list[PayoutLineModel]]:
    """Lines per batch through the viewer's scope (an INFLUENCER key sees only its own line)."""

    async def load(ids: list[int]) -> list[list[PayoutLineModel]]:
        stmt = scoped(PayoutLineModel, ctx.viewer).where(
            one_of(ctx.session, PayoutLineModel.batch_id, ids)
        )
        groups: dict[int, list[PayoutLineModel]] = defaultdict(list)
        for row in ctx.session.scalars(stmt.order_by(PayoutLineModel.id)):
            groups[row.batch_id].append(row)
        return [groups.get(i, []) for i in ids]

    return ctx.loader("payout_lines", lambda: DataLoader(load))


@strawberry.type(name="PayoutBatch")
class PayoutBatch(ModelNode):
    __model__ = PayoutBatchModel
    id: strawberry.relay.NodeID[int]
    currency: str
    as_of: date
    status: PayoutBatchStatus
    reference: str | None
    paid_at: datetime | None
    created_at: datetime
    cancelled_at: datetime | None
    cancelled_by: str | None = strawberry.field(description="Who cancelled it (which API key).")

    @strawberry.field
    def minimum_amount(self) -> Money:
        money = Money.of(self.row.minimum_amount, self.currency)
        assert money is not None
        return money

    @strawberry.field(description="The sum of the lines the viewer may see.")
    async def total(self, info: Info) -> Money:
        lines = await batch_lines(info.context).load(self.id)
        money = Money.of(sum(line.amount for line in lines), self.currency)
        assert money is not None
        return money

    @strawberry.field
    async def lines(self, info: Info) -> list[PayoutLine]:
        return [PayoutLine(row=r) for r in await batch_lines(info.context).load(self.id)]


@strawberry.type(name="Balance", description="An influencer's balance: sums over the ledger.")
class Balance:
    currency: str
    pending: Money
    available: Money
    paid: Money
    held: Money


@strawberry.type(name="Statement")
class Statement:
    period: str
    currency: str
    opening_balance: Money
    closing_balance: Money
    credits: Money
    entries: list[LedgerEntry]
    debits: Money = strawberry.field(description="Minus the sum of the period's negative entries.")
    first_order_revenue: Money = strawberry.field(
        description="The period's revenue from first orders: orders whose commission entry is "
        "in the period, less refunds taken back in it."
    )
    repeat_revenue: Money = strawberry.field(
        description="The same for repeat orders of customers the influencer brought back."
    )
