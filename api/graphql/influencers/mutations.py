from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import func, select

from api.db import utcnow
from api.domain import validation
from api.graphql import inputs
from api.graphql.context import Info
from api.graphql.errors import Problem, UserErrors, problem
from api.graphql.influencers.filters import handle_exists
from api.graphql.influencers.types import (
    Influencer,
    InfluencerError,
    InfluencerErrorCode,
    MetricSnapshot,
    Platform,
    SocialAccount,
)
from api.graphql.lookup import load_visible
from api.graphql.money import decimal_or_error
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.influencers.audience import refresh_scores
from api.influencers.stats import refresh_influencer_stats
from api.models import Influencer as InfluencerModel
from api.models import MetricSnapshot as SnapshotModel
from api.models import SocialAccount as AccountModel

ERRORS = (InfluencerError, InfluencerErrorCode)


@strawberry.input
class SocialAccountInput:
    platform: Platform
    handle: str
    url: str | None = None
    followers: int = 0
    following: int = 0
    posts: int = 0
    verified: bool = False
    avg_likes: int = 0
    avg_comments: int = 0
    avg_views: int = 0
    suspicious_audience_pct: Decimal | None = None


@strawberry.input
class CreateInfluencerInput:
    name: str
    email: str | None = None
    country: str | None = None
    languages: list[str] | None = None
    niches: list[str] | None = None
    phone: str | None = None
    agent_name: str | None = None
    agent_email: str | None = None
    notes: str | None = None
    customer_ids: list[str] | None = None
    accounts: list[SocialAccountInput] | None = None


@strawberry.input
class UpdateInfluencerInput:
    influencer_id: strawberry.ID
    name: str | None = None
    email: str | None = None
    country: str | None = None
    languages: list[str] | None = None
    niches: list[str] | None = None
    phone: str | None = None
    agent_name: str | None = None
    agent_email: str | None = None
    notes: str | None = None
    customer_ids: list[str] | None = None


@strawberry.input
class AddSocialAccountInput:
    influencer_id: strawberry.ID
    account: SocialAccountInput


@strawberry.input
class RecordMetricSnapshotInput:
    social_account_id: strawberry.ID
    captured_at: datetime | None = None
    followers: int
    following: int | None = None
    avg_likes: int = 0
    avg_comments: int = 0
    avg_views: int = 0
    posts_sampled: int = 12


@strawberry.input
class ArchiveInfluencerInput:
    influencer_id: strawberry.ID


@strawberry.type
class InfluencerPayload:
    influencer: Influencer | None = None
    user_errors: list[InfluencerError]  # type: ignore[valid-type]


@strawberry.type
class SocialAccountPayload:
    account: SocialAccount | None = None
    influencer: Influencer | None = None
    user_errors: list[InfluencerError]  # type: ignore[valid-type]


@strawberry.type
class MetricSnapshotPayload:
    snapshot: MetricSnapshot | None = None
    account: SocialAccount | None = None
    user_errors: list[InfluencerError]  # type: ignore[valid-type]


MAX_LIST = 50


def load_influencer(info: Info, gid: strawberry.ID, field: str = "influencerId") -> InfluencerModel:
    row: InfluencerModel = load_visible(info, InfluencerModel, "Influencer", gid, field)
    return row


def _codes(values: list[str] | None, field: str, check: Any, what: str) -> list[str]:
    if values is None:
        return []
    if len(values) > MAX_LIST:
        raise problem(field, f"at most {MAX_LIST} {what}s", "TOO_LONG")
    out = []
    for i, v in enumerate(values):
        code = check(inputs.no_controls(v, f"{field}[{i}]"))
        if code is None:
            raise problem(f"{field}[{i}]", f"{v!r} is not a valid {what}", "INVALID")
        out.append(code)
    return list(dict.fromkeys(out))


def _tags(values: list[str] | None, field: str) -> list[str]:
    if values is None:
        return []
    if len(values) > MAX_LIST:
        raise problem(field, f"at most {MAX_LIST} values", "TOO_LONG")
    for i, v in enumerate(values):
        inputs.no_controls(v.strip(), f"{field}[{i}]")
    tags = [v.strip().lower() for v in values if v.strip()]
    if any(len(t) > 50 for t in tags):
        raise problem(field, "each value must be at most 50 characters", "TOO_LONG")
    return list(dict.fromkeys(tags))


