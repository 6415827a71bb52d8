"""Tenancy and roles: the one place that decides which rows a viewer may see or change.

Every read goes through `scoped()`, which adds the organization filter and, for INFLUENCER keys,
restricts rows to those that belong to the key's influencer. Nested fields and `node(id:)` use it
too, so another tenant's global id simply resolves to nothing. A figure summed over a row an
INFLUENCER key may see but shares with other influencers (a campaign's performance) is its own
share only (`share_of`); one that cannot be split (a campaign's budget) is null for it.
`tests/test_influencer_scope.py` walks every figure of the schema with an INFLUENCER key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, select

from api.accounts import roles
from api.accounts.keys import Viewer
from api.graphql.errors import problem
from api.models import (
    ApiKey,
    Brand,
    Campaign,
    ContentSubmission,
    Contract,
    Deliverable,
    DiscountCode,
    Influencer,
    Membership,
    MetricSnapshot,
    Organization,
    Partnership,
    SocialAccount,
    TrackedLink,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from api.models.enums import Role

# The ADMIN's to manage, as API keys are: other roles never see one (users, webhook URLs,
# failures, payloads).
ADMIN_ONLY = (ApiKey, Membership, WebhookEndpoint, WebhookDelivery, WebhookAttempt, WebhookEvent)


def require(viewer: Viewer, action: str) -> None:
    """Raises a FORBIDDEN user error when the viewer's role may not do `action`
    (`api.accounts.roles`)."""
    if not roles.may(viewer.role, action):
        raise problem(None, roles.refusal(viewer.role, action, viewer.kind), "FORBIDDEN")


def _own_partnerships(influencer_id: int) -> Select[Any]:
    return select(Partnership.id).where(Partnership.influencer_id == influencer_id)


def _influencer_clause(model: Any, influencer_id: int) -> ColumnElement[bool]:
    """Rows of `model` that belong to one influencer (what an INFLUENCER key may read)."""
    own = _own_partnerships(influencer_id)
    if model is Influencer:
        return Influencer.id == influencer_id
    if model in (SocialAccount, Partnership):
        return model.influencer_id == influencer_id
    if model is MetricSnapshot:
        accounts = select(SocialAccount.id).where(SocialAccount.influencer_id == influencer_id)
        return MetricSnapshot.social_account_id.in_(accounts)
    if model in (Contract, Deliverable, TrackedLink, DiscountCode):
        return model.partnership_id.in_(own)
    if model is ContentSubmission:
        deliverables = select(Deliverable.id).where(Deliverable.partnership_id.in_(own))
        return ContentSubmission.deliverable_id.in_(deliverables)
    if model is Campaign:
        return Campaign.id.in_(
            select(Partnership.campaign_id).where(Partnership.influencer_id == influencer_id)
        )
    if model is Brand:
        campaigns = select(Campaign.brand_id).where(
            Campaign.id.in_(
                select(Partnership.campaign_id).where(Partnership.influencer_id == influencer_id)
            )
        )
        return Brand.id.in_(campaigns)
    extra = getattr(model, "influencer_scope", None)
    if extra is not None:  # models added later declare how they belong to an influencer
        clause: ColumnElement[bool] = extra(influencer_id)
        return clause
    return false()


def visible(model: Any, viewer: Viewer) -> list[ColumnElement[bool]]:
    """The WHERE clauses that restrict `model` to what `viewer` may read."""
    if model in ADMIN_ONLY:
        if viewer.role is not Role.ADMIN:
            return [false()]
        return [model.organization_id == viewer.organization_id]
    if model is Organization:
        return [Organization.id == viewer.organization_id]
    clauses: list[ColumnElement[bool]] = [model.organization_id == viewer.organization_id]
    if viewer.role is Role.INFLUENCER:
        if viewer.influencer_id is None:
            return [false()]
        clauses.append(_influencer_clause(model, viewer.influencer_id))
    return clauses


def scoped(model: Any, viewer: Viewer) -> Select[Any]:
    return select(model).where(*visible(model, viewer))


def share_of(viewer: Viewer) -> int | None:
    """Whose share of a figure summed over partnerships (a campaign's performance, say) the
    viewer may read: None for the whole figure; for an INFLUENCER key, its influencer's share,
    the sum over its own partnerships only (0, nobody's, for a key bound to no influencer)."""
    if viewer.role is not Role.INFLUENCER:
        return None
    return viewer.influencer_id or 0


def sees_whole_campaigns(viewer: Viewer) -> bool:
    """Whether the viewer may read what concerns every partnership of a campaign and cannot be
    split into shares (its budget, the plan partnerships inherit): not an INFLUENCER key."""
    return share_of(viewer) is None
