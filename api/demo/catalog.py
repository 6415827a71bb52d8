"""Demo data: two organizations with their brands, influencers, campaigns and partnerships.

`seed()` fills an empty database with a realistic, deterministic data set (the same `rng_seed`
gives the same names, handles, numbers and statuses; only timestamps move with the clock and API
keys are random). `make run` calls it when `is_empty()`; the CLI prints the demo keys it returns.
It flushes but does not commit: the caller owns the transaction (`api.db.session_scope`).

The numbers follow how the industry measures creators (see `api.domain.metrics`): followers drawn
from a log-normal so every tier from nano to mega appears, engagement falling with audience size
and per platform (Instagram ~1-5 %, TikTok ~3-9 %, YouTube by views). A few influencers with fake
audiences are planted for the audience-quality feature and listed in `DemoResult.planted_fakes`.
"""

from __future__ import annotations

import math
import random
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hashids import Hashids
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.keys import create_key
from api.content import review
from api.db import utcnow
from api.domain.commission import (
    Bonus,
    Commission,
    CommissionKind,
    CompensationPlan,
    GiftedProduct,
    PlanOverride,
)
from api.domain.commission import Tier as CommissionTier
from api.domain.metrics import (
    DEFAULT_THRESHOLDS,
    Tier,
    influencer_tier,
)
from api.influencers.audience import refresh_scores
from api.influencers.stats import influencer_stats
from api.models import (
    Brand,
    Campaign,
    ContentSubmission,
    Contract,
    Deliverable,
    DiscountCode,
    Influencer,
    MetricSnapshot,
    Organization,
    Partnership,
    SocialAccount,
    TrackedLink,
)
from api.models.enums import (
    CampaignObjective,
    ContentFormat,
    MaterialConnection,
    Platform,
    PlatformLabel,
    Role,
    UsageRights,
)
from api.settings import get_settings

Progress = Callable[[str, int, int], None]

INFLUENCER_BATCH = 50  # influencers (with their accounts and snapshots) per flush


# --------------------------------------------------------------------------------------------
# Public API


@dataclass
class DemoResult:
    """What `seed()` created: ids to find it again and the API keys, shown once, in clear."""

    organization_ids: list[int] = field(default_factory=list)
    organization_names: dict[int, str] = field(default_factory=dict)
    # organization name -> role -> clear-text key (the INFLUENCER key is bound to one influencer).
    keys: dict[str, dict[Role, str]] = field(default_factory=dict)
    # organization id -> the influencer its INFLUENCER key is bound to.
    key_influencer_ids: dict[int, int] = field(default_factory=dict)
    # Influencers with planted fake-audience signals: audience quality should rank them last.
    planted_fakes: list[int] = field(default_factory=list)
    # A tracked-link code of an active partnership, to try the tracker with (`GET /c/{code}`).
    demo_link_code: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def is_empty(session: Session) -> bool:
    """True when there is no organization yet: the database has never been seeded or used."""
    return session.scalar(select(Organization.id).limit(1)) is None


