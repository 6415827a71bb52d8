"""What the commands share: a session for one command, finding an organization, printing keys."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Command = Callable[[argparse.Namespace], int]


def session() -> Any:
    """A session committed when the command's block succeeds (`api.db.session_scope`)."""
    from api.db import session_scope

    return session_scope()


def org_conditions(db: Any, org_arg: str | None, column: Any) -> tuple[list[Any], str] | None:
    """A job's `--org`: the WHERE clause on `column` (an organization id) and the suffix of its
    cursor's name; ([], "") for all organizations; None (after saying so) for an unknown one."""
    import sys

    if org_arg is None:
        return [], ""
    org = find_org(db, org_arg)
    if org is None:
        print(f"error: no organization {org_arg!r} (give its id or name)", file=sys.stderr)
        return None
    return [column == org.id], f":{org.id}"


def resume(db: Any, name: str, restart: bool, noun: str) -> tuple[Any, int]:
    """A resumable job's cursor (`job_cursors`) and the id it starts after: where an interrupted
    run stopped (said on stderr), or 0 with `restart`."""
    import sys

    from api.content.live_posts import cursor

    mark = cursor(db, name)
    if restart:
        mark.position = 0
    if mark.position:
        print(f"resuming after {noun} {mark.position}", file=sys.stderr)
    return mark, mark.position


def find_org(session: Any, value: str) -> Any:
    """The organization with this id or exact name, or None."""
    from sqlalchemy import select

    from api.models import Organization
    from tracker.globalid import parse_pk

    pk = parse_pk(value)  # ASCII digits in BIGINT range: Arabic-Indic digits or 30 nines are no id
    if pk is not None:
        return session.get(Organization, pk)
    return session.scalar(select(Organization).where(Organization.name == value))


def org_option(session: Any, value: str | None) -> int | None:
    """The id of the organization an `--org` option names (None: every organization); raises
    LookupError, with the message for stderr, when it names none."""
    if not value:
        return None
    org = find_org(session, value)
    if org is None:
        raise LookupError(f"no organization {value!r} (give its id or name)")
    return int(org.id)


def print_keys(result: Any) -> None:
    print("\nDemo API keys (send as 'Authorization: Bearer <key>'):")
    for org_name, keys in result.keys.items():
        print(f"  {org_name}")
        for role, key in keys.items():
            print(f"    {role:<10} {key}")
    users = getattr(result, "users", None)
    if users:
        print("\nDemo users (sign in at the URL above with e-mail and password):")
        for org_name, people in users.items():
            print(f"  {org_name}")
            for role, (email, password) in people.items():
                print(f"    {role:<10} {email:<28} {password}")
