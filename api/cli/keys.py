"""`vouch keys ...`: API keys from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli.common import find_org, session


def cmd_keys_create(args: argparse.Namespace) -> int:
    from api.accounts import keys
    from api.graphql.relay import decode_id
    from api.models.enums import Role

    try:
        role = Role(args.role.upper())
    except ValueError:
        print(f"error: role must be one of {', '.join(r.value for r in Role)}", file=sys.stderr)
        return 2
    with session() as db:
        org = find_org(db, args.org)
        if org is None:
            print(f"error: no organization {args.org!r}", file=sys.stderr)
            return 2
        influencer_id = None
        if args.influencer:
            raw = args.influencer
            influencer_id = int(raw) if raw.isdigit() else decode_id(raw, "Influencer")
            if influencer_id is None:
                print(f"error: {raw!r} is not an influencer id", file=sys.stderr)
                return 2
        try:
            key, clear = keys.create_key(
                db,
                organization_id=org.id,
                role=role,
                influencer_id=influencer_id,
                name=args.name or "",
            )
        except keys.KeyError_ as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(clear)
        print(
            f"(key {key.prefix}, {role.value} of {org.name}: shown once, only its hash is kept)",
            file=sys.stderr,
        )
    return 0


def register(sub: Any, add: Any) -> None:
    keys = sub.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    p = add("create", cmd_keys_create, "create an API key (printed once)", keys)
    p.add_argument("--org", required=True, help="organization id or exact name")
    p.add_argument("--role", required=True, help="ADMIN, MANAGER, FINANCE or INFLUENCER")
    p.add_argument("--influencer", help="influencer id (INFLUENCER keys)")
    p.add_argument("--name", help="a label for the key")
