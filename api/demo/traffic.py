"""The demo history's clicks: shoppers (and a few bots) following the tracked links, as the
tracker logs them (`tracker.events.ClickEvent`).

Each live link gets a daily rate from its creator's audience, busier at weekends and in its
shoppers' evenings (the brand's `utc_offset`), with a burst after each of the partnership's
posts went live that fades over a few days. A visitor is an (IP, user agent) pair: a repeat on
the same code within the tracker's dedupe window reuses the first click's id (unique=0), link
previewers are flagged by the tracker's own `is_bot`, and a few visits hit a mistyped code
(orphans). Everything is drawn from the seeded generator: ids included, so the same seed gives
the same events.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from api.demo.catalog import BRANDS
from api.demo.state import DemoLink, Seeding
from api.settings import get_settings
from tracker.bots import is_bot
from tracker.clientip import IpHasher, truncate_ip
from tracker.events import KIND_CLICK, KIND_ORPHAN, ClickEvent, new_id

DAY_MS = 86_400_000
# Shoppers' hours (local time) and days (Monday first): evenings and weekends are the busiest.
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 1.5, 3, 5, 6, 5, 5, 6, 8, 7, 6, 6, 7, 9, 12, 14, 14, 12, 8, 4)
WEEKDAY_WEIGHTS = (0.9, 0.92, 0.95, 1.0, 1.05, 1.2, 1.25)
_HOURS = tuple(itertools.accumulate(HOUR_WEIGHTS))
POST_BURST = 4.0  # a post's day brings this many extra days' worth of clicks, fading
BOT_SHARE = 0.04
ORPHAN_SHARE = 0.004
RETURNING_SHARE = 0.18  # visits by someone who clicked this link before
DOUBLE_TAP_SHARE = 0.08  # visits followed by a second tap within minutes (a repeat)

# In-app browsers of the platforms the links are shared on, and a few plain browsers.
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 Instagram 334.0.4.32.98 (iPhone15,3; iOS 17_5; en_GB; en; scale=3.00)",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36 Instagram "
    "334.0.0.42.95 Android",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 musical_ly_34.5.0 JsSdk/2.0 NetType/WIFI Channel/App Store",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.179 Mobile Safari/537.36 trill_340503 AppName/musical_ly",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.6422.164 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
)
BOT_AGENTS = (
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp/2.24.10.79 A",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot (like TwitterBot)",
)
REFERERS = {
    "instagram": "https://l.instagram.com/",
    "tiktok": "https://www.tiktok.com/",
    "youtube": "https://www.youtube.com/",
    "x": "https://t.co/",
}
# Crockford base32, the alphabet of `tracker.events.new_id`.
_ID_CHARS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def event_id(state: Seeding, ms: int) -> str:
    """An id in the tracker's layout (`new_id`: the millisecond then 16 random characters), its
    random part drawn from `state.ids` so that the same seed gives the same ids."""
    return new_id(ms)[:10] + "".join(state.ids.choices(_ID_CHARS, k=16))


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:  # normal approximation: Knuth's loop gets slow
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass(frozen=True, slots=True)
class Visitor:
    ip: str
    user_agent: str
    customer_id: str  # who they are at the shop, if they buy


@dataclass
class LinkTraffic:
    """What a link's shoppers did: its click events in time order, and the visits that can lead
    to an order (first clicks of people, not repeats or bots) with who made them."""

    link: DemoLink
    events: list[ClickEvent] = field(default_factory=list)
    shoppers: list[tuple[ClickEvent, Visitor]] = field(default_factory=list)


# Shoppers' networks by country, so that breakdowns by country show data: /16s of a cloud
# provider's regional data centres (Frankfurt, London, Paris, Stockholm, Ireland) and MaxMind's
# US test network, never a person's address; only the /24 and a keyed hash are kept anyway.
# The weights are those of a European shop.
COUNTRY_NETWORKS = (
    ("18.184", 35),  # DE
    ("35.176", 25),  # GB
    ("52.47", 15),  # FR
    ("216.160", 10),  # US
    ("13.53", 5),  # SE
    ("3.248", 5),  # IE
)


def _ip(rng: random.Random) -> str:
    """A shopper's address: mostly one of `COUNTRY_NETWORKS`; one in ten a documentation
    address (RFC 5737 / RFC 3849, mostly IPv6 as on mobile networks) whose country is unknown."""
    if rng.random() < 0.9:
        [prefix] = rng.choices(
            [n for n, _ in COUNTRY_NETWORKS], weights=[w for _, w in COUNTRY_NETWORKS]
        )
        third = rng.randrange(256) if prefix != "216.160" else 83  # MaxMind's: 216.160.83.0/24
        return f"{prefix}.{third}.{rng.randint(1, 254)}"
    if rng.random() < 0.6:
        site, subnet, host = (
            rng.randrange(1 << 16),
            rng.randrange(1 << 16),
            rng.randrange(1, 1 << 16),
        )
        return f"2001:db8:{site:x}:{subnet:x}::{host:x}"
    net = rng.choice(("192.0.2", "198.51.100", "203.0.113"))
    return f"{net}.{rng.randint(1, 254)}"


def customer(rng: random.Random) -> str:
    """A shop's customer id."""
    return f"cus_{rng.randrange(10**7, 10**8)}"


