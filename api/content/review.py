"""Content review rules the API applies to deliverables and submissions.

Which formats each platform has, which platform offers each disclosure label, and the glue
between a submission and the disclosure checker (`api.domain.disclosure`): our enums mapped to
the checker's input, run for the campaign's jurisdictions, plus the brand's own requirements
(hashtags, mentions, labels) reported as warnings that never block; the creator's own comments
and replies, passed to the checker so that a label only there is named (LABEL_ONLY_IN_COMMENT);
and what a deliverable's changes owe webhooks (`announce`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from api.domain import disclosure
from api.models.enums import ContentFormat, Platform, PlatformLabel
from api.webhooks import events
from api.webhooks.outbox import emit

_F = ContentFormat
# The formats each platform actually offers (REVIEW: a review video or article).
FORMATS: dict[Platform, frozenset[ContentFormat]] = {
    Platform.INSTAGRAM: frozenset({_F.POST, _F.REEL, _F.STORY, _F.LIVE}),
    Platform.FACEBOOK: frozenset({_F.POST, _F.REEL, _F.STORY, _F.VIDEO, _F.LIVE}),
    Platform.TIKTOK: frozenset({_F.VIDEO, _F.LIVE, _F.STORY}),
    Platform.YOUTUBE: frozenset({_F.VIDEO, _F.SHORT, _F.LIVE, _F.REVIEW}),
    Platform.X: frozenset({_F.POST, _F.VIDEO}),
    Platform.TWITCH: frozenset({_F.LIVE, _F.VIDEO}),
    Platform.BLOG: frozenset({_F.BLOG, _F.REVIEW}),
    Platform.PODCAST: frozenset({_F.PODCAST}),
}

# The platform whose own branded-content tool each label is, and the checker's name for it.
LABEL_PLATFORM: dict[PlatformLabel, Platform] = {
    PlatformLabel.INSTAGRAM_PAID_PARTNERSHIP: Platform.INSTAGRAM,
    PlatformLabel.FACEBOOK_PAID_PARTNERSHIP: Platform.FACEBOOK,
    PlatformLabel.TIKTOK_BRANDED_CONTENT: Platform.TIKTOK,
    PlatformLabel.YOUTUBE_PAID_PROMOTION: Platform.YOUTUBE,
    PlatformLabel.X_PAID_PARTNERSHIP: Platform.X,
}
_CHECKER_LABEL: dict[PlatformLabel, disclosure.PlatformLabel] = {
    PlatformLabel.INSTAGRAM_PAID_PARTNERSHIP: disclosure.PlatformLabel.PAID_PARTNERSHIP,
    PlatformLabel.FACEBOOK_PAID_PARTNERSHIP: disclosure.PlatformLabel.PAID_PARTNERSHIP,
    PlatformLabel.TIKTOK_BRANDED_CONTENT: disclosure.PlatformLabel.BRANDED_CONTENT,
    PlatformLabel.YOUTUBE_PAID_PROMOTION: disclosure.PlatformLabel.PAID_PROMOTION,
    PlatformLabel.X_PAID_PARTNERSHIP: disclosure.PlatformLabel.PAID_PARTNERSHIP,
}

FAIL = disclosure.Verdict.FAIL.value


def formats_for(platform: Platform | str) -> tuple[ContentFormat, ...]:
    allowed = FORMATS[Platform(platform)]
    return tuple(f for f in ContentFormat if f in allowed)


def format_fits(platform: Platform | str, format: ContentFormat | str) -> bool:
    return ContentFormat(format) in FORMATS[Platform(platform)]


def label_fits(label: PlatformLabel | str, platform: Platform | str) -> bool:
    return LABEL_PLATFORM[PlatformLabel(label)] is Platform(platform)


class SubmissionFields(Protocol):
    """What the check reads of a submission (a ContentSubmission row has these attributes)."""

    @property
    def caption(self) -> str: ...
    @property
    def platform_label(self) -> PlatformLabel | str | None: ...
    @property
    def retouched(self) -> bool: ...
    @property
    def ai_generated(self) -> bool: ...
    @property
    def creator_comments(self) -> Sequence[str] | None: ...


MAX_COMMENT = 5000  # characters of one comment, as of a caption
MAX_COMMENTS = disclosure.MAX_COMMENTS


def clean_comments(comments: Iterable[str] | None) -> list[str] | None:
    """The creator's comments as checked and kept: each stripped, blank ones left out; None
    when none is given (not known), [] never (nothing to keep)."""
    kept = [c.strip() for c in comments or () if c and c.strip()]
    return kept or None


def comment_problem(comments: Sequence[str] | None) -> str | None:
    """Why these comments cannot be checked (too many, one too long), or None."""
    if comments and len(comments) > MAX_COMMENTS:
        return f"at most {MAX_COMMENTS} comments"
    if any(len(c) > MAX_COMMENT for c in comments or ()):
        return f"a comment must be at most {MAX_COMMENT} characters"
    return None


def _checker_label(label: PlatformLabel | str | None, platform: Platform) -> Any:
    """The checker's label, or None where the checker does not credit that platform's tool
    (X's label today): the caption must then carry the disclosure on its own."""
    if label is None:
        return None
    mapped = _CHECKER_LABEL[PlatformLabel(label)]
    offered = disclosure.load_rules().platforms[disclosure.Platform(platform.value)].labels
    return mapped if mapped in offered else None


def _tag_present(caption: str, sigil: str, tag: str) -> bool:
    pattern = rf"(?<![\w{sigil}]){re.escape(sigil + tag)}(?![\w-]|\.\w)"
    return re.search(pattern, caption, re.IGNORECASE) is not None


def brand_requirements(campaign: Any, caption: str) -> dict[str, Any]:
    """The campaign's required hashtags, mentions and labels missing from the caption."""
    folded = caption.casefold()
    missing = {
        "missingHashtags": [
            t for t in campaign.required_hashtags if not _tag_present(caption, "#", t)
        ],
        "missingMentions": [
            m for m in campaign.required_mentions if not _tag_present(caption, "@", m)
        ],
        "missingLabels": [lb for lb in campaign.required_labels if lb.casefold() not in folded],
    }
    return {**missing, "satisfied": not any(missing.values())}


def disclosure_report(
    campaign: Any, deliverable: Any, partnership: Any, submission_fields: SubmissionFields
) -> dict[str, Any] | None:
    """The report stored on a submission: the checker's, for the campaign's jurisdictions, and
    the brand's requirements under "brandRequirements". None when the campaign names no
    jurisdictions and no requirements (nothing to check). Without jurisdictions there is no
    legal check: "results" is empty and "worstVerdict" null.

    Raises `disclosure.DisclosureInputError` for a value the checker refuses."""
    brand = brand_requirements(campaign, submission_fields.caption)
    jurisdictions = tuple(campaign.jurisdictions)
    if not jurisdictions:
        asked = campaign.required_hashtags or campaign.required_mentions or campaign.required_labels
        if not asked:
            return None
        return {
            "rulesVersion": None,
            "worstVerdict": None,
            "results": [],
            "brandRequirements": brand,
        }
    platform = Platform(deliverable.platform)
    report = disclosure.check(
        disclosure.DisclosureInput(
            caption=submission_fields.caption,
            platform=disclosure.Platform(platform.value),
            format=disclosure.ContentFormat(ContentFormat(deliverable.format).value),
            platform_label=_checker_label(submission_fields.platform_label, platform),
            connection=disclosure.Connection(str(partnership.connection)),
            retouched=submission_fields.retouched,
            ai_generated=submission_fields.ai_generated,
            jurisdictions=tuple(disclosure.Jurisdiction(j) for j in jurisdictions),
            comments=tuple(submission_fields.creator_comments or ()),
        )
    )
    return {**report.to_dict(), "brandRequirements": brand}


def worst_verdict(report: dict[str, Any] | None) -> str | None:
    return report.get("worstVerdict") if report else None


def failures(report: dict[str, Any] | None) -> list[str]:
    """ "US: MISSING_LABEL"-style summaries of a stored report's failing findings."""
    if not report:
        return []
    return [
        f"{r['jurisdiction']}: {f['code']}"
        for r in report.get("results", [])
        for f in r.get("findings", [])
        if f.get("severity", FAIL) == FAIL and r.get("verdict") == FAIL
    ]


def announce(session: Session, deliverable: Any, submission: Any = None) -> None:
    """Owes webhooks what just happened to a deliverable, in the transaction that did it: its
    new status (deliverable.submitted, .approved, .published) and, for a submitted version
    that fails its disclosure check, disclosure.failed."""
    status = str(getattr(deliverable.status, "value", deliverable.status))
    event_type = _ANNOUNCED.get(status)
    if event_type is None:
        return
    org = deliverable.organization_id

    def data() -> dict[str, Any]:
        found: dict[str, Any] = {"deliverable": events.deliverable(deliverable)}
        if submission is not None:
            found["submission"] = events.submission(submission)
        return found

    emit(session, event_type, org, data)
    if status == "SUBMITTED" and submission is not None and submission.disclosure_verdict == FAIL:
        emit(
            session,
            "disclosure.failed",
            org,
            lambda: {**data(), "failures": failures(submission.disclosure_report)},
        )


_ANNOUNCED = {
    "SUBMITTED": "deliverable.submitted",
    "APPROVED": "deliverable.approved",
    "PUBLISHED": "deliverable.published",
}
