"""What the demo seeder's steps share: the session, the random generator, the clock, the rows made
so far and the result handed back to the caller."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from api.models import (
    Brand,
    Campaign,
    DiscountCode,
    Organization,
    Partnership,
    SocialAccount,
    TrackedLink,
)
from api.models.enums import Role

if TYPE_CHECKING:
    from api.demo.catalog import CampaignSpec
    from api.demo.influencers import InfluencerPlan

Progress = Callable[[str, int, int], None]


@dataclass
class DemoResult:
    """What `seed()` created: ids to find it again and the API keys, shown once, in clear."""

    organization_ids: list[int] = field(default_factory=list)
    organization_names: dict[int, str] = field(default_factory=dict)
    # organization name -> role -> clear-text key (the INFLUENCER key is bound to one influencer).
    keys: dict[str, dict[Role, str]] = field(default_factory=dict)
    # organization name -> role -> (e-mail, clear-text password) of its demo user.
    users: dict[str, dict[Role, tuple[str, str]]] = field(default_factory=dict)
    # organization id -> the influencer its INFLUENCER key is bound to.
    key_influencer_ids: dict[int, int] = field(default_factory=dict)
    # Influencers with planted fake-audience signals: audience quality should rank them last.
    planted_fakes: list[int] = field(default_factory=list)
    # A tracked-link code of an active partnership, to try the tracker with (`GET /c/{code}`).
    demo_link_code: str | None = None
    # The planted risky creator's partnership and its leaked discount code (`orders`).
    risky_partnership_id: int | None = None
    leaked_code_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class PartnershipRow:
    """A partnership with what it was made from: its campaign's spec and row, the influencer."""

    spec: CampaignSpec
    campaign: Campaign
    partnership: Partnership
    influencer: InfluencerPlan


@dataclass
class DemoLink:
    """A live partnership's tracked link and discount code: where the history's traffic goes."""

    row: PartnershipRow
    link: TrackedLink
    code: DiscountCode


@dataclass
class Seeding:
    session: Session
    progress: Progress
    rng: random.Random
    # The demo's "now", on the hour: every timestamp of the data set is placed relative to it.
    now: datetime
    result: DemoResult = field(default_factory=DemoResult)
    # Draws the random part of event ids (`traffic.event_id`); seeded by the history.
    ids: random.Random = field(default_factory=random.Random)
    orgs: list[Organization] = field(default_factory=list)
    brands: list[Brand] = field(default_factory=list)
    influencers: list[InfluencerPlan] = field(default_factory=list)
    accounts: dict[int, list[SocialAccount]] = field(default_factory=dict)  # by influencer id
    campaigns: list[tuple[CampaignSpec, Campaign]] = field(default_factory=list)
    partnerships: list[PartnershipRow] = field(default_factory=list)
    links: list[DemoLink] = field(default_factory=list)
    # By organization and role, its demo key as the mutations name who did something
    # (`Viewer.label`): content reviews are the MANAGER's, order reviews the FINANCE key's.
    labels: dict[int, dict[Role, str]] = field(default_factory=dict)

    def count(self, name: str, n: int) -> None:
        self.result.counts[name] = self.result.counts.get(name, 0) + n

    def days(self, days: float) -> datetime:
        return self.now + timedelta(days=days)
