"""`vouch import influencers|post-metrics FILE.csv`: bulk imports from spreadsheets, as the
operator. A file over IMPORT_MAX_BYTES is refused before it is read."""

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
    data = _read(args.file, cap)
    if data is None:
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


def cmd_import_post_metrics(args: argparse.Namespace) -> int:
    """Imports a CSV of post-metric snapshots into one organization
    (`api.content.post_metrics_import`), with a progress line on stderr and a line per refused
    row. Exit status 1 when a line was refused (nothing kept unless --skip-invalid)."""
    from api.cli import progress
    from api.cli.common import find_org, session
    from api.content import post_metrics_import as importing
    from api.imports.csvfile import CsvError
    from api.models import Deliverable
    from api.settings import get_settings

    limit = get_settings().import_max_bytes
    data = _read(args.file, limit)
    if data is None:
        return 2
    try:
        table = importing.read(data, limit)
    except CsvError as exc:
        print(f"error: {args.file}: {exc.message}", file=sys.stderr)
        return 2
    with session() as db:
        org = find_org(db, args.org)
        if org is None:
            print(f"error: no organization {args.org!r} (give its id or name)", file=sys.stderr)
            return 2
        report = importing.import_post_metrics(
            db,
            table,
            [Deliverable.organization_id == org.id],
            "cli:import",
            dry_run=args.dry_run,
            skip_invalid=args.skip_invalid,
            progress=lambda done, total: (
                progress.show("lines", done, total) if done % 500 == 0 or done == total else None
            ),
        )
    s = importing.LineStatus
    for line in report.lines:
        if line.status in (s.ERROR, s.SKIPPED):
            where = f" [{line.column}]" if line.column else ""
            print(f"line {line.line}{where}: {line.status}: {line.message}", file=sys.stderr)
    if report.unknown_columns:
        print(f"ignored columns: {', '.join(report.unknown_columns)}", file=sys.stderr)
    kept = (
        "kept" if report.committed else "dry run: nothing kept" if args.dry_run else "nothing kept"
    )
    print(
        f"{report.count(s.CREATED)} created, {report.count(s.UNCHANGED)} unchanged, "
        f"{report.count(s.SKIPPED)} skipped, {report.count(s.ERROR)} refused ({kept})"
    )
    return 1 if report.count(s.ERROR) else 0


def _read(path: str, limit: int) -> bytes | None:
    """The file's bytes, refused (None, the reason on stderr) when it cannot be read or is over
    `limit`: checked before reading, so a 50 MB file never reaches memory."""
    from api.imports.csvfile import CsvError, check_size

    try:
        with open(path, "rb") as fh:
            check_size(os.fstat(fh.fileno()).st_size, limit)
            return fh.read(limit + 1)
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
    except CsvError as exc:
        print(f"error: {path}: {exc.message}", file=sys.stderr)
    return None


def register(sub: Any, add: Any) -> None:
    imports = sub.add_parser("import", help="bulk imports from CSV").add_subparsers(
        dest="import_command", required=True
    )
    p = add("influencers", cmd_import_influencers, "import influencers from a CSV", imports)
    p.add_argument("file", help="the CSV file (a Modash or HypeAuditor export)")
    p.add_argument("--org", required=True, help="the organization, by id or name")
    p.add_argument("--dry-run", action="store_true", help="report only; change nothing")
    p.add_argument(
        "--skip-invalid", action="store_true", help="import the good lines, leave out bad ones"
    )
    p = add("post-metrics", cmd_import_post_metrics, "import post-metric snapshots", imports)
    p.add_argument("file", help="the CSV file (columns: see the README's post results section)")
    p.add_argument("--org", required=True, help="the organization, by id or name")
    p.add_argument("--dry-run", action="store_true", help="report only; keep nothing")
    p.add_argument(
        "--skip-invalid", action="store_true", help="leave refused lines out, keep the rest"
    )