def print_progress(phase: str, done: int, total: int) -> None:
    """One progress line on stderr, redrawn in place: `[#########.....] influencers 120/300`."""
    width = 30
    filled = width if total <= 0 else min(width, done * width // total)
    line = f"[{'#' * filled}{'.' * (width - filled)}] {phase} {done}/{total}"
    sys.stderr.write("\r" + line.ljust(72))
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def seed(session: Session, *, progress: Progress | None = None, rng_seed: int = 7) -> DemoResult:
    """Creates the demo data set in `session` (flushed, not committed) and returns its keys."""
    result = _Seeder(session, progress or (lambda _phase, _done, _total: None), rng_seed).run()
    # Scores compare each account with the organization's roster: computed once it is complete.
    for organization_id in result.organization_ids:
        refresh_scores(session, organization_id)
    session.flush()
    return result


# --------------------------------------------------------------------------------------------
# Static material: organizations, brands, campaigns, people


@dataclass(frozen=True)
class _OrgSpec:
    name: str
    influencers: int
    countries: dict[str, float]
    niches: dict[str, float]


@dataclass(frozen=True)
class _BrandSpec:
    org: int
    name: str
    website: str
    currency: str
    mention: str
    category: str


@dataclass(frozen=True)
class _CampaignSpec:
    brand: int
    name: str
    status: str
    objective: CampaignObjective
    path: str
    product: str
    brief: str
    jurisdictions: list[str]
    hashtags: list[str]
    niches: frozenset[str]
    partnerships: int
    connection: MaterialConnection
    plan: CompensationPlan
    budget: int
    starts_in_days: int
    runs_days: int
    attribution_window_days: int = 30
    hold_days: int = 30
    required_labels: list[str] = field(default_factory=list)


_ORGS = [
    _OrgSpec(
        "Northwind Beauty Group",
        220,
        {"GB": 20, "FR": 15, "DE": 15, "US": 14, "IE": 9, "ES": 10, "IT": 10, "NL": 7},
        {
            "beauty": 24,
            "skincare": 22,
            "haircare": 12,
            "fashion": 12,
            "fitness": 8,
            "parenting": 7,
            "food": 5,
            "travel": 5,
            "lifestyle": 5,
        },
    ),
    _OrgSpec(
        "Lumen Outdoor Co.",
        80,
        {"US": 55, "CA": 15, "GB": 14, "IE": 5, "DE": 6, "NL": 5},
        {
            "outdoor": 30,
            "travel": 18,
            "fitness": 18,
            "tech": 9,
            "gaming": 5,
            "food": 8,
            "parenting": 6,
            "fashion": 6,
        },
    ),
]

_BRANDS = [
    _BrandSpec(0, "Glowly", "https://www.glowly.example", "EUR", "@glowly", "skincare"),
    _BrandSpec(
        0, "Tress & Co.", "https://www.tressandco.example", "GBP", "@tressandco", "haircare"
    ),
    _BrandSpec(1, "Lumen Trail", "https://www.lumentrail.example", "USD", "@lumentrail", "outdoor"),
]


def _plan(
    currency: str,
    *,
    flat_fee: int | None = None,
    kind: CommissionKind = CommissionKind.NONE,
    bps: int | None = None,
    flat: int | None = None,
    tiers: Sequence[tuple[int, int]] = (),
    gifted: tuple[str, int] | None = None,
    bonus: tuple[int, str] | None = None,
) -> CompensationPlan:
    """A campaign's compensation plan (amounts in minor units of `currency`)."""
    return CompensationPlan(
        currency=currency,
        flat_fee_per_deliverable_minor=flat_fee,
        commission=Commission(
            kind=kind,
            bps=bps,
            flat_minor=flat,
            tiers=tuple(CommissionTier(m, b) for m, b in tiers),
        ),
        gifted_product=GiftedProduct(gifted[0], gifted[1]) if gifted else None,
        bonus=Bonus(bonus[0], bonus[1]) if bonus else None,
    )


_PERCENT = CommissionKind.PERCENT
_TIERED = CommissionKind.TIERED
_PER_SALE = CommissionKind.FLAT_PER_CONVERSION


_BEAUTY = frozenset({"beauty", "skincare", "lifestyle", "fashion"})
_HAIR = frozenset({"haircare", "beauty", "fashion", "lifestyle"})
_OUTDOOR = frozenset({"outdoor", "travel", "fitness"})
_P = MaterialConnection

# 12 campaigns, 150 partnerships: ACTIVE x5, PAUSED x2, COMPLETED x2, DRAFT x2, CANCELLED x1.
# fmt: off
_CAMPAIGNS = [
    _CampaignSpec(
        0, "Glowly Vitamin C Serum Launch", "ACTIVE", CampaignObjective.CONVERSIONS,
        "vitamin-c-serum", "Vitamin C Brightening Serum",
        "Show your morning routine with the new serum; link in bio and your code in every post.",
        ["FR", "DE", "EU"], ["GlowlyVitaminC"], _BEAUTY, 22, _P.PAID,
        _plan("EUR", flat_fee=30_000, kind=_PERCENT, bps=1_000), 4_500_000, -40, 120,
        hold_days=0,  # no hold: commissions are payable at once, for the demo payout
    ),
    _CampaignSpec(
        0, "Glowly Always-On Affiliates", "ACTIVE", CampaignObjective.CONVERSIONS,
        "bestsellers", "Glowly bestsellers",
        "Evergreen affiliate programme: share your link or code whenever Glowly fits your content.",
        ["IE", "UK", "EU"], ["GlowlyPartner"], _BEAUTY, 20, _P.AFFILIATE,
        _plan("EUR", kind=_TIERED, tiers=[(0, 800), (200_000, 1_200), (1_000_000, 1_500)]),
        2_000_000, -200, 365,
    ),
    _CampaignSpec(
        0, "Glowly Night Repair Seeding", "COMPLETED", CampaignObjective.CONTENT,
        "night-repair", "Night Repair Ritual set",
        "Gifted seeding: try the ritual for two weeks and share an honest review.",
        ["FR", "DE", "EU"], ["GlowlyNightRepair"], _BEAUTY, 12, _P.GIFTED,
        _plan("EUR", gifted=("Night Repair Ritual set", 8_900)), 500_000, -170, 60,
        required_labels=["Images retouchées"],
    ),
    _CampaignSpec(
        0, "Glowly Holiday Gift Sets", "DRAFT", CampaignObjective.AWARENESS,
        "holiday-gift-sets", "Holiday Gift Sets",
        "Unboxing of the three holiday sets; Reels first, Stories with the link sticker.",
        ["FR", "DE", "IE", "EU"], ["GlowlyHoliday"], _BEAUTY, 6, _P.PAID,
        _plan("EUR", flat_fee=50_000, bonus=(25_000, "Reel above 100,000 views within 30 days")),
        6_000_000, 25, 45,
    ),
    _CampaignSpec(
        1, "Tress & Co. Curl Cream Launch", "ACTIVE", CampaignObjective.CONVERSIONS,
        "curl-cream", "Define & Hold Curl Cream",
        "Wash-day routine featuring the curl cream; before/after allowed, no filters on hair.",
        ["IE", "UK"], ["TressCurls"], _HAIR, 20, _P.PAID,
        _plan("GBP", flat_fee=25_000, kind=_PER_SALE, flat=500), 3_000_000, -25, 90,
    ),
    _CampaignSpec(
        1, "Tress & Co. Salon at Home", "PAUSED", CampaignObjective.ENGAGEMENT,
        "salon-at-home", "Salon at Home kit",
        "Tutorial content: a salon blow-dry at home with the kit. Paused while stock is restored.",
        ["UK"], ["TressSalonAtHome"], _HAIR, 10, _P.PAID,
        _plan("GBP", flat_fee=40_000, kind=_PERCENT, bps=800), 2_500_000, -50, 100,
    ),
    _CampaignSpec(
        1, "Tress & Co. Spring Refresh", "COMPLETED", CampaignObjective.AWARENESS,
        "spring-refresh", "Spring Refresh range",
        "Spring hair refresh: one Reel or TikTok and three Stories.",
        ["UK", "IE"], ["TressSpring"], _HAIR, 10, _P.PAID,
        _plan("GBP", flat_fee=35_000), 1_500_000, -240, 60,
    ),
    _CampaignSpec(
        1, "Tress & Co. Frizz-Free Flash Sale", "CANCELLED", CampaignObjective.TRAFFIC,
        "frizz-free", "Frizz-Free Serum",
        "48-hour flash sale push. Cancelled: the sale moved to the brand's own channels.",
        ["UK"], ["TressFrizzFree"], _HAIR, 6, _P.PAID,
        _plan("GBP", flat_fee=15_000, kind=_PERCENT, bps=1_000), 800_000, -10, 20,
    ),
    _CampaignSpec(
        2, "Lumen Trail Summit Series Backpacks", "ACTIVE", CampaignObjective.CONVERSIONS,
        "summit-series", "Summit Series 45L backpack",
        "Take the Summit 45L on a real trip; show the fit, the pockets and the rain cover.",
        ["US", "UK"], ["LumenSummit"], _OUTDOOR, 18, _P.PAID,
        _plan("USD", flat_fee=40_000, kind=_PERCENT, bps=1_200), 5_000_000, -35, 120,
    ),
    _CampaignSpec(
        2, "Lumen Trail Weekend Deals", "ACTIVE", CampaignObjective.TRAFFIC,
        "weekend-deals", "weekend deals",
        "Affiliate push for the weekend deals page; short attribution window on purpose.",
        ["US"], ["LumenDeals"], _OUTDOOR | {"tech", "food"}, 12, _P.AFFILIATE,
        _plan("USD", kind=_PERCENT, bps=1_500), 1_000_000, -14, 60,
        attribution_window_days=7,
    ),
    _CampaignSpec(
        2, "Lumen Trail Ultralight Tent Reviews", "PAUSED", CampaignObjective.CONTENT,
        "ultralight-tent", "Ultralight 2P tent",
        "Long-form reviews after three nights out. Paused until the spring batch ships.",
        ["US"], ["LumenUltralight"], _OUTDOOR, 9, _P.PAID,
        _plan("USD", flat_fee=60_000, gifted=("Ultralight 2P tent", 34_900)), 2_000_000, -60, 150,
    ),
    _CampaignSpec(
        2, "Lumen Trail Winter Layers", "DRAFT", CampaignObjective.AWARENESS,
        "winter-layers", "Winter layering system",
        "Layering guide for cold hikes: base, mid and shell.",
        ["US", "UK"], ["LumenLayers"], _OUTDOOR, 5, _P.PAID,
        _plan("USD", flat_fee=45_000), 3_500_000, 30, 90,
    ),
]
# fmt: on


def _words(text: str) -> list[str]:
    return text.split()


_FIRST_NAMES = {
    "US": _words(
        "Maya Jordan Ava Ethan Chloe Tyler Madison Brooke Caleb Harper Logan Sierra Jasmine "
        "Marcus Kayla Riley Dakota Avery Hunter Skylar Mason Aaliyah Cody Emery"
    ),
    "CA": _words("Emma Liam Noah Charlotte Hailey Owen Brynn Declan Camille Elodie Xavier Sophie"),
    "GB": _words(
        "Olivia Amelia Isla Freya Harry Oliver Poppy Alfie Imogen Jess Priya Callum Ellie "
        "Georgia Rosie Tom"
    ),
    "IE": _words("Aoife Saoirse Niamh Ciara Cian Oisín Róisín Clodagh Darragh Sinéad Eabha Conor"),
    "DE": _words("Lena Hannah Mia Leonie Jonas Lukas Felix Sophie Finn Clara Jana Paula Nele"),
    "FR": _words("Chloé Camille Léa Manon Inès Hugo Lucas Théo Juliette Zoé Margaux Élodie"),
    "ES": _words("Lucía Sofía Martina Carmen Pablo Javier Alba Daniel Elena Nerea Irene Marta"),
    "IT": _words("Giulia Francesca Chiara Sofia Alessandro Matteo Aurora Beatrice Lorenzo Giorgia"),
    "NL": _words("Sanne Fleur Anouk Lotte Daan Sem Noor Jesse Eva Lieke Roos Bram"),
}
_LAST_NAMES = {
    "US": _words(
        "Lopez Carter Bennett Nguyen Brooks Rivera Patel Hayes Coleman Reed Kim Foster "
        "Morales Price Jenkins Sullivan Ortiz Ward"
    ),
    "CA": _words("Tremblay Gagnon Roy Campbell MacDonald Leblanc Wong Fraser Bouchard"),
    "GB": _words("Thompson Walker Hughes Evans Clarke Harrison Shaw Wright Ahmed Khan Lewis"),
    "IE": _words("Murphy Kelly O'Brien Byrne Walsh Ryan Doyle Brennan Lynch Quinn"),
    "DE": _words("Müller Schmidt Fischer Weber Becker Hoffmann Wagner Schäfer Koch Richter Wolf"),
    "FR": _words("Martin Bernard Dubois Lefèvre Moreau Laurent Girard Roux Fontaine Chevalier"),
    "ES": _words("García Fernández López Martínez Sánchez Romero Navarro Torres Ruiz Castillo"),
    "IT": _words("Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco"),
    "NL": [
        "de Jong", "Jansen", "de Vries", "van Dijk", "Bakker", "Visser", "Smit", "Meijer",
        "Mulder", "de Boer", "van den Berg",
    ],
}  # fmt: skip

_LANGUAGES = {
    "US": ("en", None, 0.0),
    "CA": ("en", "fr", 0.25),
    "GB": ("en", None, 0.0),
    "IE": ("en", "ga", 0.1),
    "DE": ("de", "en", 0.5),
    "FR": ("fr", "en", 0.3),
    "ES": ("es", "en", 0.3),
    "IT": ("it", "en", 0.35),
    "NL": ("nl", "en", 0.8),
}

_RELATED_NICHES = {
    "beauty": ["skincare", "fashion", "haircare", "lifestyle"],
    "skincare": ["beauty", "lifestyle", "fitness"],
    "haircare": ["beauty", "fashion"],
    "fashion": ["beauty", "lifestyle", "travel"],
    "fitness": ["food", "outdoor", "lifestyle"],
    "parenting": ["food", "lifestyle", "travel"],
    "food": ["travel", "parenting", "fitness"],
    "travel": ["outdoor", "food", "fashion"],
    "lifestyle": ["fashion", "beauty", "travel"],
    "outdoor": ["travel", "fitness"],
    "tech": ["gaming", "outdoor"],
    "gaming": ["tech"],
}

_HANDLE_WORDS = {
    "beauty": ["glows", "beauty", "makeup", "glam"],
    "skincare": ["skin", "skincare", "glow", "derm"],
    "haircare": ["hair", "curls", "locks", "tresses"],
    "fashion": ["style", "wears", "closet", "looks"],
    "fitness": ["fit", "lifts", "runs", "moves"],
    "parenting": ["family", "littles", "mama", "parents"],
    "food": ["eats", "kitchen", "cooks", "bakes"],
    "travel": ["travels", "wanders", "abroad", "roams"],
    "lifestyle": ["life", "daily", "home", "diaries"],
    "outdoor": ["outdoors", "trails", "wild", "peaks"],
    "tech": ["tech", "gadgets", "reviews", "bytes"],
    "gaming": ["plays", "gg", "games", "live"],
}

# Where an influencer of a niche mostly lives; weights of the primary platform.
_PRIMARY_PLATFORMS = {
    "tech": {Platform.YOUTUBE: 6, Platform.TIKTOK: 2, Platform.INSTAGRAM: 2},
    "gaming": {Platform.YOUTUBE: 6, Platform.TIKTOK: 4},
    "outdoor": {Platform.INSTAGRAM: 5, Platform.YOUTUBE: 3, Platform.TIKTOK: 2},
    "travel": {Platform.INSTAGRAM: 5, Platform.YOUTUBE: 3, Platform.TIKTOK: 2},
}
_DEFAULT_PRIMARY = {Platform.INSTAGRAM: 6, Platform.TIKTOK: 3, Platform.YOUTUBE: 1}
_SECONDARY = {
    Platform.INSTAGRAM: 4,
    Platform.TIKTOK: 4,
    Platform.YOUTUBE: 2,
    Platform.X: 2,
    Platform.BLOG: 1,
    Platform.PODCAST: 1,
    Platform.TWITCH: 0.3,
}

_FORMATS = {
    Platform.INSTAGRAM: [ContentFormat.REEL, ContentFormat.POST, ContentFormat.STORY],
    # Repeats weigh the usual formats: most TikTok deals are videos, not lives.
    Platform.TIKTOK: [
        ContentFormat.VIDEO,
        ContentFormat.VIDEO,
        ContentFormat.VIDEO,
        ContentFormat.LIVE,
    ],
    Platform.YOUTUBE: [
        ContentFormat.VIDEO,
        ContentFormat.VIDEO,
        ContentFormat.SHORT,
        ContentFormat.REVIEW,
    ],
    Platform.X: [ContentFormat.POST],
    Platform.TWITCH: [ContentFormat.LIVE],
    Platform.FACEBOOK: [ContentFormat.POST, ContentFormat.VIDEO],
    Platform.BLOG: [ContentFormat.BLOG, ContentFormat.REVIEW],
    Platform.PODCAST: [ContentFormat.PODCAST],
}
_PLATFORM_LABELS = {
    Platform.INSTAGRAM: PlatformLabel.INSTAGRAM_PAID_PARTNERSHIP,
    Platform.TIKTOK: PlatformLabel.TIKTOK_BRANDED_CONTENT,
    Platform.YOUTUBE: PlatformLabel.YOUTUBE_PAID_PROMOTION,
    Platform.X: PlatformLabel.X_PAID_PARTNERSHIP,
}
_AGENCIES = [
    ("Bloom Talent", "bloomtalent.example"),
    ("North Star Creators", "northstarcreators.example"),
    ("Kite & Key Management", "kiteandkey.example"),
]

# Disclosure labels a creator following the brief puts first, per campaign jurisdiction.
_DISCLOSURE_LABELS = {
    "US": ["#ad", "Sponsored"],
    "UK": ["Ad", "#ad"],
    "IE": ["#ad"],
    "DE": ["Werbung", "Anzeige"],
    "FR": ["Publicité", "Collaboration commerciale"],
    "EU": ["#ad"],
}
# What creators write instead: vague, buried or no disclosure at all, in their own language.
_WEAK_CAPTIONS = {
    "en": [
        "{body} #collab",
        "{body} thanks {mention} for the goodies! #gifted",
        "{body} #sp",
        "{body}",
    ],
    "de": ["{body} #ad", "{body} sponsored by {mention}", "{body}"],
    "fr": ["{body} #collab", "{body} merci {mention} !", "{body}"],
    "es": ["{body} #colaboración", "{body}"],
    "it": ["{body} #collab", "{body}"],
    "nl": ["{body} #samenwerking", "{body}"],
}
_BODIES = {
    "en": "My {routine} with the {product} {emoji} Honest thoughts after two weeks.",
    "de": "Meine {routine} mit dem {product} {emoji} Ehrliche Meinung nach zwei Wochen.",
    "fr": "Ma {routine} avec le {product} {emoji} Mon avis honnête après deux semaines.",
    "es": "Mi {routine} con el {product} {emoji} Mi opinión sincera tras dos semanas.",
    "it": "La mia {routine} con il {product} {emoji} Opinione sincera dopo due settimane.",
    "nl": "Mijn {routine} met de {product} {emoji} Eerlijke mening na twee weken.",
}
_ROUTINES = {
    "en": ["morning routine", "wash day", "weekend trip", "evening routine"],
    "de": ["Morgenroutine", "Abendroutine", "Wochenendtour"],
    "fr": ["routine du matin", "routine du soir", "sortie du week-end"],
    "es": ["rutina de mañana", "rutina de noche", "escapada de fin de semana"],
    "it": ["routine mattutina", "routine serale", "gita del weekend"],
    "nl": ["ochtendroutine", "avondroutine", "weekendtrip"],
}
_DISCLOSURE_FEEDBACK = [
    "Please open the caption with the ad labels from the brief, before the 'more' cut",
    "The disclosure is missing or too vague for these markets: use the labels from the brief",
]
_BRAND_FEEDBACK = "Please add the campaign hashtag and tag the brand account."
_CONTENT_FEEDBACK = [
    "Lovely edit! Can you show the product label in the first three seconds?",
    "Could you mention the discount code out loud as well as in the caption?",
    "Great shot, but please crop out the competitor's bottle on the shelf.",
]
_EMOJIS = {
    "skincare": ["✨", "💛", "🌿"],
    "haircare": ["💇", "✨", "🌸"],
    "outdoor": ["🏔️", "🌲", "⛺"],
}
_DECLINE_NOTES = [
    "Fully booked until next quarter, sorry!",
    "Not quite the right fit for my audience.",
    "The rate doesn't work for me for this scope.",
    "I already work with a competing brand in this category.",
]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def _weighted(rng: random.Random, weights: Mapping[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _profile_url(platform: Platform, handle: str) -> str:
    return {
        Platform.INSTAGRAM: f"https://instagram.com/{handle}",
        Platform.TIKTOK: f"https://www.tiktok.com/@{handle}",
        Platform.YOUTUBE: f"https://www.youtube.com/@{handle}",
        Platform.X: f"https://x.com/{handle}",
        Platform.TWITCH: f"https://www.twitch.tv/{handle}",
        Platform.FACEBOOK: f"https://www.facebook.com/{handle}",
        Platform.BLOG: f"https://www.{handle.replace('_', '-').replace('.', '-')}.example",
        Platform.PODCAST: f"https://podcasts.apple.com/podcast/{handle}",
    }[platform]


# Tier bounds by the default thresholds, for drawing a follower count inside a tier.
_TIER_BOUNDS = {
    Tier.NANO: (DEFAULT_THRESHOLDS.nano, DEFAULT_THRESHOLDS.micro),
    Tier.MICRO: (DEFAULT_THRESHOLDS.micro, DEFAULT_THRESHOLDS.mid),
    Tier.MID: (DEFAULT_THRESHOLDS.mid, DEFAULT_THRESHOLDS.macro),
    Tier.MACRO: (DEFAULT_THRESHOLDS.macro, DEFAULT_THRESHOLDS.mega),
    Tier.MEGA: (DEFAULT_THRESHOLDS.mega, 8 * DEFAULT_THRESHOLDS.mega),
}


# --------------------------------------------------------------------------------------------
# Account metrics


def _metrics(rng: random.Random, platform: Platform, followers: int) -> dict[str, int]:
    """Following, posts and per-post averages that look like a real account of this size.

    Engagement by followers falls with audience size (a power law fitted to the usual
    benchmarks): Instagram ~5 % for a nano account to ~1 % for a mega one, TikTok higher, YouTube
    measured on views.
    """
    size = max(followers, 1_000) / 1_000
    likes = comments = views = 0.0
    following = 0
    if platform is Platform.INSTAGRAM:
        rate = max(1.0, rng.uniform(3.2, 5.5) * size**-0.2) / 100
        engagements = followers * rate
        comments = engagements * rng.uniform(0.015, 0.04)
        likes = engagements - comments
        views = followers * rng.uniform(0.25, 0.8)
        following = rng.randint(150, 1_400)
        posts = rng.randint(150, 2_500)
    elif platform is Platform.TIKTOK:
        rate = max(3.0, rng.uniform(6.0, 10.0) * size**-0.12) / 100
        engagements = followers * rate
        comments = engagements * rng.uniform(0.008, 0.02)
        likes = engagements - comments
        views = followers * rng.uniform(0.3, 1.5)
        following = rng.randint(20, 900)
        posts = rng.randint(60, 1_200)
    elif platform is Platform.YOUTUBE:
        views = followers * rng.uniform(0.2, 0.35)
        likes = views * rng.uniform(0.035, 0.05)
        comments = views * rng.uniform(0.002, 0.006)
        posts = rng.randint(40, 900)
    elif platform is Platform.X:
        engagements = followers * rng.uniform(0.0035, 0.008)
        comments = engagements * 0.15
        likes = engagements - comments
        views = followers * rng.uniform(0.05, 0.25)
        following = rng.randint(150, 1_200)
        posts = rng.randint(800, 20_000)
    elif platform is Platform.TWITCH:
        views = followers * rng.uniform(0.01, 0.04)  # average concurrent viewers
        comments = followers * rng.uniform(0.004, 0.008)  # chat messages per stream
        following = rng.randint(50, 300)
        posts = rng.randint(50, 600)  # past broadcasts
    elif platform is Platform.BLOG:
        views = followers * rng.uniform(0.3, 1.2)  # page views per post, from subscribers
        comments = followers * rng.uniform(0.002, 0.004)
        posts = rng.randint(40, 600)
    else:  # PODCAST: subscribers, downloads per episode
        views = followers * rng.uniform(0.4, 0.9)
        posts = rng.randint(20, 300)
    # Genuine creators follow far fewer accounts than follow them (else: follow-for-follow).
    following = min(following, int(followers * 0.3))
    return {
        "following": following,
        "posts": posts,
        "avg_likes": round(likes),
        "avg_comments": round(comments),
        "avg_views": round(views),
    }


@dataclass
class _AccountPlan:
    platform: Platform
    followers: int
    metrics: dict[str, int]
    verified: bool = False
    suspicious_pct: Decimal | None = None
    # Snapshot index at which followers jumped (+300 %) while likes stayed flat.
    jump_at: int | None = None
    handle: str = ""


@dataclass
class _InfluencerPlan:
    org: int
    name: str
    country: str
    niches: list[str]
    accounts: list[_AccountPlan]
    fake: bool = False
    model: Influencer | None = None


# Planted fake-audience profiles: (name, country, niches, accounts as
# (platform, followers, following, avg_likes, avg_comments, suspicious %, jump)).
_FakeAccount = tuple[Platform, int, int, int, int, int | None, bool]
_FAKES: list[tuple[str, str, list[str], list[_FakeAccount]]] = [
    ("Sienna Hartley", "GB", ["beauty", "lifestyle"], [
        (Platform.INSTAGRAM, 16_800, 15_900, 118, 4, 52, False),  # follows as many as follow her
    ]),
    ("Noémie Carrel", "FR", ["fashion", "beauty"], [
        (Platform.INSTAGRAM, 12_400, 7_450, 96, 3, 44, False),  # mass following, small audience
        (Platform.TIKTOK, 3_100, 4_800, 40, 1, None, False),
    ]),
    ("Alina Brandt", "DE", ["skincare"], [
        (Platform.INSTAGRAM, 184_000, 1_150, 301, 9, 47, False),  # 0.17 % at mid tier
    ]),
    ("Kelsey Marlowe", "US", ["beauty", "fashion"], [
        (Platform.INSTAGRAM, 96_000, 880, 640, 12, 61, True),  # bought followers: +300 % jump
    ]),
    ("Valeria Conti", "IT", ["fashion", "lifestyle"], [
        (Platform.INSTAGRAM, 72_000, 6_900, 152, 6, 68, False),
    ]),
    ("Dara Kinsella", "IE", ["skincare", "beauty"], [
        (Platform.TIKTOK, 240_000, 5_400, 560, 14, 57, True),
        (Platform.INSTAGRAM, 14_200, 9_300, 150, 5, None, False),
    ]),
]  # fmt: skip


# --------------------------------------------------------------------------------------------
# The seeder


class _Seeder:
    def __init__(self, session: Session, progress: Progress, rng_seed: int) -> None:
        self.session = session
        self.progress = progress
        self.rng = random.Random(rng_seed)
        self.now = utcnow().replace(minute=0, second=0, microsecond=0)
        self.result = DemoResult()
        self.orgs: list[Organization] = []
        self.brands: list[Brand] = []
        self.influencers: list[_InfluencerPlan] = []
        self.accounts: dict[int, list[SocialAccount]] = {}  # influencer id -> accounts
        self.campaigns: list[tuple[_CampaignSpec, Campaign]] = []
        self.partnerships: list[tuple[_CampaignSpec, Campaign, Partnership, _InfluencerPlan]] = []
        self.handles: set[tuple[int, str]] = set()  # (org index, base handle or "x:" handle)
        self.link_partnership_ids: set[int] = set()
        self.counts: dict[str, int] = {}

    def run(self) -> DemoResult:
        self._organizations()
        self._influencers()
        self._campaigns()
        self._partnerships()
        self._content()
        self._links_and_codes()
        self._keys()
        self.result.counts = self.counts
        return self.result

    def _count(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def _days(self, days: float) -> datetime:
        return self.now + timedelta(days=days)

    # ---- organizations and brands

    def _organizations(self) -> None:
        self.progress("organizations", 0, len(_ORGS))
        self.orgs = [Organization(name=spec.name) for spec in _ORGS]
        self.session.add_all(self.orgs)
        self.session.flush()
        self.brands = [
            Brand(
                organization_id=self.orgs[b.org].id,
                name=b.name,
                website=b.website,
                default_currency=b.currency,
            )
            for b in _BRANDS
        ]
        self.session.add_all(self.brands)
        self.session.flush()
        for org in self.orgs:
            self.result.organization_ids.append(org.id)
            self.result.organization_names[org.id] = org.name
        self._count("organizations", len(self.orgs))
        self._count("brands", len(self.brands))
        self.progress("organizations", len(_ORGS), len(_ORGS))

    # ---- influencers, accounts, snapshots

    def _influencers(self) -> None:
        plans: list[_InfluencerPlan] = []
        for org_index, spec in enumerate(_ORGS):
            fakes = [self._fake_plan(org_index, f) for f in _FAKES] if org_index == 0 else []
            org_plans = [
                self._influencer_plan(org_index, spec) for _ in range(spec.influencers - len(fakes))
            ]
            self._cover_tiers(org_plans)
            # Fakes sit at spread-out positions among the others, not in a block of their own.
            for n, fake in enumerate(fakes):
                org_plans.insert(17 + n * 31, fake)
            plans.extend(org_plans)
        for plan in plans:
            self._assign_handles(plan)
        self.influencers = plans
        total = len(plans)
        self.progress("influencers", 0, total)
        for start in range(0, total, INFLUENCER_BATCH):
            self._insert_influencers(plans[start : start + INFLUENCER_BATCH])
            self.progress("influencers", min(start + INFLUENCER_BATCH, total), total)
        self.result.planted_fakes = [p.model.id for p in plans if p.fake and p.model]

    def _influencer_plan(self, org_index: int, spec: _OrgSpec) -> _InfluencerPlan:
        rng = self.rng
        country = _weighted(rng, spec.countries)
        name = f"{rng.choice(_FIRST_NAMES[country])} {rng.choice(_LAST_NAMES[country])}"
        primary_niche = _weighted(rng, spec.niches)
        niches = [primary_niche]
        related = _RELATED_NICHES[primary_niche]
        niches += rng.sample(related, k=min(len(related), rng.choice([0, 1, 1, 2])))
        # Log-normal audience: median ~20k, long tail to the millions.
        followers = int(min(max(rng.lognormvariate(math.log(20_000), 1.45), 700), 25_000_000))
        primary = _weighted(rng, _PRIMARY_PLATFORMS.get(primary_niche, _DEFAULT_PRIMARY))
        platforms = [primary]
        n_accounts = rng.choices([1, 2, 3], weights=[40, 40, 20])[0]
        pool = dict(_SECONDARY)
        if "gaming" in niches:
            pool[Platform.TWITCH] = 5
        while len(platforms) < n_accounts:
            candidate = _weighted(rng, pool)
            if candidate not in platforms:
                platforms.append(candidate)
        accounts = [self._account_plan(primary, followers)]
        for platform in platforms[1:]:
            share = rng.lognormvariate(math.log(0.2), 0.8)
            # Blogs and podcasts have no likes: keep them small next to the main audience.
            cap = 0.3 if platform in (Platform.BLOG, Platform.PODCAST) else 1.2
            accounts.append(
                self._account_plan(platform, max(400, int(followers * min(share, cap))))
            )
        return _InfluencerPlan(org_index, name, country, niches, accounts)

    def _account_plan(self, platform: Platform, followers: int) -> _AccountPlan:
        rng = self.rng
        metrics = _metrics(rng, platform, followers)
        verifiable = platform not in (Platform.BLOG, Platform.PODCAST)
        verified = verifiable and (
            (followers >= 1_000_000 and rng.random() < 0.95)
            or (followers >= 100_000 and rng.random() < 0.5)
        )
        suspicious = None
        if platform in (Platform.INSTAGRAM, Platform.TIKTOK) and rng.random() < 0.6:
            suspicious = Decimal(rng.randint(200, 1_400)) / 100  # 2-14 %: a genuine audience
        return _AccountPlan(platform, followers, metrics, verified, suspicious)

    def _cover_tiers(self, plans: list[_InfluencerPlan]) -> None:
        """Makes sure every tier from nano to mega appears in the organization."""

        def tiers() -> dict[Tier, list[_InfluencerPlan]]:
            by_tier: dict[Tier, list[_InfluencerPlan]] = {}
            for p in plans:
                by_tier.setdefault(influencer_tier(a.followers for a in p.accounts), []).append(p)
            return by_tier

        for tier in (Tier.MEGA, Tier.MACRO, Tier.MID, Tier.MICRO, Tier.NANO):
            by_tier = tiers()
            if tier in by_tier:
                continue
            # Move someone from the most crowded tier, so no other tier empties.
            plan = self.rng.choice(max(by_tier.values(), key=len))
            low, high = _TIER_BOUNDS[tier]
            followers = int(math.exp(self.rng.uniform(math.log(low), math.log(high))))
            scale = followers / plan.accounts[0].followers
            plan.accounts = [
                self._account_plan(a.platform, max(150, min(int(a.followers * scale), followers)))
                for a in plan.accounts
            ]

    def _fake_plan(self, org_index: int, fake: Any) -> _InfluencerPlan:
        name, country, niches, accounts = fake
        plans = []
        for platform, followers, following, likes, comments, suspicious, jump in accounts:
            metrics = {
                "following": following,
                "posts": self.rng.randint(120, 900),
                "avg_likes": likes,
                "avg_comments": comments,
                "avg_views": int(followers * self.rng.uniform(0.01, 0.04)),
            }
            plans.append(
                _AccountPlan(
                    platform,
                    followers,
                    metrics,
                    verified=False,
                    suspicious_pct=Decimal(suspicious) if suspicious is not None else None,
                    jump_at=-1 if jump else None,
                )
            )
        return _InfluencerPlan(org_index, name, country, list(niches), plans, fake=True)

    def _assign_handles(self, plan: _InfluencerPlan) -> None:
        rng = self.rng
        first, _, last = plan.name.partition(" ")
        f, l_ = _ascii(first), _ascii(last)
        base = ""
        for _ in range(8):
            word = rng.choice(_HANDLE_WORDS[plan.niches[0]])
            base = rng.choice(
                [
                    f"{f}{l_}",
                    f"{f}.{l_}",
                    f"{f}_{l_}",
                    f"{f}{word}",
                    f"{f}.{word}",
                    f"{f}_{word}",
                    f"{f}{l_[:1]}{word}",
                    f"{word}with{f}",
                ]
            )[:24]
            if (plan.org, base) not in self.handles:
                break
        else:
            n = 2
            while (plan.org, f"{base[:21]}{n}") in self.handles:
                n += 1
            base = f"{base[:21]}{n}"
        self.handles.add((plan.org, base))
        for account in plan.accounts:
            handle = base
            if account.platform is Platform.X:  # X handles are at most 15 characters
                handle = base[:15].rstrip("._")
                while (plan.org, "x:" + handle) in self.handles:
                    handle = f"{base[:13].rstrip('._')}{rng.randint(10, 99)}"
                self.handles.add((plan.org, "x:" + handle))
            account.handle = handle

    def _insert_influencers(self, plans: list[_InfluencerPlan]) -> None:
        rng = self.rng
        for plan in plans:
            first, _, last = plan.name.partition(" ")
            primary_lang, second_lang, second_p = _LANGUAGES[plan.country]
            languages = [primary_lang] + (
                [second_lang] if second_lang and rng.random() < second_p else []
            )
            largest = max(a.followers for a in plan.accounts)
            agent_name = agent_email = None
            if largest >= 500_000 or (largest >= 100_000 and rng.random() < 0.4):
                agency, domain = rng.choice(_AGENCIES)
                agent_first = rng.choice(_FIRST_NAMES["GB" if plan.org == 0 else "US"])
                agent_name = f"{agent_first} ({agency})"
                agent_email = f"{_ascii(agent_first)}@{domain}"
            email_domain = rng.choice(["inbox.example", "mail.example", "post.example"])
            email = (
                f"{_ascii(first)}.{_ascii(last)}@{email_domain}"
                if rng.random() < 0.7
                else f"collabs@{_slug(plan.accounts[0].handle)}.example"
            )
            phone = None
            if rng.random() < 0.3 and plan.country in ("GB", "US"):
                phone = (
                    f"+44 7700 900{rng.randint(0, 999):03d}"  # Ofcom's drama range
                    if plan.country == "GB"
                    else f"+1 202 555 01{rng.randint(0, 99):02d}"  # fictional 555-01xx
                )
            plan.model = Influencer(
                organization_id=self.orgs[plan.org].id,
                name=plan.name,
                email=email,
                country=plan.country,
                languages=languages,
                niches=plan.niches,
                phone=phone,
                agent_name=agent_name,
                agent_email=agent_email,
                customer_ids=[f"cus_{rng.randint(10**7, 10**8 - 1)}"] if rng.random() < 0.1 else [],
                created_at=self._days(-rng.randint(60, 400)),
            )
        self.session.add_all([p.model for p in plans if p.model])
        self.session.flush()

        accounts: list[tuple[_AccountPlan, SocialAccount]] = []
        for plan in plans:
            assert plan.model is not None
            for a in plan.accounts:
                model = SocialAccount(
                    organization_id=plan.model.organization_id,
                    influencer_id=plan.model.id,
                    platform=a.platform,
                    handle=a.handle,
                    handle_key=a.handle.lower(),
                    url=_profile_url(a.platform, a.handle),
                    followers=a.followers,
                    verified=a.verified,
                    suspicious_audience_pct=a.suspicious_pct,
                    **a.metrics,
                )
                accounts.append((a, model))
                self.accounts.setdefault(plan.model.id, []).append(model)
            total, largest, rate = influencer_stats(m for _, m in accounts[-len(plan.accounts) :])
            plan.model.total_followers = total
            plan.model.max_followers = largest
            plan.model.engagement_rate = rate
        self.session.add_all([m for _, m in accounts])
        self.session.flush()
        self._count("influencers", len(plans))
        self._count("social_accounts", len(accounts))

        snapshots = [s for a, m in accounts for s in self._snapshots(a, m)]
        self.session.add_all(snapshots)
        self.session.flush()
        self._count("metric_snapshots", len(snapshots))

    def _snapshots(self, plan: _AccountPlan, account: SocialAccount) -> list[MetricSnapshot]:
        """3-6 observations, weekly or monthly, growing gently up to the account's current
        values; a planted jump quadruples followers between two snapshots with flat likes."""
        rng = self.rng
        n = rng.randint(4, 6) if plan.jump_at is not None else rng.randint(3, 6)
        step = rng.choice([7, 30])
        growth = rng.uniform(0.003, 0.012) if step == 7 else rng.uniform(0.01, 0.04)
        last = self._days(-rng.randint(0, 3)).replace(hour=6)
        jump_index = n + plan.jump_at if plan.jump_at is not None else None
        snapshots = []
        for i in range(n):
            back = n - 1 - i
            factor = (1 + growth) ** -back
            if jump_index is not None and i < jump_index:
                factor /= 4  # +300 % between snapshot i and the next
            # Likes per post swing up and down from one sample of posts to the next (a flat line
            # is a sign of bought engagement); a planted jump keeps them flat on purpose.
            if jump_index is not None:
                engagement_factor, noise = 1.0, rng.uniform(0.99, 1.01) if back else 1.0
            else:
                swing = rng.uniform(0.05, 0.15) * (1 if back % 2 else -1)
                engagement_factor, noise = factor, 1 + swing if back else 1.0
            likes = round(account.avg_likes * engagement_factor * noise)
            if back and jump_index is None and likes == account.avg_likes:
                likes = max(0, likes + (1 if back % 2 else -1))  # tiny counts round alike
            has_following = account.platform in (Platform.INSTAGRAM, Platform.TIKTOK, Platform.X)
            snapshots.append(
                MetricSnapshot(
                    organization_id=account.organization_id,
                    social_account_id=account.id,
                    captured_at=last - timedelta(days=step * back),
                    followers=round(account.followers * factor),
                    following=round(account.following * rng.uniform(0.97, 1.03))
                    if has_following and back
                    else (account.following if has_following else None),
                    avg_likes=likes,
                    avg_comments=round(account.avg_comments * engagement_factor * noise),
                    avg_views=round(account.avg_views * engagement_factor * noise),
                    posts_sampled=12,
                    created_at=last - timedelta(days=step * back),
                )
            )
        return snapshots

    # ---- campaigns

    def _campaigns(self) -> None:
        self.progress("campaigns", 0, len(_CAMPAIGNS))
        for spec in _CAMPAIGNS:
            brand = self.brands[spec.brand]
            brand_spec = _BRANDS[spec.brand]
            assert brand.website is not None
            starts = self._days(spec.starts_in_days).replace(hour=8)
            campaign = Campaign(
                organization_id=brand.organization_id,
                brand_id=brand.id,
                name=spec.name,
                objective=spec.objective,
                brief=spec.brief,
                status=spec.status,
                starts_at=starts,
                ends_at=starts + timedelta(days=spec.runs_days),
                currency=brand.default_currency,
                budget_amount=spec.budget,
                landing_url=f"{brand.website}/{spec.path}",
                allowed_domains=[brand.website.removeprefix("https://www.")],
                required_hashtags=list(spec.hashtags),
                required_mentions=[
                    brand_spec.mention.lstrip("@")
                ],  # handles, as the API keeps them
                jurisdictions=list(spec.jurisdictions),
                required_labels=list(spec.required_labels),
                attribution_window_days=spec.attribution_window_days,
                hold_days=spec.hold_days,
                compensation=spec.plan.to_dict(),
                created_at=min(starts - timedelta(days=21), self._days(-self.rng.randint(3, 10))),
            )
            self.campaigns.append((spec, campaign))
        self.session.add_all([c for _, c in self.campaigns])
        self.session.flush()
        self._count("campaigns", len(self.campaigns))
        self.progress("campaigns", len(_CAMPAIGNS), len(_CAMPAIGNS))

    # ---- partnerships and contracts

    def _statuses(self, campaign_status: str, n: int) -> list[str]:
        """Partnership statuses consistent with the campaign's."""
        if campaign_status == "DRAFT":
            return ["INVITED"] * n
        if campaign_status == "COMPLETED":
            return ["COMPLETED"] * n
        if campaign_status == "CANCELLED":  # the open invitations were withdrawn with it
            third = n // 3
            return ["TERMINATED"] * third + ["DECLINED"] * third + ["WITHDRAWN"] * (n - 2 * third)
        if campaign_status == "PAUSED":
            return ["INVITED"] * 2 + ["ACCEPTED"] * 2 + ["ACTIVE"] * (n - 4)
        declined, invited, accepted = round(n * 0.1), round(n * 0.15), round(n * 0.15)
        active = n - declined - invited - accepted
        return (
            ["DECLINED"] * declined
            + ["INVITED"] * invited
            + ["ACCEPTED"] * accepted
            + ["ACTIVE"] * active
        )

    def _partnerships(self) -> None:
        rng = self.rng
        total = sum(spec.partnerships for spec, _ in self.campaigns)
        self.progress("partnerships", 0, total)
        contracts: list[tuple[Partnership, Contract]] = []
        fakes_invited = 0
        for index, (spec, campaign) in enumerate(self.campaigns):
            org_index = _BRANDS[spec.brand].org
            pool = [p for p in self.influencers if p.org == org_index and not p.fake]
            matching = [p for p in pool if spec.niches & set(p.niches)]
            others = [p for p in pool if not spec.niches & set(p.niches)]
            chosen = rng.sample(matching, k=min(spec.partnerships, len(matching)))
            chosen += rng.sample(others, k=spec.partnerships - len(chosen))
            statuses = self._statuses(spec.status, spec.partnerships)
            rng.shuffle(statuses)
            if spec.status == "ACTIVE" and org_index == 0 and fakes_invited == 0:
                # Two planted fakes were invited before anyone checked their audience.
                fakes = [p for p in self.influencers if p.fake][:2]
                invited = [i for i, s in enumerate(statuses) if s == "INVITED"][: len(fakes)]
                for slot, fake in zip(invited, fakes, strict=False):
                    chosen[slot] = fake
                    fakes_invited += 1
            for plan, status in zip(chosen, statuses, strict=True):
                assert plan.model is not None
                invited_at = min(
                    campaign.created_at
                    + timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 9)),
                    self.now - timedelta(hours=rng.randint(2, 48)),
                )
                responded = (
                    None
                    if status in ("INVITED", "WITHDRAWN")
                    else min(invited_at + timedelta(hours=rng.randint(3, 120)), self.now)
                )
                partnership = Partnership(
                    organization_id=campaign.organization_id,
                    campaign_id=campaign.id,
                    influencer_id=plan.model.id,
                    status=status,
                    connection=spec.connection,
                    responded_at=responded,
                    response_note=rng.choice(_DECLINE_NOTES) if status == "DECLINED" else None,
                    created_at=invited_at,
                )
                if status in ("ACCEPTED", "ACTIVE") and rng.random() < 0.08:
                    partnership.compensation_override = self._override(spec, plan)
                self.partnerships.append((spec, campaign, partnership, plan))
                if status in ("ACCEPTED", "ACTIVE", "COMPLETED", "TERMINATED"):
                    contracts.append((partnership, self._contract(spec, plan, responded)))
            self.progress(
                "partnerships", sum(s.partnerships for s, _ in self.campaigns[: index + 1]), total
            )
        self.session.add_all([p for _, _, p, _ in self.partnerships])
        self.session.flush()
        for partnership, contract in contracts:
            contract.organization_id = partnership.organization_id
            contract.partnership_id = partnership.id
        self.session.add_all([c for _, c in contracts])
        self.session.flush()
        self._count("partnerships", len(self.partnerships))
        self._count("contracts", len(contracts))

    def _override(self, spec: _CampaignSpec, plan: _InfluencerPlan) -> dict[str, Any]:
        """A negotiated exception: a bigger creator's higher fee or a better commission."""
        fee = spec.plan.flat_fee_per_deliverable_minor
        commission = spec.plan.commission
        if fee and max(a.followers for a in plan.accounts) >= 100_000:
            override = PlanOverride(flat_fee_per_deliverable_minor=fee * 3)
        elif commission.kind is CommissionKind.PERCENT and commission.bps is not None:
            override = PlanOverride(commission=Commission(_PERCENT, bps=commission.bps + 500))
        else:
            override = PlanOverride(flat_fee_per_deliverable_minor=max(fee or 0, 10_000) * 2)
        return override.to_dict()

    def _contract(
        self, spec: _CampaignSpec, plan: _InfluencerPlan, accepted_at: datetime | None
    ) -> Contract:
        rng = self.rng
        category = _BRANDS[spec.brand].category
        gifted = spec.connection is MaterialConnection.GIFTED
        if gifted:
            rights, days = UsageRights.ORGANIC, 90
        else:
            rights = rng.choice([UsageRights.ORGANIC, UsageRights.PAID_WHITELISTING])
            days = 90 if rights is UsageRights.ORGANIC else rng.choice([30, 60, 180])
        fee = spec.plan.flat_fee_per_deliverable_minor
        return Contract(
            version=1,
            deliverables_due=f"Content featuring the {spec.product}, live within 21 days of "
            "product delivery; drafts 5 working days before posting.",
            usage_rights=rights,
            usage_rights_days=days,
            usage_rights_regions=[j for j in spec.jurisdictions if j != "EU"] or ["US"],
            exclusivity_days=None if gifted else rng.choice([None, 30, 60]),
            exclusivity_categories=[] if gifted else [category],
            payment_terms_days=30,
            approval_rounds=2,
            kill_fee_amount=fee // 2 if fee else None,
            accepted_at=accepted_at,
            accepted_by=plan.model.email if plan.model and plan.model.email else plan.name,
            created_at=accepted_at - timedelta(hours=1) if accepted_at else self.now,
        )

    # ---- deliverables and content

    def _deliverable_statuses(self, partnership_status: str, n: int) -> list[str]:
        rng = self.rng
        if partnership_status == "COMPLETED":
            return ["PUBLISHED"] * n
        if partnership_status in ("ACCEPTED", "TERMINATED"):
            return ["DRAFT"] * n
        return rng.choices(
            ["DRAFT", "SUBMITTED", "CHANGES_REQUESTED", "APPROVED", "PUBLISHED"],
            weights=[25, 20, 10, 15, 30],
            k=n,
        )

    def _content(self) -> None:
        rng = self.rng
        owed = [
            item
            for item in self.partnerships
            if item[2].status in ("ACCEPTED", "ACTIVE", "COMPLETED", "TERMINATED")
        ]
        self.progress("content", 0, len(owed))
        deliverables: list[tuple[Deliverable, list[ContentSubmission]]] = []
        published_without_disclosure = False
        for spec, campaign, partnership, plan in owed:
            accounts = self.accounts[partnership.influencer_id]
            n = 1 if partnership.status == "TERMINATED" else rng.randint(1, 3)
            for status in self._deliverable_statuses(partnership.status, n):
                account = rng.choice(accounts[:2])
                fmt = rng.choice(_FORMATS[account.platform])
                assert campaign.starts_at is not None and partnership.responded_at is not None
                due = max(campaign.starts_at, partnership.responded_at) + timedelta(
                    days=rng.randint(10, 40)
                )
                deliverable = Deliverable(
                    organization_id=partnership.organization_id,
                    platform=account.platform,
                    format=fmt,
                    title=f"{fmt.value.title()}: {spec.product}",
                    brief=spec.brief,
                    due_at=due,
                    status=status,
                    created_at=partnership.responded_at,
                )
                submissions = self._submissions(spec, campaign, partnership, plan, deliverable)
                if status == "PUBLISHED":
                    reviewed = submissions[-1].reviewed_at or due
                    deliverable.published_at = min(
                        reviewed + timedelta(hours=rng.randint(6, 72)),
                        self.now - timedelta(hours=1),
                    )
                    deliverable.published_url = self._post_url(account)
                if (
                    status == "PUBLISHED"
                    and not published_without_disclosure
                    and partnership.connection is MaterialConnection.PAID
                    and submissions
                ):
                    # One post went live with a failing caption, approved by an ADMIN anyway.
                    published_without_disclosure = True
                    last = submissions[-1]
                    last.platform_label = None
                    for _ in range(5):
                        last.caption = self._caption(spec, plan, disclosed=False)
                        self._check(campaign, deliverable, partnership, last)
                        if last.disclosure_verdict == review.FAIL:
                            break
                final = submissions[-1] if submissions else None
                if (
                    status in ("APPROVED", "PUBLISHED")
                    and final is not None
                    and final.disclosure_verdict == review.FAIL
                ):
                    deliverable.disclosure_override_reason = (
                        "Approved despite the disclosure check: the creator adds the labels to "
                        "the live post and switches on the platform's paid-partnership tool."
                    )
                    deliverable.disclosure_override_by = "key:demo-admin"
                deliverables.append((deliverable, submissions))
                deliverable.partnership_id = partnership.id
        self.session.add_all([d for d, _ in deliverables])
        self.session.flush()
        submissions_all = []
        for deliverable, submissions in deliverables:
            for s in submissions:
                s.organization_id = deliverable.organization_id
                s.deliverable_id = deliverable.id
                submissions_all.append(s)
        self.session.add_all(submissions_all)
        self.session.flush()
        self._count("deliverables", len(deliverables))
        self._count("content_submissions", len(submissions_all))
        self.progress("content", len(owed), len(owed))

    def _post_url(self, account: SocialAccount) -> str:
        rng = self.rng
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        token = "".join(rng.choice(alphabet) for _ in range(11))
        if account.platform is Platform.INSTAGRAM:
            return f"https://instagram.com/p/{token}"
        if account.platform is Platform.TIKTOK:
            return f"https://www.tiktok.com/@{account.handle}/video/{rng.randint(10**18, 10**19)}"
        if account.platform is Platform.YOUTUBE:
            return f"https://www.youtube.com/watch?v={token}"
        if account.platform is Platform.X:
            return f"https://x.com/{account.handle}/status/{rng.randint(10**18, 10**19)}"
        return f"{account.url}/posts/{_slug(token)}"

    def _caption(
        self,
        spec: _CampaignSpec,
        plan: _InfluencerPlan,
        *,
        disclosed: bool,
        retouched: bool = False,
    ) -> str:
        """A caption in the creator's language. Disclosed: the labels of every jurisdiction of
        the campaign up front (and France's retouched-image notice); else a weak variant."""
        rng = self.rng
        lang = _LANGUAGES[plan.country][0]
        if lang not in _WEAK_CAPTIONS:
            lang = "en"
        mention = _BRANDS[spec.brand].mention
        emoji = rng.choice([*_EMOJIS[_BRANDS[spec.brand].category], ""])
        body = (
            _BODIES[lang]
            .format(routine=rng.choice(_ROUTINES[lang]), product=spec.product, emoji=emoji)
            .replace("  ", " ")
        )
        if disclosed:
            labels: list[str] = []
            for jurisdiction in spec.jurisdictions:
                label = rng.choice(_DISCLOSURE_LABELS[jurisdiction])
                if label.lstrip("#").casefold() not in {x.lstrip("#").casefold() for x in labels}:
                    labels.append(label)
            if retouched and "FR" in spec.jurisdictions:
                labels.append("Images retouchées")
            caption = " | ".join([*labels, body])
        else:
            caption = rng.choice(_WEAK_CAPTIONS[lang]).format(body=body, mention=mention)
        if rng.random() < 0.85:  # some forget the campaign hashtag: a brand-requirement warning
            tags = " ".join(f"#{t}" for t in spec.hashtags)
            caption += f" {tags} {mention}"
        return caption

    @staticmethod
    def _check(
        campaign: Campaign,
        deliverable: Deliverable,
        partnership: Partnership,
        submission: ContentSubmission,
    ) -> None:
        """Stores the disclosure checker's report, as the submit mutation does."""
        report = review.disclosure_report(campaign, deliverable, partnership, submission)
        submission.disclosure_report = report
        submission.disclosure_verdict = review.worst_verdict(report)

    def _submissions(
        self,
        spec: _CampaignSpec,
        campaign: Campaign,
        partnership: Partnership,
        plan: _InfluencerPlan,
        deliverable: Deliverable,
    ) -> list[ContentSubmission]:
        """Versions of the content, each checked for disclosure like a real submission. A
        first round sent back for a weak disclosure is common; approved content passes the
        check or carries an ADMIN override (set by the caller)."""
        rng = self.rng
        status = deliverable.status
        if status == "DRAFT":
            return []
        reviewer = "key:demo-manager"
        start = deliverable.created_at + timedelta(days=rng.randint(2, 9))
        start = min(start, self.now - timedelta(days=2))
        rounds = 1 if status == "CHANGES_REQUESTED" else rng.choice([1, 1, 2])
        approved = status in ("APPROVED", "PUBLISHED")
        versions = []
        for v in range(1, rounds + 1):
            final = v == rounds
            created = start + timedelta(hours=20 * (v - 1))
            # Pending content is a mix, so the disclosure checker has both kinds to show.
            if status == "CHANGES_REQUESTED" or not final:
                disclosed = rng.random() < 0.3
            elif status == "SUBMITTED":
                disclosed = rng.random() < 0.6
            else:
                disclosed = True
            retouched = "FR" in spec.jurisdictions and rng.random() < 0.2
            offered = _PLATFORM_LABELS.get(deliverable.platform)
            submission = ContentSubmission(
                version=v,
                caption="",
                media_url=f"https://media.vouch.example/demo/{_slug(spec.product)}/{v}.jpg",
                platform_label=offered if offered and rng.random() < 0.5 else None,
                retouched=retouched,
                ai_generated=False,
                submitted_by=f"influencer:{plan.accounts[0].handle}",
                created_at=created,
            )
            for _ in range(3 if final and approved else 1):
                submission.caption = self._caption(
                    spec, plan, disclosed=disclosed, retouched=retouched
                )
                self._check(campaign, deliverable, partnership, submission)
                if submission.disclosure_verdict != review.FAIL:
                    break
            if not final or status in ("CHANGES_REQUESTED", "APPROVED", "PUBLISHED"):
                submission.reviewed_at = created + timedelta(hours=rng.randint(2, 18))
                submission.reviewed_by = reviewer
                if not final or status == "CHANGES_REQUESTED":
                    report = submission.disclosure_report or {}
                    failures = review.failures(report)
                    if failures:
                        feedback = (
                            f"{rng.choice(_DISCLOSURE_FEEDBACK)} ({', '.join(failures[:3])})."
                        )
                    elif not report.get("brandRequirements", {}).get("satisfied", True):
                        feedback = _BRAND_FEEDBACK
                    else:
                        feedback = rng.choice(_CONTENT_FEEDBACK)
                    submission.feedback = feedback
            versions.append(submission)
        return versions

    # ---- tracked links and discount codes

    def _links_and_codes(self) -> None:
        rng = self.rng
        settings = get_settings()
        hashids = Hashids(salt=settings.hashids_salt, min_length=settings.hashids_min_length)
        live = [
            item
            for item in self.partnerships
            if item[2].status == "ACTIVE" and item[0].status == "ACTIVE"
        ]
        chosen = rng.sample(live, k=min(20, len(live)))
        chosen.sort(key=lambda item: item[2].id)  # keeps ids, and so codes, in a stable order
        self.progress("links", 0, len(chosen))
        links: list[TrackedLink] = []
        codes: list[DiscountCode] = []
        used: set[tuple[int, str]] = set()
        for _spec, campaign, partnership, plan in chosen:
            account = self.accounts[partnership.influencer_id][0]
            links.append(
                TrackedLink(
                    organization_id=campaign.organization_id,
                    brand_id=campaign.brand_id,
                    campaign_id=campaign.id,
                    partnership_id=partnership.id,
                    destination_url=f"{campaign.landing_url}/{rng.choice(['shop', 'try', 'new'])}",
                    utm_source=account.platform.value.lower(),
                    utm_medium="influencer",
                    utm_campaign=_slug(campaign.name),
                    utm_content=account.handle_key,
                )
            )
            # Upper-cased first part of the handle: "maya.lopez" -> MAYA15.
            # Creators' codes read as NAME15: the handle's leading first name, else its first part.
            first, _, last = plan.name.partition(" ")
            folded = _ascii(first)
            head = folded if account.handle_key.startswith(folded) else account.handle_key
            prefix = re.sub(r"[^A-Z]", "", re.split(r"[._\-]", head.upper())[0])[:10] or "VOUCH"
            candidates = [f"{prefix}15", f"{prefix}{_ascii(last)[:1].upper()}15"]
            candidates += [f"{prefix}{n}" for n in range(16, 100)]
            code = next(c for c in candidates if (campaign.brand_id, c) not in used and len(c) >= 4)
            used.add((campaign.brand_id, code))
            codes.append(
                DiscountCode(
                    organization_id=campaign.organization_id,
                    brand_id=campaign.brand_id,
                    campaign_id=campaign.id,
                    partnership_id=partnership.id,
                    code=code,
                    percent_off_bps=1_500,
                )
            )
        self.session.add_all([*links, *codes])
        self.session.flush()
        for link in links:
            link.code = hashids.encode(link.id)
        self.session.flush()
        # The demo link: one of the launch campaign (no hold), else the first one.
        demo = next(
            (
                link
                for (spec, _c, _p, _i), link in zip(chosen, links, strict=True)
                if spec.hold_days == 0
            ),
            links[0] if links else None,
        )
        self.result.demo_link_code = demo.code if demo else None
        self.link_partnership_ids = {link.partnership_id for link in links}
        self._count("tracked_links", len(links))
        self._count("discount_codes", len(codes))
        self.progress("links", len(chosen), len(chosen))

    # ---- API keys

    def _keys(self) -> None:
        roles = [Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.INFLUENCER]
        total = len(self.orgs) * len(roles)
        self.progress("api keys", 0, total)
        links = self.link_partnership_ids
        done = 0
        for org in self.orgs:
            # The influencer key belongs to a creator with live work: the most partnerships,
            # preferring one with a tracked link.
            per_influencer: dict[int, int] = {}
            with_link: set[int] = set()
            for _spec, _campaign, partnership, plan in self.partnerships:
                if partnership.organization_id != org.id or plan.fake:
                    continue
                if partnership.status in ("ACTIVE", "ACCEPTED", "COMPLETED"):
                    per_influencer[partnership.influencer_id] = (
                        per_influencer.get(partnership.influencer_id, 0) + 1
                    )
                    if partnership.id in links:
                        with_link.add(partnership.influencer_id)
            influencer_id = max(
                per_influencer, key=lambda i: (i in with_link, per_influencer[i], -i)
            )
            self.result.keys[org.name] = {}
            for role in roles:
                bound = influencer_id if role is Role.INFLUENCER else None
                _key, clear = create_key(
                    self.session,
                    organization_id=org.id,
                    role=role,
                    influencer_id=bound,
                    name=f"demo {role.value.lower()}",
                )
                self.result.keys[org.name][role] = clear
                done += 1
                self.progress("api keys", done, total)
            self.result.key_influencer_ids[org.id] = influencer_id
        self._count("api_keys", done)
