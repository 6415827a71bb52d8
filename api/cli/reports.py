"""`vouch statements export`, `vouch schema`."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_statements_export(args: argparse.Namespace) -> int:
    """`vouch statements export --period 2026-10 [--currency EUR] [--out FILE] [--org ORG]`:
    every ledger entry of the month as CSV, with a progress line on stderr."""
    from api.cli import progress
    from api.cli.common import org_option, session
    from api.finance.errors import FinanceError
    from api.finance.export import count_entries, entry_rows
    from api.finance.statements import parse_period
    from api.money import MoneyError, normalize_currency

    try:
        parse_period(args.period)
        currency = normalize_currency(args.currency) if args.currency else None
    except (FinanceError, MoneyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with session() as db:
        try:
            org_id = org_option(db, args.org)
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        total = count_entries(db, args.period, org_id, currency)
        out = sys.stdout if args.out in (None, "-") else open(args.out, "w", newline="")  # noqa: SIM115
        try:
            done = -1  # the header
            for line in entry_rows(db, args.period, org_id=org_id, currency=currency):
                out.write(line)
                done += 1
                if done % 10_000 == 0 or done == total:
                    progress.show("rows", done, total)
        finally:
            if out is not sys.stdout:
                out.close()
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from api.graphql.schema import schema

    text = schema.as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as fh:
            fh.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def register(sub: Any, add: Any) -> None:
    p = add("schema", cmd_schema, "export the GraphQL schema (SDL)", needs=())
    p.add_argument("--output", default="schema.graphql")
    statements = sub.add_parser("statements", help="finance statements").add_subparsers(
        dest="statements_command", required=True
    )
    p = add("export", cmd_statements_export, "export statements as CSV", statements)
    p.add_argument("--period", required=True, help="YYYY-MM")
    p.add_argument("--currency", help="only entries in this currency (default: every currency)")
    p.add_argument("--out", default="-", help="file to write (default: standard output)")
    p.add_argument(
        "--org",
        help="only this organization's entries, by id or name (default: every organization "
        "in the database: the command runs as the operator, not as one tenant)",
    )
