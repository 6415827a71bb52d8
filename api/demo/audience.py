"""Demo audiences: two audience snapshots per account (three months apart) that look like what
an audit tool reports: most followers in the creator's country and a few neighbours, younger on
TikTok, mostly women for beauty and fashion, and a fake share that is small for genuine
accounts and the planted share for the fakes (`catalog.FAKES`)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from api.domain import demographics as dm
from api.models import AudienceSnapshot, SocialAccount
from api.models.enums import Platform

# Where the rest of an audience tends to live, by the creator's country.
NEIGHBOURS = {
    "US": ["CA", "GB", "MX", "AU"],
    "CA": ["US", "GB", "FR"],
    "GB": ["US", "IE", "AU", "CA"],
    "IE": ["GB", "US"],
    "DE": ["AT", "CH", "NL", "PL"],
    "FR": ["BE", "CH", "CA", "MA"],
    "ES": ["MX", "AR", "CO", "FR"],
    "IT": ["CH", "DE", "FR"],
}
_WOMEN_NICHES = frozenset({"beauty", "skincare", "haircare", "fashion", "parenting"})
_AGES = {
    Platform.TIKTOK: (900, 3_600, 3_100, 1_500, 600, 300),
    Platform.YOUTUBE: (500, 2_400, 3_200, 2_100, 1_100, 700),
}
_DEFAULT_AGES = (300, 2_600, 3_700, 2_100, 900, 400)


def _split(rng: random.Random, weights: tuple[int, ...]) -> list[int]:
    """Jittered weights as basis points adding up to exactly 10,000."""
    raw = [max(1, round(w * rng.uniform(0.8, 1.2))) for w in weights]
    total = sum(raw)
    shares = [r * dm.FULL // total for r in raw]
    shares[max(range(len(shares)), key=lambda i: shares[i])] += dm.FULL - sum(shares)
    return shares


def audience_of(
    rng: random.Random,
    account: SocialAccount,
    country: str,
    niches: list[str],
    suspicious: Decimal | None,
) -> dm.Audience:
    home = rng.randint(4_500, 7_500)
    others = [c for c in NEIGHBOURS.get(country, ["US", "GB"]) if c != country]
    countries = {country: home}
    left = dm.FULL - home - rng.randint(500, 1_500)  # the rest: too many countries to list
    for code in rng.sample(others, min(3, len(others))):
        share = rng.randint(left // 4, left // 2)
        countries[code] = share
        left -= share
    ages = _split(rng, _AGES.get(Platform(account.platform), _DEFAULT_AGES))
    women = rng.randint(6_500, 8_500) if set(niches) & _WOMEN_NICHES else rng.randint(3_000, 5_500)
    other = rng.randint(50, 250)
    fake = int(suspicious * 100) if suspicious is not None else rng.randint(300, 1_400)
    return dm.Audience(
        countries=dict(dm.ordered(countries)),
        age_bands={band.value: share for band, share in zip(dm.AgeBand, ages, strict=True)},
        genders={"FEMALE": women, "MALE": dm.FULL - women - other, "OTHER": other},
        fake_share=fake,
    )


def audience_snapshots(
    rng: random.Random,
    account: SocialAccount,
    country: str,
    niches: list[str],
    suspicious: Decimal | None,
    at: datetime,
) -> list[AudienceSnapshot]:
    """The account's snapshots, oldest first; the newest fake share becomes the account's
    suspicious share, as recording it through the API does."""
    out = []
    for back in (90, 0):
        audience = audience_of(rng, account, country, niches, suspicious)
        out.append(
            AudienceSnapshot(
                organization_id=account.organization_id,
                social_account_id=account.id,
                influencer_id=account.influencer_id,
                captured_at=at - timedelta(days=back),
                countries=[[k, v] for k, v in audience.countries.items()],
                age_bands=[[k, v] for k, v in audience.age_bands.items()],
                genders=[[k, v] for k, v in dm.ordered(audience.genders)],
                fake_share=audience.fake_share,
            )
        )
    latest = out[-1].fake_share
    if latest is not None:
        account.suspicious_audience_pct = dm.as_percent(latest)
    return out
