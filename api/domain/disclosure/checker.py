"""The disclosure check: one caption against each requested jurisdiction's rule set.

Per jurisdiction:
1. Scan the folded caption for the rule set's labels, highest-priority kind first (negations,
   image mentions, accepted, secondary/unlisted, foreign, ambiguous); a match overlapping an
   earlier one is dropped, and so is one inside a URL or an @mention.
2. If the connection needs a label, find an accepted one (for this connection) that stands where
   the regulator wants it (before the fold, or at the very start) and is not buried in a block of
   hashtags. Otherwise report why: misplaced, only rejected labels, or nothing at all. The
   platform's own label counts where the regulator accepts it, and is flagged for review where
   it may not be enough. A label spelt out letter by letter ("# a d") is found but flagged for
   review; one that is only in the creator's first comment or a reply does not count (no
   follower sees it without opening the comments: every regulator's placement rule).
3. France: "Images retouchées" / "Images virtuelles" when the content is retouched/AI-made.
4. Video, story, live and podcast content gets NEEDS_REVIEW (a caption cannot prove what is on
   screen or said) unless something already FAILs or the platform's label covers it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from . import messages as msg
from .model import (
    Connection,
    DisclosureInput,
    DisclosureInputError,
    DisclosureReport,
    Finding,
    FindingCode,
    JurisdictionResult,
    Verdict,
)
from .normalize import Folded, fold
from .ruleset import (
    LabelKind,
    LabelRule,
    PlacementMode,
    PlatformLabelPolicy,
    PlatformRules,
    Requirement,
    Rules,
    RuleSet,
    load_rules,
)

_TAG = re.compile(r"[#@][\w.]*\w")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_WORD = re.compile(r"[#@]?\w+")
_HAS_WORD = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class Match:
    rule: LabelRule
    start: int  # offsets into the folded text
    end: int


class _Caption:
    """Per-check facts about the caption, computed once and shared by every jurisdiction."""

    def __init__(self, caption: str) -> None:
        self.folded: Folded = fold(caption)
        text = self.folded.text
        self.urls = [m.span() for m in _URL.finditer(text)]
        self.tags = [
            m.span()
            for m in _TAG.finditer(text)
            if not any(u0 <= m.start() < u1 for u0, u1 in self.urls)
        ]
        self.mentions = [(s, e) for s, e in self.tags if text[s] == "@"]
        self._newlines: list[int] | None = None
        self._scans: dict[int, list[tuple[int, int, int]]] = {}

    def scan(self, regex: re.Pattern[str]) -> list[tuple[int, int, int]]:
        """(rule index, start, end) of every match; shared between rule sets."""
        found = self._scans.get(id(regex))  # by identity: hashing a Pattern hashes its source
        if found is None:
            found = []
            for m in regex.finditer(self.folded.text):
                s, e = m.span()
                if any(u0 <= s < u1 for u0, u1 in self.urls):
                    continue
                if any(m0 < s < m1 for m0, m1 in self.mentions):
                    continue
                found.append((int(m.lastgroup[1:]), s, e))  # type: ignore[index]
            self._scans[id(regex)] = found
        return found

    def line_of(self, original_offset: int) -> int:
        if self._newlines is None:
            self._newlines = [i for i, c in enumerate(self.folded.original) if c == "\n"]
        return bisect.bisect_left(self._newlines, original_offset)


_LABEL_PUNCTUATION = frozenset(":|/-)]*\n")


def _plain_word_counts(caption: _Caption, start: int, end: int) -> bool:
    """Whether a bare word that is also an everyday word elsewhere (Italian "ad" = "to") reads
    as a label: after "#", at the start of the caption, capitalised, or before punctuation."""
    text = caption.folded.text
    if text[start] == "#" or not _HAS_WORD.search(text, 0, start):
        return True
    o_start, o_end = caption.folded.span(start, end)
    written = caption.folded.original[o_start:o_end]
    if written != written.lower():
        return True
    rest = text[end:].lstrip(" \t")
    return not rest or rest[0] in _LABEL_PUNCTUATION


def _matches(caption: _Caption, rules: RuleSet) -> list[Match]:
    kept: list[Match] = []
    for scan_pass in rules.passes:
        earlier = len(kept)
        for index, s, e in caption.scan(scan_pass.regex):
            rule = scan_pass.rules[index]
            if any(k.start < e and s < k.end for k in kept[:earlier]):
                continue
            if rule.strict_plain and not _plain_word_counts(caption, s, e):
                continue
            kept.append(Match(rule, s, e))
    kept.sort(key=lambda m: m.start)
    return kept


class _Context:
    """One jurisdiction's evaluation of one caption."""

    def __init__(
        self,
        inp: DisclosureInput,
        caption: _Caption,
        rules: RuleSet,
        platform: PlatformRules,
        visual: bool,
        audio: bool,
        comments: list[_Caption],
    ) -> None:
        self.inp = inp
        self.caption = caption
        self.comments = comments
        self.rules = rules
        self.platform = platform
        self.visual = visual
        self.audio = audio
        self.matches = _matches(caption, rules)
        self.findings: list[Finding] = []
        self._buried: list[tuple[int, int]] | None = None

    # -- helpers -------------------------------------------------------------------------------

    def add(self, code: FindingCode, message: str, severity: Verdict, m: Match | None = None):
        start = end = None
        if m is not None:
            start, end = self.caption.folded.span(m.start, m.end)
        self.findings.append(Finding(code, message, start, end, severity))

    def text(self, m: Match) -> str:
        start, end = self.caption.folded.span(m.start, m.end)
        return self.caption.folded.original[start:end]

    def upfront(self, m: Match) -> bool:
        start, end = self.caption.folded.span(m.start, m.end)
        if self.caption.folded.visible(end) > self.platform.fold_chars:
            return False
        lines = self.platform.fold_lines
        if lines is not None and self.caption.line_of(start) >= lines:
            return False
        if self.rules.placement is PlacementMode.START:
            before = self.caption.folded.text[: m.start]
            return len(_WORD.findall(before)) <= self.rules.max_words_before
        return True

    def buried_tags(self) -> list[tuple[int, int]]:
        """Label hashtags mixed into a block of other hashtags (see FTC/CAP guidance)."""
        if self._buried is not None:
            return self._buried
        buried: list[tuple[int, int]] = []
        minimum = self.rules.block_min_tags
        text = self.caption.folded.text
        tags = self.caption.tags
        if minimum:
            blocks: list[list[tuple[int, int]]] = []
            for tag in tags:
                if blocks and not _HAS_WORD.search(text, blocks[-1][-1][1], tag[0]):
                    blocks[-1].append(tag)
                else:
                    blocks.append([tag])
            for block in blocks:
                if len(block) < minimum:
                    continue
                labelled = [t for t in block if self._is_label_tag(t)]
                if len(block) - len(labelled) < 2:
                    continue  # a row of labels ("#ad #gifted #sponsored") is not burying them
                leads_caption = not _HAS_WORD.search(text, 0, block[0][0])
                row = [t for t in block if text[t[0]] == "#"]
                for tag in labelled:
                    if tag is block[0] and leads_caption:
                        continue
                    if self.rules.block_edges_ok and row and (tag is row[0] or tag is row[-1]):
                        continue  # NL: first or last of the row of hashtags is where one looks
                    buried.append(tag)
        self._buried = buried
        return buried

    def _is_label_tag(self, tag: tuple[int, int]) -> bool:
        return any(m.start < tag[1] and tag[0] < m.end for m in self.matches)

    def is_buried(self, m: Match) -> bool:
        return any(t0 < m.end and m.start < t1 for t0, t1 in self.buried_tags())

    def placed(self, m: Match) -> bool:
        return self.upfront(m) and not self.is_buried(m)

    def spelt_out(self, m: Match) -> bool:
        return any(s0 < m.end and m.start < s1 for s0, s1 in self.caption.folded.spaced)

    def in_comment(self) -> str | None:
        """An accepted label for this connection in the creator's comments, as written."""
        connection = self.inp.connection
        for comment in self.comments:
            for m in _matches(comment, self.rules):
                if m.rule.kind is not LabelKind.ACCEPTED:
                    continue
                if m.rule.connections is None or connection in m.rule.connections:
                    start, end = comment.folded.span(m.start, m.end)
                    return comment.folded.original[start:end]
        return None

    # -- rules ---------------------------------------------------------------------------------

    def run(self) -> JurisdictionResult:
        connection = self.inp.connection
        requirement = self.rules.requirement_for(connection)
        if connection is not Connection.NONE:
            for m in self.matches:
                if m.rule.kind is LabelKind.NEGATION:
                    self.add(
                        FindingCode.CONTRADICTORY_LABEL,
                        msg.contradiction(self.text(m), connection, self.rules),
                        Verdict.FAIL,
                        m,
                    )
        platform_label = self.inp.platform_label is not None
        if requirement is not Requirement.NONE:
            severity = Verdict.FAIL if requirement is Requirement.REQUIRED else Verdict.NEEDS_REVIEW
            self.check_label(severity, platform_label)
        image_mentions = self.check_image_mentions()
        if not any(f.severity is Verdict.FAIL for f in self.findings):
            needs_ad_on_screen = requirement is not Requirement.NONE and not platform_label
            if self.visual and (needs_ad_on_screen or image_mentions):
                shows = list(self.rules.suggest[:1]) if needs_ad_on_screen else []
                shows += image_mentions
                self.add(
                    FindingCode.VISUAL_CHECK_REQUIRED,
                    msg.visual_check(self.inp.format, self.platform, shows, self.rules),
                    Verdict.NEEDS_REVIEW,
                )
            elif self.audio and needs_ad_on_screen:
                self.add(
                    FindingCode.AUDIO_CHECK_REQUIRED,
                    msg.audio_check(self.rules),
                    Verdict.NEEDS_REVIEW,
                )
        self.findings.sort(key=lambda f: (-f.severity.rank, f.start if f.start is not None else -1))
        verdict = Verdict.worst(f.severity for f in self.findings)
        return JurisdictionResult(self.rules.jurisdiction, verdict, tuple(self.findings))

    def check_label(self, severity: Verdict, platform_label: bool) -> None:
        rules, platform, connection = self.rules, self.platform, self.inp.connection
        accepted: list[Match] = []
        mismatched: list[Match] = []
        for m in self.matches:
            if m.rule.kind is not LabelKind.ACCEPTED:
                continue
            if m.rule.connections is None or connection in m.rule.connections:
                accepted.append(m)
            else:
                mismatched.append(m)

        if platform_label and rules.platform_label is PlatformLabelPolicy.ACCEPTED:
            return
        placed = [m for m in accepted if self.placed(m)]
        if any(not self.spelt_out(m) for m in placed):
            return
        if placed:
            self.add(
                FindingCode.OBFUSCATED_LABEL,
                msg.spelt_out(self.text(placed[0]), rules, platform),
                Verdict.NEEDS_REVIEW,
                placed[0],
            )
            return
        if platform_label:
            self.add(
                FindingCode.PLATFORM_LABEL_ONLY,
                msg.platform_label_only(rules, platform),
                Verdict.NEEDS_REVIEW,
            )
            return
        if accepted:
            first = accepted[0]
            if not self.upfront(first):
                self.add(
                    FindingCode.LABEL_NOT_UPFRONT,
                    msg.not_upfront(self.text(first), rules, platform),
                    severity,
                    first,
                )
            if self.is_buried(first):
                self.add(
                    FindingCode.LABEL_BURIED_IN_HASHTAGS,
                    msg.buried(self.text(first), rules, platform),
                    severity,
                    first,
                )
            return

        commented = self.in_comment()
        if commented is not None:
            self.add(
                FindingCode.LABEL_ONLY_IN_COMMENT,
                msg.only_in_comment(commented, rules, platform),
                severity,
            )
            return

        unlisted = [m for m in self.matches if m.rule.kind is LabelKind.UNLISTED and self.placed(m)]
        if unlisted:
            m = unlisted[0]
            self.add(
                FindingCode.UNLISTED_LABEL,
                msg.unlisted(self.text(m), m.rule.reason or "", rules, platform),
                Verdict.NEEDS_REVIEW,
                m,
            )
            return

        reported = False
        for m in mismatched:
            says = min(m.rule.connections or (connection,))
            self.add(
                FindingCode.LABEL_CONNECTION_MISMATCH,
                msg.connection_mismatch(self.text(m), says, connection, rules, platform),
                severity,
                m,
            )
            reported = True
        seen: set[str] = set()
        for m in self.matches:
            if m.rule.id in seen:
                continue  # one finding per rejected label, at its first occurrence
            seen.add(m.rule.id)
            text, reason = self.text(m), m.rule.reason or ""
            if m.rule.kind is LabelKind.SECONDARY:
                code = FindingCode.SECONDARY_LABEL_ONLY
                message = msg.secondary_only(text, rules, platform)
            elif m.rule.kind is LabelKind.FOREIGN:
                code = FindingCode.LANGUAGE_MISMATCH
                message = msg.foreign(text, reason, rules, platform)
            elif m.rule.kind is LabelKind.AMBIGUOUS:
                code = FindingCode.AMBIGUOUS_LABEL
                message = msg.rejected(text, reason, rules, platform)
            else:
                continue
            self.add(code, message, severity, m)
            reported = True
        if not reported:
            self.add(
                FindingCode.MISSING_LABEL,
                msg.missing(rules, platform, severity is Verdict.FAIL, connection),
                severity,
            )

    def check_image_mentions(self) -> list[str]:
        """France's retouched/AI image mentions; returns the mentions the screen must show."""
        required = []
        if self.inp.retouched and LabelKind.RETOUCHED in self.rules.image_mentions:
            required.append(
                (
                    self.rules.image_mentions[LabelKind.RETOUCHED],
                    FindingCode.MISSING_RETOUCHED_LABEL,
                    "retouched",
                )
            )
        if self.inp.ai_generated and LabelKind.AI in self.rules.image_mentions:
            required.append(
                (
                    self.rules.image_mentions[LabelKind.AI],
                    FindingCode.MISSING_AI_LABEL,
                    "AI-generated",
                )
            )
        shows = []
        for rule, code, what in required:
            label = rule.label or rule.id
            shows.append(label)
            found = [m for m in self.matches if m.rule is rule]
            if not found:
                self.add(
                    code,
                    msg.missing_image_mention(label, what, self.rules, self.platform),
                    Verdict.FAIL,
                )
            elif not any(self.upfront(m) for m in found):
                self.add(
                    FindingCode.LABEL_NOT_UPFRONT,
                    msg.image_mention_not_upfront(label, self.rules, self.platform),
                    Verdict.FAIL,
                    found[0],
                )
        return shows


def check(inp: DisclosureInput, rules: Rules | None = None) -> DisclosureReport:
    """Check one piece of content against each of `inp.jurisdictions`."""
    rules = rules or load_rules()
    platform = rules.platforms[inp.platform]
    if inp.platform_label is not None and inp.platform_label not in platform.labels:
        offered = ", ".join(sorted(platform.labels)) or "none"
        raise DisclosureInputError(
            "platform_label",
            f"{inp.platform.value} has no {inp.platform_label.value} label "
            f"(its own label: {offered})",
        )
    caption = _Caption(inp.caption)
    comments = [_Caption(c) for c in inp.comments]
    visual = inp.format in rules.visual_formats
    audio = inp.format in rules.audio_formats
    results = tuple(
        _Context(inp, caption, rules.jurisdictions[j], platform, visual, audio, comments).run()
        for j in inp.jurisdictions
    )
    return DisclosureReport(results=results, rules_version=rules.version)
