"""Passwords: argon2id hashes (argon2-cffi; by default RFC 9106's second recommendation, tuned
with PASSWORD_TIME_COST and PASSWORD_MEMORY_KIB), and the one rule a new password must meet."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.accounts.keys import KeyError_
from api.settings import get_settings

MIN_LENGTH = 10
MAX_LENGTH = 200  # argon2 takes any length; a bound keeps a megabyte "password" from costing


def _hasher() -> PasswordHasher:
    settings = get_settings()
    return _made(settings.password_time_cost, settings.password_memory_kib)


@lru_cache(maxsize=4)
def _made(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


def check_new(password: str, field: str = "password") -> str:
    """A password a person may choose: 10 to 200 characters, not only spaces."""
    if len(password) < MIN_LENGTH or not password.strip():
        raise KeyError_(f"a password must be at least {MIN_LENGTH} characters", "TOO_SHORT", field)
    if len(password) > MAX_LENGTH:
        raise KeyError_(f"a password must be at most {MAX_LENGTH} characters", "TOO_LONG", field)
    return password


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash (False for a user with no password yet)."""
    if not stored or len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """After a successful sign-in: a hash made with weaker parameters is replaced."""
    return _hasher().check_needs_rehash(stored)


# Verified against when the e-mail is unknown, so that a wrong address takes as long as a wrong
# password and the timing does not tell which addresses have accounts.
def dummy_hash() -> str:
    settings = get_settings()
    return _dummy(settings.password_time_cost, settings.password_memory_kib)


@lru_cache(maxsize=4)
def _dummy(time_cost: int, memory_kib: int) -> str:
    return _made(time_cost, memory_kib).hash("not a password of anyone")
