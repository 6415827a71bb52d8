"""Reading an uploaded CSV: a size cap, the delimiter sniffed, headers mapped to canonical names.

Generic: an import names its columns with `aliases` (normalised header -> canonical name) and
optionally a `canonical` function for families of columns (`audience_country_3`). Headers are
normalised before the lookup: lower case, spaces, dashes, dots and slashes as "_", "%" as "pct",
so "Engagement Rate (%)" and "engagement_rate_pct" are one header.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DELIMITERS = ",;\t|"


class CsvError(ValueError):
    """The file as a whole cannot be read (too large, not text, no header); `code` is the
    userErrors code: TOO_LONG for a file over the cap, INVALID otherwise."""

    def __init__(self, message: str, code: str = "INVALID") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Table:
    columns: list[str | None]  # canonical name of each column by position; None: unknown
    headers: list[str]  # as written in the file
    unknown: list[str] = field(default_factory=list)  # headers no alias maps
    lines: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line, canonical row)


def read_text(data: bytes | str, max_bytes: int) -> str:
    """The text of an upload no larger than `max_bytes` (UTF-8, a BOM allowed)."""
    size = len(data.encode() if isinstance(data, str) else data)
    if size > max_bytes:
        raise CsvError(
            f"the file is {_size(size)}: imports are limited to {_size(max_bytes)} "
            "(IMPORT_MAX_BYTES); split it into smaller files",
            "TOO_LONG",
        )
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(f"the file is not UTF-8 text (byte {exc.start})") from None


def normalise(header: str) -> str:
    h = header.strip().lower().replace("%", " pct ")
    h = re.sub(r"[\s\-./()\[\]#:]+", "_", h)
    return h.strip("_")


def alias_lookup(aliases: Mapping[str, str]) -> Callable[[str], str | None]:
    table = {normalise(a): c for a, c in aliases.items()}
    return table.get


def parse(text: str, canonical: Callable[[str], str | None]) -> Table:
    """Rows keyed by canonical column; blank lines are dropped; line numbers count the header
    as line 1, as a spreadsheet shows them."""
    if not text.strip():
        raise CsvError("the file is empty: it needs a header line")
    if "\x00" in text:
        raise CsvError("the file contains NUL characters: it is not a CSV")
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise CsvError(f"the header line cannot be read: {exc}") from None
    columns: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for header in headers:
        name = canonical(normalise(header)) if header.strip() else None
        if name is not None and name in seen:
            raise CsvError(f"columns {seen[name]!r} and {header!r} both mean {name}")
        if name is None and header.strip():
            unknown.append(header)
        if name is not None:
            seen[name] = header
        columns.append(name)
    table = Table(columns=columns, headers=headers, unknown=unknown)
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            values = {
                name: cell.strip()
                for name, cell in zip(columns, row, strict=False)
                if name is not None and cell.strip()
            }
            table.lines.append((reader.line_num, values))
    except csv.Error as exc:
        raise CsvError(f"line {reader.line_num}: {exc}") from None
    return table


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"
