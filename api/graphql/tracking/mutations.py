from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.db import utcnow
from api.domain import validation
from api.domain.campaign_status import CampaignStatus
from api.domain.commission import MAX_BPS
from api.domain.partnership_status import PartnershipStatus
from api.graphql import inputs
from api.graphql.context import Info
from api.graphql.errors import problem
from api.graphql.lookup import load_visible
from api.graphql.money import decimal_or_error
from api.graphql.mutation import run_mutation
from api.graphql.permissions import require
from api.graphql.tracking.types import DiscountCode, TrackedLink, TrackingError, TrackingErrorCode
from api.models import Campaign as CampaignModel
from api.models import DiscountCode as DiscountCodeModel
from api.models import Partnership as PartnershipModel
from api.models import SocialAccount as AccountModel
from api.models import TrackedLink as TrackedLinkModel
from api.tracking import codes, publish
from tracker.globalid import encode

ERRORS = (TrackingError, TrackingErrorCode)
# Links and codes are issued for partnerships that are under way, in campaigns not yet over.
ISSUABLE_PARTNERSHIPS = (PartnershipStatus.ACCEPTED, PartnershipStatus.ACTIVE)
CLOSED_CAMPAIGNS = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)
UTM_MAX_LENGTH = 200


@strawberry.input
class UtmInput:
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    content: str | None = None


@strawberry.input
class IssueTrackedLinkInput:
    partnership_id: strawberry.ID
    destination_url: str | None = strawberry.field(
        default=None,
        description="An http(s) URL on the campaign's allowed domains (its landing page's host "
        "when it has none). Defaults to the campaign's landing URL.",
    )
    utm: UtmInput | None = None


@strawberry.input
class IssueDiscountCodeInput:
    partnership_id: strawberry.ID
    percent_off: Decimal = strawberry.field(
        description="0 < percentOff <= 100, with 2 decimals at most."
    )
    code: str | None = strawberry.field(
        default=None,
        description="4-24 letters and digits, unique in the brand, any case. Defaults to the "
        "influencer's handle and the percentage, e.g. MAYA15.",
    )
    commission_rate_bps: int | None = strawberry.field(
        default=None,
        description="A commission rate of the code's own (0-10000 basis points), overriding "
        "the partnership's plan for orders attributed through it (a giveaway, a second "
        "audience). Null: the plan's.",
    )


@strawberry.input
class DeactivateTrackedLinkInput:
    link_id: strawberry.ID


@strawberry.input
class DeactivateDiscountCodeInput:
    discount_code_id: strawberry.ID


@strawberry.input
class RotateDiscountCodeInput:
    discount_code_id: strawberry.ID
    new_code: str | None = strawberry.field(
        default=None,
        description="4-24 letters and digits, unique in the brand. Defaults to the "
        "influencer's handle and the percentage with the next free suffix.",
    )


@strawberry.type
class TrackedLinkPayload:
    link: TrackedLink | None = None
    user_errors: list[TrackingError]  # type: ignore[valid-type]


@strawberry.type
class DiscountCodePayload:
    discount_code: DiscountCode | None = None
    user_errors: list[TrackingError]  # type: ignore[valid-type]


def _load(
    info: Info, model: Any, type_name: str, gid: strawberry.ID, field: str, lock: bool = False
) -> Any:
    return load_visible(info, model, type_name, gid, field, lock=lock)


def _issuable(info: Info, gid: strawberry.ID) -> tuple[PartnershipModel, CampaignModel]:
    """The partnership a link or code is issued for, checked to be under way; locked like a
    status change locks it, so nothing is issued for a partnership being terminated."""
    partnership = _load(info, PartnershipModel, "Partnership", gid, "partnershipId", lock=True)
    if partnership.status not in ISSUABLE_PARTNERSHIPS:
        raise problem(
            "partnershipId",
            f"links and codes need an ACCEPTED or ACTIVE partnership, not {partnership.status}",
            "PARTNERSHIP_NOT_ACTIVE",
        )
    campaign = info.context.session.get(CampaignModel, partnership.campaign_id)
    assert campaign is not None
    if campaign.status in CLOSED_CAMPAIGNS:
        raise problem("partnershipId", f"the campaign is {campaign.status}", "CAMPAIGN_ENDED")
    return partnership, campaign


