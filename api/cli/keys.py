"""`vouch keys ...`: API keys from the command line (create, list, revoke)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli.common import find_org, session

COLUMNS = (
    "PREFIX",
    "ROLE",
    "ORGANIZATION",
    "INFLUENCER",
    "CREATED",
    "LAST USED",
    "REVOKED",
    "LABEL",
)


def cmd_keys_create(args: argparse.Namespace) -> int:
    from api.accounts import keys
    from api.graphql.relay import decode_id
    from api.models.enums import Role
    from tracker.globalid import parse_pk

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
            influencer_id = parse_pk(raw) or decode_id(raw, "Influencer")
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
            hint = " (--influencer)" if exc.field == "influencerId" else ""
            print(f"error: {exc.message}{hint}", file=sys.stderr)
            return 2
        print(clear)
        print(
            f"(key {key.prefix}, {role.value} of {org.name}: shown once, only its hash is kept)",
            file=sys.stderr,
        )
    return 0


def _when(moment: Any, never: str = "-") -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else never


def cmd_keys_list(args: argparse.Namespace) -> int:
    from api.accounts import keys

    with session() as db:
        org_id = None
        if args.org:
            org = find_org(db, args.org)
            if org is None:
                print(f"error: no organization {args.org!r}", file=sys.stderr)
                return 2
            org_id = org.id
        listing = keys.list_keys(db, org_id)
        rows = [
            (
                item.key.prefix,
                item.key.role.value,
                f"{item.organization} ({item.key.organization_id})",
                item.influencer or "-",
                _when(item.key.created_at),
                _when(item.key.last_used_at, "never"),
                _when(item.key.revoked_at),
                item.key.name or "-",
            )
            for item in listing
        ]
    if not rows:
        print("no API keys" + (f" in organization {args.org}" if args.org else ""))
        return 0
    widths = [max(len(str(v)) for v in column) for column in zip(COLUMNS, *rows, strict=True)]
    for row in (COLUMNS, *rows):
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    print(f"({len(rows)} keys; times in UTC; `vouch keys revoke PREFIX` revokes one)")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from api.accounts import keys
    from api.models import Organization

    with session() as db:
        key = keys.find_by_prefix(db, args.prefix)
        if key is None:
            print(f"error: no API key with prefix {args.prefix!r}", file=sys.stderr)
            return 1
        org = db.get(Organization, key.organization_id)
        what = f"key {key.prefix} ({key.role.value} key of {org.name if org else '?'})"
        try:
            keys.revoke_key(db, key)
        except keys.KeyError_ as exc:  # already revoked: nothing to do, nothing wrong
            print(exc.message)
            return 0
        print(f"revoked {what}: it is refused from its next request on")
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
    p = add("list", cmd_keys_list, "list API keys (never their secrets)", keys)
    p.add_argument("--org", help="organization id or exact name (default: all)")
    p = add("revoke", cmd_keys_revoke, "revoke an API key", keys)
    p.add_argument("prefix", metavar="PREFIX", help="the key's prefix (as listed), or the key")
