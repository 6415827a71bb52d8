"""Failed-authentication limits of the API's key-protected endpoints (`/graphql` and
`/exports/statements.csv`), kept in Redis (`tracker.ratelimit`) so that every API process
shares them. Two counters of failures (a missing, unknown or revoked key), in fixed windows of
AUTH_FAILURE_WINDOW seconds (60):

- Per client: the keyed hash of its IP (IP_HASH_KEY; X-Forwarded-For believed only from
  TRUSTED_PROXIES, as the tracker reads shoppers' IPs: `tracker.clientip`). After
  AUTH_FAILURES_PER_CLIENT failures (20) the client is blocked until the window ends: every
  request of it is 429, a right key included. A client trying keys must learn nothing from a
  right guess, and a blocked request costs one Redis GET, no database query. Clients behind
  one NAT share their limit; behind a reverse proxy, set TRUSTED_PROXIES, or every client is
  the proxy and one guesser blocks everyone.
- Per key prefix (the `1a2b3c4d` of `vch_1a2b3c4d_...`): after AUTH_FAILURES_PER_KEY failures
  (20) presenting that prefix, from any number of clients, further failures with it are 429
  and the key is logged; the right key still works. A key's prefix is no secret (`vouch keys
  list`, the "FINANCE key 1a2b3c4d" labels on rows), so knowing one must not let anyone lock
  its holder out.

A successful request costs one Redis round trip (the GET of its client's counter, with the GET
of the keys' version that lets a verified key be taken from the process's cache: see
`api.accounts.keys`) and writes nothing; only failures are counted. If Redis does not answer,
authentication fails open: requests are authenticated as without a limit (and every key is
read from the database), a warning is logged, and Redis is not asked again for
FAIL_OPEN_SECONDS, so a stalled Redis does not add its timeout to every request. Setting a limit
to 0 turns it off.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from api.accounts.keys import KEY_PREFIX, Viewer, version_key, version_of, viewer_for
from api.settings import Settings, get_settings
from tracker import ratelimit
from tracker.clientip import ClientIp, IpHasher

log = logging.getLogger("vouch.api.lockout")

FAIL_OPEN_SECONDS = 30.0
# a key's prefix as `api.accounts.keys.create_key` makes it; anything else is not counted per key
_PREFIX = re.compile(rf"{KEY_PREFIX}_([0-9a-f]{{8}})_")


@dataclass(frozen=True, slots=True)
class Limited:
    """A request refused for too many failures: answer 429 with Retry-After."""

    retry_after: int
    message: str


@dataclass(frozen=True, slots=True)
class _Limits:
    client: ratelimit.FailureLimit
    key: ratelimit.FailureLimit
    ip: ClientIp
    hash_ip: IpHasher
    account: ratelimit.FailureLimit


@lru_cache(maxsize=4)
def _limits(settings: Settings) -> _Limits:
    window = settings.auth_failure_window_seconds
    return _Limits(
        ratelimit.FailureLimit("auth-client", settings.auth_failures_per_client, window),
        ratelimit.FailureLimit("auth-key", settings.auth_failures_per_key, window),
        ClientIp(settings.tracker.trusted_proxies),
        IpHasher(settings.tracker.ip_hash_key.encode()),
        ratelimit.FailureLimit(
            "signin-account",
            settings.sign_in_failures_per_account,
            settings.sign_in_failure_window_seconds,
        ),
    )


class _Breaker:
    """Skips Redis for a while after it failed, warning once per outage."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    def open(self) -> bool:
        return time.monotonic() < self._until

    def trip(self, doing: str) -> None:
        with self._lock:
            if self.open():
                return
            self._until = time.monotonic() + FAIL_OPEN_SECONDS
        log.warning(
            "Redis unavailable while %s: failed authentications are not limited for %.0f s",
            doing,
            FAIL_OPEN_SECONDS,
            exc_info=True,
        )

    def reset(self) -> None:
        self._until = 0.0


breaker = _Breaker()


def _redis() -> Any:
    from api.tracking.publish import redis_client

    return redis_client()


def client_subject(settings: Settings, peer: str, forwarded_for: str) -> str:
    """Who a request comes from, as its counter names it: the keyed hash of its IP."""
    limits = _limits(settings)
    return limits.hash_ip(limits.ip.resolve(peer, forwarded_for))[:32]


def authenticate_request(request: Any) -> Viewer | Limited | None:
    """`authenticate` for a Starlette request (blocking: call it in a worker thread)."""
    peer = request.client.host if request.client else ""
    headers = request.headers
    return authenticate(headers.get("authorization"), peer, headers.get("x-forwarded-for", ""))


