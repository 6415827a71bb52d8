"""`vouch mail list` / `vouch mail show ID`: the local outbox, where mail goes when no SMTP_HOST
is set (`api.mail`): the sign-in and invitation links of a laptop with no mail server."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli.common import session


def cmd_mail_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from api.models import OutboxMail

    with session() as db:
        rows = db.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(args.limit)).all()
        lines = [
            (str(m.id), f"{m.created_at:%Y-%m-%d %H:%M}", m.recipient, m.subject) for m in rows
        ]
    if not lines:
        print("the outbox is empty (mail goes here when SMTP_HOST is not set)")
        return 0
    header = ("ID", "WRITTEN", "TO", "SUBJECT")
    widths = [max(len(v) for v in column) for column in zip(header, *lines, strict=True)]
    for line in (header, *lines):
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
    print(f"({len(lines)} newest first; times in UTC; `vouch mail show ID` prints one)")
    return 0


def cmd_mail_show(args: argparse.Namespace) -> int:
    from api.models import OutboxMail

    with session() as db:
        mail = db.get(OutboxMail, args.id)
        if mail is None:
            print(f"error: no mail {args.id} in the outbox", file=sys.stderr)
            return 1
        print(f"To: {mail.recipient}\nSubject: {mail.subject}")
        print(f"Date: {mail.created_at:%Y-%m-%d %H:%M} UTC\n")
        print(mail.body)
    return 0


def register(sub: Any, add: Any) -> None:
    mail = sub.add_parser("mail", help="the local mail outbox").add_subparsers(
        dest="mail_command", required=True
    )
    p = add("list", cmd_mail_list, "list the mail written to the outbox", mail)
    p.add_argument("--limit", type=int, default=20, help="how many, newest first (default 20)")
    p = add("show", cmd_mail_show, "print one mail of the outbox", mail)
    p.add_argument("id", type=int, metavar="ID")
