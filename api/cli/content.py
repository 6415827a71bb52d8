"""`vouch content recheck` and `vouch content usage-rights`: watching posts after they go live."""

from __future__ import annotations

import argparse
from typing import Any


def _conditions(db: Any, org_arg: str | None) -> tuple[list[Any], str] | None:
    from api.cli.common import org_conditions
    from api.models import Deliverable

    return org_conditions(db, org_arg, Deliverable.organization_id)


def cmd_recheck(args: argparse.Namespace) -> int:
    """Rechecks every live post's latest caption against its approved version and the current
    rules (`api.content.live_posts`), a batch a transaction, with progress on stderr. The last
    deliverable done is kept (`job_cursors`), so an interrupted run goes on where it stopped;
    a finished run starts over next time. Idempotent: a caption seen before finds nothing new."""
    from sqlalchemy import func, select

    from api.cli import progress
    from api.cli.common import resume, session
    from api.content import live_posts
    from api.domain.deliverable_status import DeliverableStatus
    from api.models import Deliverable

    with session() as db:
        found = _conditions(db, args.org)
        if found is None:
            return 2
        conditions, suffix = found
        cursor, start = resume(db, live_posts.RECHECK_CURSOR + suffix, args.restart, "deliverable")
        published = Deliverable.status == DeliverableStatus.PUBLISHED.value
        total = db.scalar(
            select(func.count()).where(*conditions, published, Deliverable.id > start)
        )

        def on_batch(report: live_posts.RecheckReport) -> None:
            cursor.position = report.last_id
            db.commit()  # the batch's findings and the cursor together

        report = live_posts.recheck_published(
            db,
            conditions,
            after_id=start,
            batch=args.batch,
            on_batch=on_batch,
            keep=False,
            progress=lambda r: progress.show("live posts", r.checked, total or 0),
        )
        if not total:
            progress.show("live posts", 0, 0)
        cursor.position = 0  # done: the next run checks everything again
    print(f"{report.checked} live posts checked, {report.findings} new findings")
    return 0


def cmd_usage_rights(args: argparse.Namespace) -> int:
    """Stores the contract's usage rights of published deliverables that have none, raises
    `usage_rights.expiring` once per deliverable USAGE_RIGHTS_NOTICE_DAYS before they end and
    `usage_rights.expired` (with a finding) once after. Idempotent: run it daily."""
    from api.cli.common import session
    from api.content import usage_rights
    from api.settings import get_settings

    with session() as db:
        found = _conditions(db, args.org)
        if found is None:
            return 2
        report = usage_rights.notify(db, found[0], get_settings().usage_rights_notice_days)
    print(
        f"{report.derived} usage rights stored from contracts, {report.expiring} expiring "
        f"notices, {report.expired} expired"
    )
    return 0


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def register(sub: Any, add: Any) -> None:
    content = sub.add_parser("content", help="live posts: recheck, usage rights").add_subparsers(
        dest="content_command", required=True
    )
    p = add("recheck", cmd_recheck, "recheck every live post's caption (resumable)", content)
    p.add_argument("--org", help="one organization, by id or name (default: all)")
    p.add_argument("--batch", type=_positive, default=200, help="deliverables a transaction")
    p.add_argument("--restart", action="store_true", help="start from the first deliverable")
    p = add(
        "usage-rights", cmd_usage_rights, "usage-rights notices before and after expiry", content
    )
    p.add_argument("--org", help="one organization, by id or name (default: all)")
