"""CSV lines that a spreadsheet opens as data, never as formulas (OWASP "CSV injection").

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets: an influencer named `=HYPERLINK(...)` would be a live link in
finance's statement. Such a cell gets a leading `'`, which spreadsheets show as text. A plain
decimal number ("-12.50", the money grammar of `tracker.decimals`) is left alone: it is a number
and no formula. Every CSV Vouch writes goes through `line`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from tracker.decimals import DECIMAL_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """The text of one cell, neutralised if a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not DECIMAL_RE.fullmatch(text):
        return "'" + text
    return text


def line(values: Iterable[object]) -> str:
    """One CSV record ("\\n"-terminated) of neutralised cells."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([cell(v) for v in values])
    return buf.getvalue()