def _utm(value: UtmInput | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in ("source", "medium", "campaign", "content"):
        raw = getattr(value, name) if value is not None else None
        out[f"utm_{name}"] = inputs.text(raw, f"utm.{name}", UTM_MAX_LENGTH)
    return out


def _default_code(info: Info, partnership: PartnershipModel, brand_id: int, bps: int) -> str:
    """The influencer's largest account's handle and the percentage, with a numeric suffix when
    the brand already has that code."""
    session = info.context.session
    handle = session.scalar(
        select(AccountModel.handle)
        .where(AccountModel.influencer_id == partnership.influencer_id)
        .order_by(AccountModel.followers.desc(), AccountModel.id)
        .limit(1)
    )
    prefix = codes.default_code_prefix(handle, bps)
    taken = set(
        session.scalars(
            select(DiscountCodeModel.code).where(
                DiscountCodeModel.brand_id == brand_id, DiscountCodeModel.code.startswith(prefix)
            )
        )
    )
    for code in codes.default_code_candidates(handle, bps):
        if code not in taken:
            return code
    raise problem("code", "no free default code for this influencer: give one", "DUPLICATE")


def _new_code(
    info: Info,
    partnership: PartnershipModel,
    campaign: CampaignModel,
    bps: int,
    given: str | None,
    field: str = "newCode",
) -> str:
    """The code to issue: `given`, normalized and free in the brand, or the default one."""
    if given is None:
        return _default_code(info, partnership, campaign.brand_id, bps)
    code = codes.normalize_code(given)
    if code is None:
        raise problem(field, "4 to 24 letters A-Z and digits 0-9", "INVALID")
    taken = info.context.session.scalar(
        select(DiscountCodeModel.id).where(
            DiscountCodeModel.brand_id == campaign.brand_id, DiscountCodeModel.code == code
        )
    )
    if taken is not None:
        raise problem(field, f"the brand already has the code {code}", "DUPLICATE")
    return code


def _duplicate(code: str) -> Any:
    return problem("code", f"the brand already has the code {code}", "DUPLICATE")


@strawberry.type
class TrackingMutation:
    @strawberry.mutation(description="Issues a tracked link for a partnership (MANAGER, ADMIN).")
    def issue_tracked_link(self, info: Info, input: IssueTrackedLinkInput) -> TrackedLinkPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "tracking")
            partnership, campaign = _issuable(info, input.partnership_id)
            allowed = campaign.allowed_domains or [validation.host_of(campaign.landing_url)]
            given = input.destination_url
            # where the shopper is sent must be public (the landing URL may predate that rule)
            checked = inputs.url(
                campaign.landing_url if given is None else given,
                "destinationUrl",
                None if given is not None else "the campaign's landingUrl",
            )
            url = validation.redirect_url(checked, allowed)
            if url is None:
                raise problem(
                    "destinationUrl",
                    "destinationUrl must be an http(s) URL on the campaign's domains: "
                    + ", ".join(allowed),
                    "INVALID_URL",
                )
            row = TrackedLinkModel(
                organization_id=partnership.organization_id,
                brand_id=campaign.brand_id,
                campaign_id=campaign.id,
                partnership_id=partnership.id,
                destination_url=url,
                active=True,
                **_utm(input.utm),
            )
            ctx.session.add(row)
            ctx.session.flush()  # assigns the id the code is made from
            s = ctx.settings
            row.code = codes.link_code(row.id, s.hashids_salt, s.hashids_min_length)
            ctx.session.flush()
            publish.after_commit(ctx, publish.LINK, row.id)
            return {"link": TrackedLink.from_row(row)}

        return run_mutation(info, TrackedLinkPayload, ERRORS, body)

    @strawberry.mutation(description="Issues a discount code for a partnership (MANAGER, ADMIN).")
    def issue_discount_code(self, info: Info, input: IssueDiscountCodeInput) -> DiscountCodePayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "tracking")
            partnership, campaign = _issuable(info, input.partnership_id)
            percent = decimal_or_error(input.percent_off, "percentOff", negative=True)
            bps = codes.percent_to_bps(percent)
            if bps is None:
                raise problem(
                    "percentOff",
                    "more than 0 and at most 100, with 2 decimals at most",
                    "OUT_OF_RANGE",
                )
            code = _new_code(info, partnership, campaign, bps, input.code, "code")
            rate = input.commission_rate_bps
            if rate is not None and not 0 <= rate <= MAX_BPS:
                raise problem(
                    "commissionRateBps", "between 0 and 10000 basis points", "OUT_OF_RANGE"
                )
            row = DiscountCodeModel(
                organization_id=partnership.organization_id,
                brand_id=campaign.brand_id,
                campaign_id=campaign.id,
                partnership_id=partnership.id,
                code=code,
                percent_off_bps=bps,
                commission_bps=rate,
                active=True,
            )
            ctx.session.add(row)
            try:
                ctx.session.flush()
            except IntegrityError:  # issued concurrently: the unique constraint is the last guard
                raise _duplicate(code) from None
            return {"discount_code": DiscountCode.from_row(row)}

        return run_mutation(info, DiscountCodePayload, ERRORS, body)

    @strawberry.mutation(
        description="Replaces a (leaked) discount code (MANAGER, ADMIN): the old one is "
        "deactivated, a new one with the same discount and rate is issued to the same "
        "partnership. Orders on the old code are unattributed from now on (INACTIVE_CODE)."
    )
    def rotate_discount_code(
        self, info: Info, input: RotateDiscountCodeInput
    ) -> DiscountCodePayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "tracking")
            old = _load(
                info,
                DiscountCodeModel,
                "DiscountCode",
                input.discount_code_id,
                "discountCodeId",
                lock=True,
            )
            if not old.active:
                raise problem(
                    "discountCodeId",
                    "the code is already inactive: issue a new one with issueDiscountCode",
                    "INVALID_TRANSITION",
                )
            partnership, campaign = _issuable(
                info, strawberry.ID(encode("Partnership", old.partnership_id))
            )
            code = _new_code(info, partnership, campaign, old.percent_off_bps, input.new_code)
            now = utcnow()
            old.active = False
            old.deactivated_at = now
            row = DiscountCodeModel(
                organization_id=old.organization_id,
                brand_id=old.brand_id,
                campaign_id=old.campaign_id,
                partnership_id=old.partnership_id,
                code=code,
                percent_off_bps=old.percent_off_bps,
                commission_bps=old.commission_bps,
                active=True,
                rotated_from_id=old.id,
            )
            ctx.session.add(row)
            try:
                ctx.session.flush()
            except IntegrityError:
                raise _duplicate(code) from None
            return {"discount_code": DiscountCode.from_row(row)}

        return run_mutation(info, DiscountCodePayload, ERRORS, body)

    @strawberry.mutation(
        description="Stops a link from redirecting (MANAGER, ADMIN); its code is never reused."
    )
    def deactivate_tracked_link(
        self, info: Info, input: DeactivateTrackedLinkInput
    ) -> TrackedLinkPayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "tracking")
            row = _load(info, TrackedLinkModel, "TrackedLink", input.link_id, "linkId")
            if row.active:
                row.active = False
                row.deactivated_at = utcnow()
                ctx.session.flush()
            # Published even when already inactive: repairs a publish that failed before.
            publish.after_commit(ctx, publish.LINK, row.id)
            return {"link": TrackedLink.from_row(row)}

        return run_mutation(info, TrackedLinkPayload, ERRORS, body)

    @strawberry.mutation(description="Stops a discount code from counting (MANAGER, ADMIN).")
    def deactivate_discount_code(
        self, info: Info, input: DeactivateDiscountCodeInput
    ) -> DiscountCodePayload:
        def body() -> dict[str, object]:
            ctx = info.context
            require(ctx.viewer, "tracking")
            row = _load(
                info, DiscountCodeModel, "DiscountCode", input.discount_code_id, "discountCodeId"
            )
            if row.active:
                row.active = False
                row.deactivated_at = utcnow()
                ctx.session.flush()
            return {"discount_code": DiscountCode.from_row(row)}

        return run_mutation(info, DiscountCodePayload, ERRORS, body)
