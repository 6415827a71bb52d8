from __future__ import annotations

import strawberry

from api.graphql.brands.mutations import load_brand
from api.graphql.brands.types import Brand
from api.graphql.context import Info
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.graphql.risk.types import RiskError, RiskErrorCode, RiskLevel

ERRORS = (RiskError, RiskErrorCode)


@strawberry.input
class SetRiskPolicyInput:
    brand_id: strawberry.ID
    hold_level: RiskLevel | None = strawberry.field(
        description="From this creator-risk level on, new commissions of a partnership are "
        "HELD for review with the reasons; null: risk never holds."
    )


@strawberry.type
class SetRiskPolicyPayload:
    brand: Brand | None = None
    user_errors: list[RiskError]  # type: ignore[valid-type]


@strawberry.type
class RiskMutation:
    @strawberry.mutation(
        description="Sets the brand's creator-risk hold level (ADMIN). It applies to orders "
        "recorded from now on; commissions already credited stay."
    )
    def set_risk_policy(self, info: Info, input: SetRiskPolicyInput) -> SetRiskPolicyPayload:
        def body() -> dict[str, object]:
            require(info.context.viewer, "risk_policy")
            brand = load_brand(info, input.brand_id)
            brand.risk_hold_level = input.hold_level.value if input.hold_level else None
            info.context.session.flush()
            return {"brand": Brand.from_row(brand)}

        return run_mutation(info, SetRiskPolicyPayload, ERRORS, body)
