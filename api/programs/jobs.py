"""The scheduled jobs of programs: monthly level moves, retainers, bonuses.

Each can run late, twice, or concurrently and the books stay right: level moves are one RULE row
per (member, month) (a partial unique index), retainers one ledger entry per (retainer, period)
and bonuses one credit or reversal per state change of (member, bonus, month), all under unique
idempotency keys, with the member's row locked while it is decided. Figures come from the
performance rollups (`api.programs.metrics`). The worker runs `run_due` on start and hourly;
`vouch programs run-month` and `vouch programs retainers` run them by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.domain.program_bonuses import BonusAction, Progress, bonus_action
from api.domain.program_levels import LevelRule, level_for
from api.domain.retainers import due_periods
from api.ledger.posting import is_paid, locked, post_entry
from api.models import LedgerEntry, Program, ProgramBonus, ProgramMember, Retainer
from api.models.ledger import EntryKind, SourceType
from api.models.programs import (
    LevelChangeReason,
    MemberStatus,
    ProgramLevelChange,
    ProgramStatus,
)
from api.money import format_money
from api.programs import service
from api.programs.errors import ProgramError
from api.programs.metrics import month_bounds, month_figures

log = logging.getLogger("vouch.programs")
JOB = "vouch programs"


def month_of(value: str) -> date:
    """ "2026-10" -> date(2026, 10, 1); ProgramError otherwise."""
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise ProgramError(
            "INVALID_MONTH", f"{value!r} is not a month such as 2026-10 (YYYY-MM)", "month"
        ) from None


def last_closed_month(now: datetime) -> date:
    first = now.astimezone(UTC).date().replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def _active_members(session: Session, program_id: int) -> list[ProgramMember]:
    return list(
        session.scalars(
            select(ProgramMember)
            .where(
                ProgramMember.program_id == program_id,
                ProgramMember.status == MemberStatus.ACTIVE,
                ProgramMember.partnership_id.is_not(None),
            )
            .order_by(ProgramMember.id)
        )
    )


# --- level moves ------------------------------------------------------------------------------


def run_level_moves(
    session: Session, program: Program, month: date, *, now: datetime | None = None
) -> int:
    """Reviews every ACTIVE member's level on `month`'s figure (it must have closed): one RULE
    row per (member, month), the level moved when the rule says so. A member already reviewed
    on this month or a later one is left alone. How many members changed level."""
    now = now or utcnow()
    _start, end = month_bounds(month)
    if end > now:
        raise ProgramError("MONTH_NOT_CLOSED", f"{month:%Y-%m} has not ended yet", "month")
    levels = service.levels_of(session, program.id)
    if not levels:
        return 0
    rules = [LevelRule(lv.id, lv.rank, lv.threshold) for lv in levels]
    by_id = {lv.id: lv for lv in levels}
    members = _active_members(session, program.id)
    figures = month_figures(
        session,
        [m.partnership_id for m in members if m.partnership_id is not None],
        program.currency,
        month,
        program.level_metric,
    )
    moved = 0
    for member in members:
        member = locked(session, ProgramMember, member.id)
        reviewed = session.scalar(
            select(func.count())
            .select_from(ProgramLevelChange)
            .where(
                ProgramLevelChange.member_id == member.id,
                ProgramLevelChange.reason == LevelChangeReason.RULE,
                ProgramLevelChange.month >= month,
            )
        )
        if reviewed:
            continue
        measured = figures.get(member.partnership_id or 0, 0)
        target = by_id[level_for(rules, measured).level_id]
        if member.level_id != target.id:
            moved += 1
        service.move(
            session,
            member,
            target,
            reason=LevelChangeReason.RULE,
            changed_by=JOB,
            month=month,
            measured=measured,
            note=f"{program.level_metric.value} in {month:%Y-%m}: {measured}",
            now=now,
        )
    return moved


# --- retainers --------------------------------------------------------------------------------


def retainer_key(retainer_id: int, period_start: date) -> str:
    return f"retainer:{retainer_id}:{period_start.isoformat()}"


def run_retainers(
    session: Session,
    until: date,
    *,
    organization_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Credits every retainer period that has ended by `until` and is not on the ledger yet
    (in arrears, prorated when partial). How many entries were posted."""
    now = now or utcnow()
    query = (
        select(Retainer, ProgramMember, Program)
        .join(ProgramMember, ProgramMember.id == Retainer.member_id)
        .join(Program, Program.id == ProgramMember.program_id)
        .where(ProgramMember.partnership_id.is_not(None), Program.status != ProgramStatus.CLOSED)
        .order_by(Retainer.id)
    )
    if organization_id is not None:
        query = query.where(Retainer.organization_id == organization_id)
    posted = 0
    for retainer, member, program in session.execute(query).all():
        for due in due_periods(
            retainer.period.value, retainer.amount, retainer.starts_on, retainer.ends_on, until
        ):
            if due.amount == 0:
                continue
            partial = (
                "" if due.days == due.period_days else (f", {due.days} of {due.period_days} days")
            )
            posted += _posted(
                session,
                {
                    "organization_id": retainer.organization_id,
                    "influencer_id": member.influencer_id,
                    "partnership_id": member.partnership_id,
                    "campaign_id": program.campaign_id,
                    "kind": EntryKind.RETAINER,
                    "amount": due.amount,
                    "currency": retainer.currency,
                    "source_type": SourceType.RETAINER,
                    "source_id": retainer.id,
                    "created_at": now,
                    "available_at": now,
                    "memo": (
                        f"{program.name}: {retainer.period.value.lower()} retainer for the "
                        f"period from {due.start.isoformat()} to "
                        f"{(due.end - timedelta(days=1)).isoformat()}{partial}"
                    ),
                    "idempotency_key": retainer_key(retainer.id, due.start),
                },
            )
    return posted


