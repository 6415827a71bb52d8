"""Importing post-metric snapshots from a CSV: the one way `importPostMetrics` and
`vouch import post-metrics` do it. Each line is one snapshot recorded through
`api.content.post_metrics.record` (the rules of `recordPostMetrics`, source IMPORT).

Columns (headers compared without case, spaces or punctuation; other columns are reported as
unknown and ignored):

| column | also accepted | value |
|---|---|---|
| deliverable_id | deliverable | the deliverable's id (`RGVsaXZlcmFibGU6NDI=` or `42`) |
| post_url | url, permalink, post_link, link | the deliverable's publishedUrl (instead of an id) |
| captured_at | date, captured, as_of, snapshot_date, timestamp | ISO 8601 time (*) |
| impressions | | whole number |
| reach | | whole number |
| views | video_views, plays, video_plays | whole number |
| likes | | whole number |
| comments | | whole number |
| shares | | whole number |
| saves | | whole number |
| link_clicks | clicks, link_taps, sticker_taps | whole number |
| followers | followers_at_posting | the account's followers when the post went live |
| caption | | the caption as it reads |
| creator_comments | own_comments, creator_replies | the creator's own comments, one a line (**) |

(**) The creator's own first comment and replies as they read, one a line of a quoted cell,
checked with the caption (a label only there is LABEL_ONLY_IN_COMMENT).
(*) A time without a zone is UTC; a date alone is 00:00 UTC that day, or the publication time
if the post went live later that day. Empty cells are "not reported". Whole numbers may group
thousands with commas ("12,345").
A line is CREATED, UNCHANGED (the same snapshot was imported before) or refused with the column
at fault: then nothing of the file is kept, unless `skip_invalid`, which leaves the refused lines
out (SKIPPED) and keeps the rest. A dry run reports the same and keeps nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from api.content import post_metrics as recording
from api.content import review
from api.domain import post_metrics
from api.domain.post_metrics import Counts, MetricSource
from api.imports.csvfile import CsvError, Row, Table, header_key, read_csv
from api.models import Deliverable
from tracker.globalid import decode_pk, parse_pk

ALIASES = {
    header_key(alias): column
    for column, names in {
        "deliverable_id": ("deliverable_id", "deliverable"),
        "post_url": ("post_url", "url", "permalink", "post_link", "link"),
        "captured_at": ("captured_at", "date", "captured", "as_of", "snapshot_date", "timestamp"),
        "impressions": ("impressions",),
        "reach": ("reach",),
        "views": ("views", "video_views", "plays", "video_plays"),
        "likes": ("likes",),
        "comments": ("comments",),
        "shares": ("shares",),
        "saves": ("saves",),
        "link_clicks": ("link_clicks", "clicks", "link_taps", "sticker_taps"),
        "followers_at_posting": ("followers", "followers_at_posting"),
        "caption": ("caption",),
        "creator_comments": ("creator_comments", "own_comments", "creator_replies"),
    }.items()
    for alias in names
}
_NUMBER = re.compile(r"^-?(?:\d+|\d{1,3}(?:,\d{3})+)$")


class LineStatus(StrEnum):
    CREATED = "CREATED"
    UNCHANGED = "UNCHANGED"  # already imported with the same numbers: nothing written
    SKIPPED = "SKIPPED"  # refused, left out (skip_invalid)
    ERROR = "ERROR"  # refused: the file is not imported


@dataclass(frozen=True)
class LineReport:
    line: int
    status: LineStatus
    deliverable_id: int | None = None
    column: str | None = None  # the header at fault, as the file wrote it
    message: str | None = None
    code: str | None = None


@dataclass
class ImportReport:
    lines: list[LineReport] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    committed: bool = False  # whether the created snapshots were kept

    def count(self, status: LineStatus) -> int:
        return sum(1 for line in self.lines if line.status is status)


class LineRefused(Exception):
    def __init__(self, column: str | None, message: str, code: str = "INVALID") -> None:
        self.column, self.message, self.code = column, message, code
        super().__init__(message)


def read(data: str | bytes, max_bytes: int) -> Table:
    """The file's table; `CsvError` for a file refused as a whole (too large, no header,
    a column twice, no deliverable or time column)."""
    table = read_csv(data, ALIASES, max_bytes=max_bytes)
    if "deliverable_id" not in table.headers and "post_url" not in table.headers:
        raise CsvError("a deliverable_id or post_url column is required", "REQUIRED")
    if "captured_at" not in table.headers:
        raise CsvError("a captured_at (or date) column is required", "REQUIRED")
    return table


def import_post_metrics(
    session: Session,
    table: Table,
    visible: Sequence[ColumnElement[bool]],
    recorded_by: str,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Records every line of `table` for the deliverables `visible` selects (the caller's
    organization and scope), all in one savepoint that is kept only if no line was refused (or
    `skip_invalid`) and this is not a dry run. The caller commits."""
    report = ImportReport(unknown_columns=list(table.unknown))
    finder = _Finder(session, visible)
    savepoint = session.begin_nested()
    try:
        for done, row in enumerate(table.rows, 1):
            report.lines.append(_line(session, table, row, finder, recorded_by, skip_invalid))
            if progress is not None:
                progress(done, len(table.rows))
    except BaseException:
        savepoint.rollback()
        raise
    failed = report.count(LineStatus.ERROR) > 0
    if dry_run or failed:
        savepoint.rollback()
    else:
        savepoint.commit()
        report.committed = True
    return report


