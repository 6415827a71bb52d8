"""Audience demographics: who follows an account, as shares in basis points (10,000 = 100 %).

A snapshot says, at one time, how the audience splits by country (ISO 3166-1 alpha-2), by age
band and by gender, and which share of it looks fake (the audit tool's figure). Rules:
- every share is an integer 0..10,000 basis points; a key appears at most once;
- countries are usually a top-N list, so they sum to at most 100 % (the rest is "elsewhere");
- age bands and genders, when given, are complete: they sum to 100 %, give or take
  `ROUNDING_TOLERANCE` (exports round each share, so 33.4 + 33.3 + 33.4 is fine);
- an empty distribution means "not known", never "nobody".

An influencer's audience is the follower-weighted mean of its accounts' latest snapshots
(`blend`): an account with a tenth of the followers moves it a tenth as much.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Final

from api.domain.countries import ISO_3166_ALPHA2
from api.domain.problems import Problem

FULL: Final = 10_000  # basis points in 100 %
ROUNDING_TOLERANCE: Final = 100  # basis points a complete distribution may be off by
MAX_COUNTRIES: Final = 250


class AgeBand(StrEnum):
    AGE_13_17 = "13-17"
    AGE_18_24 = "18-24"
    AGE_25_34 = "25-34"
    AGE_35_44 = "35-44"
    AGE_45_54 = "45-54"
    AGE_55_PLUS = "55+"


class Gender(StrEnum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    OTHER = "OTHER"  # other or unknown


class Kind(StrEnum):
    """The distributions of a snapshot, as stored in `audience_facets.kind` too."""

    COUNTRY = "COUNTRY"
    AGE = "AGE"
    GENDER = "GENDER"


Distribution = dict[str, int]  # key -> basis points, in the order given


@dataclass(frozen=True, slots=True)
class Audience:
    countries: Distribution = field(default_factory=dict)
    age_bands: Distribution = field(default_factory=dict)
    genders: Distribution = field(default_factory=dict)
    fake_share: int | None = None

    def distribution(self, kind: Kind) -> Distribution:
        return {
            Kind.COUNTRY: self.countries,
            Kind.AGE: self.age_bands,
            Kind.GENDER: self.genders,
        }[kind]


def country_key(value: str) -> str | None:
    code = value.strip().upper()
    return code if code in ISO_3166_ALPHA2 else None


def age_key(value: str) -> str | None:
    """An age band by its value ("18-24") or name ("AGE_18_24"); "55-64" or "65+" is not one."""
    value = value.strip().upper()
    for band in AgeBand:
        if value in (band.value, band.name):
            return band.value
    return None


def gender_key(value: str) -> str | None:
    value = value.strip().upper()
    aliases = {"F": "FEMALE", "M": "MALE", "UNKNOWN": "OTHER", "U": "OTHER"}
    value = aliases.get(value, value)
    return value if value in Gender.__members__ else None


_KEYS = {Kind.COUNTRY: country_key, Kind.AGE: age_key, Kind.GENDER: gender_key}
_WHAT = {
    Kind.COUNTRY: "an ISO 3166-1 alpha-2 country code such as FR",
    Kind.AGE: "an age band: " + ", ".join(b.value for b in AgeBand),
    Kind.GENDER: "FEMALE, MALE or OTHER",
}
_FIELDS = {Kind.COUNTRY: "countries", Kind.AGE: "age_bands", Kind.GENDER: "genders"}
_KEY_FIELDS = {Kind.COUNTRY: "country", Kind.AGE: "band", Kind.GENDER: "gender"}


def distribution(
    kind: Kind, entries: Sequence[tuple[str, int]], problems: list[Problem]
) -> Distribution:
    """The checked distribution of `entries` (key, basis points); problems are appended, with
    snake_case paths (`age_bands[1].share`) as `api.domain.problems` has them."""
    name = _FIELDS[kind]
    if kind is Kind.COUNTRY and len(entries) > MAX_COUNTRIES:
        problems.append(Problem(name, f"at most {MAX_COUNTRIES} countries", "TOO_LONG"))
        return {}
    out: Distribution = {}
    for i, (raw, share) in enumerate(entries):
        key = _KEYS[kind](raw)
        if key is None:
            problems.append(
                Problem(
                    f"{name}[{i}].{_KEY_FIELDS[kind]}",
                    f"{raw!r} is not {_WHAT[kind]}",
                    "INVALID",
                )
            )
            continue
        if key in out:
            problems.append(
                Problem(f"{name}[{i}].{_KEY_FIELDS[kind]}", f"{key} is given twice", "DUPLICATE")
            )
            continue
        if not 0 <= share <= FULL:
            problems.append(
                Problem(
                    f"{name}[{i}].share",
                    f"a share is 0 to {FULL} basis points (0-100 %), got {share}",
                    "OUT_OF_RANGE",
                )
            )
            continue
        out[key] = share
    total = sum(out.values())
    if kind is Kind.COUNTRY:
        if total > FULL + ROUNDING_TOLERANCE:
            problems.append(
                Problem(name, f"countries add up to {_pct(total)}, over 100 %", "OUT_OF_RANGE")
            )
    elif out and abs(total - FULL) > ROUNDING_TOLERANCE:
        problems.append(
            Problem(
                name,
                f"{name.replace('_', ' ')} add up to {_pct(total)}: a complete split adds up "
                f"to 100 % (give or take {_pct(ROUNDING_TOLERANCE)} of rounding)",
                "OUT_OF_RANGE",
            )
        )
    return out


def audience(
    countries: Sequence[tuple[str, int]],
    age_bands: Sequence[tuple[str, int]],
    genders: Sequence[tuple[str, int]],
    fake_share: int | None,
) -> tuple[Audience, list[Problem]]:
    """A checked snapshot, or the problems with it (all of them, not only the first)."""
    problems: list[Problem] = []
    result = Audience(
        countries=distribution(Kind.COUNTRY, countries, problems),
        age_bands=distribution(Kind.AGE, age_bands, problems),
        genders=distribution(Kind.GENDER, genders, problems),
        fake_share=fake_share,
    )
    if fake_share is not None and not 0 <= fake_share <= FULL:
        problems.append(
            Problem("fake_share", f"the fake share is 0 to {FULL} basis points", "OUT_OF_RANGE")
        )
    return result, problems


def blend(parts: Iterable[tuple[int, Audience]]) -> Audience:
    """The follower-weighted mean of (followers, audience) pairs, half-even to the basis point.

    Each distribution and the fake share is averaged over the accounts that report it (an
    account without age bands does not dilute the others'); a plain mean when none of those
    accounts has followers.
    """
    parts = list(parts)

    def mean(values: list[tuple[int, int]]) -> int:
        total = sum(w for w, _ in values)
        if total:
            return _round(Decimal(sum(w * v for w, v in values)) / total)
        return _round(Decimal(sum(v for _, v in values)) / len(values))

    def mixed(kind: Kind) -> Distribution:
        reporting = [(w, a.distribution(kind)) for w, a in parts if a.distribution(kind)]
        keys = dict.fromkeys(key for _, d in reporting for key in d)  # first-seen order
        shares = {key: mean([(w, d.get(key, 0)) for w, d in reporting]) for key in keys}
        return dict(ordered(shares))

    fakes = [(w, a.fake_share) for w, a in parts if a.fake_share is not None]
    return Audience(
        countries=mixed(Kind.COUNTRY),
        age_bands=mixed(Kind.AGE),
        genders=mixed(Kind.GENDER),
        fake_share=mean(fakes) if fakes else None,
    )


def as_percent(share: int) -> Decimal:
    """Basis points as a percentage with two places: 1234 -> 12.34."""
    return (Decimal(share) / 100).quantize(Decimal("0.01"))


def ordered(values: Mapping[str, int]) -> list[tuple[str, int]]:
    """Largest share first, then by key: the order lists are shown in."""
    return sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))


def _round(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def _pct(bp: int) -> str:
    return f"{as_percent(bp)} %"
