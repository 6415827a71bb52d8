"""Contract exclusivity: while it runs, the creator works for no competitor of the brand.

A contract's exclusivity is a number of days, the categories it covers ("skincare") and named
competitor brands ("Glow Labs", "@glowlabs"). Rules:

- The period starts when the terms were accepted (the contract's `accepted_at`, else the
  partnership's answer) and lasts `days` days: [start, start + days). No days (or 0), or terms
  nobody accepted, is no exclusivity.
- Inviting the creator to a partnership of another brand conflicts with an exclusivity in force
  when that brand is in one of its categories (categories compare without case or surrounding
  space) or is named among its competitors.
- A caption mentions a competitor when it contains the name as whole words (case-insensitive,
  not inside a longer word; between its words any spaces, hyphens, dots, apostrophes or
  ampersands), or as a @handle or #hashtag written without spaces ("Glow Labs" is
  matched by "glow labs", "@GlowLabs", "#glowlabs"); an "@handle" competitor matches that handle
  only. A caption seen outside the period is no conflict.
- The creator's own comments and replies under the post are post data too: a competitor
  mentioned there during the period is a conflict as in the caption (`post_conflicts` says
  where each mention is: "caption", or "comment N" counting from 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_COMPETITORS = 50
MAX_NAME = 100


@dataclass(frozen=True)
class Exclusivity:
    """The exclusivity of one partnership's contract, with the brand it is owed to."""

    partnership_id: int
    brand_id: int
    brand_name: str
    starts_at: datetime | None  # None: the terms are not accepted
    days: int | None
    categories: tuple[str, ...] = ()
    competitors: tuple[str, ...] = ()

    @property
    def ends_at(self) -> datetime | None:
        if self.starts_at is None or not self.days:
            return None
        return self.starts_at + timedelta(days=self.days)

    def in_force(self, at: datetime) -> bool:
        end = self.ends_at
        return self.starts_at is not None and end is not None and self.starts_at <= at < end


@dataclass(frozen=True)
class Mention:
    competitor: str
    text: str  # as written in the caption
    start: int
    end: int


@dataclass(frozen=True)
class InvitationConflict:
    exclusivity: Exclusivity
    categories: tuple[str, ...]  # the categories both share
    named: bool  # the invited brand is a named competitor


def category_key(value: str) -> str:
    return " ".join(value.split()).casefold()


def clean_competitor(value: str) -> str | None:
    """The competitor as stored (trimmed, inner spaces collapsed), or None if it is blank, too
    long or only punctuation."""
    name = " ".join(value.split())
    if not name or len(name) > MAX_NAME or not re.search(r"\w", name):
        return None
    return name


def _pattern(competitor: str) -> re.Pattern[str]:
    if competitor.startswith("@"):
        handle = re.escape(competitor[1:])
        return re.compile(rf"(?<![\w@.])@{handle}(?![\w])", re.IGNORECASE)
    words = [re.escape(w) for w in re.findall(r"\w+", competitor)]
    # Between the words of a name: spaces, hyphens, dots, apostrophes, ampersands ("L'Oréal").
    spaced = r"[\s\-_.'\u2019&]*".join(words) if len(words) > 1 else words[0]
    squashed = "".join(words)
    return re.compile(rf"(?<![\w@#]){spaced}(?!\w)|(?<![\w@#])[@#]{squashed}(?!\w)", re.IGNORECASE)


def mentions(caption: str, competitors: Iterable[str]) -> list[Mention]:
    """Every mention of a competitor in the caption, in the caption's order."""
    found = []
    for competitor in competitors:
        if clean_competitor(competitor) is None:
            continue
        for m in _pattern(competitor).finditer(caption):
            found.append(Mention(competitor, m.group(0), m.start(), m.end()))
    return sorted(found, key=lambda m: (m.start, m.competitor))


def _is_named(brand_name: str, competitors: Iterable[str]) -> bool:
    key = category_key(brand_name)
    squashed = re.sub(r"\W+", "", key)
    for competitor in competitors:
        c = category_key(competitor)
        if c == key or c.lstrip("@") == squashed:
            return True
    return False


def invitation_conflicts(
    exclusivities: Iterable[Exclusivity],
    brand_id: int,
    brand_name: str,
    brand_categories: Iterable[str],
    at: datetime,
) -> list[InvitationConflict]:
    """The exclusivities in force at `at`, owed to another brand, that an invitation from
    `brand_id` (named `brand_name`, in `brand_categories`) would break."""
    wanted = {category_key(c) for c in brand_categories}
    conflicts = []
    for ex in exclusivities:
        if ex.brand_id == brand_id or not ex.in_force(at):
            continue
        shared = tuple(sorted(wanted & {category_key(c) for c in ex.categories}))
        named = _is_named(brand_name, ex.competitors)
        if shared or named:
            conflicts.append(InvitationConflict(ex, shared, named))
    return conflicts


def caption_conflicts(
    exclusivities: Iterable[Exclusivity], caption: str, seen_at: datetime
) -> list[tuple[Exclusivity, list[Mention]]]:
    """The exclusivities in force at `seen_at` whose competitors the caption mentions."""
    out = []
    for ex in exclusivities:
        if not ex.in_force(seen_at):
            continue
        found = mentions(caption, ex.competitors)
        if found:
            out.append((ex, found))
    return out


CAPTION = "caption"


def post_conflicts(
    exclusivities: Iterable[Exclusivity],
    caption: str,
    comments: Iterable[str],
    seen_at: datetime,
) -> list[tuple[Exclusivity, list[tuple[str, Mention]]]]:
    """The exclusivities in force at `seen_at` whose competitors the caption or one of the
    creator's comments mentions, each mention with where it is ("caption", "comment 1"...)."""
    texts = [(CAPTION, caption), *((f"comment {n}", c) for n, c in enumerate(comments, 1))]
    out = []
    for ex in exclusivities:
        if not ex.in_force(seen_at):
            continue
        found = [(where, m) for where, text in texts for m in mentions(text, ex.competitors)]
        if found:
            out.append((ex, found))
    return out
