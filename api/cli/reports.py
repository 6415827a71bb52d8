"""`vouch statements export`, `vouch schema`."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_statements_export(args: argparse.Namespace) -> int:
    from api.finance.export import export_cli

    return int(export_cli(args) or 0)


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
    p.add_argument("--currency")
    p.add_argument("--out", default="-")
    p.add_argument("--org", help="organization id (default: all)")
