"""The finance modules' one exception: a request that cannot be done, changing nothing."""

from __future__ import annotations


class FinanceError(ValueError):
    """`code`: a FinanceErrorCode value; `field`: the input at fault (camelCase)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        self.code = code
        self.message = message
        self.field = field
        super().__init__(message)
