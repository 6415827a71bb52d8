"""What a command checks before it starts: that its database and Redis can be reached with the
settings given. A bad one is a `SettingError`, printed by `main` as one line, not a traceback
from deep inside a driver (and, for the services, not a retry loop that never says why)."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tracker.settings import SettingError, scrub

DATABASE = "database"
REDIS = "redis"
# The tracker keeps redirecting while Redis is away (clicks wait in its spool): a Redis that
# does not answer is a warning for it, and only a setting that cannot work is an error.
REDIS_MAY_BE_DOWN = "redis_may_be_down"

DEV_KEY_IN_USE = (
    "VOUCH_SECRET_KEYS is not set: stored secrets are sealed with the development key, which "
    "anyone can derive; set it (`vouch secrets new-key`) for any database but a local SQLite"
)

URL_FORMS = "postgresql://user:password@host:5432/db or sqlite:///path/to/file.db"


def check_database(url: str, timeout: int = 5) -> None:
    """Connects once to DATABASE_URL; raises `SettingError` saying why it cannot be used."""
    from sqlalchemy import create_engine, exc, text

    scheme = url.partition(":")[0]
    try:
        # Not the command's engine (api.db.make_engine): a bounded connect, and no pool kept.
        args = {} if scheme.startswith("sqlite") else {"connect_timeout": timeout}
        engine = create_engine(url, connect_args=args)
    except exc.NoSuchModuleError:
        raise SettingError(
            "DATABASE_URL", url, f"unknown scheme {scheme!r}: use {URL_FORMS}"
        ) from None
    except (exc.ArgumentError, ValueError):  # unparseable, or a port that is not a number
        raise SettingError("DATABASE_URL", url, f"not a database URL: use {URL_FORMS}") from None
    except ImportError as error:  # a dialect whose driver is not installed
        raise SettingError(
            "DATABASE_URL", url, f"no driver for {scheme!r}: {scrub(str(error), url)}"
        ) from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except exc.DBAPIError as error:
        raise SettingError("DATABASE_URL", url, scrub(_first_line(error.orig), url)) from None
    finally:
        engine.dispose()


def _first_line(error: BaseException | None) -> str:
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


def preflight(needs: Iterable[str]) -> None:
    """The checks a command asked for (`needs` of its parser), in order."""
    from api.settings import get_settings
    from tracker.redis_client import check

    settings = get_settings()
    if needs and settings.dev_secret_key and not settings.is_sqlite:
        print(f"warning: {DEV_KEY_IN_USE}", file=sys.stderr)
    for need in needs:
        if need == DATABASE:
            check_database(settings.database_url)
        elif need == REDIS:
            check(settings.redis)
        elif need == REDIS_MAY_BE_DOWN:
            outage = check(settings.redis, outage_ok=True)
            if outage:
                print(
                    f"warning: {outage}; starting anyway: redirects go on and their clicks "
                    "wait in the spool, postbacks answer 503, until Redis answers",
                    file=sys.stderr,
                )
