"""Test factories: rows made directly through the ORM, committed, with sensible defaults."""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from sqlalchemy.orm import Session

from api.accounts import passwords
from api.accounts.keys import create_key
from api.domain.commission import Commission, CommissionKind, CompensationPlan
from api.graphql.relay import global_id
from api.influencers.stats import refresh_influencer_stats
from api.models import (
    Brand,
    Campaign,
    Contract,
    Deliverable,
    Influencer,
    Membership,
    Organization,
    Partnership,
    SocialAccount,
    User,
)
from api.models.enums import Role

_seq = itertools.count(1)


def gid(row: Any) -> str:
    """The Relay global id of a model row (type name = model class name)."""
    return global_id(type(row).__name__, row.id)


class Factory:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _save(self, row: Any) -> Any:
        self.s.add(row)
        self.s.commit()
        return row

    def org(self, name: str = "Org") -> Organization:
        return self._save(Organization(name=f"{name} {next(_seq)}"))

    def key(self, org: Organization, role: Role | str = Role.ADMIN, influencer: Any = None) -> str:
        _, clear = create_key(
            self.s,
            organization_id=org.id,
            role=Role(role),
            influencer_id=influencer.id if influencer else None,
        )
        self.s.commit()
        return clear

    def user(
        self, org: Organization, role: Role | str = Role.ADMIN, influencer: Any = None
    ) -> tuple[str, str]:
        """A person of `org` with a password, who can sign in: (e-mail, password)."""
        email = f"{Role(role).value.lower()}.{next(_seq)}.{secrets.token_hex(3)}@Example.com"
        password = secrets.token_urlsafe(12)
        user = self._save(
            User(
                email=email,
                email_key=email.casefold(),
                name=f"{Role(role).value.title()} Person",
                password_hash=passwords.hash_password(password),
            )
        )
        self._save(
            Membership(
                user_id=user.id,
                organization_id=org.id,
                role=Role(role),
                influencer_id=influencer.id if influencer else None,
            )
        )
        return email, password

    def brand(self, org: Organization, **kw: Any) -> Brand:
        kw.setdefault("name", f"Brand {next(_seq)}")
        kw.setdefault("default_currency", "EUR")
        kw.setdefault("website", "https://shop.example.com")
        return self._save(Brand(organization_id=org.id, **kw))

    def influencer(self, org: Organization, accounts: int = 1, **kw: Any) -> Influencer:
        n = next(_seq)
        kw.setdefault("name", f"Creator {n}")
        kw.setdefault("email", f"creator{n}@example.com")
        kw.setdefault("country", "FR")
        kw.setdefault("languages", ["fr", "en"])
        kw.setdefault("niches", ["beauty"])
        row = self._save(Influencer(organization_id=org.id, **kw))
        for i in range(accounts):
            self.account(row, handle=f"creator{n}_{i}", followers=20_000 * (i + 1))
        return row

    def account(self, influencer: Influencer, **kw: Any) -> SocialAccount:
        kw.setdefault("platform", "INSTAGRAM")
        kw.setdefault("handle", f"handle{next(_seq)}")
        kw.setdefault("followers", 20_000)
        kw.setdefault("following", 300)
        kw.setdefault("posts", 250)
        kw.setdefault("avg_likes", 600)
        kw.setdefault("avg_comments", 20)
        row = SocialAccount(
            organization_id=influencer.organization_id,
            influencer_id=influencer.id,
            handle_key=kw["handle"].lower(),
            **kw,
        )
        self._save(row)
        refresh_influencer_stats(self.s, influencer)
        self.s.commit()
        return row

    def campaign(self, brand: Brand, **kw: Any) -> Campaign:
        kw.setdefault("name", f"Campaign {next(_seq)}")
        kw.setdefault("objective", "CONVERSIONS")
        kw.setdefault("status", "ACTIVE")
        kw.setdefault("currency", brand.default_currency)
        kw.setdefault("landing_url", "https://shop.example.com/spring")
        kw.setdefault("jurisdictions", ["US", "UK"])
        kw.setdefault(
            "compensation",
            CompensationPlan(
                currency=kw["currency"],
                commission=Commission(kind=CommissionKind.PERCENT, bps=1000),
            ).to_dict(),
        )
        return self._save(Campaign(organization_id=brand.organization_id, brand_id=brand.id, **kw))

    def partnership(self, campaign: Campaign, influencer: Influencer, **kw: Any) -> Partnership:
        kw.setdefault("status", "ACTIVE")
        kw.setdefault("connection", "PAID")
        return self._save(
            Partnership(
                organization_id=campaign.organization_id,
                campaign_id=campaign.id,
                influencer_id=influencer.id,
                **kw,
            )
        )

    def contract(self, partnership: Partnership, **kw: Any) -> Contract:
        kw.setdefault("version", 1)
        kw.setdefault("usage_rights", "ORGANIC")
        return self._save(
            Contract(
                organization_id=partnership.organization_id, partnership_id=partnership.id, **kw
            )
        )

    def deliverable(self, partnership: Partnership, **kw: Any) -> Deliverable:
        kw.setdefault("platform", "INSTAGRAM")
        kw.setdefault("format", "POST")
        kw.setdefault("title", "Launch post")
        kw.setdefault("status", "DRAFT")
        return self._save(
            Deliverable(
                organization_id=partnership.organization_id, partnership_id=partnership.id, **kw
            )
        )

    def world(self) -> dict[str, Any]:
        """An organization with a brand, an active campaign, an influencer in a partnership and a
        key per role: what most API tests start from."""
        org = self.org()
        brand = self.brand(org)
        campaign = self.campaign(brand)
        influencer = self.influencer(org)
        partnership = self.partnership(campaign, influencer)
        keys = {r.value: self.key(org, r) for r in (Role.ADMIN, Role.MANAGER, Role.FINANCE)}
        keys["INFLUENCER"] = self.key(org, Role.INFLUENCER, influencer)
        return {
            "org": org,
            "brand": brand,
            "campaign": campaign,
            "influencer": influencer,
            "partnership": partnership,
            "keys": keys,
        }
