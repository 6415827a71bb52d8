"""Demo organizations, their brands, their API keys and their users (one of each per role)."""

from __future__ import annotations

import secrets

from api.accounts import passwords
from api.accounts.keys import Viewer, create_key
from api.demo.catalog import BRANDS, ORGS
from api.demo.state import Seeding
from api.models import Brand, Membership, Organization, User
from api.models.enums import Role
from api.tracking import shop_connections
from tracker.shop_record import SHOPIFY

ROLES = (Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.INFLUENCER)


def seed_organizations(state: Seeding) -> None:
    state.progress("organizations", 0, len(ORGS))
    state.orgs = [Organization(name=spec.name) for spec in ORGS]
    state.session.add_all(state.orgs)
    state.session.flush()
    state.brands = [
        Brand(
            organization_id=state.orgs[b.org].id,
            name=b.name,
            website=b.website,
            default_currency=b.currency,
        )
        for b in BRANDS
    ]
    state.session.add_all(state.brands)
    state.session.flush()
    for org in state.orgs:
        state.result.organization_ids.append(org.id)
        state.result.organization_names[org.id] = org.name
    # Each brand's shop is connected (the secret is the demo's: a real one comes from Shopify).
    for index, brand in enumerate(state.brands):
        slug = "".join(ch for ch in brand.name.lower() if ch.isalnum()) or f"brand{index}"
        shop_connections.connect(
            state.session,
            organization_id=brand.organization_id,
            brand_id=brand.id,
            kind=SHOPIFY,
            shop_domain=f"{slug}.myshopify.com",
            secret=f"shpss_demo_{slug}_{index:02d}_webhook_secret",
            now=state.now,
        )
    state.count("organizations", len(state.orgs))
    state.count("brands", len(state.brands))
    state.progress("organizations", len(ORGS), len(ORGS))


def seed_keys(state: Seeding) -> None:
    roles = ROLES
    total = len(state.orgs) * len(roles)
    state.progress("api keys", 0, total)
    linked = {demo_link.link.partnership_id for demo_link in state.links}
    done = 0
    for org in state.orgs:
        # The influencer key belongs to a creator with live work: the most partnerships,
        # preferring one with a tracked link.
        per_influencer: dict[int, int] = {}
        with_link: set[int] = set()
        for row in state.partnerships:
            partnership = row.partnership
            if partnership.organization_id != org.id or row.influencer.fake:
                continue
            if partnership.status in ("ACTIVE", "ACCEPTED", "COMPLETED"):
                per_influencer[partnership.influencer_id] = (
                    per_influencer.get(partnership.influencer_id, 0) + 1
                )
                if partnership.id in linked:
                    with_link.add(partnership.influencer_id)
        influencer_id = max(per_influencer, key=lambda i: (i in with_link, per_influencer[i], -i))
        state.result.keys[org.name] = {}
        for role in roles:
            bound = influencer_id if role is Role.INFLUENCER else None
            key, clear = create_key(
                state.session,
                organization_id=org.id,
                role=role,
                influencer_id=bound,
                name=f"demo {role.value.lower()}",
            )
            viewer = Viewer(key.id, org.id, role, prefix=key.prefix, name=key.name)
            state.labels.setdefault(org.id, {})[role] = viewer.label
            state.result.keys[org.name][role] = clear
            done += 1
            state.progress("api keys", done, total)
        state.result.key_influencer_ids[org.id] = influencer_id
        seed_users(state, org, influencer_id)
    state.count("api_keys", done)
    state.count("users", sum(len(u) for u in state.result.users.values()))


def seed_users(state: Seeding, org: Organization, influencer_id: int) -> None:
    """A user per role; the INFLUENCER user is the influencer the INFLUENCER key is bound to.
    They share one random password per organization (shown once, as the keys are): an argon2
    hash costs most of a second, and the seed is for trying Vouch out."""
    domain = "".join(c for c in org.name.split()[0].lower() if c.isalnum()) + ".example"
    password = secrets.token_urlsafe(9)
    password_hash = passwords.hash_password(password)
    state.result.users[org.name] = {}
    for role in ROLES:
        email = f"{role.value.lower()}@{domain}"
        user = User(
            email=email,
            email_key=email,
            name=f"Demo {role.value.title()}",
            password_hash=password_hash,
        )
        state.session.add(user)
        state.session.flush()
        state.session.add(
            Membership(
                user_id=user.id,
                organization_id=org.id,
                role=role,
                influencer_id=influencer_id if role is Role.INFLUENCER else None,
            )
        )
        state.result.users[org.name][role] = (email, password)
    state.session.flush()
