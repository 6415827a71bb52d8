"""Post results: the counters of a published deliverable and every figure derived from them.

Defined once here, documented in the schema from these docstrings' wording:

- engagements = likes + comments + shares + saves (the counters that are known; None when none
  of the four is known);
- engagement rate by reach = engagements / reach x 100; by followers = engagements / followers
  at posting time x 100 (percent, 2 places, half-even);
- CTR = link clicks / impressions x 100 (percent, 2 places, half-even);
- with the cost of the work (integer minor units): CPM = cost x 1000 / impressions, CPE = cost /
  engagements, CPV = cost / views, cost per click = cost / link clicks, cost per conversion =
  cost / conversions, each rounded half-even once to the minor unit.

Every figure is None where it is undefined (a counter not reported, a zero denominator): never a
division by zero, never a float. A counter not reported is None, not 0: a spreadsheet without
saves must not read as "nobody saved it".

The cost of a deliverable is its partnership's cost (flat fees and bonuses, gifted product value
and the commission its tracked links and discount codes earned: links and codes belong to the
partnership, not to one post) spread evenly over the partnership's published deliverables, the
remainder of the division one minor unit each to the earliest published (`split_evenly`), so the
shares add up to the partnership's cost exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from api.domain.problems import Problem, ProblemCode
from api.money import round_half_even

RATE_PLACES = 2
_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
# The largest GraphQL Int: a counter an import stored must be readable through the API.
MAX_COUNTER = 2**31 - 1


class MetricSource(StrEnum):
    MANUAL = "MANUAL"  # typed in by the brand
    IMPORT = "IMPORT"  # a spreadsheet (`importPostMetrics`, `vouch import post-metrics`)
    PLATFORM_API = "PLATFORM_API"  # read from the platform's insights API
    SELF_REPORTED = "SELF_REPORTED"  # reported by the influencer: the brand may want proof


@dataclass(frozen=True, slots=True)
class Counts:
    """One snapshot's counters, each None when not reported."""

    impressions: int | None = None
    reach: int | None = None
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    link_clicks: int | None = None

    def values(self) -> dict[str, int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


COUNTERS = tuple(f.name for f in fields(Counts))
_INTERACTIONS = ("likes", "comments", "shares", "saves")


def engagements(counts: Counts) -> int | None:
    """likes + comments + shares + saves, of those reported; None when none is."""
    known = [getattr(counts, name) for name in _INTERACTIONS if getattr(counts, name) is not None]
    return sum(known) if known else None


def percent(part: int | None, whole: int | None) -> Decimal | None:
    """part / whole x 100, 2 places half-even; None when either is unknown or whole is 0."""
    if part is None or not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


def per(cost: int | None, count: int | None, scale: int = 1) -> int | None:
    """cost x scale / count in minor units, half-even; None when either is unknown or count is
    0. CPM is `per(cost, impressions, 1000)`."""
    if cost is None or not count:
        return None
    return round_half_even(Decimal(cost) * scale / Decimal(count))


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` in `parts` shares that differ by at most one minor unit and add up to `total`,
    the larger shares first (the earliest published deliverables carry the remainder)."""
    if parts <= 0:
        return []
    share, remainder = divmod(total, parts)
    return [share + 1 if i < remainder else share for i in range(parts)]


def validate(counts: Counts) -> list[Problem]:
    """Counters a snapshot cannot have: negative or absurd ones, and a reach above impressions
    (reach counts the distinct accounts that saw the post, impressions every time it was shown,
    so each account reached is at least one impression)."""
    problems = []
    for name, value in counts.values().items():
        if value is None:
            continue
        if value < 0:
            problems.append(Problem(name, f"{name} must not be negative", ProblemCode.NEGATIVE))
        elif value > MAX_COUNTER:
            problems.append(
                Problem(name, f"{name} must be at most {MAX_COUNTER}", ProblemCode.OUT_OF_RANGE)
            )
    reach, impressions = counts.reach, counts.impressions
    if reach is not None and impressions is not None and reach > impressions:
        problems.append(
            Problem(
                "reach",
                f"reach ({reach}) cannot exceed impressions ({impressions}): every account "
                "reached saw the post at least once",
                ProblemCode.OUT_OF_RANGE,
            )
        )
    return problems


def regressions(earlier: Counts | None, later: Counts | None, note: str = "") -> list[Problem]:
    """Counters of `later` below those of `earlier` (both snapshots of one deliverable, in
    capturedAt order): a post's totals only grow, so a drop is a typo or a different post. A
    counter unknown in either snapshot is not compared. `note` ends each message (which
    snapshot it was compared with)."""
    if earlier is None or later is None:
        return []
    problems = []
    for name, before in earlier.values().items():
        after = getattr(later, name)
        if before is not None and after is not None and after < before:
            problems.append(
                Problem(name, f"{name} goes backwards: {before} then {after}{note}", "REGRESSION")
            )
    return problems


@dataclass(frozen=True, slots=True)
class PostTotals:
    """Counters summed over deliverables (the latest snapshot of each), with the pairs the rates
    need: a rate divides only over the deliverables that reported both of its counters."""

    deliverables: int = 0
    impressions: int | None = None
    reach: int | None = None
    views: int | None = None
    engagements: int | None = None
    link_clicks: int | None = None
    engagements_with_reach: int = 0
    reach_with_engagements: int = 0
    engagements_with_followers: int = 0
    followers_with_engagements: int = 0
    clicks_with_impressions: int = 0
    impressions_with_clicks: int = 0

    @property
    def engagement_rate(self) -> Decimal | None:
        """Engagements / reach x 100, over the deliverables that reported both."""
        return percent(self.engagements_with_reach, self.reach_with_engagements)

    @property
    def engagement_rate_by_followers(self) -> Decimal | None:
        """Engagements / followers at posting time x 100, over those that know both."""
        return percent(self.engagements_with_followers, self.followers_with_engagements)

    @property
    def ctr(self) -> Decimal | None:
        """Link clicks / impressions x 100, over the deliverables that reported both."""
        return percent(self.clicks_with_impressions, self.impressions_with_clicks)


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def total(snapshots: Iterable[tuple[Counts, int | None]]) -> PostTotals:
    """The totals of (counts, followers at posting time) pairs, one per deliverable."""
    t = PostTotals()
    sums: dict[str, int | None] = {
        "impressions": None,
        "reach": None,
        "views": None,
        "engagements": None,
        "link_clicks": None,
    }
    pairs = dict.fromkeys(
        (
            "engagements_with_reach",
            "reach_with_engagements",
            "engagements_with_followers",
            "followers_with_engagements",
            "clicks_with_impressions",
            "impressions_with_clicks",
        ),
        0,
    )
    n = 0
    for counts, followers in snapshots:
        n += 1
        e = engagements(counts)
        for name, value in (
            ("impressions", counts.impressions),
            ("reach", counts.reach),
            ("views", counts.views),
            ("engagements", e),
            ("link_clicks", counts.link_clicks),
        ):
            sums[name] = _add(sums[name], value)
        if e is not None and counts.reach is not None:
            pairs["engagements_with_reach"] += e
            pairs["reach_with_engagements"] += counts.reach
        if e is not None and followers is not None:
            pairs["engagements_with_followers"] += e
            pairs["followers_with_engagements"] += followers
        if counts.link_clicks is not None and counts.impressions is not None:
            pairs["clicks_with_impressions"] += counts.link_clicks
            pairs["impressions_with_clicks"] += counts.impressions
    if n == 0:
        return t
    return PostTotals(deliverables=n, **sums, **pairs)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class CostFigures:
    """What the results cost per unit, minor units; None where undefined."""

    cpm: int | None
    cpe: int | None
    cpv: int | None
    cost_per_click: int | None
    cost_per_conversion: int | None


def cost_figures(
    cost: int | None,
    *,
    impressions: int | None,
    engagements: int | None,
    views: int | None,
    link_clicks: int | None,
    conversions: int | None = None,
) -> CostFigures:
    """CPM = cost x 1000 / impressions, CPE = cost / engagements, CPV = cost / views, cost per
    click = cost / link clicks, cost per conversion = cost / conversions."""
    return CostFigures(
        cpm=per(cost, impressions, 1000),
        cpe=per(cost, engagements),
        cpv=per(cost, views),
        cost_per_click=per(cost, link_clicks),
        cost_per_conversion=per(cost, conversions),
    )
