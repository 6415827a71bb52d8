"""The one error of the programs domain, with a code for the API's userErrors."""

from __future__ import annotations


class ProgramError(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None):
        self.code = code
        self.message = message
        self.field = field
        super().__init__(message)
