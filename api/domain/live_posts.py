"""What changed between a deliverable's approved caption and the caption seen live.

A brand approves one version (its caption and the disclosure check stored with it); the post
may then be edited on the platform. `compare` reads the two checks (the stored report format of
`api.content.review.disclosure_report`: "worstVerdict", "results", "brandRequirements") and
says what the rules care about:

- DISCLOSURE_REMOVED: the live caption's worst verdict is worse than the approved one's
  (PASS < NEEDS_REVIEW < FAIL): the disclosure the brand approved is gone or no longer enough.
  An approval that was already FAIL (an ADMIN override) cannot get worse.
- CAPTION_CHANGED: a required hashtag, mention or label the approved caption had is missing
  live, or a placement finding (the label after the "more" cut, or buried in a hashtag block)
  appears that the approved check did not have, at any severity.

Both may hold for one caption. Nothing here reads the database: callers pass the reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

_RANK = {None: 0, "PASS": 0, "NEEDS_REVIEW": 1, "FAIL": 2}
# Findings about where the label is, not whether it is there: "moved below the fold".
PLACEMENT_CODES = frozenset({"LABEL_NOT_UPFRONT", "LABEL_BURIED_IN_HASHTAGS"})
_REQUIREMENTS = ("missingHashtags", "missingMentions", "missingLabels")


class BreachAction(StrEnum):
    """What the brand wants done when a live post breaks the approved disclosure."""

    NOTIFY = "NOTIFY"  # a finding and an event only
    HOLD_COMMISSION = "HOLD_COMMISSION"  # new commissions of the partnership are HELD
    MARK_BREACHED = "MARK_BREACHED"  # the deliverable is marked breached too


class ChangeKind(StrEnum):
    DISCLOSURE_REMOVED = "DISCLOSURE_REMOVED"
    CAPTION_CHANGED = "CAPTION_CHANGED"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    reasons: tuple[str, ...]  # plain-language, one a rule
    details: dict[str, Any] = field(default_factory=dict)


def caption_hash(caption: str) -> str:
    """The SHA-256 of the caption as seen (UTF-8), hex: the evidence's fingerprint."""
    return hashlib.sha256(caption.encode("utf-8")).hexdigest()


def _codes(report: Mapping[str, Any] | None) -> set[str]:
    if not report:
        return set()
    return {
        f"{r['jurisdiction']}: {f['code']}"
        for r in report.get("results", [])
        for f in r.get("findings", [])
    }


def _verdict(report: Mapping[str, Any] | None) -> str | None:
    return report.get("worstVerdict") if report else None


def compare(approved: Mapping[str, Any] | None, live: Mapping[str, Any] | None) -> list[Change]:
    """The changes between the approved version's check and the live caption's (both stored
    report dicts, or None when the campaign checks nothing)."""
    changes = []
    before, after = _verdict(approved), _verdict(live)
    if _RANK.get(after, 0) > _RANK.get(before, 0):
        new = sorted(_codes(live) - _codes(approved))
        changes.append(
            Change(
                ChangeKind.DISCLOSURE_REMOVED,
                (f"the disclosure check was {before or 'PASS'} when approved and is {after} now",),
                {"verdictBefore": before, "verdictAfter": after, "newFindings": new},
            )
        )
    reasons: list[str] = []
    details: dict[str, Any] = {}
    had = (approved or {}).get("brandRequirements") or {}
    has = (live or {}).get("brandRequirements") or {}
    for key in _REQUIREMENTS:
        removed = sorted(set(has.get(key, [])) - set(had.get(key, [])))
        if removed:
            what = key.removeprefix("missing").lower()
            reasons.append(f"required {what} removed: {', '.join(removed)}")
            details[key.replace("missing", "removed")] = removed
    moved = sorted(
        c for c in _codes(live) - _codes(approved) if c.split(": ", 1)[1] in PLACEMENT_CODES
    )
    if moved:
        reasons.append(f"the label moved: {', '.join(moved)}")
        details["placement"] = moved
    if reasons:
        changes.append(Change(ChangeKind.CAPTION_CHANGED, tuple(reasons), details))
    return changes
