"""The creator-risk score as the API shows it (`Influencer.risk`, `Partnership.risk`): the
stored rows of `api.risk.recompute`, read through one DataLoader a page. An INFLUENCER key sees
no risk at all, not even its own: the score exists for the brand's review, and showing a creator
which signals fired would teach them to avoid the thresholds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from api.domain import risk
from api.graphql.context import Info
from api.graphql.errors import error_type
from api.graphql.loaders import one_of
from api.graphql.permissions import scoped
from api.models import InfluencerRisk, PartnershipRisk
from api.models.enums import Role

RiskLevel = risk.RiskLevel
strawberry.enum(
    RiskLevel,
    name="RiskLevel",
    description="LOW below 25, MEDIUM from 25, HIGH from 50, CRITICAL from 75 (of 100).",
)
RiskCode = risk.RiskCode
strawberry.enum(RiskCode, name="RiskCode", description="The signals of the creator-risk score.")

RiskError, RiskErrorCode = error_type("Risk")


@strawberry.type(name="RiskReason")
class RiskReason:
    code: RiskCode
    weight: int = strawberry.field(description="The points it adds to the score.")
    message: str = strawberry.field(description="What it means, in plain words.")
    evidence: JSON = strawberry.field(description="The numbers behind it.")


@strawberry.type(name="RiskAssessment")
class RiskAssessment:
    score: int = strawberry.field(description="0-100: the weights of the signals that fired.")
    level: RiskLevel
    reasons: list[RiskReason] = strawberry.field(description="Heaviest first.")
    computed_at: datetime

    @classmethod
    def of(cls, row: Any) -> RiskAssessment:
        return cls(
            score=row.score,
            level=RiskLevel(row.level),
            reasons=[
                RiskReason(
                    code=RiskCode(r["code"]),
                    weight=r["weight"],
                    message=r["message"],
                    evidence=r["evidence"],
                )
                for r in row.reasons
            ],
            computed_at=row.computed_at,
        )


def _loader(info: Info, model: Any, column: Any) -> DataLoader[int, Any]:
    ctx = info.context

    async def load(keys: list[int]) -> list[Any]:
        rows = ctx.session.scalars(
            scoped(model, ctx.viewer).where(one_of(ctx.session, column, keys))
        ).all()
        found = {getattr(row, column.key): row for row in rows}
        return [found.get(k) for k in keys]

    return ctx.loader(("risk", model), lambda: DataLoader(load))


RISK_DESCRIPTION = (
    "The creator-risk score (audience, conversions, coupon leakage) with its reasons, as last "
    "computed (`vouch risk recompute`, the worker after new orders). Null before it was "
    "computed, and always for an INFLUENCER key."
)


async def risk_of(info: Info, kind: str, key: int) -> RiskAssessment | None:
    if info.context.viewer.role is Role.INFLUENCER:
        return None
    if kind == "partnership":
        row = await _loader(info, PartnershipRisk, PartnershipRisk.partnership_id).load(key)
    else:
        row = await _loader(info, InfluencerRisk, InfluencerRisk.influencer_id).load(key)
    return RiskAssessment.of(row) if row is not None else None
