from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.accounts import roles
from api.content import live_posts, review, usage_rights
from api.db import utcnow
from api.domain import deliverable_status
from api.domain.deliverable_status import DeliverableStatus as StatusEnum
from api.domain.disclosure import DisclosureInputError
from api.domain.partnership_status import PartnershipStatus
from api.domain.state_machine import TransitionError
from api.graphql import inputs
from api.graphql.content.types import (
    ContentError,
    ContentErrorCode,
    ContentFormat,
    ContentSubmission,
    Deliverable,
    PlatformLabel,
)
from api.graphql.context import Info
from api.graphql.errors import Problem, UserErrors, problem
from api.graphql.influencers.types import Platform
from api.graphql.lookup import load_visible
from api.graphql.mutation import run_mutation
from api.graphql.partnerships.mutations import actor, load_partnership
from api.graphql.permissions import require
from api.ledger.posting import credit_flat_fee
from api.models import Campaign as CampaignModel
from api.models import ContentSubmission as SubmissionModel
from api.models import Deliverable as DeliverableModel
from api.models import Partnership as PartnershipModel
from api.models.enums import ContentFormat as FormatEnum
from api.models.enums import Platform as PlatformEnum
from api.models.enums import PlatformLabel as PlatformLabelEnum

ERRORS = (ContentError, ContentErrorCode)
MAX_CAPTION = 5000
# Work on deliverables happens while the partnership is live.
_LIVE = frozenset({PartnershipStatus.ACCEPTED.value, PartnershipStatus.ACTIVE.value})


@strawberry.enum(name="ReviewDecision")
class ReviewDecision(Enum):
    APPROVE = "APPROVE"
    REQUEST_CHANGES = "REQUEST_CHANGES"


@strawberry.input
class CreateDeliverableInput:
    partnership_id: strawberry.ID
    platform: Platform
    format: ContentFormat
    title: str
    brief: str | None = None
    due_at: datetime | None = None


@strawberry.input
class SubmitContentInput:
    deliverable_id: strawberry.ID
    caption: str
    media_url: str | None = None
    platform_label: PlatformLabel | None = strawberry.field(
        default=None, description="The platform's own branded-content label, if switched on."
    )
    retouched: bool = False
    ai_generated: bool = False
    creator_comments: list[str] | None = strawberry.field(
        default=None,
        description="The creator's own first comment and replies planned under the post: "
        "checked with the caption, so a label only there is LABEL_ONLY_IN_COMMENT (it does not "
        "count). At most 20, each at most 5000 characters.",
    )


@strawberry.input
class ReviewDeliverableInput:
    deliverable_id: strawberry.ID
    decision: ReviewDecision
    feedback: str | None = strawberry.field(
        default=None, description="Required to request changes."
    )
    override_reason: str | None = strawberry.field(
        default=None,
        description="ADMIN only: approve although the disclosure check fails; recorded.",
    )


@strawberry.input
class MarkDeliverablePublishedInput:
    deliverable_id: strawberry.ID
    url: str
    published_at: datetime | None = strawberry.field(default=None, description="Default: now.")
    override_reason: str | None = strawberry.field(
        default=None,
        description="ADMIN only: publish although the disclosure check fails; recorded.",
    )


@strawberry.type
class DeliverablePayload:
    deliverable: Deliverable | None = None
    user_errors: list[ContentError]  # type: ignore[valid-type]


@strawberry.type
class ContentSubmissionPayload:
    submission: ContentSubmission | None = None
    deliverable: Deliverable | None = None
    user_errors: list[ContentError]  # type: ignore[valid-type]


def load_deliverable(
    info: Info, gid: strawberry.ID, field: str = "deliverableId"
) -> tuple[DeliverableModel, PartnershipModel]:
    """The deliverable (locked: status changes serialize) and its partnership, which must be
    live."""
    ctx = info.context
    row: DeliverableModel = load_visible(
        info, DeliverableModel, "Deliverable", gid, field, lock=True
    )
    partnership = ctx.session.get(PartnershipModel, row.partnership_id)
    assert partnership is not None
    _require_live(partnership, field)
    return row, partnership


def _require_live(partnership: PartnershipModel, field: str) -> None:
    if partnership.status not in _LIVE:
        raise problem(
            field,
            f"the partnership is {partnership.status}: deliverables are worked on while it is "
            "ACCEPTED or ACTIVE",
            "INVALID_TRANSITION",
        )