# --- bonuses ----------------------------------------------------------------------------------


def bonus_key_prefix(bonus_id: int, member_id: int, month: date) -> str:
    return f"program_bonus:{bonus_id}:member:{member_id}:{month:%Y-%m}:"


@dataclass(frozen=True, slots=True)
class BonusState:
    bonus: ProgramBonus
    member: ProgramMember
    month: date
    progress: Progress
    credited: bool


def bonuses_for(session: Session, member: ProgramMember) -> list[ProgramBonus]:
    return list(
        session.scalars(
            select(ProgramBonus)
            .where(
                ProgramBonus.program_id == member.program_id,
                (ProgramBonus.level_id.is_(None)) | (ProgramBonus.level_id == member.level_id),
            )
            .order_by(ProgramBonus.id)
        )
    )


def _bonus_entries(session: Session, bonus: ProgramBonus, member: ProgramMember, month: date):
    prefix = bonus_key_prefix(bonus.id, member.id, month)
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.source_type == SourceType.PROGRAM_BONUS,
                LedgerEntry.source_id == bonus.id,
                LedgerEntry.influencer_id == member.influencer_id,
                LedgerEntry.idempotency_key.startswith(prefix),
            )
            .order_by(LedgerEntry.id)
        )
    )


def bonus_states(session: Session, member: ProgramMember, month: date) -> list[BonusState]:
    """The progress of each of the member's bonuses in `month` and whether it stands credited."""
    program = session.get(Program, member.program_id)
    assert program is not None
    states = []
    for bonus in bonuses_for(session, member):
        figure = month_figures(
            session, [member.partnership_id or 0], bonus.currency, month, bonus.metric
        ).get(member.partnership_id or 0, 0)
        entries = _bonus_entries(session, bonus, member, month)
        credits = sum(1 for e in entries if e.amount > 0)
        states.append(
            BonusState(
                bonus,
                member,
                month,
                Progress(bonus.target, figure),
                credits > len(entries) - credits,
            )
        )
    return states


def run_bonuses(
    session: Session, program: Program, month: date, *, now: datetime | None = None
) -> int:
    """Credits met bonuses of `month` and, while it is open, reverses those refunds took back
    under. How many entries were posted."""
    now = now or utcnow()
    _start, end = month_bounds(month)
    closed = now >= end
    posted = 0
    for member in _active_members(session, program.id):
        member = locked(session, ProgramMember, member.id)
        for state in bonus_states(session, member, month):
            action = bonus_action(state.progress, state.credited, closed=closed)
            if action is BonusAction.NONE:
                continue
            posted += _post_bonus(session, program, state, action, now)
    return posted


def _post_bonus(
    session: Session, program: Program, state: BonusState, action: BonusAction, now: datetime
) -> int:
    bonus, member, month = state.bonus, state.member, state.month
    entries = _bonus_entries(session, bonus, member, month)
    prefix = bonus_key_prefix(bonus.id, member.id, month)
    credits = [e for e in entries if e.amount > 0]
    reversals = len(entries) - len(credits)
    values = {
        "organization_id": member.organization_id,
        "influencer_id": member.influencer_id,
        "partnership_id": member.partnership_id,
        "campaign_id": program.campaign_id,
        "currency": bonus.currency,
        "source_type": SourceType.PROGRAM_BONUS,
        "source_id": bonus.id,
        "created_at": now,
    }
    figure = f"{state.progress.achieved} of {state.progress.target}"
    if bonus.metric.value == "REVENUE":
        figure = (
            f"{format_money(state.progress.achieved, bonus.currency)} of "
            f"{format_money(state.progress.target, bonus.currency)}"
        )
    if action is BonusAction.CREDIT:
        values |= {
            "kind": EntryKind.BONUS,
            "amount": bonus.amount,
            "available_at": now,
            "memo": f"{program.name}: bonus {bonus.description!r} met in {month:%Y-%m} ({figure})",
            "idempotency_key": f"{prefix}credit:{len(credits) + 1}",
        }
    else:
        credit = credits[-1]
        paid = is_paid(session, credit.id)
        values |= {
            "kind": EntryKind.CLAWBACK if paid else EntryKind.REVERSAL,
            "amount": -credit.amount,
            "reverses_entry_id": credit.id,
            "available_at": now if paid else max(now, credit.available_at),
            "memo": (
                f"{program.name}: bonus {bonus.description!r} of {month:%Y-%m} taken back, "
                f"refunds left it under target ({figure})"
            ),
            "idempotency_key": f"{prefix}reversal:{reversals + 1}",
        }
    return _posted(session, values)


# --- all of it --------------------------------------------------------------------------------


def run_due(session: Session, now: datetime | None = None) -> dict[str, int]:
    """What the worker runs: level moves of the last closed month, bonuses of it and of the
    current month, retainers up to today. Idempotent."""
    now = now or utcnow()
    closed = last_closed_month(now)
    current = now.astimezone(UTC).date().replace(day=1)
    totals = {"moved": 0, "bonuses": 0, "retainers": 0}
    for program in session.scalars(
        select(Program).where(Program.status != ProgramStatus.CLOSED).order_by(Program.id)
    ):
        totals["moved"] += run_level_moves(session, program, closed, now=now)
        totals["bonuses"] += run_bonuses(session, program, closed, now=now)
        totals["bonuses"] += run_bonuses(session, program, current, now=now)
    totals["retainers"] = run_retainers(session, now.astimezone(UTC).date(), now=now)
    if any(totals.values()):
        log.info("programs", extra=totals)
    return totals


def _posted(session: Session, values: dict[str, Any]) -> int:
    """1 when the entry is new, 0 when its idempotency key was there already."""
    return 0 if post_entry(session, values) is None else 1
