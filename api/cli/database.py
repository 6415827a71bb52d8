"""`vouch migrate`, `vouch demo`, `vouch org create`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli import progress
from api.cli.common import print_keys, session


def cmd_migrate(_args: argparse.Namespace) -> int:
    from api.migrations import upgrade

    done = upgrade()
    print(
        done.summary() or f"database already at the latest migration ({done.head})", file=sys.stderr
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from api import demo

    with session() as db:
        if not demo.is_empty(db) and not args.force:
            print("the database already has data: nothing seeded (use --force)", file=sys.stderr)
            return 0
        result = demo.seed(db, progress=progress.show)
    print_keys(result)
    return 0


def cmd_org_create(args: argparse.Namespace) -> int:
    from api.models import Organization

    name = args.name.strip()
    if not name:
        print("error: an organization needs a name", file=sys.stderr)
        return 2
    with session() as db:
        org = Organization(name=name)
        db.add(org)
        db.flush()
        print(f"organization {org.id} created: {org.name}")
    return 0


def register(sub: Any, add: Any) -> None:
    add("migrate", cmd_migrate, "apply database migrations")
    p = add("demo", cmd_demo, "seed demo data into an empty database")
    p.add_argument("--force", action="store_true", help="seed even if data exists")
    org = sub.add_parser("org", help="organizations").add_subparsers(
        dest="org_command", required=True
    )
    p = add("create", cmd_org_create, "create an organization", org)
    p.add_argument("name")
