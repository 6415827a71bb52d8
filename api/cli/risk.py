"""`vouch risk recompute`: the creator-risk score of every partnership (and its influencer)."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_recompute(args: argparse.Namespace) -> int:
    """Recomputes and stores every partnership's creator-risk (`api.risk.recompute`), a batch a
    transaction, with progress on stderr. The last partnership done is kept (`job_cursors`), so
    an interrupted run goes on where it stopped; a finished run starts over next time. Codes
    that look leaked raise `discount_code.leak_suspected` once an episode."""
    from sqlalchemy import func, select

    from api.cli import progress
    from api.cli.common import org_conditions, resume, session
    from api.models import Partnership
    from api.risk import recompute

    with session() as db:
        found = org_conditions(db, args.org, Partnership.organization_id)
        if found is None:
            return 2
        conditions, suffix = found
        mark, start = resume(db, recompute.RECOMPUTE_CURSOR + suffix, args.restart, "partnership")
        total = db.scalar(select(func.count()).where(*conditions, Partnership.id > start))

        def on_batch(report: recompute.RecomputeReport) -> None:
            mark.position = report.last_id
            db.commit()  # the batch's scores and the cursor together

        report = recompute.recompute_all(
            db,
            conditions,
            after_id=start,
            batch=args.batch,
            on_batch=on_batch,
            progress=lambda r: progress.show("partnerships", r.done, total or 0),
        )
        if not total:
            progress.show("partnerships", 0, 0)
        mark.position = 0  # done: the next run starts over
    print(f"{report.done} partnerships scored, {report.elevated} HIGH or CRITICAL")
    return 0


def register(sub: Any, add: Any) -> None:
    from api.cli.content import _positive

    risk = sub.add_parser("risk", help="creator-risk scores").add_subparsers(
        dest="risk_command", required=True
    )
    p = add("recompute", cmd_recompute, "recompute every partnership's risk (resumable)", risk)
    p.add_argument("--org", help="one organization, by id or name (default: all)")
    p.add_argument("--batch", type=_positive, default=200, help="partnerships a transaction")
    p.add_argument("--restart", action="store_true", help="start from the first partnership")
