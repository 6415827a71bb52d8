"""Reading an uploaded CSV into canonical columns: the part every importer shares.

A file is refused as a whole (`CsvError`) when it is larger than the limit, not UTF-8, has no
header, or names one column twice; otherwise each header is matched to a canonical column
through the importer's aliases (case, spaces, dashes and punctuation ignored: "Video Views",
"video_views" and "video-views" are one name; "%" reads as "pct", so "Engagement Rate (%)" is
"engagement_rate_pct"), or, for families of columns (`audience_country_3`), its `canonical`
function; the headers that match none are reported as unknown, not refused (exports carry
columns an importer has no use for).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DELIMITERS = ",;\t"


class CsvError(ValueError):
    """The file cannot be read at all; `code` is TOO_LARGE, INVALID or DUPLICATE."""

    def __init__(self, message: str, code: str = "INVALID", column: str | None = None) -> None:
        self.message, self.code, self.column = message, code, column
        super().__init__(message)


@dataclass(frozen=True)
class Row:
    line: int  # the line of the file the row ends on (the header is line 1)
    values: dict[str, str]  # canonical column -> the cell, stripped ("" when empty)


@dataclass
class Table:
    headers: dict[str, str]  # canonical column -> the header as the file wrote it
    unknown: list[str]  # headers that match no column, as written
    rows: list[Row] = field(default_factory=list)

    def header(self, column: str) -> str:
        """How the file names a canonical column (the canonical name if it has none)."""
        return self.headers.get(column, column)


def header_key(name: str) -> str:
    """A header's comparable form: "Video Views" and "video-views" are both "video_views"."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower().replace("%", " pct ")).strip("_")


def check_size(size: int, max_bytes: int) -> None:
    """Refuses a file of `size` bytes over the limit (before it is read, where it can be)."""
    if size > max_bytes:
        raise CsvError(
            f"the file is {size:,} bytes: the limit is {max_bytes:,} (IMPORT_MAX_BYTES); split "
            "it into smaller files",
            "TOO_LARGE",
        )


def read_csv(
    data: str | bytes,
    aliases: Mapping[str, str],
    *,
    max_bytes: int,
    canonical: Callable[[str], str | None] | None = None,
) -> Table:
    """The rows of `data` under their canonical columns (`aliases`: header_key -> column, else
    `canonical(header_key)`). Blank lines are skipped."""
    check_size(len(data.encode() if isinstance(data, str) else data), max_bytes)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CsvError(f"the file is not UTF-8 text (byte {exc.start})") from None
    text = data.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        names = next(reader, None)
        if not names or not any(n.strip() for n in names):
            raise CsvError("the file has no header line")
        headers: dict[str, str] = {}
        positions: dict[int, str] = {}
        unknown = []
        for i, name in enumerate(names):
            key = header_key(name)
            column = aliases.get(key)
            if column is None and canonical is not None:
                column = canonical(key)
            if column is None:
                if name.strip():
                    unknown.append(name.strip())
                continue
            if column in headers:
                raise CsvError(
                    f"{headers[column]!r} and {name.strip()!r} are the same column ({column})",
                    "DUPLICATE",
                    name.strip(),
                )
            headers[column] = name.strip()
            positions[i] = column
        table = Table(headers=headers, unknown=unknown)
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            values = {column: "" for column in headers}
            for i, cell in enumerate(cells):
                if i in positions:
                    values[positions[i]] = cell.strip()
            table.rows.append(Row(reader.line_num, values))
    except csv.Error as exc:
        raise CsvError(f"line {reader.line_num}: {exc}") from None
    return table
