"""User errors: what a mutation returns for bad input, instead of raising.

Each domain has its own error type and code enum (Saleor's convention); all share the common
codes below and the `UserError` interface, so a frontend can select `userErrors { field message
code }` on any payload.
"""

from collections.abc import Iterable
from enum import Enum
from typing import Any

import strawberry

from api.domain.problems import Problem

COMMON_CODES = (
    "INVALID",
    "REQUIRED",
    "NOT_FOUND",
    "FORBIDDEN",
    "DUPLICATE",
    "INVALID_CURRENCY",
    "INVALID_AMOUNT",
    "INVALID_TRANSITION",
    "INVALID_URL",
    "TOO_LONG",
    "TOO_LARGE",  # a file (an import) over its size limit
    # the codes of api.domain.problems.ProblemCode, so domain validation maps one to one
    "NOT_ALLOWED",
    "NEGATIVE",
    "OUT_OF_RANGE",
    "NOT_ASCENDING",
    "UNKNOWN_CURRENCY",
)


@strawberry.interface(description="A problem with the input of a mutation; nothing was changed.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, camelCase path.")
    message: str


class UserErrors(Exception):
    """Raised inside a mutation to abort it (the transaction is rolled back) with user errors."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems = problems if isinstance(problems, list) else [problems]
        super().__init__("; ".join(p.message for p in self.problems))


def problem(field: str | None, message: str, code: str = "INVALID") -> UserErrors:
    return UserErrors(Problem(field, message, code))


def from_domain(problems: Iterable[Problem], prefix: str = "") -> UserErrors:
    """Domain validation problems as user errors: `field` paths are snake_case there and
    camelCase (under the input's `prefix`) here."""
    return UserErrors(
        [
            Problem(
                prefix + _camel(p.field) if p.field else prefix.rstrip(".") or None,
                p.message,
                str(p.code),
            )
            for p in problems
        ]
    )


def _camel(path: str) -> str:
    head, *rest = path.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def error_type(domain: str, extra_codes: tuple[str, ...] = ()) -> tuple[type, type[Enum]]:
    """Builds `<Domain>Error` and `<Domain>ErrorCode` for one domain."""
    members = {c: c for c in (*COMMON_CODES, *extra_codes)}
    code_enum: Any = Enum(f"{domain}ErrorCode", members)  # type: ignore[misc]
    strawberry.enum(code_enum, name=f"{domain}ErrorCode")

    @strawberry.type(name=f"{domain}Error")
    class _Error(UserError):
        code: code_enum

    _Error.__name__ = f"{domain}Error"
    return _Error, code_enum


def to_errors(error_cls: Any, code_enum: Any, problems: list[Problem]) -> list[Any]:
    return [error_cls(field=p.field, message=p.message, code=code_enum[p.code]) for p in problems]
