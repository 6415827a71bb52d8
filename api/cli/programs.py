"""`vouch programs run-month --month 2026-10`, `vouch programs retainers --until 2026-11-01`."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any


def cmd_run_month(args: argparse.Namespace) -> int:
    """Level moves and bonuses of a closed month for every program (or one organization's);
    idempotent per (member, month)."""
    from sqlalchemy import select

    from api.cli.common import org_option, session
    from api.models import Program
    from api.models.programs import ProgramStatus
    from api.programs import jobs
    from api.programs.errors import ProgramError

    try:
        month = jobs.month_of(args.month)
    except ProgramError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with session() as db:
        try:
            org_id = org_option(db, args.org)
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        query = select(Program).where(Program.status != ProgramStatus.CLOSED)
        if org_id is not None:
            query = query.where(Program.organization_id == org_id)
        moved = bonuses = programs = 0
        for program in db.scalars(query.order_by(Program.id)):
            try:
                moved += jobs.run_level_moves(db, program, month)
            except ProgramError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            bonuses += jobs.run_bonuses(db, program, month)
            programs += 1
    print(
        f"{month:%Y-%m}: {programs} program(s), {moved} member(s) moved, "
        f"{bonuses} bonus entr{'y' if bonuses == 1 else 'ies'} posted",
        file=sys.stderr,
    )
    return 0


def cmd_retainers(args: argparse.Namespace) -> int:
    """Credits every retainer period that has ended by --until (default today); idempotent."""
    from api.cli.common import org_option, session
    from api.db import utcnow
    from api.programs import jobs

    try:
        until = date.fromisoformat(args.until) if args.until else utcnow().date()
    except ValueError:
        print(f"error: --until {args.until!r} is not a date such as 2026-11-01", file=sys.stderr)
        return 2
    with session() as db:
        try:
            org_id = org_option(db, args.org)
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        posted = jobs.run_retainers(db, until, organization_id=org_id)
    print(f"{posted} retainer period(s) credited up to {until.isoformat()}", file=sys.stderr)
    return 0


def register(sub: Any, add: Any) -> None:
    group = sub.add_parser("programs", help="ambassador programs' jobs").add_subparsers(
        dest="programs_command", required=True
    )
    p = add("run-month", cmd_run_month, "level moves and bonuses of a closed month", group)
    p.add_argument("--month", required=True, help="YYYY-MM, a month that has ended")
    p.add_argument("--org", help="only this organization, by id or name (default: every one)")
    p = add("retainers", cmd_retainers, "credit retainer periods ended by a date", group)
    p.add_argument("--until", help="YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--org", help="only this organization, by id or name (default: every one)")
