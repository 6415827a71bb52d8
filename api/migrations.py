"""Applying the Alembic migrations from code (the CLI and the tests use this)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from alembic import command

ROOT = Path(__file__).resolve().parent.parent


def config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["configure_logger"] = False
    return cfg


@dataclass(frozen=True)
class Upgrade:
    """What an upgrade did: the revisions it applied, oldest first, and where it left the
    database."""

    applied: tuple[str, ...]
    head: str | None

    def summary(self) -> str:
        """One line for a person; "" when there was nothing to do."""
        if not self.applied:
            return ""
        n = len(self.applied)
        return f"database migrated to {self.head} ({n} migration{'s' if n != 1 else ''} applied)"


def current_revision() -> str | None:
    from api.db import make_engine
    from api.settings import get_settings

    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(revision: str = "head") -> Upgrade:
    """Migrates to `revision`; what it applied, for the caller to say in one line (alembic's
    own step-by-step lines are below the log level, see `api.log`)."""
    cfg = config()
    before = current_revision()
    with warnings.catch_warnings():
        # SQLite's batch mode reflects the tables it copies and their foreign keys' targets;
        # SQLAlchemy cannot reflect expression indexes there (ix_influencers_*_sort) and says
        # so on every `vouch migrate`. The indexes are untouched: the copy keeps what it names.
        warnings.filterwarnings(
            "ignore", message="Skipped unsupported reflection of expression-based index"
        )
        command.upgrade(cfg, revision)
    after = current_revision()
    script = ScriptDirectory.from_config(cfg)
    steps = [] if after == before else script.iterate_revisions(after, before or "base")
    return Upgrade(tuple(reversed([s.revision for s in steps])), after)


def downgrade(revision: str) -> None:
    command.downgrade(config(), revision)


def check() -> None:
    """Raises if the models and the migrations disagree (`alembic check`)."""
    command.check(config())
