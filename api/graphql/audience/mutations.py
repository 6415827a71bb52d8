from __future__ import annotations

from datetime import datetime

import strawberry

from api.db import utcnow
from api.domain import demographics as dm
from api.graphql import inputs
from api.graphql.audience.types import (
    AgeBand,
    AudienceError,
    AudienceErrorCode,
    AudienceGender,
    AudienceSnapshot,
)
from api.graphql.context import Info
from api.graphql.errors import from_domain, problem
from api.graphql.influencers.types import Influencer, SocialAccount
from api.graphql.lookup import load_visible
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.influencers.audience import refresh_scores
from api.influencers.demographics import record_snapshot, snapshot_exists
from api.models import Influencer as InfluencerModel
from api.models import SocialAccount as AccountModel

ERRORS = (AudienceError, AudienceErrorCode)
_SHARE = "Basis points of the audience (10000 = 100 %)."


@strawberry.input
class CountryShareInput:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code, e.g. FR.")
    share: int = strawberry.field(description=_SHARE)


@strawberry.input
class AgeBandShareInput:
    band: AgeBand
    share: int = strawberry.field(description=_SHARE)


@strawberry.input
class GenderShareInput:
    gender: AudienceGender
    share: int = strawberry.field(description=_SHARE)


@strawberry.input
class RecordAudienceSnapshotInput:
    social_account_id: strawberry.ID
    captured_at: datetime | None = strawberry.field(default=None, description="Default: now.")
    countries: list[CountryShareInput] | None = strawberry.field(
        default=None, description="Top countries: at most 100 % together."
    )
    age_bands: list[AgeBandShareInput] | None = strawberry.field(
        default=None, description="All bands: 100 % together (give or take 1 % of rounding)."
    )
    genders: list[GenderShareInput] | None = strawberry.field(
        default=None, description="All genders: 100 % together (give or take 1 % of rounding)."
    )
    fake_share: int | None = strawberry.field(
        default=None,
        description="Basis points of the audience that look fake. The newest snapshot's value "
        "becomes the account's suspiciousAudiencePct, which audience quality reads.",
    )


@strawberry.type
class AudienceSnapshotPayload:
    snapshot: AudienceSnapshot | None = None
    account: SocialAccount | None = None
    influencer: Influencer | None = None
    user_errors: list[AudienceError]  # type: ignore[valid-type]


@strawberry.type
class AudienceMutation:
    @strawberry.mutation(
        description="Records who follows a social account at one time (never overwrites an "
        "older snapshot): shares by country, age band and gender, and the fake share."
    )
    def record_audience_snapshot(
        self, info: Info, input: RecordAudienceSnapshotInput
    ) -> AudienceSnapshotPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "influencers")
            account = load_visible(
                info, AccountModel, "SocialAccount", input.social_account_id, "socialAccountId"
            )
            captured = inputs.aware(input.captured_at, "capturedAt") or utcnow()
            if captured > utcnow():
                raise problem("capturedAt", "capturedAt is in the future", "INVALID")
            for i, c in enumerate(input.countries or []):
                inputs.no_controls(c.country, f"countries[{i}].country")
            audience, problems = dm.audience(
                [(c.country, c.share) for c in input.countries or []],
                [(a.band.value, a.share) for a in input.age_bands or []],
                [(g.gender.value, g.share) for g in input.genders or []],
                input.fake_share,
            )
            if problems:
                raise from_domain(problems)
            if audience == dm.Audience():
                raise problem(None, "give countries, ageBands, genders or a fakeShare", "REQUIRED")
            if snapshot_exists(ctx.session, account.id, captured):
                raise problem("capturedAt", "a snapshot at this time exists already", "DUPLICATE")
            snapshot, fake_changed = record_snapshot(ctx.session, account, captured, audience)
            if fake_changed:
                ctx.session.flush()
                refresh_scores(ctx.session, account.organization_id)
            influencer = ctx.session.get(InfluencerModel, account.influencer_id)
            return {
                "snapshot": AudienceSnapshot.from_row(snapshot),
                "account": SocialAccount.from_row(account),
                "influencer": Influencer.from_row(influencer),
            }

        return run_mutation(info, AudienceSnapshotPayload, ERRORS, body)
