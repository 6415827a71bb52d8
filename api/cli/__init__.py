"""The `vouch` command line: serve, migrate, seed, manage tenants and keys, run everything.

One module per group of commands; each has a `register(sub, add)` that adds its parsers.
"""

from __future__ import annotations

import argparse
from typing import Any

from api.cli import database, keys, reports, run, services
from api.cli.common import Command
from api.log import configure_logging

MODULES = (services, database, run, keys, reports)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vouch", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Command, help: str, parent: Any = sub) -> Any:
        p = parent.add_parser(name, help=help)
        p.set_defaults(fn=fn)
        return p

    for module in MODULES:
        module.register(sub, add)
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    return int(args.fn(args) or 0)
