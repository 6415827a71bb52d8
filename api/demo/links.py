"""Demo tracked links and discount codes, for a few live partnerships of every live campaign.

Codes are made as the API makes them: a link's code is `api.tracking.codes.link_code` of its id
(the same hashids), a discount code the first free `default_code_candidates` of the creator's
largest account's handle (as `issueDiscountCode` without a code).
"""

from __future__ import annotations

from datetime import timedelta

from api.demo.catalog import slug
from api.demo.state import DemoLink, Seeding
from api.models import DiscountCode, TrackedLink
from api.settings import get_settings
from api.tracking.codes import default_code_candidates, link_code

LINKS_PER_CAMPAIGN = 4  # live partnerships of each live campaign with a link and a code
PERCENT_OFF_BPS = 1_500


def seed_links(state: Seeding) -> None:
    rng = state.rng
    settings = get_settings()
    chosen = []
    for _spec, campaign in state.campaigns:  # some in every live campaign
        live = [
            row
            for row in state.partnerships
            if row.campaign is campaign
            and row.partnership.status == "ACTIVE"
            and row.spec.status == "ACTIVE"
        ]
        chosen += rng.sample(live, k=min(LINKS_PER_CAMPAIGN, len(live)))
    chosen.sort(key=lambda row: row.partnership.id)  # keeps ids, and so codes, in a stable order
    state.progress("links", 0, len(chosen))
    used: set[tuple[int, str]] = set()
    for row in chosen:
        campaign, partnership = row.campaign, row.partnership
        accounts = state.accounts[partnership.influencer_id]
        account = accounts[0]
        largest = max(accounts, key=lambda a: (a.followers, -a.id))
        assert partnership.responded_at is not None and campaign.starts_at is not None
        # Issued once the deal was on, and not before the campaign was set up.
        issued = min(
            max(partnership.responded_at, campaign.starts_at - timedelta(days=3))
            + timedelta(hours=rng.randint(1, 30)),
            state.now - timedelta(hours=1),
        )
        link = TrackedLink(
            organization_id=campaign.organization_id,
            brand_id=campaign.brand_id,
            campaign_id=campaign.id,
            partnership_id=partnership.id,
            destination_url=f"{campaign.landing_url}/{rng.choice(['shop', 'try', 'new'])}",
            utm_source=account.platform.value.lower(),
            utm_medium="influencer",
            utm_campaign=slug(campaign.name),
            utm_content=account.handle_key,
            created_at=issued,
            updated_at=issued,
        )
        code = next(
            c
            for c in default_code_candidates(largest.handle, PERCENT_OFF_BPS)
            if (campaign.brand_id, c) not in used
        )
        used.add((campaign.brand_id, code))
        discount = DiscountCode(
            organization_id=campaign.organization_id,
            brand_id=campaign.brand_id,
            campaign_id=campaign.id,
            partnership_id=partnership.id,
            code=code,
            percent_off_bps=PERCENT_OFF_BPS,
            created_at=issued,
            updated_at=issued,
        )
        state.links.append(DemoLink(row, link, discount))
    state.session.add_all(
        [x for demo_link in state.links for x in (demo_link.link, demo_link.code)]
    )
    state.session.flush()  # assigns the ids the link codes are made from
    for demo_link in state.links:
        demo_link.link.code = link_code(
            demo_link.link.id, settings.hashids_salt, settings.hashids_min_length
        )
    state.session.flush()
    # The demo link: one of the launch campaign (no hold), else the first one.
    demo = next((d for d in state.links if d.row.spec.hold_days == 0), None)
    demo = demo or (state.links[0] if state.links else None)
    state.result.demo_link_code = demo.link.code if demo else None
    state.count("tracked_links", len(state.links))
    state.count("discount_codes", len(state.links))
    state.progress("links", len(chosen), len(chosen))
