"""`vouch secrets ...`: the keys that seal the secrets Vouch stores (`tracker.sealing`).

Rotating the key: `vouch secrets new-key`; put the new key first in `VOUCH_SECRET_KEYS` of the
tracker, then of the API and worker (the tracker must read what the API seals); `vouch secrets
reencrypt`; once it says every secret is under the newest key, drop the old one everywhere.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from api.cli.checks import DATABASE
from api.cli.common import session


def cmd_secrets_new_key(_args: argparse.Namespace) -> int:
    from tracker.sealing import VARIABLE, new_key

    print(new_key())
    print(
        f"(a new key: put it first in {VARIABLE}, the tracker's first, then run "
        "`vouch secrets reencrypt`)",
        file=sys.stderr,
    )
    return 0


def _postback_secrets(db: Any, sealer: Any) -> int:
    from api.tracking import postback_secrets, publish

    return postback_secrets.reencrypt(
        db, sealer, lambda s, brand_id: publish.mark(s, publish.BRAND_SECRETS, brand_id)
    )


def _payout_details(db: Any, sealer: Any) -> int:
    from api.finance import payout_details

    return payout_details.reencrypt(db, sealer)


def _shop_secrets(db: Any, sealer: Any) -> int:
    from api.tracking import publish, shop_connections

    return shop_connections.reencrypt(
        db, sealer, lambda s, connection_id: publish.mark(s, publish.SHOP, connection_id)
    )


def _webhook_secrets(db: Any, sealer: Any) -> int:
    from api.webhooks import endpoints

    return endpoints.reencrypt(db, sealer)


# Every kind of sealed secret: what it is called, and what seals its rows again with the newest key.
SEALED: tuple[tuple[str, Callable[[Any, Any], int]], ...] = (
    ("postback secrets", _postback_secrets),
    (
        "payout details, debtor accounts, tax ids, invoice parties and shipping addresses",
        _payout_details,
    ),
    ("shop webhook secrets", _shop_secrets),
    ("webhook endpoints' secrets", _webhook_secrets),
)


def _publish() -> str | None:
    """Publishes what the re-encryption queued for the tracker; the problem if Redis failed."""
    from api.tracking.publish import publish_pending, redis_client

    try:
        with session() as db:
            while publish_pending(db, redis_client()):
                pass
    except Exception as exc:  # the rows stay queued: the worker publishes them
        return str(exc) or type(exc).__name__
    return None


def cmd_secrets_reencrypt(_args: argparse.Namespace) -> int:
    from api.settings import get_settings
    from tracker.sealing import VARIABLE, Unsealable, sealer

    keys = sealer(get_settings().secret_keys)
    changed = []
    try:
        for name, reencrypt in SEALED:
            with session() as db:
                changed.append(f"{reencrypt(db, keys)} {name}")
    except Unsealable as exc:
        print(f"error: {exc}; nothing more was changed", file=sys.stderr)
        return 1
    print(f"sealed again with the newest key of {VARIABLE}: {', '.join(changed)}", file=sys.stderr)
    problem = _publish()
    if problem:
        print(
            f"warning: the tracker's copy is not updated yet (Redis: {problem}); the worker "
            "publishes it once Redis answers: keep the old keys until then",
            file=sys.stderr,
        )
        return 1
    others = len(keys.keys) - 1
    print(
        "every stored secret is under the newest key, the tracker's copy too"
        + (f": the {others} older key(s) may be dropped" if others else ""),
        file=sys.stderr,
    )
    return 0


def register(sub: Any, add: Any) -> None:
    secrets = sub.add_parser(
        "secrets", help="the keys stored secrets are sealed with"
    ).add_subparsers(dest="secrets_command", required=True)
    add("new-key", cmd_secrets_new_key, "print a new key for VOUCH_SECRET_KEYS", secrets, needs=())
    add(
        "reencrypt",
        cmd_secrets_reencrypt,
        "seal every stored secret again with the newest key (after adding a key)",
        secrets,
        needs=(DATABASE,),
    )
