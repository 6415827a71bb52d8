"""The `vouch` command line: serve, migrate, seed, manage tenants and keys, run everything.

One module per group of commands; each has a `register(sub, add)` that adds its parsers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from api.cli import (
    clickhouse,
    content,
    database,
    imports,
    keys,
    mail,
    partitions,
    programs,
    reports,
    risk,
    run,
    secrets,
    services,
    tax,
    webhooks,
)
from api.cli.checks import DATABASE, preflight
from api.cli.common import Command
from tracker.settings import SettingError

MODULES = (
    services,
    database,
    run,
    keys,
    mail,
    secrets,
    reports,
    imports,
    content,
    risk,
    tax,
    programs,
    webhooks,
    partitions,
    clickhouse,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vouch", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    # `needs`: what the command is checked to reach before it runs (`api.cli.checks`); most
    # commands use the database, so that is the default.
    def add(
        name: str, fn: Command, help: str, parent: Any = sub, needs: Sequence[str] = (DATABASE,)
    ) -> Any:
        p = parent.add_parser(name, help=help)
        p.set_defaults(fn=fn, needs=needs)
        return p

    for module in MODULES:
        module.register(sub, add)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs a command; a setting it cannot work with is one line on stderr and exit status 2."""
    from api.log import configure_logging

    args = build_parser().parse_args(argv)
    try:
        configure_logging()
        preflight(args.needs)
        return int(args.fn(args) or 0)
    except SettingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C of a one-off command: no traceback
        return 130
