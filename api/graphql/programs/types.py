"""Ambassador programs, their levels, members, level history, retainers, bonuses and progress,
and gifted-product shipments."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.domain.commission import CompensationPlan as PlanDomain
from api.domain.program_forms import QuestionKind as QuestionKindEnum
from api.graphql.campaigns.compensation import CompensationPlan
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.loaders import by_fk, by_id
from api.graphql.money import Money
from api.graphql.permissions import scoped
from api.graphql.relay import Connection, ModelNode, paginate
from api.models import Partnership as PartnershipModel
from api.models import Program as ProgramModel
from api.models import ProgramBonus as ProgramBonusModel
from api.models import ProgramLevel as ProgramLevelModel
from api.models import ProgramLevelChange as ProgramLevelChangeModel
from api.models import ProgramMember as ProgramMemberModel
from api.models import Retainer as RetainerModel
from api.models import Shipment as ShipmentModel
from api.models.enums import Role
from api.models.programs import LevelChangeReason as ReasonEnum
from api.models.programs import LevelMetric as MetricEnum
from api.models.programs import MemberStatus as MemberStatusEnum
from api.models.programs import ProgramStatus as ProgramStatusEnum
from api.models.programs import RetainerPeriod as PeriodEnum
from api.models.programs import ShipmentStatus as ShipmentStatusEnum
from api.programs import jobs, shipments
from tracker import globalid

if TYPE_CHECKING:
    from api.graphql.partnerships.types import Partnership

ProgramError, ProgramErrorCode = error_type(
    "Program",
    (
        "PROGRAM_CLOSED",
        "ALREADY_MEMBER",
        "DECLINED",
        "INVALID_STATUS",
        "NO_LEVELS",
        "UNCHANGED",
        "TOO_MANY",
        "CURRENCY_MISMATCH",
        "INVALID_MONTH",
        "CONFLICT",
    ),
)
ProgramStatus = ProgramStatusEnum
strawberry.enum(ProgramStatus, name="ProgramStatus")
LevelMetric = MetricEnum
strawberry.enum(LevelMetric, name="ProgramLevelMetric")
MemberStatus = MemberStatusEnum
strawberry.enum(MemberStatus, name="ProgramMemberStatus")
LevelChangeReason = ReasonEnum
strawberry.enum(LevelChangeReason, name="ProgramLevelChangeReason")
RetainerPeriod = PeriodEnum
strawberry.enum(RetainerPeriod, name="RetainerPeriod")
ShipmentStatus = ShipmentStatusEnum
strawberry.enum(ShipmentStatus, name="ShipmentStatus")
QuestionKind = QuestionKindEnum
strawberry.enum(QuestionKind, name="ProgramQuestionKind")


def metric_figure(metric: MetricEnum, value: int, currency: str) -> tuple[int | None, Money | None]:
    """A figure of the metric as a count (CONVERSIONS) or as Money (REVENUE)."""
    if metric is MetricEnum.REVENUE:
        return None, Money.of(value, currency)
    return value, None


@strawberry.type(name="ProgramQuestion", description="A question of a program's application form.")
class Question:
    key: str
    label: str
    kind: QuestionKind
    required: bool
    choices: list[str]


@strawberry.type(name="ProgramAnswer")
class Answer:
    key: str
    value: str


@strawberry.type(name="ProgramLevel")
class ProgramLevel(ModelNode):
    __model__ = ProgramLevelModel
    id: strawberry.relay.NodeID[int]
    name: str
    rank: int = strawberry.field(description="0 is the lowest level.")

    @strawberry.field(description="The plan of the level's members (their partnership's).")
    def compensation(self) -> CompensationPlan:
        return CompensationPlan.of(PlanDomain.from_dict(self.row.compensation))

    @strawberry.field(description="CONVERSIONS programs: the month's conversions to reach it.")
    async def conversions_threshold(self, info: Info) -> int | None:
        program = await by_id(info.context, ProgramModel).load(self.row.program_id)
        return (
            self.row.threshold
            if program and program.level_metric is MetricEnum.CONVERSIONS
            else None
        )

    @strawberry.field(description="REVENUE programs: the month's revenue to reach it.")
    async def revenue_threshold(self, info: Info) -> Money | None:
        program = await by_id(info.context, ProgramModel).load(self.row.program_id)
        if program is None or program.level_metric is not MetricEnum.REVENUE:
            return None
        return Money.of(self.row.threshold, program.currency)


async def _level(info: Info, pk: int | None) -> ProgramLevel | None:
    if pk is None:
        return None
    row = await by_id(info.context, ProgramLevelModel).load(pk)
    return ProgramLevel.from_row(row) if row else None


@strawberry.type(name="ProgramLevelChange", description="A level decision, append-only.")
class ProgramLevelChange:
    row: strawberry.Private[ProgramLevelChangeModel]
    reason: LevelChangeReason
    month: date | None = strawberry.field(description="RULE: the month whose figure decided.")
    changed_by: str
    note: str | None
    created_at: datetime

    @strawberry.field(
        description="RULE: the month's figure (conversions, or revenue in minor units)."
    )
    def measured(self) -> int | None:
        return self.row.measured

    @strawberry.field
    async def from_level(self, info: Info) -> ProgramLevel | None:
        return await _level(info, self.row.from_level_id)

    @strawberry.field
    async def to_level(self, info: Info) -> ProgramLevel | None:
        return await _level(info, self.row.to_level_id)


@strawberry.type(name="Retainer", description="A member's recurring fixed fee, paid in arrears.")
class Retainer(ModelNode):
    __model__ = RetainerModel
    id: strawberry.relay.NodeID[int]
    period: RetainerPeriod
    starts_on: date
    ends_on: date | None = strawberry.field(description="Exclusive; null: until ended.")

    @strawberry.field(description="Per full period; a partial one is prorated by days.")
    def amount(self) -> Money:
        money = Money.of(self.row.amount, self.row.currency)
        assert money is not None
        return money


@strawberry.type(name="ProgramBonus")
class ProgramBonus(ModelNode):
    __model__ = ProgramBonusModel
    id: strawberry.relay.NodeID[int]
    description: str
    metric: LevelMetric

    @strawberry.field
    def amount(self) -> Money:
        money = Money.of(self.row.amount, self.row.currency)
        assert money is not None
        return money

    @strawberry.field(description="CONVERSIONS bonuses: conversions in a month to earn it.")
    def target_conversions(self) -> int | None:
        return metric_figure(self.row.metric, self.row.target, self.row.currency)[0]

    @strawberry.field(description="REVENUE bonuses: revenue in a month to earn it.")
    def target_revenue(self) -> Money | None:
        return metric_figure(self.row.metric, self.row.target, self.row.currency)[1]

    @strawberry.field(description="Only members of this level; null: every member.")
    async def level(self, info: Info) -> ProgramLevel | None:
        return await _level(info, self.row.level_id)


@strawberry.type(
    name="BonusProgress",
    description="How far a member is towards a bonus this period. Figures are conversions "
    "(CONVERSIONS) or Money (REVENUE, net of refunds).",
)
class BonusProgress:
    bonus: ProgramBonus
    period: str = strawberry.field(description="The calendar month, 2026-12.")
    target: int | None
    achieved: int | None
    remaining: int | None
    target_revenue: Money | None
    achieved_revenue: Money | None
    remaining_revenue: Money | None
    met: bool
    credited: bool = strawberry.field(description="Whether the bonus stands on the ledger.")


@strawberry.type(name="ProgramMember")
class ProgramMember(ModelNode):
    __model__ = ProgramMemberModel
    id: strawberry.relay.NodeID[int]
    status: MemberStatus
    message: str | None = strawberry.field(description="The brand's note with an invitation.")
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None
    created_at: datetime

    @strawberry.field(description="The answers to the program's application form.")
    def answers(self) -> list[Answer]:
        return [Answer(key=k, value=v) for k, v in sorted((self.row.answers or {}).items())]

    @strawberry.field
    async def level(self, info: Info) -> ProgramLevel | None:
        return await _level(info, self.row.level_id)

    @strawberry.field
    async def program(self, info: Info) -> Program | None:
        row = await by_id(info.context, ProgramModel).load(self.row.program_id)
        return Program.from_row(row) if row else None

    # Ids, not the objects: a member sits two connections deep under `programs`, and the
    # influencer's or partnership's own graph below it would pass the query depth limit. Read
    # them with node(id:), or through `partnerships`.
    @strawberry.field
    def influencer_id(self) -> strawberry.ID:
        return strawberry.ID(globalid.encode("Influencer", self.row.influencer_id))

    @strawberry.field(description="The member's partnership on the program's campaign.")
    def partnership_id(self) -> strawberry.ID | None:
        pk = self.row.partnership_id
        return strawberry.ID(globalid.encode("Partnership", pk)) if pk is not None else None

    @strawberry.field(
        description="Every level decision, oldest first (RULE reviews that kept "
        "the level included)."
    )
    async def level_history(self, info: Info) -> list[ProgramLevelChange]:
        rows = await by_fk(
            info.context,
            ProgramLevelChangeModel,
            ProgramLevelChangeModel.member_id,
            order_by=(ProgramLevelChangeModel.created_at, ProgramLevelChangeModel.id),
        ).load(self.id)
        return [
            ProgramLevelChange(
                row=r,
                reason=r.reason,
                month=r.month,
                changed_by=r.changed_by,
                note=r.note,
                created_at=r.created_at,
            )
            for r in rows
        ]

    @strawberry.field
    async def retainers(self, info: Info) -> list[Retainer]:
        rows = await by_fk(info.context, RetainerModel, RetainerModel.member_id).load(self.id)
        return Retainer.from_rows(rows)

    @strawberry.field(
        description="Progress towards each of the member's bonuses in a month (default: this "
        "one), from the performance rollups."
    )
    def bonus_progress(self, info: Info, month: str | None = None) -> list[BonusProgress]:
        from graphql import GraphQLError

        from api.db import utcnow
        from api.programs.errors import ProgramError as DomainError

        try:
            period = jobs.month_of(month) if month else utcnow().date().replace(day=1)
        except DomainError as exc:
            raise GraphQLError(exc.message) from None
        if self.row.status is not MemberStatusEnum.ACTIVE:
            return []
        out = []
        for state in jobs.bonus_states(info.context.session, self.row, period):
            bonus, progress = state.bonus, state.progress
            counts = [
                metric_figure(bonus.metric, v, bonus.currency)
                for v in (progress.target, progress.achieved, progress.remaining)
            ]
            out.append(
                BonusProgress(
                    bonus=ProgramBonus.from_row(bonus),
                    period=f"{period:%Y-%m}",
                    target=counts[0][0],
                    achieved=counts[1][0],
                    remaining=counts[2][0],
                    target_revenue=counts[0][1],
                    achieved_revenue=counts[1][1],
                    remaining_revenue=counts[2][1],
                    met=progress.met,
                    credited=state.credited,
                )
            )
        return out


@strawberry.type(name="Program", description="A brand's ambassador program.")
class Program(ModelNode):
    __model__ = ProgramModel
    id: strawberry.relay.NodeID[int]
    name: str
    description: str | None
    status: ProgramStatus
    currency: str
    level_metric: LevelMetric = strawberry.field(
        description="What the monthly level rules measure."
    )
    created_at: datetime

    @strawberry.field
    def application_form(self) -> list[Question]:
        return [
            Question(
                key=q["key"],
                label=q["label"],
                kind=QuestionKind(q["kind"]),
                required=bool(q.get("required")),
                choices=list(q.get("choices") or []),
            )
            for q in self.row.application_form or []
        ]

    @strawberry.field(description="Lowest first.")
    async def levels(self, info: Info) -> list[ProgramLevel]:
        rows = await by_fk(
            info.context,
            ProgramLevelModel,
            ProgramLevelModel.program_id,
            order_by=(ProgramLevelModel.rank,),
        ).load(self.id)
        return ProgramLevel.from_rows(rows)

    @strawberry.field
    async def bonuses(self, info: Info) -> list[ProgramBonus]:
        rows = await by_fk(info.context, ProgramBonusModel, ProgramBonusModel.program_id).load(
            self.id
        )
        return ProgramBonus.from_rows(rows)

    @strawberry.field(description="An INFLUENCER key sees only its own membership.")
    def members(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: MemberStatus | None = None,
    ) -> Connection[ProgramMember]:
        stmt = scoped(ProgramMemberModel, info.context.viewer).where(
            ProgramMemberModel.program_id == self.id
        )
        if status is not None:
            stmt = stmt.where(ProgramMemberModel.status == status)
        return paginate(
            info,
            stmt,
            model=ProgramMemberModel,
            node=ProgramMember.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(description="The evergreen campaign the members' partnerships are on.")
    def campaign_id(self) -> strawberry.ID:
        return strawberry.ID(globalid.encode("Campaign", self.row.campaign_id))


@strawberry.type(name="Shipment", description="Gifted product sent to an influencer.")
class Shipment(ModelNode):
    __model__ = ShipmentModel
    id: strawberry.relay.NodeID[int]
    product: str
    quantity: int
    status: ShipmentStatus
    carrier: str | None
    tracking_number: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Per item, at cost price.")
    def value(self) -> Money:
        money = Money.of(self.row.value, self.row.currency)
        assert money is not None
        return money

    @strawberry.field(description="value x quantity: what the campaign's cost counts.")
    def total_value(self) -> Money:
        money = Money.of(self.row.value * self.row.quantity, self.row.currency)
        assert money is not None
        return money

    @strawberry.field(
        description="The shipping address: in clear for MANAGER and ADMIN keys, masked otherwise."
    )
    def address(self, info: Info) -> str:
        clear = shipments.unseal_address(self.row.address_sealed)
        if info.context.viewer.role in (Role.ADMIN, Role.MANAGER):
            return clear
        return shipments.mask_address(clear)

    @strawberry.field
    async def partnership(
        self, info: Info
    ) -> Annotated[Partnership, strawberry.lazy("api.graphql.partnerships.types")] | None:
        from api.graphql.partnerships.types import Partnership

        row = await by_id(info.context, PartnershipModel).load(self.row.partnership_id)
        return Partnership.from_row(row) if row else None


def shipments_of(
    info: Info, column: Any, key: int, first: int | None, after: str | None
) -> Connection[Shipment]:
    """The shipments of a campaign or partnership the viewer may see, oldest first."""
    stmt = scoped(ShipmentModel, info.context.viewer).where(column == key)
    return paginate(
        info, stmt, model=ShipmentModel, node=Shipment.from_row, first=first, after=after
    )