def _email(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    email = validation.email(inputs.no_controls(value.strip(), field))
    if email is None:
        raise problem(field, f"{value!r} is not an email address", "INVALID")
    return email


def _apply_profile(row: InfluencerModel, data: Any, *, creating: bool) -> None:
    """Copies the profile fields that were given (all of them on create) onto the row."""
    if creating or data.name is not None:
        row.name = inputs.text(data.name, "name", 200, required=True) or ""
    if creating or data.email is not None:
        row.email = _email(data.email, "email")
    if creating or data.country is not None:
        country = None
        if data.country:
            country = validation.country(inputs.no_controls(data.country, "country"))
            if country is None:
                raise problem("country", "country must be an ISO 3166 alpha-2 code such as FR")
        row.country = country
    if creating or data.languages is not None:
        row.languages = _codes(
            data.languages, "languages", validation.language, "ISO 639-1 language"
        )
    if creating or data.niches is not None:
        row.niches = _tags(data.niches, "niches")
    if creating or data.phone is not None:
        row.phone = inputs.text(data.phone, "phone", 40)
    if creating or data.agent_name is not None:
        row.agent_name = inputs.text(data.agent_name, "agentName", 200)
    if creating or data.agent_email is not None:
        row.agent_email = _email(data.agent_email, "agentEmail")
    if creating or data.notes is not None:
        row.notes = inputs.text(data.notes, "notes", 10_000, multiline=True)
    if creating or data.customer_ids is not None:
        ids = [
            inputs.no_controls(c.strip(), f"customerIds[{i}]")
            for i, c in enumerate(data.customer_ids or [])
        ]
        row.customer_ids = [c for c in ids if c]


def _add_account(
    info: Info, influencer: InfluencerModel, a: SocialAccountInput, field: str
) -> AccountModel:
    problems = []
    key = validation.handle_key(inputs.no_controls(a.handle.strip(), f"{field}.handle"))
    if key is None:
        problems.append(
            Problem(f"{field}.handle", "a handle is letters, digits, '.', '_' or '-'", "INVALID")
        )
    url = None
    if a.url:
        try:
            url = inputs.url(a.url, f"{field}.url")
        except UserErrors as exc:
            problems.extend(exc.problems)
    for name in ("followers", "following", "posts", "avg_likes", "avg_comments", "avg_views"):
        if getattr(a, name) < 0:
            camel = name.split("_")[0] + "".join(w.title() for w in name.split("_")[1:])
            problems.append(
                Problem(f"{field}.{camel}", f"{camel} must not be negative", "NEGATIVE")
            )
    pct = a.suspicious_audience_pct
    if pct is not None:
        pct = decimal_or_error(pct, f"{field}.suspiciousAudiencePct", negative=True)
    if pct is not None and not (0 <= pct <= 100):
        problems.append(
            Problem(f"{field}.suspiciousAudiencePct", "must be a percentage 0-100", "OUT_OF_RANGE")
        )
    if problems:
        raise UserErrors(problems)
    assert key is not None
    if handle_exists(info.context, a.platform.value, key):
        raise problem(
            f"{field}.handle",
            f"@{key} on {a.platform.value} already belongs to an influencer here",
            "DUPLICATE",
        )
    account = AccountModel(
        organization_id=influencer.organization_id,
        influencer_id=influencer.id,
        platform=a.platform.value,
        handle=a.handle.strip().lstrip("@"),
        handle_key=key,
        url=url,
        followers=a.followers,
        following=a.following,
        posts=a.posts,
        verified=a.verified,
        avg_likes=a.avg_likes,
        avg_comments=a.avg_comments,
        avg_views=a.avg_views,
        suspicious_audience_pct=pct,
    )
    info.context.session.add(account)
    info.context.session.flush()
    return account


@strawberry.type
class InfluencerMutation:
    @strawberry.mutation(description="Adds an influencer, optionally with social accounts.")
    def create_influencer(self, info: Info, input: CreateInfluencerInput) -> InfluencerPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "influencers")
            row = InfluencerModel(organization_id=ctx.viewer.organization_id)
            _apply_profile(row, input, creating=True)
            ctx.session.add(row)
            ctx.session.flush()
            accounts = input.accounts or []
            if len(accounts) > 20:
                raise problem("accounts", "at most 20 accounts", "TOO_LONG")
            keys = [(a.platform, validation.handle_key(a.handle)) for a in accounts]
            if len(set(keys)) != len(keys):
                raise problem("accounts", "the same handle is given twice", "DUPLICATE")
            for i, account in enumerate(accounts):
                _add_account(info, row, account, f"accounts[{i}]")
            refresh_influencer_stats(ctx.session, row)
            refresh_scores(ctx.session, row.organization_id)
            return {"influencer": Influencer.from_row(row)}

        return run_mutation(info, InfluencerPayload, ERRORS, body)

    @strawberry.mutation(description="Changes the fields given; the others stay as they are.")
    def update_influencer(self, info: Info, input: UpdateInfluencerInput) -> InfluencerPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "influencers")
            row = load_influencer(info, input.influencer_id)
            _apply_profile(row, input, creating=False)
            info.context.session.flush()
            return {"influencer": Influencer.from_row(row)}

        return run_mutation(info, InfluencerPayload, ERRORS, body)

    @strawberry.mutation
    def add_social_account(self, info: Info, input: AddSocialAccountInput) -> SocialAccountPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "influencers")
            influencer = load_influencer(info, input.influencer_id)
            account = _add_account(info, influencer, input.account, "account")
            refresh_influencer_stats(info.context.session, influencer)
            refresh_scores(info.context.session, influencer.organization_id)
            return {
                "account": SocialAccount.from_row(account),
                "influencer": Influencer.from_row(influencer),
            }

        return run_mutation(info, SocialAccountPayload, ERRORS, body)

    @strawberry.mutation(
        description="Records an observation of an account's metrics. The newest one becomes the "
        "account's current figures."
    )
    def record_metric_snapshot(
        self, info: Info, input: RecordMetricSnapshotInput
    ) -> MetricSnapshotPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "influencers")
            account = load_visible(
                info, AccountModel, "SocialAccount", input.social_account_id, "socialAccountId"
            )
            problems = [
                Problem(name, f"{name} must not be negative", "NEGATIVE")
                for name, value in (
                    ("followers", input.followers),
                    ("following", input.following or 0),
                    ("avgLikes", input.avg_likes),
                    ("avgComments", input.avg_comments),
                    ("avgViews", input.avg_views),
                )
                if value < 0
            ]
            if input.posts_sampled < 1:
                problems.append(
                    Problem("postsSampled", "postsSampled must be at least 1", "OUT_OF_RANGE")
                )
            captured = input.captured_at or utcnow()
            if captured.tzinfo is None:
                problems.append(Problem("capturedAt", "capturedAt needs a time zone", "INVALID"))
            elif captured > utcnow():
                problems.append(Problem("capturedAt", "capturedAt is in the future", "INVALID"))
            if problems:
                raise UserErrors(problems)
            taken = ctx.session.scalar(
                select(func.count()).where(
                    SnapshotModel.social_account_id == account.id,
                    SnapshotModel.captured_at == captured,
                )
            )
            if taken:
                raise problem("capturedAt", "a snapshot at this time exists already", "DUPLICATE")
            snapshot = SnapshotModel(
                organization_id=account.organization_id,
                social_account_id=account.id,
                captured_at=captured,
                followers=input.followers,
                following=input.following,
                avg_likes=input.avg_likes,
                avg_comments=input.avg_comments,
                avg_views=input.avg_views,
                posts_sampled=input.posts_sampled,
            )
            ctx.session.add(snapshot)
            ctx.session.flush()
            latest = ctx.session.scalar(
                select(func.max(SnapshotModel.captured_at)).where(
                    SnapshotModel.social_account_id == account.id
                )
            )
            if latest is not None and latest <= captured:
                account.followers = input.followers
                if input.following is not None:
                    account.following = input.following
                account.avg_likes = input.avg_likes
                account.avg_comments = input.avg_comments
                account.avg_views = input.avg_views
                influencer = ctx.session.get(InfluencerModel, account.influencer_id)
                assert influencer is not None
                refresh_influencer_stats(ctx.session, influencer)
            ctx.session.flush()
            refresh_scores(ctx.session, account.organization_id)
            return {
                "snapshot": MetricSnapshot.from_row(snapshot),
                "account": SocialAccount.from_row(account),
            }

        return run_mutation(info, MetricSnapshotPayload, ERRORS, body)

    @strawberry.mutation(description="Hides an influencer from lists; history is kept.")
    def archive_influencer(self, info: Info, input: ArchiveInfluencerInput) -> InfluencerPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "influencers")
            row = load_influencer(info, input.influencer_id)
            if row.archived_at is None:
                row.archived_at = utcnow()
            info.context.session.flush()
            return {"influencer": Influencer.from_row(row)}

        return run_mutation(info, InfluencerPayload, ERRORS, body)
