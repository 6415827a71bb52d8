"""The demo's fixed material: organizations, brands, campaigns and the people in them.

Names, countries, languages and niches the influencers are drawn from, the planted fake audiences,
and the brands' shop facts (what an order costs, when their audience shops) that the history's
orders and clicks follow. Plain data and a few text helpers: no database here.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.domain.commission import (
    Bonus,
    Commission,
    CommissionKind,
    CompensationPlan,
    GiftedProduct,
)
from api.domain.commission import Tier as CommissionTier
from api.domain.metrics import DEFAULT_THRESHOLDS, Tier
from api.models.enums import CampaignObjective, MaterialConnection, Platform


@dataclass(frozen=True)
class OrgSpec:
    name: str
    influencers: int
    countries: dict[str, float]
    niches: dict[str, float]


@dataclass(frozen=True)
class BrandSpec:
    org: int
    name: str
    website: str
    currency: str
    mention: str
    category: str
    # The shop, for the history's orders: order ids' prefix, the median basket (minor units)
    # and its shoppers' offset from UTC in hours (their evenings are the busy hours).
    order_prefix: str
    basket: int
    utc_offset: int


@dataclass(frozen=True)
class CampaignSpec:
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


ORGS = [
    OrgSpec(
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
    OrgSpec(
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

# fmt: off
BRANDS = [
    BrandSpec(0, "Glowly", "https://www.glowly.example", "EUR", "@glowly", "skincare",
              "GLW", 4_600, 1),
    BrandSpec(0, "Tress & Co.", "https://www.tressandco.example", "GBP", "@tressandco",
              "haircare", "TRS", 3_200, 0),
    BrandSpec(1, "Lumen Trail", "https://www.lumentrail.example", "USD", "@lumentrail",
              "outdoor", "LT", 11_500, -5),
]
# fmt: on


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
CAMPAIGNS = [
    CampaignSpec(
        0, "Glowly Vitamin C Serum Launch", "ACTIVE", CampaignObjective.CONVERSIONS,
        "vitamin-c-serum", "Vitamin C Brightening Serum",
        "Show your morning routine with the new serum; link in bio and your code in every post.",
        ["FR", "DE", "EU"], ["GlowlyVitaminC"], _BEAUTY, 22, _P.PAID,
        _plan("EUR", flat_fee=30_000, kind=_PERCENT, bps=1_000), 4_500_000, -80, 160,
        hold_days=0,  # no hold: commissions are payable at once, for the demo payout
    ),
    CampaignSpec(
        0, "Glowly Always-On Affiliates", "ACTIVE", CampaignObjective.CONVERSIONS,
        "bestsellers", "Glowly bestsellers",
        "Evergreen affiliate programme: share your link or code whenever Glowly fits your content.",
        ["IE", "UK", "EU"], ["GlowlyPartner"], _BEAUTY, 20, _P.AFFILIATE,
        _plan("EUR", kind=_TIERED, tiers=[(0, 800), (200_000, 1_200), (1_000_000, 1_500)]),
        2_000_000, -200, 365,
    ),
    CampaignSpec(
        0, "Glowly Night Repair Seeding", "COMPLETED", CampaignObjective.CONTENT,
        "night-repair", "Night Repair Ritual set",
        "Gifted seeding: try the ritual for two weeks and share an honest review.",
        ["FR", "DE", "EU"], ["GlowlyNightRepair"], _BEAUTY, 12, _P.GIFTED,
        _plan("EUR", gifted=("Night Repair Ritual set", 8_900)), 500_000, -170, 60,
        required_labels=["Images retouchées"],
    ),
    CampaignSpec(
        0, "Glowly Holiday Gift Sets", "DRAFT", CampaignObjective.AWARENESS,
        "holiday-gift-sets", "Holiday Gift Sets",
        "Unboxing of the three holiday sets; Reels first, Stories with the link sticker.",
        ["FR", "DE", "IE", "EU"], ["GlowlyHoliday"], _BEAUTY, 6, _P.PAID,
        _plan("EUR", flat_fee=50_000, bonus=(25_000, "Reel above 100,000 views within 30 days")),
        6_000_000, 25, 45,
    ),
    CampaignSpec(
        1, "Tress & Co. Curl Cream Launch", "ACTIVE", CampaignObjective.CONVERSIONS,
        "curl-cream", "Define & Hold Curl Cream",
        "Wash-day routine featuring the curl cream; before/after allowed, no filters on hair.",
        ["IE", "UK"], ["TressCurls"], _HAIR, 20, _P.PAID,
        _plan("GBP", flat_fee=25_000, kind=_PER_SALE, flat=500), 3_000_000, -70, 150,
    ),
    CampaignSpec(
        1, "Tress & Co. Salon at Home", "PAUSED", CampaignObjective.ENGAGEMENT,
        "salon-at-home", "Salon at Home kit",
        "Tutorial content: a salon blow-dry at home with the kit. Paused while stock is restored.",
        ["UK"], ["TressSalonAtHome"], _HAIR, 10, _P.PAID,
        _plan("GBP", flat_fee=40_000, kind=_PERCENT, bps=800), 2_500_000, -50, 100,
    ),
    CampaignSpec(
        1, "Tress & Co. Spring Refresh", "COMPLETED", CampaignObjective.AWARENESS,
        "spring-refresh", "Spring Refresh range",
        "Spring hair refresh: one Reel or TikTok and three Stories.",
        ["UK", "IE"], ["TressSpring"], _HAIR, 10, _P.PAID,
        _plan("GBP", flat_fee=35_000), 1_500_000, -240, 60,
    ),
    CampaignSpec(
        1, "Tress & Co. Frizz-Free Flash Sale", "CANCELLED", CampaignObjective.TRAFFIC,
        "frizz-free", "Frizz-Free Serum",
        "48-hour flash sale push. Cancelled: the sale moved to the brand's own channels.",
        ["UK"], ["TressFrizzFree"], _HAIR, 6, _P.PAID,
        _plan("GBP", flat_fee=15_000, kind=_PERCENT, bps=1_000), 800_000, -10, 20,
    ),
    CampaignSpec(
        2, "Lumen Trail Summit Series Backpacks", "ACTIVE", CampaignObjective.CONVERSIONS,
        "summit-series", "Summit Series 45L backpack",
        "Take the Summit 45L on a real trip; show the fit, the pockets and the rain cover.",
        ["US", "UK"], ["LumenSummit"], _OUTDOOR, 18, _P.PAID,
        _plan("USD", flat_fee=40_000, kind=_PERCENT, bps=1_200), 5_000_000, -110, 200,
    ),
    CampaignSpec(
        2, "Lumen Trail Weekend Deals", "ACTIVE", CampaignObjective.TRAFFIC,
        "weekend-deals", "weekend deals",
        "Affiliate push for the weekend deals page; short attribution window on purpose.",
        ["US"], ["LumenDeals"], _OUTDOOR | {"tech", "food"}, 12, _P.AFFILIATE,
        _plan("USD", kind=_PERCENT, bps=1_500), 1_000_000, -50, 120,
        attribution_window_days=7,
        hold_days=0,  # paid at once, refunds clawed back: the deals programme's terms
    ),
    CampaignSpec(
        2, "Lumen Trail Ultralight Tent Reviews", "PAUSED", CampaignObjective.CONTENT,
        "ultralight-tent", "Ultralight 2P tent",
        "Long-form reviews after three nights out. Paused until the spring batch ships.",
        ["US"], ["LumenUltralight"], _OUTDOOR, 9, _P.PAID,
        _plan("USD", flat_fee=60_000, gifted=("Ultralight 2P tent", 34_900)), 2_000_000, -60, 150,
    ),
    CampaignSpec(
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


FIRST_NAMES = {
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
LAST_NAMES = {
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

LANGUAGES = {
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

RELATED_NICHES = {
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

HANDLE_WORDS = {
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
PRIMARY_PLATFORMS = {
    "tech": {Platform.YOUTUBE: 6, Platform.TIKTOK: 2, Platform.INSTAGRAM: 2},
    "gaming": {Platform.YOUTUBE: 6, Platform.TIKTOK: 4},
    "outdoor": {Platform.INSTAGRAM: 5, Platform.YOUTUBE: 3, Platform.TIKTOK: 2},
    "travel": {Platform.INSTAGRAM: 5, Platform.YOUTUBE: 3, Platform.TIKTOK: 2},
}
DEFAULT_PRIMARY = {Platform.INSTAGRAM: 6, Platform.TIKTOK: 3, Platform.YOUTUBE: 1}
SECONDARY = {
    Platform.INSTAGRAM: 4,
    Platform.TIKTOK: 4,
    Platform.YOUTUBE: 2,
    Platform.X: 2,
    Platform.BLOG: 1,
    Platform.PODCAST: 1,
    Platform.TWITCH: 0.3,
}

AGENCIES = [
    ("Bloom Talent", "bloomtalent.example"),
    ("North Star Creators", "northstarcreators.example"),
    ("Kite & Key Management", "kiteandkey.example"),
]

# Disclosure labels a creator following the brief puts first, per campaign jurisdiction.

# Planted fake-audience profiles: (name, country, niches, accounts as
# (platform, followers, following, avg_likes, avg_comments, suspicious %, jump)).
FakeAccount = tuple[Platform, int, int, int, int, int | None, bool]
FAKES: list[tuple[str, str, list[str], list[FakeAccount]]] = [
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


def ascii_fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def weighted(rng: random.Random, weights: Mapping[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def profile_url(platform: Platform, handle: str) -> str:
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
TIER_BOUNDS = {
    Tier.NANO: (DEFAULT_THRESHOLDS.nano, DEFAULT_THRESHOLDS.micro),
    Tier.MICRO: (DEFAULT_THRESHOLDS.micro, DEFAULT_THRESHOLDS.mid),
    Tier.MID: (DEFAULT_THRESHOLDS.mid, DEFAULT_THRESHOLDS.macro),
    Tier.MACRO: (DEFAULT_THRESHOLDS.macro, DEFAULT_THRESHOLDS.mega),
    Tier.MEGA: (DEFAULT_THRESHOLDS.mega, 8 * DEFAULT_THRESHOLDS.mega),
}
