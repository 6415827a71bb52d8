"""Column helpers shared by the models."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import BigId


def pk() -> Mapped[int]:
    return mapped_column(BigId, primary_key=True, autoincrement=True)


def fk(
    target: str, *, nullable: bool = False, index: bool = True, ondelete: str | None = None
) -> Any:
    return mapped_column(
        BigId, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
    )


def enum_column(enum: type[StrEnum], *, nullable: bool = False, **kwargs: Any) -> Any:
    """A StrEnum as VARCHAR with a CHECK constraint: no native PostgreSQL ENUM to migrate."""
    return mapped_column(
        Enum(
            enum,
            native_enum=False,
            length=32,
            validate_strings=True,
            values_callable=lambda e: [m.value for m in e],
            create_constraint=True,
        ),
        nullable=nullable,
        **kwargs,
    )


def status_column(enum: type[StrEnum], default: StrEnum, length: int = 16) -> Any:
    """A workflow status as plain VARCHAR (the domain's state machine owns the transitions) with
    a CHECK that only its states are ever stored: the database is the last guard."""
    states = ", ".join(f"'{m.value}'" for m in enum)
    return mapped_column(
        String(length),
        CheckConstraint(f"status IN ({states})", name="status_valid"),
        default=default.value,
        index=True,
    )