def authenticate(
    authorization: str | None, peer: str, forwarded_for: str = ""
) -> Viewer | Limited | None:
    """The viewer of a bearer key, None for a bad key (401), or `Limited` (429) when the client,
    or the key prefix of a failing request, used up its failures. Blocking: runs in a worker
    thread (it reads the key's row, as `keys.viewer_for` does)."""
    settings = get_settings()
    limits = _limits(settings)
    prefix = settings.redis.prefix
    client_key = limits.client.key(prefix, client_subject(settings, peer, forwarded_for))
    version = None  # the keys' version (`api.accounts.keys`): None, no cached key is believed
    if not breaker.open():
        try:
            wait, version = _client_wait_and_version(limits.client, client_key, prefix)
        except Exception:
            breaker.trip("checking a client's failed authentications")
            wait = None
        if wait is not None:
            return Limited(wait, _message("from this client", wait))
    viewer = viewer_for(authorization, version)
    if viewer is not None:
        return viewer
    return _failed(settings, limits, client_key, authorization or "")


def _client_wait_and_version(
    limit: ratelimit.FailureLimit, client_key: str, redis_prefix: str
) -> tuple[int | None, str]:
    """The client's wait (None: not blocked) and the keys' version, in one round trip."""
    redis = _redis()
    if not limit.enabled:
        return None, version_of(redis.get(version_key(redis_prefix)))
    pipe = redis.pipeline(transaction=False)
    pipe.get(client_key)
    pipe.get(version_key(redis_prefix))
    counted, version = pipe.execute()
    return ratelimit.blocked_for(redis, limit, client_key, counted), version_of(version)


def _failed(
    settings: Settings, limits: _Limits, client_key: str, authorization: str
) -> Limited | None:
    if breaker.open():
        return None
    found = _PREFIX.match(authorization.partition(" ")[2].strip())
    counted = [(limits.client, client_key, "from this client")]
    if found:
        key_prefix = found.group(1)
        key = limits.key.key(settings.redis.prefix, key_prefix)
        counted.append((limits.key, key, f"with key {key_prefix}"))
    refusal = None
    for limit, key, who in counted:
        if not limit.enabled:
            continue
        try:
            count = ratelimit.count_failure(_redis(), limit, key)
        except Exception:
            breaker.trip("counting a failed authentication")
            return None
        if count.failures == limit.limit:
            log.warning(
                "%d failed authentications %s within %d s: refused for %d s",
                count.failures,
                who if limit is limits.key else f"from client {key.rpartition(':')[2][:12]}",
                limit.window_seconds,
                count.retry_after,
            )
        if count.failures > limit.limit and refusal is None:
            refusal = Limited(count.retry_after, _message(who, count.retry_after))
    return refusal


def _message(who: str, wait: int) -> str:
    return f"too many failed authentications {who}: retry in {wait} s"


# --- people's passwords ------------------------------------------------------------------------
# A wrong password counts against the client (the same counter as a bad key: one guesser, one
# limit) and against the account. Unlike a key's prefix, an account over its limit is refused
# even the right password for the rest of the window: a password is what people reuse and
# guessers spray. Its owner is not locked out: the e-mailed sign-in link still works.


def _sign_in_counters(
    email_key: str, peer: str, forwarded_for: str
) -> list[tuple[ratelimit.FailureLimit, str, str]]:
    """(limit, counter, who) of a password attempt: its client's and its account's (the address
    is not written to Redis: its keyed hash names the counter)."""
    settings = get_settings()
    limits = _limits(settings)
    prefix = settings.redis.prefix
    account = limits.hash_ip(email_key)[:32]
    return [
        (
            limits.client,
            limits.client.key(prefix, client_subject(settings, peer, forwarded_for)),
            "from this client",
        ),
        (limits.account, limits.account.key(prefix, account), "for this account"),
    ]


def sign_in_refusal(email_key: str, peer: str, forwarded_for: str = "") -> Limited | None:
    """Before checking a password: `Limited` when the client or the account used up its
    failures in this window (the password is then not even checked)."""
    checks = _sign_in_counters(email_key, peer, forwarded_for)
    for limit, key, who in checks:
        if not limit.enabled or breaker.open():
            continue
        try:
            wait = ratelimit.blocked_for(_redis(), limit, key)
        except Exception:
            breaker.trip("checking failed sign-ins")
            return None
        if wait is not None:
            return Limited(
                wait,
                f"too many failed sign-ins {who}: retry in {wait} s, or "
                "sign in with an e-mailed link",
            )
    return None


def sign_in_failed(email_key: str, peer: str, forwarded_for: str = "") -> None:
    """Counts a wrong password against the client and the account."""
    for limit, key, who in _sign_in_counters(email_key, peer, forwarded_for):
        if not limit.enabled or breaker.open():
            continue
        try:
            count = ratelimit.count_failure(_redis(), limit, key)
        except Exception:
            breaker.trip("counting a failed sign-in")
            return
        if count.failures == limit.limit:
            log.warning(
                "%d failed sign-ins %s within %d s: refused for %d s",
                count.failures,
                who.replace("this", "one"),
                limit.window_seconds,
                count.retry_after,
            )