def _visitor(rng: random.Random) -> Visitor:
    return Visitor(_ip(rng), rng.choice(USER_AGENTS), customer(rng))


def _daily_rate(demo_link: DemoLink, state: Seeding) -> float:
    """Clicks per ordinary day: grows with the square root of the creator's largest audience."""
    followers = max(a.followers for a in state.accounts[demo_link.row.partnership.influencer_id])
    base = min(max(math.sqrt(followers) * 0.028, 1.2), 20.0)
    return base * state.rng.lognormvariate(0, 0.35)


def link_traffic(state: Seeding, demo_link: DemoLink, posts: list[datetime]) -> LinkTraffic:
    """The link's clicks from when it was issued (or its campaign started) until now."""
    rng = state.rng
    settings = get_settings().tracker
    hasher = IpHasher(settings.ip_hash_key.encode())
    window_ms = int(settings.dedupe_window_seconds * 1000)
    link, campaign = demo_link.link, demo_link.row.campaign
    brand = BRANDS[demo_link.row.spec.brand]
    assert campaign.starts_at is not None and campaign.ends_at is not None and link.code
    start = max(link.created_at, campaign.starts_at)
    end = min(campaign.ends_at, state.now)
    rate = _daily_rate(demo_link, state)
    offset = timedelta(hours=brand.utc_offset)
    referer = REFERERS.get(link.utm_source or "", "")
    traffic = LinkTraffic(demo_link)
    visits: list[tuple[int, Visitor]] = []
    known: list[Visitor] = []
    day = (start + offset).replace(hour=0, minute=0, second=0, microsecond=0)  # local midnight
    while day - offset < end:
        since = ((day.date() - (post + offset).date()).days for post in posts)
        burst = sum(POST_BURST * math.exp(-d / 1.5) for d in since if 0 <= d < 7)
        mean = rate * WEEKDAY_WEIGHTS[day.weekday()] * (1 + burst)
        for _ in range(poisson(rng, mean)):
            hour = bisect.bisect(_HOURS, rng.random() * _HOURS[-1])
            local = day + timedelta(hours=hour, seconds=rng.random() * 3600)
            moment = local - offset
            if not start <= moment < end:
                continue
            if known and rng.random() < RETURNING_SHARE:
                visitor = rng.choice(known)
            else:
                visitor = _visitor(rng)
                known.append(visitor)
            ms = to_ms(moment)
            visits.append((ms, visitor))
            if rng.random() < DOUBLE_TAP_SHARE:
                visits.append((ms + rng.randint(2_000, 600_000), visitor))
        day += timedelta(days=1)
    # Bots unfurl the link where it is shared; a few shoppers mistype the code.
    for _ in range(round(len(visits) * BOT_SHARE)):
        ms = rng.randint(to_ms(start), to_ms(end) - 1)
        visits.append((ms, Visitor(_ip(rng), rng.choice(BOT_AGENTS), "")))
    visits.sort(key=lambda v: v[0])
    first_visit: dict[Visitor, tuple[int, str]] = {}  # the tracker's dedupe window
    bots: dict[str, bool] = {}  # verdicts by user agent, remembered as the tracker does
    for ms, visitor in visits:
        if ms >= to_ms(end):
            continue
        id_ = event_id(state, ms)
        bot = bots.get(visitor.user_agent)
        if bot is None:
            bot = bots[visitor.user_agent] = is_bot(visitor.user_agent)
        click_id, unique = id_, not bot
        if not bot:
            first = first_visit.get(visitor)
            if first is not None and ms - first[0] < window_ms:
                click_id, unique = first[1], False
            else:
                first_visit[visitor] = (ms, id_)
        event = ClickEvent(
            kind=KIND_CLICK,
            event_id=id_,
            click_id=click_id,
            code=link.code,
            ts=ms,
            ip=truncate_ip(visitor.ip),
            ip_hash=hasher(visitor.ip),
            user_agent=visitor.user_agent,
            referer=referer if rng.random() < 0.5 else "",
            bot=bot,
            unique=unique,
            link_id=link.id,
            partnership_id=link.partnership_id,
            campaign_id=link.campaign_id,
            brand_id=link.brand_id,
            organization_id=link.organization_id,
        )
        traffic.events.append(event)
        if unique:
            traffic.shoppers.append((event, visitor))
    return traffic


def orphan_visits(state: Seeding, traffic: list[LinkTraffic]) -> list[ClickEvent]:
    """Visits to mistyped codes (a character dropped): the tracker answers 404 and logs them."""
    rng = state.rng
    hasher = IpHasher(get_settings().tracker.ip_hash_key.encode())
    orphans = []
    for link_traffic_ in traffic:
        for event in link_traffic_.events:
            if event.bot or rng.random() >= ORPHAN_SHARE:
                continue
            cut = rng.randrange(len(event.code))
            ip = _ip(rng)
            ms = event.ts - rng.randint(5_000, 60_000)
            orphans.append(
                ClickEvent(
                    kind=KIND_ORPHAN,
                    event_id=event_id(state, ms),
                    click_id="",
                    code=event.code[:cut] + event.code[cut + 1 :],
                    ts=ms,
                    ip=truncate_ip(ip),
                    ip_hash=hasher(ip),
                    user_agent=event.user_agent,
                    bot=False,
                    unique=False,
                )
            )
    return orphans