def _move(row: DeliverableModel, target: StatusEnum, field: str) -> None:
    try:
        row.status = deliverable_status.transition(row.status, target).value
    except TransitionError as exc:
        raise problem(field, str(exc), "INVALID_TRANSITION") from None


def _latest_submission(info: Info, deliverable_id: int) -> SubmissionModel | None:
    return info.context.session.scalar(
        select(SubmissionModel)
        .where(SubmissionModel.deliverable_id == deliverable_id)
        .order_by(SubmissionModel.version.desc())
        .limit(1)
    )


def _disclosure_gate(
    info: Info, row: DeliverableModel, latest: SubmissionModel | None, reason: str | None
) -> None:
    """Refuses to go on with content whose disclosure check fails, unless an ADMIN overrides
    it with a reason, which is recorded on the deliverable. Each gated step (approve, publish)
    needs its own override."""
    viewer = info.context.viewer
    if reason is not None and not roles.may(viewer.role, "disclosure_override"):
        raise problem(
            "overrideReason",
            roles.refusal(viewer.role, "disclosure_override", viewer.kind),
            "FORBIDDEN",
        )
    failing = latest is not None and latest.disclosure_verdict == review.FAIL
    if not failing:
        if reason is not None:
            raise problem(
                "overrideReason",
                "nothing to override: the disclosure check does not fail",
                "NOT_ALLOWED",
            )
        return
    assert latest is not None
    if reason is None:
        found = "; ".join(review.failures(latest.disclosure_report)) or "FAIL"
        raise problem(
            "deliverableId",
            f"version {latest.version} fails the disclosure check ({found}): request changes, "
            "or an ADMIN may go on with an overrideReason",
            "DISCLOSURE_FAILED",
        )
    row.disclosure_override_reason = reason
    row.disclosure_override_by = actor(viewer)


