"""Audience demographics in the schema: snapshots per social account, a summary per influencer.

Shares are integer basis points (10,000 = 100 %), as everywhere in Vouch (api.domain.demographics).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import strawberry
from strawberry.dataloader import DataLoader

from api.domain import demographics as dm
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.loaders import by_fk, one_of
from api.graphql.permissions import scoped
from api.graphql.relay import ModelNode
from api.influencers.derived import snapshot_audience
from api.models import AudienceSnapshot as SnapshotModel
from api.models import InfluencerFacet

AgeBand = dm.AgeBand
strawberry.enum(AgeBand, name="AgeBand", description="Audience age bands, in years.")
AudienceGender = dm.Gender
strawberry.enum(AudienceGender, name="AudienceGender", description="OTHER: other or unknown.")

AudienceError, AudienceErrorCode = error_type("Audience")

_SHARE = "Share of the audience in basis points (10000 = 100 %)."


@strawberry.type
class CountryShare:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    share: int = strawberry.field(description=_SHARE)


@strawberry.type
class AgeBandShare:
    band: AgeBand
    share: int = strawberry.field(description=_SHARE)


@strawberry.type
class GenderShare:
    gender: AudienceGender
    share: int = strawberry.field(description=_SHARE)


def _countries(a: dm.Audience) -> list[CountryShare]:
    return [CountryShare(country=k, share=v) for k, v in dm.ordered(a.countries)]


def _ages(a: dm.Audience) -> list[AgeBandShare]:
    order = list(AgeBand)
    bands = sorted(a.age_bands.items(), key=lambda kv: order.index(AgeBand(kv[0])))
    return [AgeBandShare(band=AgeBand(k), share=v) for k, v in bands]


def _genders(a: dm.Audience) -> list[GenderShare]:
    return [GenderShare(gender=dm.Gender[k], share=v) for k, v in dm.ordered(a.genders)]


@strawberry.type(
    name="AudienceSnapshot",
    description="Who followed an account at one time. Never changed: a new one is recorded.",
)
class AudienceSnapshot(ModelNode):
    __model__ = SnapshotModel
    id: strawberry.relay.NodeID[int]
    captured_at: datetime
    fake_share: int | None = strawberry.field(
        description="Share of the audience that looks fake (bots, bought or inactive "
        "followers), basis points; it feeds audience quality's SUSPICIOUS_AUDIENCE signal."
    )

    @strawberry.field(description="Largest first; they may add up to less than 100 % (top N).")
    def countries(self) -> list[CountryShare]:
        return _countries(snapshot_audience(self.row))

    @strawberry.field(description="Youngest first; complete (about 100 %) when given.")
    def age_bands(self) -> list[AgeBandShare]:
        return _ages(snapshot_audience(self.row))

    @strawberry.field(description="Largest first; complete (about 100 %) when given.")
    def genders(self) -> list[GenderShare]:
        return _genders(snapshot_audience(self.row))


@strawberry.type(
    description="An influencer's audience: the follower-weighted mean of its accounts' latest "
    "snapshots (an account without a snapshot does not count)."
)
class AudienceSummary:
    countries: list[CountryShare]
    age_bands: list[AgeBandShare]
    genders: list[GenderShare]
    fake_share: int | None = strawberry.field(description=_SHARE)


async def account_audience_history(info: Info, account_id: int) -> list[AudienceSnapshot]:
    rows = await by_fk(
        info.context,
        SnapshotModel,
        SnapshotModel.social_account_id,
        order_by=(SnapshotModel.captured_at,),
    ).load(account_id)
    return AudienceSnapshot.from_rows(rows)


_AUDIENCE_KINDS = (*(k.value for k in dm.Kind), "FAKE")


async def influencer_audience(info: Info, influencer_id: int) -> AudienceSummary | None:
    """From the influencer's facets (kept in step with the snapshots): one statement a page."""
    ctx = info.context

    async def load(ids: list[int]) -> list[list[InfluencerFacet]]:
        stmt = scoped(InfluencerFacet, ctx.viewer).where(
            one_of(ctx.session, InfluencerFacet.influencer_id, ids),
            InfluencerFacet.kind.in_(_AUDIENCE_KINDS),
        )
        groups: dict[int, list[InfluencerFacet]] = defaultdict(list)
        for facet in ctx.session.scalars(stmt):
            groups[facet.influencer_id].append(facet)
        return [groups.get(i, []) for i in ids]

    rows = await ctx.loader("audience-facets", lambda: DataLoader(load)).load(influencer_id)
    if not rows:
        return None
    shares: dict[str, dict[str, int]] = {kind: {} for kind in _AUDIENCE_KINDS}
    for row in rows:
        shares[row.kind][row.key] = row.share
    blended = dm.Audience(
        countries=shares["COUNTRY"],
        age_bands=shares["AGE"],
        genders=shares["GENDER"],
        fake_share=shares["FAKE"].get(""),
    )
    return AudienceSummary(
        countries=_countries(blended),
        age_bands=_ages(blended),
        genders=_genders(blended),
        fake_share=blended.fake_share,
    )
