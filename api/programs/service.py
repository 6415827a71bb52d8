"""Programs, levels and members: what the API's mutations do, without GraphQL.

Decision (see `api.models.programs`): a program owns an evergreen campaign; an approved member
gets an ACTIVE partnership on it whose compensation override is the member's level plan, so
tracked links, discount codes, commissions, refunds and statements are the existing ones. A
level change rewrites the override: orders from then on are priced under the new level's plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.domain.commission import CompensationPlan
from api.domain.program_forms import Question, check_answers, check_form
from api.domain.program_levels import LevelRule, check_thresholds
from api.models import Campaign, Partnership, Program, ProgramLevel, ProgramMember, Retainer
from api.models.enums import CampaignObjective, MaterialConnection
from api.models.programs import (
    LevelChangeReason,
    LevelMetric,
    MemberStatus,
    ProgramLevelChange,
    ProgramStatus,
)
from api.programs.errors import ProgramError

MAX_LEVELS = 20


def raise_problems(problems: Sequence[Any], prefix: str = "") -> None:
    if problems:
        first = problems[0]
        field = f"{prefix}{first.field}" if first.field else prefix or None
        raise ProgramError(str(first.code), first.message, field)


def check_plan(plan: CompensationPlan, currency: str) -> None:
    raise_problems(plan.validate(), "compensation.")
    if plan.currency != currency:
        raise ProgramError(
            "CURRENCY_MISMATCH",
            f"a level's plan is in the program's currency ({currency})",
            "compensation.currency",
        )


def create_program(
    session: Session,
    *,
    organization_id: int,
    brand_id: int,
    name: str,
    description: str | None,
    currency: str,
    landing_url: str,
    level_metric: LevelMetric,
    questions: Sequence[Question],
) -> Program:
    raise_problems(check_form(questions), "")
    campaign = Campaign(
        organization_id=organization_id,
        brand_id=brand_id,
        name=f"{name} (ambassador program)",
        objective=CampaignObjective.CONVERSIONS,
        brief=description,
        status="ACTIVE",
        currency=currency,
        landing_url=landing_url,
        compensation=CompensationPlan(currency=currency).to_dict(),
    )
    session.add(campaign)
    session.flush()
    program = Program(
        organization_id=organization_id,
        brand_id=brand_id,
        campaign_id=campaign.id,
        name=name,
        description=description,
        status=ProgramStatus.ACTIVE,
        currency=currency,
        level_metric=level_metric,
        application_form=[q.to_dict() for q in questions],
    )
    session.add(program)
    session.flush()
    return program


def questions_of(program: Program) -> list[Question]:
    return [Question.from_dict(q) for q in program.application_form or []]


def levels_of(session: Session, program_id: int) -> list[ProgramLevel]:
    return list(
        session.scalars(
            select(ProgramLevel)
            .where(ProgramLevel.program_id == program_id)
            .order_by(ProgramLevel.rank)
        )
    )


def _check_levels(levels: Sequence[ProgramLevel]) -> None:
    rules = [LevelRule(lv.id or 0, lv.rank, lv.threshold) for lv in levels]
    raise_problems(check_thresholds(rules))


def add_level(
    session: Session,
    program: Program,
    *,
    name: str,
    threshold: int,
    plan: CompensationPlan,
) -> ProgramLevel:
    """A new level above the existing ones."""
    check_plan(plan, program.currency)
    levels = levels_of(session, program.id)
    if len(levels) >= MAX_LEVELS:
        raise ProgramError("TOO_MANY", f"a program has at most {MAX_LEVELS} levels", None)
    if any(lv.name.casefold() == name.casefold() for lv in levels):
        raise ProgramError("DUPLICATE", f"the program has a level named {name!r}", "name")
    level = ProgramLevel(
        organization_id=program.organization_id,
        program_id=program.id,
        name=name,
        rank=(levels[-1].rank + 1) if levels else 0,
        threshold=threshold,
        compensation=plan.to_dict(),
    )
    _check_levels([*levels, level])
    session.add(level)
    session.flush()
    return level


def update_level(
    session: Session,
    level: ProgramLevel,
    *,
    name: str | None,
    threshold: int | None,
    plan: CompensationPlan | None,
) -> ProgramLevel:
    program = session.get(Program, level.program_id)
    assert program is not None
    levels = levels_of(session, program.id)
    if name is not None:
        if any(lv.id != level.id and lv.name.casefold() == name.casefold() for lv in levels):
            raise ProgramError("DUPLICATE", f"the program has a level named {name!r}", "name")
        level.name = name
    if threshold is not None:
        level.threshold = threshold
        _check_levels(levels)
    if plan is not None:
        check_plan(plan, program.currency)
        level.compensation = plan.to_dict()
        for member in session.scalars(
            select(ProgramMember).where(
                ProgramMember.level_id == level.id, ProgramMember.status == MemberStatus.ACTIVE
            )
        ):
            _sync_override(session, member, level)
    session.flush()
    return level


def _sync_override(session: Session, member: ProgramMember, level: ProgramLevel) -> None:
    if member.partnership_id is not None:
        partnership = session.get(Partnership, member.partnership_id)
        assert partnership is not None
        partnership.compensation_override = dict(level.compensation)


def invite(
    session: Session, program: Program, influencer_id: int, message: str | None
) -> ProgramMember:
    if program.status is ProgramStatus.CLOSED:
        raise ProgramError("PROGRAM_CLOSED", "the program is closed", "programId")
    member = _member_of(session, program.id, influencer_id)
    if member is not None and member.status is MemberStatus.LEFT:
        raise ProgramError(
            "INVALID_STATUS",
            "the influencer left the program: its partnership is closed",
            "influencerId",
        )
    if member is not None:
        if member.status in (MemberStatus.ACTIVE, MemberStatus.INVITED, MemberStatus.APPLIED):
            raise ProgramError(
                "ALREADY_MEMBER", f"the influencer is already {member.status.value}", "influencerId"
            )
        member.status = MemberStatus.INVITED
        member.message = message
    else:
        member = ProgramMember(
            organization_id=program.organization_id,
            program_id=program.id,
            influencer_id=influencer_id,
            status=MemberStatus.INVITED,
            answers={},
            message=message,
        )
        session.add(member)
    session.flush()
    return member


def apply(
    session: Session, program: Program, influencer_id: int, answers: Mapping[str, str]
) -> ProgramMember:
    """An application with answers to the form; an invited influencer applying accepts."""
    if program.status is not ProgramStatus.ACTIVE:
        raise ProgramError("PROGRAM_CLOSED", "the program takes no applications", "programId")
    clean, problems = check_answers(questions_of(program), answers)
    if problems:
        first = problems[0]
        raise ProgramError(str(first.code), first.message, first.field)
    member = _member_of(session, program.id, influencer_id)
    if member is not None and member.status in (MemberStatus.ACTIVE, MemberStatus.APPLIED):
        raise ProgramError("ALREADY_MEMBER", f"already {member.status.value}", "programId")
    if member is not None and member.status is MemberStatus.DECLINED:
        raise ProgramError("DECLINED", "the brand declined this influencer", "programId")
    if member is not None and member.status is MemberStatus.LEFT:
        raise ProgramError("INVALID_STATUS", "the influencer left the program", "programId")
    if member is None:
        member = ProgramMember(
            organization_id=program.organization_id,
            program_id=program.id,
            influencer_id=influencer_id,
            status=MemberStatus.APPLIED,
        )
        session.add(member)
    member.status = MemberStatus.APPLIED
    member.answers = clean
    session.flush()
    return member


def _member_of(session: Session, program_id: int, influencer_id: int) -> ProgramMember | None:
    return session.scalars(
        select(ProgramMember).where(
            ProgramMember.program_id == program_id, ProgramMember.influencer_id == influencer_id
        )
    ).first()


def review(
    session: Session,
    member: ProgramMember,
    *,
    approve: bool,
    reviewer: str,
    note: str | None,
    now: datetime | None = None,
) -> ProgramMember:
    """Approves (ACTIVE, at the lowest level, with a partnership) or declines an application
    or an invitation."""
    if member.status not in (MemberStatus.APPLIED, MemberStatus.INVITED):
        raise ProgramError(
            "INVALID_STATUS",
            f"only an application or invitation is reviewed, not a {member.status.value} member",
            "memberId",
        )
    now = now or utcnow()
    member.reviewed_at = now
    member.reviewed_by = reviewer
    member.review_note = note
    if not approve:
        member.status = MemberStatus.DECLINED
        session.flush()
        return member
    program = session.get(Program, member.program_id)
    assert program is not None
    levels = levels_of(session, program.id)
    if not levels:
        raise ProgramError("NO_LEVELS", "add a level to the program first", "memberId")
    lowest = levels[0]
    partnership = session.scalars(
        select(Partnership).where(
            Partnership.campaign_id == program.campaign_id,
            Partnership.influencer_id == member.influencer_id,
        )
    ).first()
    if partnership is None:
        partnership = Partnership(
            organization_id=program.organization_id,
            campaign_id=program.campaign_id,
            influencer_id=member.influencer_id,
            status="ACTIVE",
            connection=MaterialConnection.AFFILIATE,
            responded_at=now,
        )
        session.add(partnership)
    partnership.status = "ACTIVE"
    partnership.compensation_override = dict(lowest.compensation)
    session.flush()
    member.partnership_id = partnership.id
    member.status = MemberStatus.ACTIVE
    previous = member.level_id
    member.level_id = lowest.id
    session.add(
        ProgramLevelChange(
            organization_id=member.organization_id,
            member_id=member.id,
            from_level_id=previous,
            to_level_id=lowest.id,
            reason=LevelChangeReason.JOINED,
            changed_by=reviewer,
            created_at=now,
        )
    )
    session.flush()
    return member


def move(
    session: Session,
    member: ProgramMember,
    level: ProgramLevel,
    *,
    reason: LevelChangeReason,
    changed_by: str,
    note: str | None = None,
    month: date | None = None,
    measured: int | None = None,
    now: datetime | None = None,
) -> ProgramLevelChange:
    """Records a level decision and applies it (the partnership's override follows)."""
    change = ProgramLevelChange(
        organization_id=member.organization_id,
        member_id=member.id,
        from_level_id=member.level_id,
        to_level_id=level.id,
        reason=reason,
        month=month,
        measured=measured,
        changed_by=changed_by,
        note=note,
        created_at=now or utcnow(),
    )
    session.add(change)
    if member.level_id != level.id:
        member.level_id = level.id
        _sync_override(session, member, level)
    session.flush()
    return change


def set_level(
    session: Session,
    member: ProgramMember,
    level: ProgramLevel,
    *,
    changed_by: str,
    note: str | None,
) -> ProgramLevelChange:
    if member.status is not MemberStatus.ACTIVE:
        raise ProgramError("INVALID_STATUS", "only ACTIVE members have a level", "memberId")
    if level.program_id != member.program_id:
        raise ProgramError("NOT_FOUND", "the level is not of the member's program", "levelId")
    if level.id == member.level_id:
        raise ProgramError("UNCHANGED", "the member is already at this level", "levelId")
    return move(
        session, member, level, reason=LevelChangeReason.MANUAL, changed_by=changed_by, note=note
    )


def leave(
    session: Session, member: ProgramMember, *, by: str, note: str | None, today: date
) -> ProgramMember:
    """The member leaves (or is removed): LEFT, its partnership TERMINATED (links and codes stop
    earning), its retainers end today (the periods already ended are still credited)."""
    if member.status is MemberStatus.LEFT:
        raise ProgramError("INVALID_STATUS", "the member has left already", "memberId")
    if member.status is MemberStatus.DECLINED:
        raise ProgramError("INVALID_STATUS", "a declined influencer is no member", "memberId")
    member.status = MemberStatus.LEFT
    member.review_note = note
    member.reviewed_by = by
    member.reviewed_at = utcnow()
    if member.partnership_id is not None:
        partnership = session.get(Partnership, member.partnership_id)
        assert partnership is not None
        if partnership.status == "ACTIVE":
            partnership.status = "TERMINATED"
            partnership.response_note = f"left the ambassador program ({by})"
    for retainer in session.scalars(select(Retainer).where(Retainer.member_id == member.id)):
        if retainer.ends_on is None or retainer.ends_on > today:
            retainer.ends_on = max(today, retainer.starts_on)
    session.flush()
    return member