@strawberry.type
class ContentMutation:
    @strawberry.mutation(description="Adds a deliverable (DRAFT) to an accepted partnership.")
    def create_deliverable(self, info: Info, input: CreateDeliverableInput) -> DeliverablePayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "content_review")
            partnership = load_partnership(info, input.partnership_id)
            _require_live(partnership, "partnershipId")
            platform = PlatformEnum(input.platform)
            fmt = FormatEnum(input.format)
            if not review.format_fits(platform, fmt):
                offered = ", ".join(f.value for f in review.formats_for(platform))
                raise problem(
                    "format",
                    f"{platform.value} has no {fmt.value} format (it has {offered})",
                    "NOT_ALLOWED",
                )
            row = DeliverableModel(
                organization_id=partnership.organization_id,
                partnership_id=partnership.id,
                platform=platform,
                format=fmt,
                title=inputs.text(input.title, "title", 200, required=True),
                brief=inputs.text(input.brief, "brief", 10_000, multiline=True),
                due_at=inputs.aware(input.due_at, "dueAt"),
                status=StatusEnum.DRAFT.value,
            )
            ctx.session.add(row)
            ctx.session.flush()
            return {"deliverable": Deliverable.from_row(row)}

        return run_mutation(info, DeliverablePayload, ERRORS, body)

    @strawberry.mutation(
        description="Submits a new version of a deliverable's content for review, with its "
        "disclosure checked against the campaign's jurisdictions."
    )
    def submit_content(self, info: Info, input: SubmitContentInput) -> ContentSubmissionPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "content_submit")
            row, partnership = load_deliverable(info, input.deliverable_id)
            problems = []
            caption = inputs.no_controls(input.caption.strip(), "caption", multiline=True)
            if not caption:
                problems.append(Problem("caption", "caption is required", "REQUIRED"))
            elif len(caption) > MAX_CAPTION:
                problems.append(
                    Problem(
                        "caption", f"caption must be at most {MAX_CAPTION} characters", "TOO_LONG"
                    )
                )
            media_url = None
            if input.media_url is not None and input.media_url.strip():
                try:
                    media_url = inputs.url(input.media_url, "mediaUrl")
                except UserErrors as exc:
                    problems.extend(exc.problems)
            label = PlatformLabelEnum(input.platform_label) if input.platform_label else None
            if label is not None and not review.label_fits(label, row.platform):
                problems.append(
                    Problem(
                        "platformLabel",
                        f"{label.value} is not a {row.platform} label",
                        "NOT_ALLOWED",
                    )
                )
            comments = review.clean_comments(
                inputs.no_controls(c, "creatorComments", multiline=True)
                for c in input.creator_comments or ()
            )
            if (why := review.comment_problem(comments)) is not None:
                problems.append(Problem("creatorComments", why, "TOO_LONG"))
            if problems:
                raise UserErrors(problems)
            _move(row, StatusEnum.SUBMITTED, "deliverableId")
            latest = _latest_submission(info, row.id)
            submission = SubmissionModel(
                organization_id=row.organization_id,
                deliverable_id=row.id,
                version=(latest.version if latest else 0) + 1,
                caption=caption,
                media_url=media_url,
                platform_label=label,
                retouched=input.retouched,
                ai_generated=input.ai_generated,
                creator_comments=comments,
                submitted_by=actor(ctx.viewer),
            )
            campaign = ctx.session.get(CampaignModel, partnership.campaign_id)
            try:
                report = review.disclosure_report(campaign, row, partnership, submission)
            except DisclosureInputError as exc:
                field = {"platform_label": "platformLabel", "ai_generated": "aiGenerated"}
                raise problem(field.get(exc.field, exc.field), exc.message) from None
            submission.disclosure_report = report
            submission.disclosure_verdict = review.worst_verdict(report)
            ctx.session.add(submission)
            try:
                ctx.session.flush()
            except IntegrityError:  # a concurrent submission took this version number
                raise problem(
                    "deliverableId", "another version was submitted at the same time", "DUPLICATE"
                ) from None
            review.announce(ctx.session, row, submission)
            # A competitor named during an exclusivity: the brand sees it before reviewing.
            live_posts.submission_conflicts(ctx.session, row, submission, utcnow())
            return {
                "submission": ContentSubmission.from_row(submission),
                "deliverable": Deliverable.from_row(row),
            }

        return run_mutation(info, ContentSubmissionPayload, ERRORS, body)

    @strawberry.mutation(
        description="Approves the submitted version or asks for changes (with feedback)."
    )
    def review_deliverable(
        self, info: Info, input: ReviewDeliverableInput
    ) -> ContentSubmissionPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "content_review")
            row, _ = load_deliverable(info, input.deliverable_id)
            feedback = inputs.text(input.feedback, "feedback", 10_000, multiline=True)
            reason = inputs.text(input.override_reason, "overrideReason", 2000, multiline=True)
            approve = input.decision is ReviewDecision.APPROVE
            if not approve and feedback is None:
                raise problem("feedback", "say what needs to change", "REQUIRED")
            if not approve and reason is not None:
                raise problem(
                    "overrideReason", "an override only applies to an approval", "NOT_ALLOWED"
                )
            _move(row, StatusEnum.APPROVED if approve else StatusEnum.CHANGES_REQUESTED, "decision")
            latest = _latest_submission(info, row.id)
            if latest is None or latest.reviewed_at is not None:  # SUBMITTED implies neither
                raise problem("deliverableId", "no version awaits review", "INVALID_TRANSITION")
            if approve:
                _disclosure_gate(info, row, latest, reason)
            latest.feedback = feedback
            latest.reviewed_at = utcnow()
            latest.reviewed_by = actor(ctx.viewer)
            ctx.session.flush()
            review.announce(ctx.session, row, latest)
            return {
                "submission": ContentSubmission.from_row(latest),
                "deliverable": Deliverable.from_row(row),
            }

        return run_mutation(info, ContentSubmissionPayload, ERRORS, body)

    @strawberry.mutation(description="Records that approved content went live at a URL.")
    def mark_deliverable_published(
        self, info: Info, input: MarkDeliverablePublishedInput
    ) -> DeliverablePayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "content_review")
            row, _ = load_deliverable(info, input.deliverable_id)
            url = inputs.url(input.url, "url")
            published_at = inputs.aware(input.published_at, "publishedAt") or utcnow()
            if published_at > utcnow():
                raise problem("publishedAt", "publishedAt is in the future")
            reason = inputs.text(input.override_reason, "overrideReason", 2000, multiline=True)
            _move(row, StatusEnum.PUBLISHED, "deliverableId")
            _disclosure_gate(info, row, _latest_submission(info, row.id), reason)
            row.published_url = url
            row.published_at = published_at
            ctx.session.flush()
            # The plan's flat fee is owed once the content is live: credited in this transaction.
            credit_flat_fee(ctx.session, row)
            review.announce(ctx.session, row)
            # The licence to use it starts now: the contract's usage rights, stored.
            usage_rights.derive(ctx.session, row)
            return {"deliverable": Deliverable.from_row(row)}

        return run_mutation(info, DeliverablePayload, ERRORS, body)
