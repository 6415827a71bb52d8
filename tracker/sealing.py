"""Secrets at rest: sealed (encrypted and authenticated) with the keys of `VOUCH_SECRET_KEYS`.

Vouch keeps secrets it must be able to read back: brands' postback secrets (the tracker
computes their HMAC), and the shop-connector and webhook secrets and payout details to come.
Each is stored, in the database and in any copy of it, as a sealed token, never in clear.
This is the one module that seals and unseals them; the tracker uses it (it never imports `api`)
and so does the API.

- Scheme: Fernet (AES-128-CBC with HMAC-SHA256, from the `cryptography` package) under a
  `MultiFernet`: `VOUCH_SECRET_KEYS` lists Fernet keys newest first; the first seals, every one
  unseals. A token that was altered, or that none of the keys sealed, fails to unseal
  (`Unsealable`): it is never taken as the value in clear.
- Rotating the key: make a new key (`vouch secrets new-key`), put it first in
  `VOUCH_SECRET_KEYS` everywhere, the tracker first (it must be able to read what the API seals
  with it), then run `vouch secrets reencrypt`, which seals every stored secret again with the
  new key and republishes what the tracker reads; then drop the old key.
- Without `VOUCH_SECRET_KEYS`, `DEV_KEY` is used: a key derived from a fixed, published string,
  for local runs only. It protects nothing (anyone can derive it), and the commands warn when
  it is used with a database other than SQLite.

The tracker's copy of the postback secrets (in Redis) is sealed with the same keys, and the
tracker holds them to unseal it. The trade-off: verifying an HMAC needs the secret itself, so
the process that verifies must be able to read it, and the tracker's environment plus its Redis
is as good as the secrets; but a Redis dump or a database backup alone is not, and someone who
can write to Redis cannot slip in a secret of their own (only a token sealed with the key is
believed). Keeping the key out of the tracker would take asymmetric signatures from the brands
(they sign, Vouch keeps only public keys), a change of the postback protocol.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

VARIABLE: Final = "VOUCH_SECRET_KEYS"

# Derived from a fixed string anyone can read here: sealing with it hides nothing. Local runs
# and tests only (`api.cli.checks` warns when it is used with a real database).
DEV_KEY: Final = base64.urlsafe_b64encode(
    hashlib.sha256(b"vouch development secret key: public, never use it in production").digest()
).decode()


class Unsealable(ValueError):
    """A token none of the keys sealed, or one that was altered or is not a token at all."""


def is_key(key: str) -> bool:
    """Whether `key` is a Fernet key: 32 bytes in url-safe base64 (44 characters)."""
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32 and len(key) == 44
    except (binascii.Error, ValueError):
        return False


def new_key() -> str:
    """A fresh random key for `VOUCH_SECRET_KEYS`."""
    return Fernet.generate_key().decode()


class Sealer:
    """Seals with the first key, unseals with any. Build one with `sealer(keys)`."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("no keys to seal with")
        self.keys = tuple(keys)
        self._each = [Fernet(key) for key in self.keys]
        self._all = MultiFernet(self._each)

    @property
    def is_dev(self) -> bool:
        """Whether the development key is the one sealing."""
        return self.keys[0] == DEV_KEY

    def seal(self, value: str) -> str:
        return self._all.encrypt(value.encode()).decode("ascii")

    def unseal(self, token: str | bytes) -> str:
        try:
            return self._all.decrypt(_bytes(token)).decode()
        except (InvalidToken, UnicodeError, TypeError):
            raise Unsealable("not sealed with any of the keys of " + VARIABLE) from None

    def key_index(self, token: str | bytes) -> int | None:
        """Which key (0 is the newest) unseals `token`, or None if none does."""
        raw = _bytes(token)
        for i, fernet in enumerate(self._each):
            try:
                fernet.decrypt(raw)
            except (InvalidToken, TypeError):
                continue
            return i
        return None

    def reseal(self, token: str | bytes) -> str:
        """`token` sealed again with the newest key (the value is never returned)."""
        try:
            return self._all.rotate(_bytes(token)).decode("ascii")
        except (InvalidToken, TypeError):
            raise Unsealable("not sealed with any of the keys of " + VARIABLE) from None


def _bytes(token: str | bytes) -> bytes:
    if isinstance(token, bytes):
        return token
    try:
        return token.encode("ascii")
    except UnicodeError:  # a Fernet token is ASCII: this is none
        return b""


@lru_cache(maxsize=8)
def sealer(keys: tuple[str, ...]) -> Sealer:
    """The sealer of these keys (`settings.secret_keys`), made once a process."""
    return Sealer(keys)
