"""`recordPostMetrics` (one snapshot of a published deliverable's results) and
`importPostMetrics` (a CSV of them, `api.content.post_metrics_import`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.content import post_metrics as recording
from api.content import post_metrics_import as importing
from api.content import review
from api.domain.post_metrics import Counts, MetricSource
from api.graphql import inputs
from api.graphql.context import Info
from api.graphql.errors import from_domain, problem
from api.graphql.lookup import load_visible
from api.graphql.mutation import run_mutation
from api.graphql.partnerships.mutations import actor
from api.graphql.permissions import require, visible
from api.graphql.post_metrics.types import PostMetrics, PostMetricsError, PostMetricsErrorCode
from api.imports.csvfile import CsvError
from api.models import Deliverable as DeliverableModel
from api.models.enums import Role
from api.settings import get_settings
from tracker.globalid import encode

ERRORS = (PostMetricsError, PostMetricsErrorCode)


@strawberry.input(
    description="A published deliverable's lifetime totals as of capturedAt; leave out what the "
    "source does not report. Counters never go backwards against the deliverable's snapshots "
    "before (or after) capturedAt; reach never exceeds impressions."
)
class RecordPostMetricsInput:
    deliverable_id: strawberry.ID
    captured_at: datetime = strawberry.field(
        description="When the numbers were read: not in the future, not before publication."
    )
    impressions: int | None = None
    reach: int | None = None
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    link_clicks: int | None = None
    followers_at_posting: int | None = strawberry.field(
        default=None, description="The account's followers when the post went live, if known."
    )
    source: MetricSource = strawberry.field(
        default=MetricSource.MANUAL,
        description="Where the numbers come from; always SELF_REPORTED for an INFLUENCER key.",
    )
    caption: str | None = strawberry.field(
        default=None, description="The caption as it reads live, if checked."
    )
    creator_comments: list[str] | None = strawberry.field(
        default=None,
        description="The creator's own first comment and replies under the post as they read "
        "live (with `caption`): checked with it, so a label only there is "
        "LABEL_ONLY_IN_COMMENT. At most 20, each at most 5000 characters.",
    )


@strawberry.type
class RecordPostMetricsPayload:
    metrics: PostMetrics | None = None
    created: bool = strawberry.field(
        default=False,
        description="False when the same snapshot was recorded before (nothing changed).",
    )
    user_errors: list[PostMetricsError]  # type: ignore[valid-type]


PostMetricsLineStatus = importing.LineStatus
strawberry.enum(PostMetricsLineStatus, name="PostMetricsLineStatus")


@strawberry.input
class ImportPostMetricsInput:
    csv: str = strawberry.field(
        description="The file's text: a header line, then one snapshot a line. Columns: "
        "deliverable_id (or post_url), captured_at (or date), impressions, reach, views "
        "(video_views, plays), likes, comments, shares, saves, link_clicks (clicks), followers, "
        "caption; the README has the whole mapping. Other columns are reported, not imported."
    )
    dry_run: bool = strawberry.field(default=False, description="Report only; keep nothing.")
    skip_invalid: bool = strawberry.field(
        default=False,
        description="Leave refused lines out (SKIPPED) and keep the rest; by default one "
        "refused line keeps the whole file out.",
    )


@strawberry.type(name="PostMetricsImportLine")
class ImportLine:
    line: int = strawberry.field(description="The line of the file (the header is line 1).")
    status: PostMetricsLineStatus
    deliverable_id: strawberry.ID | None
    column: str | None = strawberry.field(description="The header at fault, as in the file.")
    message: str | None
    code: str | None


@strawberry.type(name="PostMetricsImport")
class ImportResult:
    committed: bool = strawberry.field(
        description="Whether the created snapshots were kept (not a dry run, and no line "
        "refused or skipInvalid)."
    )
    created: int
    unchanged: int
    skipped: int
    errors: int
    unknown_columns: list[str] = strawberry.field(
        description="Headers that match no column: ignored."
    )
    lines: list[ImportLine]


@strawberry.type
class ImportPostMetricsPayload:
    result: ImportResult | None = None
    user_errors: list[PostMetricsError]  # type: ignore[valid-type]


def result_of(report: importing.ImportReport) -> ImportResult:
    s = importing.LineStatus
    return ImportResult(
        committed=report.committed,
        created=report.count(s.CREATED),
        unchanged=report.count(s.UNCHANGED),
        skipped=report.count(s.SKIPPED),
        errors=report.count(s.ERROR),
        unknown_columns=report.unknown_columns,
        lines=[
            ImportLine(
                line=line.line,
                status=line.status,
                deliverable_id=strawberry.ID(encode("Deliverable", line.deliverable_id))
                if line.deliverable_id
                else None,
                column=line.column,
                message=line.message,
                code=line.code,
            )
            for line in report.lines
        ],
    )


def reading_of(input: RecordPostMetricsInput, source: MetricSource) -> recording.Reading:
    captured_at = inputs.aware(input.captured_at, "capturedAt")
    assert captured_at is not None
    caption = inputs.text(input.caption, "caption", recording.MAX_CAPTION, multiline=True)
    comments = review.clean_comments(
        inputs.no_controls(c, "creatorComments", multiline=True)
        for c in input.creator_comments or ()
    )
    return recording.Reading(
        captured_at=captured_at,
        counts=Counts(
            impressions=input.impressions,
            reach=input.reach,
            views=input.views,
            likes=input.likes,
            comments=input.comments,
            shares=input.shares,
            saves=input.saves,
            link_clicks=input.link_clicks,
        ),
        source=source,
        followers_at_posting=input.followers_at_posting,
        caption=caption,
        creator_comments=tuple(comments) if comments else None,
    )


@strawberry.type
class PostMetricsMutation:
    @strawberry.mutation(
        description="Records a snapshot of a PUBLISHED deliverable's results (MANAGER or ADMIN; "
        "an INFLUENCER key its own deliverables', stored as SELF_REPORTED). Idempotent by "
        "(deliverable, capturedAt): the same numbers again return the snapshot recorded "
        "before; other numbers are a CONFLICT."
    )
    def record_post_metrics(
        self, info: Info, input: RecordPostMetricsInput
    ) -> RecordPostMetricsPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "post_metrics")
            source = MetricSource(input.source)
            if ctx.viewer.role is Role.INFLUENCER:
                source = MetricSource.SELF_REPORTED
            reading = reading_of(input, source)
            deliverable = load_visible(
                info, DeliverableModel, "Deliverable", input.deliverable_id, "deliverableId"
            )
            try:
                row, outcome = recording.record(
                    ctx.session, deliverable, reading, actor(ctx.viewer)
                )
            except recording.Refused as exc:
                raise from_domain(exc.problems) from None
            return {
                "metrics": PostMetrics.from_row(row),
                "created": outcome is recording.Outcome.CREATED,
            }

        return run_mutation(info, RecordPostMetricsPayload, ERRORS, body)

    @strawberry.mutation(
        description="Imports post-metric snapshots from a CSV (ADMIN or MANAGER), each line as "
        "recordPostMetrics would record it (source IMPORT), with a report per line. Nothing is "
        "kept if a line is refused, unless skipInvalid; a dry run keeps nothing. The file is at "
        "most IMPORT_MAX_BYTES (and the request at most API_MAX_BODY_BYTES)."
    )
    def import_post_metrics(
        self, info: Info, input: ImportPostMetricsInput
    ) -> ImportPostMetricsPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "post_metrics_import")
            try:
                table = importing.read(input.csv, get_settings().import_max_bytes)
            except CsvError as exc:
                raise problem("csv", exc.message, exc.code) from None
            report = importing.import_post_metrics(
                ctx.session,
                table,
                visible(DeliverableModel, ctx.viewer),
                actor(ctx.viewer),
                dry_run=input.dry_run,
                skip_invalid=input.skip_invalid,
            )
            return {"result": result_of(report)}

        return run_mutation(info, ImportPostMetricsPayload, ERRORS, body)
