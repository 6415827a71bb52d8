"""Mutations of ambassador programs and shipments (`api.programs`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

import strawberry

from api.content import live_posts
from api.db import utcnow
from api.domain.program_forms import Question as QuestionDomain
from api.domain.program_forms import check_form
from api.graphql import inputs
from api.graphql.campaigns.compensation import CompensationPlanInput, to_domain
from api.graphql.context import Info
from api.graphql.errors import Problem, UserErrors, problem
from api.graphql.lookup import load_visible
from api.graphql.money import MoneyInput, amount_or_error, currency_or_error, minor_or_error
from api.graphql.mutation import run_mutation
from api.graphql.partnerships.mutations import actor, exclusivity_gate
from api.graphql.permissions import require
from api.graphql.programs.types import (
    LevelMetric,
    Program,
    ProgramBonus,
    ProgramError,
    ProgramErrorCode,
    ProgramLevel,
    ProgramLevelChange,
    ProgramMember,
    ProgramStatus,
    QuestionKind,
    Retainer,
    RetainerPeriod,
    Shipment,
    ShipmentStatus,
)
from api.models import Brand as BrandModel
from api.models import Campaign as CampaignModel
from api.models import Influencer as InfluencerModel
from api.models import Partnership as PartnershipModel
from api.models import Program as ProgramModel
from api.models import ProgramBonus as ProgramBonusModel
from api.models import ProgramLevel as ProgramLevelModel
from api.models import ProgramMember as ProgramMemberModel
from api.models import Retainer as RetainerModel
from api.models import Shipment as ShipmentModel
from api.models.programs import LevelMetric as MetricEnum
from api.models.programs import MemberStatus as MemberStatusEnum
from api.models.programs import ProgramStatus as ProgramStatusEnum
from api.models.programs import ShipmentStatus as ShipmentStatusEnum
from api.programs import service, shipments
from api.programs.errors import ProgramError as DomainError

ERRORS = (ProgramError, ProgramErrorCode)
T = TypeVar("T")
MAX_THRESHOLD = 10**15 - 1


def _domain(call: Callable[[], T]) -> T:
    try:
        return call()
    except DomainError as exc:
        code = exc.code if exc.code in ProgramErrorCode.__members__ else "INVALID"
        raise UserErrors(Problem(exc.field, exc.message, code)) from None


@strawberry.input
class ProgramQuestionInput:
    key: str = strawberry.field(description="lower_snake_case, unique in the form.")
    label: str
    kind: QuestionKind
    required: bool = False
    choices: list[str] | None = None


@strawberry.input
class ProgramAnswerInput:
    key: str
    value: str


@strawberry.input
class CreateProgramInput:
    brand_id: strawberry.ID
    name: str
    description: str | None = None
    currency: str
    landing_url: str = strawberry.field(description="Where the members' tracked links lead.")
    level_metric: LevelMetric = LevelMetric.REVENUE
    questions: list[ProgramQuestionInput] | None = None


@strawberry.input
class UpdateProgramInput:
    program_id: strawberry.ID
    name: str | None = None
    description: str | None = None
    status: ProgramStatus | None = None
    questions: list[ProgramQuestionInput] | None = None


@strawberry.input
class AddProgramLevelInput:
    program_id: strawberry.ID
    name: str
    threshold: Decimal = strawberry.field(
        description="The month's figure at which a member reaches this level: conversions "
        '(a whole number) or revenue in the program\'s currency ("500.00"). 0 for the first.'
    )
    compensation: CompensationPlanInput


@strawberry.input
class UpdateProgramLevelInput:
    level_id: strawberry.ID
    name: str | None = None
    threshold: Decimal | None = None
    compensation: CompensationPlanInput | None = None


@strawberry.input
class InviteToProgramInput:
    program_id: strawberry.ID
    influencer_id: strawberry.ID
    message: str | None = None
    override_exclusivity: bool = strawberry.field(
        default=False,
        description="ADMIN only: invite although the influencer is exclusive to another brand "
        "of the organization in this brand's categories (or names it a competitor); approving "
        "the member checks again.",
    )


@strawberry.input
class ApplyToProgramInput:
    program_id: strawberry.ID
    answers: list[ProgramAnswerInput] | None = None


@strawberry.input
class ReviewProgramApplicationInput:
    member_id: strawberry.ID
    approve: bool
    note: str | None = None
    override_exclusivity: bool = strawberry.field(
        default=False,
        description="ADMIN only: approve although the influencer is exclusive to another brand "
        "of the organization in this brand's categories (or names it a competitor); an "
        "EXCLUSIVITY_CONFLICT finding is recorded on the partnership.",
    )


@strawberry.input
class SetMemberLevelInput:
    member_id: strawberry.ID
    level_id: strawberry.ID
    note: str | None = None


@strawberry.input
class LeaveProgramInput:
    member_id: strawberry.ID
    note: str | None = None


@strawberry.input
class SetMemberRetainerInput:
    member_id: strawberry.ID
    amount: MoneyInput = strawberry.field(description="Per full period, in the program currency.")
    period: RetainerPeriod
    starts_on: date
    ends_on: date | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.input
class EndRetainerInput:
    retainer_id: strawberry.ID
    ends_on: date = strawberry.field(description="Exclusive: the first day not paid.")


@strawberry.input
class AddProgramBonusInput:
    program_id: strawberry.ID
    description: str
    metric: LevelMetric
    target: Decimal = strawberry.field(
        description='Conversions (a whole number) or revenue ("1000.00") in a month.'
    )
    amount: MoneyInput
    level_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only for members of this level (default: every member)."
    )


@strawberry.input
class CreateShipmentInput:
    partnership_id: strawberry.ID
    product: str
    value: MoneyInput = strawberry.field(description="Per item, at cost price.")
    quantity: int = 1
    address: str = strawberry.field(description="The shipping address (sealed at rest).")
    carrier: str | None = None
    tracking_number: str | None = None


@strawberry.input
class UpdateShipmentInput:
    shipment_id: strawberry.ID
    status: ShipmentStatus | None = None
    carrier: str | None = None
    tracking_number: str | None = None


@strawberry.type
class ProgramPayload:
    program: Program | None = None
    user_errors: list[ProgramError]  # type: ignore[valid-type]


@strawberry.type
class ProgramLevelPayload:
    level: ProgramLevel | None = None
    user_errors: list[ProgramError]  # type: ignore[valid-type]


@strawberry.type
class ProgramMemberPayload:
    member: ProgramMember | None = None
    user_errors: list[ProgramError]  # type: ignore[valid-type]


@strawberry.type
class SetMemberLevelPayload:
    member: ProgramMember | None = None
    change: ProgramLevelChange | None = None
    user_errors: list[ProgramError]  # type: ignore[valid-type]


@strawberry.type
class RetainerPayload:
    retainer: Retainer | None = None
    user_errors: list[ProgramError]  # type: ignore[valid-type]


@strawberry.type
class ProgramBonusPayload:
    bonus: ProgramBonus | None = None
    user_errors: list[ProgramError]  # type: ignore[valid-type]


@strawberry.type
class ShipmentPayload:
    shipment: Shipment | None = None
    user_errors: list[ProgramError]  # type: ignore[valid-type]


def _questions(values: list[ProgramQuestionInput]) -> list[QuestionDomain]:
    out = []
    for i, q in enumerate(values):
        where = f"questions[{i}]"
        out.append(
            QuestionDomain(
                key=inputs.no_controls(q.key.strip(), f"{where}.key"),
                label=inputs.text(q.label, f"{where}.label", 300, required=True) or "",
                kind=q.kind,
                required=q.required,
                choices=tuple(
                    inputs.text(c, f"{where}.choices[{j}]", 200) or ""
                    for j, c in enumerate(q.choices or [])
                ),
            )
        )
    return out


def _figure(value: Decimal, metric: MetricEnum, currency: str, field: str) -> int:
    """A threshold or target: whole conversions, or revenue in minor units."""
    if metric is MetricEnum.REVENUE:
        return amount_or_error(value, currency, field)
    if value != value.to_integral_value() or value < 0 or value > MAX_THRESHOLD:
        raise problem(field, f"{field} is a whole number of conversions, 0 or more", "INVALID")
    return int(value)


def _program(info: Info, gid: strawberry.ID, *, lock: bool = False) -> ProgramModel:
    row: ProgramModel = load_visible(info, ProgramModel, "Program", gid, "programId", lock=lock)
    return row


def _member(info: Info, gid: strawberry.ID) -> ProgramMemberModel:
    row: ProgramMemberModel = load_visible(
        info, ProgramMemberModel, "ProgramMember", gid, "memberId", lock=True
    )
    return row


@strawberry.type
class ProgramMutation:
    @strawberry.mutation(
        description="Creates an ambassador program with its evergreen campaign (MANAGER, ADMIN)."
    )
    def create_program(self, info: Info, input: CreateProgramInput) -> ProgramPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "programs")
            brand: BrandModel = load_visible(info, BrandModel, "Brand", input.brand_id, "brandId")
            name = inputs.required_text(input.name, "name", 200)
            description = inputs.text(input.description, "description", 5000, multiline=True)
            currency = currency_or_error(input.currency, "currency")
            landing = inputs.url(input.landing_url, "landingUrl")
            questions = _questions(input.questions or [])
            program = _domain(
                lambda: service.create_program(
                    ctx.session,
                    organization_id=ctx.viewer.organization_id,
                    brand_id=brand.id,
                    name=name,
                    description=description,
                    currency=currency,
                    landing_url=landing,
                    level_metric=MetricEnum(input.level_metric),
                    questions=questions,
                )
            )
            return {"program": Program.from_row(program)}

        return run_mutation(info, ProgramPayload, ERRORS, body)

    @strawberry.mutation(description="Renames, describes, pauses, closes or re-forms a program.")
    def update_program(self, info: Info, input: UpdateProgramInput) -> ProgramPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "programs")
            program = _program(info, input.program_id, lock=True)
            if program.status is ProgramStatusEnum.CLOSED:
                raise problem("programId", "a closed program stays closed", "PROGRAM_CLOSED")
            if input.name is not None:
                program.name = inputs.required_text(input.name, "name", 200)
            if input.description is not None:
                program.description = inputs.text(
                    input.description, "description", 5000, multiline=True
                )
            if input.status is not None:
                program.status = ProgramStatusEnum(input.status)
            if input.questions is not None:
                questions = _questions(input.questions)
                _domain(lambda: service.raise_problems(check_form(questions)))
                program.application_form = [q.to_dict() for q in questions]
            ctx.session.flush()
            return {"program": Program.from_row(program)}

        return run_mutation(info, ProgramPayload, ERRORS, body)

    @strawberry.mutation(description="Adds a level above the program's others.")
    def add_program_level(self, info: Info, input: AddProgramLevelInput) -> ProgramLevelPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "programs")
            program = _program(info, input.program_id, lock=True)
            name = inputs.required_text(input.name, "name", 100)
            threshold = _figure(
                input.threshold, program.level_metric, program.currency, "threshold"
            )
            plan = to_domain(input.compensation, "compensation")
            level = _domain(
                lambda: service.add_level(
                    ctx.session, program, name=name, threshold=threshold, plan=plan
                )
            )
            return {"level": ProgramLevel.from_row(level)}

        return run_mutation(info, ProgramLevelPayload, ERRORS, body)

    @strawberry.mutation(
        description="Renames a level or changes its threshold or plan (its members' "
        "partnerships follow the new plan)."
    )
    def update_program_level(
        self, info: Info, input: UpdateProgramLevelInput
    ) -> ProgramLevelPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "programs")
            level: ProgramLevelModel = load_visible(
                info, ProgramLevelModel, "ProgramLevel", input.level_id, "levelId", lock=True
            )
            program = ctx.session.get(ProgramModel, level.program_id)
            assert program is not None
            name = inputs.required_text(input.name, "name", 100) if input.name is not None else None
            threshold = (
                _figure(input.threshold, program.level_metric, program.currency, "threshold")
                if input.threshold is not None
                else None
            )
            plan = (
                to_domain(input.compensation, "compensation")
                if input.compensation is not None
                else None
            )
            _domain(
                lambda: service.update_level(
                    ctx.session, level, name=name, threshold=threshold, plan=plan
                )
            )
            return {"level": ProgramLevel.from_row(level)}

        return run_mutation(info, ProgramLevelPayload, ERRORS, body)

    @strawberry.mutation(description="Invites an influencer to a program.")
    def invite_to_program(self, info: Info, input: InviteToProgramInput) -> ProgramMemberPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "programs")
            program = _program(info, input.program_id, lock=True)
            influencer: InfluencerModel = load_visible(
                info, InfluencerModel, "Influencer", input.influencer_id, "influencerId"
            )
            message = inputs.text(input.message, "message", 2000, multiline=True)
            campaign = ctx.session.get(CampaignModel, program.campaign_id)
            exclusivity_gate(info, campaign, influencer.id, input.override_exclusivity)
            member = _domain(lambda: service.invite(ctx.session, program, influencer.id, message))
            return {"member": ProgramMember.from_row(member)}

        return run_mutation(info, ProgramMemberPayload, ERRORS, body)

    @strawberry.mutation(
        description="Applies to a program with answers to its form (the influencer's own key); "
        "an invited influencer applying accepts the invitation, for the brand to approve."
    )
    def apply_to_program(self, info: Info, input: ApplyToProgramInput) -> ProgramMemberPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "program_apply")
            assert ctx.viewer.influencer_id is not None
            program = _program(info, input.program_id, lock=True)
            answers: dict[str, str] = {}
            for i, answer in enumerate(input.answers or []):
                key = inputs.no_controls(answer.key.strip(), f"answers[{i}].key")
                if key in answers:
                    raise problem(f"answers[{i}].key", "one answer per question", "DUPLICATE")
                answers[key] = inputs.no_controls(answer.value, f"answers.{key}", multiline=True)
            influencer_id = ctx.viewer.influencer_id
            member = _domain(lambda: service.apply(ctx.session, program, influencer_id, answers))
            return {"member": ProgramMember.from_row(member)}

        return run_mutation(info, ProgramMemberPayload, ERRORS, body)

    @strawberry.mutation(
        description="Approves (ACTIVE at the lowest level, with a partnership on the program's "
        "campaign) or declines an application or invitation."
    )
    def review_program_application(
        self, info: Info, input: ReviewProgramApplicationInput
    ) -> ProgramMemberPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "programs")
            member = _member(info, input.member_id)
            note = inputs.text(input.note, "note", 2000, multiline=True)
            conflicts = []
            if input.approve:  # joining makes a partnership: the creator's exclusivities count
                program = ctx.session.get(ProgramModel, member.program_id)
                assert program is not None
                campaign = ctx.session.get(CampaignModel, program.campaign_id)
                conflicts = exclusivity_gate(
                    info, campaign, member.influencer_id, input.override_exclusivity, "memberId"
                )
            elif input.override_exclusivity:
                raise problem(
                    "overrideExclusivity", "an override only applies to an approval", "NOT_ALLOWED"
                )
            _domain(
                lambda: service.review(
                    ctx.session,
                    member,
                    approve=input.approve,
                    reviewer=actor(ctx.viewer),
                    note=note,
                )
            )
            if conflicts and member.partnership_id is not None:
                partnership = ctx.session.get(PartnershipModel, member.partnership_id)
                assert partnership is not None and campaign is not None
                live_posts.record_invitation_override(
                    ctx.session, partnership, campaign, conflicts, actor(ctx.viewer), utcnow()
                )
            return {"member": ProgramMember.from_row(member)}

        return run_mutation(info, ProgramMemberPayload, ERRORS, body)

    @strawberry.mutation(description="Moves a member to a level by hand (MANUAL in its history).")
    def set_member_level(self, info: Info, input: SetMemberLevelInput) -> SetMemberLevelPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "programs")
            member = _member(info, input.member_id)
            level: ProgramLevelModel = load_visible(
                info, ProgramLevelModel, "ProgramLevel", input.level_id, "levelId"
            )
            note = inputs.text(input.note, "note", 2000, multiline=True)
            change = _domain(
                lambda: service.set_level(
                    ctx.session, member, level, changed_by=actor(ctx.viewer), note=note
                )
            )
            return {
                "member": ProgramMember.from_row(member),
                "change": ProgramLevelChange(
                    row=change,
                    reason=change.reason,
                    month=change.month,
                    changed_by=change.changed_by,
                    note=change.note,
                    created_at=change.created_at,
                ),
            }

        return run_mutation(info, SetMemberLevelPayload, ERRORS, body)

    @strawberry.mutation(
        description="Ends a membership (the influencer's own key, or MANAGER/ADMIN): LEFT, its "
        "partnership TERMINATED, its retainers ended today."
    )
    def leave_program(self, info: Info, input: LeaveProgramInput) -> ProgramMemberPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "program_leave")
            member = _member(info, input.member_id)
            note = inputs.text(input.note, "note", 2000, multiline=True)
            _domain(
                lambda: service.leave(
                    ctx.session, member, by=actor(ctx.viewer), note=note, today=utcnow().date()
                )
            )
            return {"member": ProgramMember.from_row(member)}

        return run_mutation(info, ProgramMemberPayload, ERRORS, body)

    @strawberry.mutation(
        description="Gives an ACTIVE member a recurring fee, credited in arrears once per period "
        "(a partial period prorated by days)."
    )
    def set_member_retainer(self, info: Info, input: SetMemberRetainerInput) -> RetainerPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "programs")
            member = _member(info, input.member_id)
            program = ctx.session.get(ProgramModel, member.program_id)
            assert program is not None
            if member.status is not MemberStatusEnum.ACTIVE:
                raise problem("memberId", "only ACTIVE members get a retainer", "INVALID_STATUS")
            amount = minor_or_error(input.amount, "amount", expected_currency=program.currency)
            if amount == 0:
                raise problem("amount.amount", "a retainer is more than 0", "INVALID_AMOUNT")
            if input.ends_on is not None and input.ends_on <= input.starts_on:
                raise problem("endsOn", "endsOn is after startsOn", "OUT_OF_RANGE")
            retainer = RetainerModel(
                organization_id=member.organization_id,
                member_id=member.id,
                amount=amount,
                currency=program.currency,
                period=RetainerPeriod(input.period),
                starts_on=input.starts_on,
                ends_on=input.ends_on,
            )
            ctx.session.add(retainer)
            ctx.session.flush()
            return {"retainer": Retainer.from_row(retainer)}

        return run_mutation(info, RetainerPayload, ERRORS, body)

    @strawberry.mutation(description="Ends a retainer: no period from endsOn on is paid.")
    def end_retainer(self, info: Info, input: EndRetainerInput) -> RetainerPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "programs")
            retainer: RetainerModel = load_visible(
                info, RetainerModel, "Retainer", input.retainer_id, "retainerId", lock=True
            )
            if input.ends_on <= retainer.starts_on:
                raise problem("endsOn", "endsOn is after the retainer's start", "OUT_OF_RANGE")
            if retainer.ends_on is not None and input.ends_on > retainer.ends_on:
                raise problem("endsOn", "a retainer's end can only come earlier", "OUT_OF_RANGE")
            retainer.ends_on = input.ends_on
            ctx.session.flush()
            return {"retainer": Retainer.from_row(retainer)}

        return run_mutation(info, RetainerPayload, ERRORS, body)

    @strawberry.mutation(
        description='Adds a monthly bonus: "N conversions (or revenue X) this month -> amount".'
    )
    def add_program_bonus(self, info: Info, input: AddProgramBonusInput) -> ProgramBonusPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "programs")
            program = _program(info, input.program_id)
            description = inputs.required_text(input.description, "description", 200)
            metric = MetricEnum(input.metric)
            target = _figure(input.target, metric, program.currency, "target")
            if target == 0:
                raise problem("target", "a target is more than 0", "OUT_OF_RANGE")
            amount = minor_or_error(input.amount, "amount", expected_currency=program.currency)
            if amount == 0:
                raise problem("amount.amount", "a bonus is more than 0", "INVALID_AMOUNT")
            level_id = None
            if input.level_id is not None:
                level: ProgramLevelModel = load_visible(
                    info, ProgramLevelModel, "ProgramLevel", input.level_id, "levelId"
                )
                if level.program_id != program.id:
                    raise problem("levelId", "no such program level", "NOT_FOUND")
                level_id = level.id
            bonus = ProgramBonusModel(
                organization_id=program.organization_id,
                program_id=program.id,
                level_id=level_id,
                description=description,
                metric=metric,
                target=target,
                amount=amount,
                currency=program.currency,
            )
            ctx.session.add(bonus)
            ctx.session.flush()
            return {"bonus": ProgramBonus.from_row(bonus)}

        return run_mutation(info, ProgramBonusPayload, ERRORS, body)

    @strawberry.mutation(
        description="Records gifted product shipped to a partnership's influencer; its value x "
        "quantity counts in the campaign's cost."
    )
    def create_shipment(self, info: Info, input: CreateShipmentInput) -> ShipmentPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "shipments")
            partnership: PartnershipModel = load_visible(
                info, PartnershipModel, "Partnership", input.partnership_id, "partnershipId"
            )
            product = inputs.required_text(input.product, "product", 200)
            currency = currency_or_error(input.value.currency, "value.currency")
            value = minor_or_error(input.value, "value")
            address = inputs.text(input.address, "address", 1000, required=True, multiline=True)
            carrier = inputs.text(input.carrier, "carrier", 100)
            tracking = inputs.text(input.tracking_number, "trackingNumber", 100)
            shipment = _domain(
                lambda: shipments.create(
                    ctx.session,
                    partnership,
                    product=product,
                    value=value,
                    currency=currency,
                    quantity=input.quantity,
                    address=address or "",
                    carrier=carrier,
                    tracking_number=tracking,
                )
            )
            return {"shipment": Shipment.from_row(shipment)}

        return run_mutation(info, ShipmentPayload, ERRORS, body)

    @strawberry.mutation(
        description="Moves a shipment on (ORDERED -> SHIPPED -> DELIVERED, SHIPPED or DELIVERED "
        "-> RETURNED) and sets its carrier and tracking number."
    )
    def update_shipment(self, info: Info, input: UpdateShipmentInput) -> ShipmentPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "shipments")
            shipment: ShipmentModel = load_visible(
                info, ShipmentModel, "Shipment", input.shipment_id, "shipmentId", lock=True
            )
            if input.carrier is not None:
                shipment.carrier = inputs.text(input.carrier, "carrier", 100)
            if input.tracking_number is not None:
                shipment.tracking_number = inputs.text(input.tracking_number, "trackingNumber", 100)
            if input.status is not None:
                status = ShipmentStatusEnum(input.status)
                _domain(lambda: shipments.move(shipment, status))
            ctx.session.flush()
            return {"shipment": Shipment.from_row(shipment)}

        return run_mutation(info, ShipmentPayload, ERRORS, body)
