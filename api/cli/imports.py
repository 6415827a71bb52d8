"""`vouch import influencers FILE.csv`: a Modash or HypeAuditor export into an organization."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def cmd_import_influencers(args: argparse.Namespace) -> int:
    """Imports the file (api.imports.influencers) with a progress line on stderr; prints the
    lines that failed and a summary. Exit status 1 when a line failed (without --skip-invalid
    nothing was imported then), 2 for a file or organization that cannot be used."""
    from api.cli import progress
    from api.cli.common import find_org, session
    from api.imports.csvfile import CsvError
    from api.imports.influencers import Status, import_influencers
    from api.settings import get_settings

    cap = get_settings().import_max_bytes
    try:
        size = os.path.getsize(args.file)
        if size > cap:  # refused before reading: a 50 MB file never reaches memory
            raise CsvError(
                f"{args.file} is {size / 1_000_000:.1f} MB: imports are limited to "
                f"{cap / 1_000_000:.1f} MB (IMPORT_MAX_BYTES)"
            )
        with open(args.file, "rb") as fh:
            data = fh.read(cap + 1)
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except CsvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with session() as db:
        org = find_org(db, args.org)
        if org is None:
            print(f"error: no organization {args.org!r} (give its id or name)", file=sys.stderr)
            return 2
        try:
            report = import_influencers(
                db,
                org.id,
                data,
                max_bytes=cap,
                dry_run=args.dry_run,
                skip_invalid=args.skip_invalid,
                progress=lambda done, total: progress.show("lines", done, total),
            )
        except CsvError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    for line in report.lines:
        for error in line.errors:
            column = f" {error.column}:" if error.column else ""
            print(f"line {line.line}:{column} {error.message}")
    if report.unknown_columns:
        print(f"ignored columns: {', '.join(report.unknown_columns)}")
    counts = ", ".join(f"{report.count(s)} {s.value.lower()}" for s in Status)
    if report.dry_run:
        outcome = "dry run: nothing imported"
    elif report.committed:
        outcome = "imported"
    else:
        outcome = "nothing imported (a line failed; --skip-invalid imports the others)"
    print(f"{counts}: {outcome}")
    return 1 if report.has_errors else 0


def register(sub: Any, add: Any) -> None:
    imports = sub.add_parser("import", help="import spreadsheets (CSV)").add_subparsers(
        dest="import_command", required=True
    )
    p = add("influencers", cmd_import_influencers, "import influencers from a CSV", imports)
    p.add_argument("file", help="the CSV file (a Modash or HypeAuditor export)")
    p.add_argument("--org", required=True, help="the organization, by id or name")
    p.add_argument("--dry-run", action="store_true", help="report only; change nothing")
    p.add_argument(
        "--skip-invalid", action="store_true", help="import the good lines, leave out bad ones"
    )
