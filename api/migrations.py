"""Applying the Alembic migrations from code (the CLI and the tests use this)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from alembic import command

ROOT = Path(__file__).resolve().parent.parent


def config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(revision: str = "head") -> None:
    command.upgrade(config(), revision)


def downgrade(revision: str) -> None:
    command.downgrade(config(), revision)


def check() -> None:
    """Raises if the models and the migrations disagree (`alembic check`)."""
    command.check(config())
