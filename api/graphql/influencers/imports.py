"""importInfluencers: a Modash or HypeAuditor style CSV over GraphQL (api.imports.influencers)."""

from __future__ import annotations

import strawberry

from api.graphql.context import Info
from api.graphql.errors import problem
from api.graphql.influencers.mutations import ERRORS
from api.graphql.influencers.types import InfluencerError
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.graphql.relay import global_id
from api.imports import influencers as importer
from api.imports.csvfile import CsvError

ImportLineStatus = importer.Status
strawberry.enum(ImportLineStatus, name="ImportLineStatus")


@strawberry.input
class ImportInfluencersInput:
    csv: str = strawberry.field(
        description="The file's text: a header line, then one social account per line "
        "(the README lists the columns and their aliases)."
    )
    dry_run: bool = strawberry.field(default=False, description="Report only; change nothing.")
    skip_invalid: bool = strawberry.field(
        default=False,
        description="Import the good lines and leave out the bad ones; without it one bad line "
        "imports nothing.",
    )


@strawberry.type
class ImportLineError:
    column: str | None = strawberry.field(description="The column as its header names it.")
    message: str


@strawberry.type
class ImportLine:
    line: int = strawberry.field(description="Line number in the file (the header is line 1).")
    status: ImportLineStatus
    platform: str | None
    handle: str | None
    influencer_id: strawberry.ID | None
    errors: list[ImportLineError]


@strawberry.type
class ImportReport:
    dry_run: bool
    committed: bool = strawberry.field(description="Whether anything was imported.")
    created: int
    updated: int
    skipped: int
    failed: int
    unknown_columns: list[str] = strawberry.field(description="Headers that were ignored.")
    lines: list[ImportLine]

    @classmethod
    def of(cls, report: importer.Report) -> ImportReport:
        return cls(
            dry_run=report.dry_run,
            committed=report.committed,
            created=report.count(importer.Status.CREATED),
            updated=report.count(importer.Status.UPDATED),
            skipped=report.count(importer.Status.SKIPPED),
            failed=report.count(importer.Status.ERROR),
            unknown_columns=report.unknown_columns,
            lines=[
                ImportLine(
                    line=r.line,
                    status=r.status,
                    platform=r.platform,
                    handle=r.handle,
                    influencer_id=strawberry.ID(global_id("Influencer", r.influencer_id))
                    if r.influencer_id and report.committed
                    else None,
                    errors=[ImportLineError(column=e.column, message=e.message) for e in r.errors],
                )
                for r in report.lines
            ],
        )


@strawberry.type
class ImportInfluencersPayload:
    report: ImportReport | None = None
    user_errors: list[InfluencerError]  # type: ignore[valid-type]


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description="Creates or updates influencers and their accounts from a CSV export, with a "
        "result per line. One transaction: nothing is imported if a line fails, unless "
        "skipInvalid; a dry run imports nothing."
    )
    def import_influencers(
        self, info: Info, input: ImportInfluencersInput
    ) -> ImportInfluencersPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "influencers")
            try:
                report = importer.import_influencers(
                    ctx.session,
                    ctx.viewer.organization_id,
                    input.csv,
                    max_bytes=ctx.settings.import_max_bytes,
                    dry_run=input.dry_run,
                    skip_invalid=input.skip_invalid,
                )
            except CsvError as exc:
                raise problem("csv", str(exc), exc.code) from None
            return {"report": ImportReport.of(report)}

        return run_mutation(info, ImportInfluencersPayload, ERRORS, body)
