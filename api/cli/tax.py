"""`vouch tax report --year 2026`: US payees' payments of a year against the 1099-NEC threshold."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_tax_report(args: argparse.Namespace) -> int:
    """Per US payee (tax profile in the US), the year's paid payout lines in USD and whether
    they reach the 1099-NEC threshold, as CSV; a progress line on stderr."""
    from api.cli import progress
    from api.cli.common import org_option, session
    from api.finance import tax
    from api.settings import get_settings

    if not 1900 <= args.year <= 9999:
        print("error: --year must be a year such as 2026", file=sys.stderr)
        return 2
    dollars = get_settings().tax_1099_threshold_usd
    threshold = tax.threshold_for(args.year, dollars * 100 if dollars is not None else None)
    with session() as db:
        try:
            org_id = org_option(db, args.org)
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        payees = tax.us_payees(db, args.year, threshold, org_id)
        out = sys.stdout if args.out in (None, "-") else open(args.out, "w", newline="")  # noqa: SIM115
        try:
            for done, line in enumerate(tax.report_lines(payees, threshold)):
                out.write(line)
                if done and (done % 1000 == 0 or done == len(payees)):
                    progress.show("payees", done, len(payees))
            if not payees:
                progress.show("payees", 0, 0)
        finally:
            if out is not sys.stdout:
                out.close()
    reportable = sum(p.reportable for p in payees)
    print(
        f"{len(payees)} US payee(s) paid in {args.year}, {reportable} at or above the 1099-NEC "
        f"threshold of {threshold // 100} USD",
        file=sys.stderr,
    )
    return 0


def register(sub: Any, add: Any) -> None:
    group = sub.add_parser("tax", help="tax reports").add_subparsers(
        dest="tax_command", required=True
    )
    p = add("report", cmd_tax_report, "US 1099-NEC report of a year's payments as CSV", group)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--out", default="-", help="file to write (default: standard output)")
    p.add_argument("--org", help="only this organization, by id or name (default: every one)")