def _line(
    session: Session,
    table: Table,
    row: Row,
    finder: _Finder,
    recorded_by: str,
    skip_invalid: bool,
) -> LineReport:
    refused = LineStatus.SKIPPED if skip_invalid else LineStatus.ERROR
    deliverable = None
    try:
        deliverable = finder.find(table, row)
        reading = _reading(table, row, deliverable)
        _, outcome = recording.record(session, deliverable, reading, recorded_by)
    except LineRefused as exc:
        return LineReport(
            row.line,
            refused,
            deliverable.id if deliverable else None,
            exc.column,
            exc.message,
            exc.code,
        )
    except recording.Refused as exc:
        first = exc.problems[0]
        return LineReport(
            row.line,
            refused,
            deliverable.id if deliverable else None,
            table.header(first.field) if first.field else None,
            "; ".join(p.message for p in exc.problems),
            str(first.code),
        )
    status = LineStatus.CREATED if outcome is recording.Outcome.CREATED else LineStatus.UNCHANGED
    return LineReport(row.line, status, deliverable.id)


class _Finder:
    """Deliverables by id or published URL, within `visible`, each looked up once."""

    def __init__(self, session: Session, visible: Sequence[ColumnElement[bool]]) -> None:
        self.session, self.visible = session, list(visible)
        self.cache: dict[tuple[str, str], Deliverable | None] = {}

    def find(self, table: Table, row: Row) -> Deliverable:
        ref = row.values.get("deliverable_id", "")
        column = "deliverable_id"
        if not ref:
            ref, column = row.values.get("post_url", ""), "post_url"
        if not ref:
            raise LineRefused(
                table.header("deliverable_id" if "deliverable_id" in table.headers else column),
                "no deliverable: give its id or the post's URL",
                "REQUIRED",
            )
        key = (column, ref)
        if key not in self.cache:
            self.cache[key] = self._lookup(column, ref)
        found = self.cache[key]
        if found is None:
            raise LineRefused(table.header(column), f"no such deliverable: {ref}", "NOT_FOUND")
        return found

    def _lookup(self, column: str, ref: str) -> Deliverable | None:
        stmt = select(Deliverable).where(*self.visible)
        if column == "deliverable_id":
            pk = parse_pk(ref) or decode_pk(ref, "Deliverable")
            if pk is None:
                return None
            return self.session.scalar(stmt.where(Deliverable.id == pk))
        url = ref.rstrip("/")
        rows = self.session.scalars(
            stmt.where(Deliverable.published_url.in_([url, url + "/"])).limit(2)
        ).all()
        return rows[0] if len(rows) == 1 else None


def _reading(table: Table, row: Row, deliverable: Deliverable) -> recording.Reading:
    numbers: dict[str, int | None] = {}
    for name in (*post_metrics.COUNTERS, "followers_at_posting"):
        cell = row.values.get(name, "")
        if not cell:
            numbers[name] = None
        elif _NUMBER.match(cell):
            numbers[name] = int(cell.replace(",", ""))
        else:
            raise LineRefused(table.header(name), f"{cell!r} is not a whole number")
    followers = numbers.pop("followers_at_posting")
    caption = row.values.get("caption") or None
    comments = review.clean_comments(row.values.get("creator_comments", "").splitlines())
    return recording.Reading(
        captured_at=_captured_at(table, row.values.get("captured_at", ""), deliverable),
        counts=Counts(**numbers),
        source=MetricSource.IMPORT,
        followers_at_posting=followers,
        caption=caption,
        creator_comments=tuple(comments) if comments else None,
    )


def _captured_at(table: Table, cell: str, deliverable: Deliverable) -> datetime:
    column = table.header("captured_at")
    if not cell:
        raise LineRefused(column, "the time of the numbers is required", "REQUIRED")
    try:
        if len(cell) == 10:
            day = date.fromisoformat(cell)
            at = datetime.combine(day, time(0), tzinfo=UTC)
            published = deliverable.published_at
            if published is not None and published.date() == day and published > at:
                return published  # the post went live that day: its numbers are from then on
            return at
        at = datetime.fromisoformat(cell.replace(" ", "T", 1) if " " in cell else cell)
    except ValueError:
        raise LineRefused(
            column, f"{cell!r} is not a date or time (e.g. 2026-12-01T10:00:00Z)"
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
