"""Loading the versioned rule files (rules/*.json) into compiled, cached rule sets.

The rules are data: which labels each regulator accepts or rejects, where a label must stand,
which connections need one, each with the source it comes from. This module validates them and
compiles their patterns once per process; `check()` then does no file IO.

Pattern conventions (see rules/common.json "about"): patterns are Python regular expressions
over the folded caption (see normalize.py), written in folded form (ASCII, lower case). A
plain space stands for "any run of spaces, underscores, hyphens or punctuation, or none", so one
pattern matches "Collaboration commerciale", "collaboration-commerciale" and
"#collaborationcommerciale". Every pattern is wrapped so it only matches a whole word: a label
may follow "#" (even glued: "love it#ad") but not a letter, digit or "@" ("bad", "#adorable",
"@adidas" never match).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from .model import Connection, ContentFormat, Jurisdiction, Platform, PlatformLabel

_SEP = r"[\s_\-.,:;|/()\[\]*]*"


class RulesError(RuntimeError):
    """A rule file is malformed: a bug in the data, caught at load time."""


class LabelKind(StrEnum):
    NEGATION = "negation"  # "not sponsored": contradicts a connection
    ACCEPTED = "accepted"  # a label the regulator accepts
    SECONDARY = "secondary"  # IE: accepted only after a primary label
    UNLISTED = "unlisted"  # a plausible label the regulator doesn't list: needs review
    FOREIGN = "foreign"  # a clear label, in the wrong language for this regulator
    AMBIGUOUS = "ambiguous"  # a label followers don't read as advertising
    RETOUCHED = "retouched"  # FR "Images retouchées"
    AI = "ai"  # FR "Images virtuelles"


# Scan passes, highest priority first: a match that overlaps one from an earlier pass is dropped,
# so "not an ad" is a negation, not an "ad", and "collaboration commerciale" is accepted even
# though "collaboration" alone is ambiguous.
PASSES: tuple[tuple[LabelKind, ...], ...] = (
    (LabelKind.NEGATION,),
    (LabelKind.RETOUCHED, LabelKind.AI),
    (LabelKind.ACCEPTED,),
    (LabelKind.SECONDARY, LabelKind.UNLISTED),
    (LabelKind.FOREIGN,),
    (LabelKind.AMBIGUOUS,),
)


class Requirement(StrEnum):
    REQUIRED = "required"  # no label: FAIL
    REVIEW = "review"  # no label: NEEDS_REVIEW
    NONE = "none"  # no label needed


class PlacementMode(StrEnum):
    FOLD = "fold"  # before the platform cuts the caption off ("… more")
    START = "start"  # at the start of the content (and before the fold)


class PlatformLabelPolicy(StrEnum):
    ACCEPTED = "accepted"  # the platform's label is a sufficient disclosure
    REVIEW = "review"  # it may not be enough on its own


@dataclass(frozen=True, slots=True)
class Citation:
    source: str
    title: str
    url: str
    section: str

    def __str__(self) -> str:
        return f"{self.title}, {self.section} <{self.url}>"


@dataclass(frozen=True, slots=True)
class LabelRule:
    id: str
    kind: LabelKind
    pattern: str
    connections: frozenset[Connection] | None  # None: valid for every connection
    reason: str | None
    citation: Citation
    label: str | None = None  # the exact wording, for image mentions
    strict_plain: bool = False  # bare lower-case word only at the start or before punctuation


@dataclass(frozen=True, slots=True)
class ScanPass:
    """One compiled alternation; group `g<i>` is `rules[i]`."""

    regex: re.Pattern[str]
    rules: tuple[LabelRule, ...]


@dataclass(frozen=True, slots=True)
class PlatformRules:
    platform: Platform
    fold_chars: int
    fold_lines: int | None
    labels: frozenset[PlatformLabel]
    label_name: str | None


@dataclass(frozen=True, slots=True)
class RuleSet:
    jurisdiction: Jurisdiction
    name: str
    version: str
    suggest: tuple[str, ...]
    requirement: dict[Connection, Requirement]
    requirement_citation: Citation
    placement: PlacementMode
    max_words_before: int
    placement_citation: Citation
    block_min_tags: int | None
    block_edges_ok: bool  # a label first or last in a block of hashtags is not buried (NL)
    platform_label: PlatformLabelPolicy
    platform_label_citation: Citation
    labels: tuple[LabelRule, ...]
    passes: tuple[ScanPass, ...]
    image_mentions: dict[LabelKind, LabelRule]

    def requirement_for(self, connection: Connection) -> Requirement:
        if connection is Connection.NONE:
            return Requirement.NONE
        return self.requirement[connection]


@dataclass(frozen=True, slots=True)
class Rules:
    version: str
    platforms: dict[Platform, PlatformRules]
    visual_formats: frozenset[ContentFormat]
    audio_formats: frozenset[ContentFormat]
    jurisdictions: dict[Jurisdiction, RuleSet]


# A label starts a word (not after a letter, digit or "@"), or at a "#" even when glued to the
# word before; it ends a word. Shared by every alternative, so the engine gives up at once at
# positions inside a word instead of trying each label there.
_START = r"(?:(?<![\w@])|(?=#))#?"
_END = r"(?!\w)"


def wrap(pattern: str) -> str:
    """A folded-text pattern as a whole-word regex (see the module docstring)."""
    return f"{_START}(?:{pattern.replace(' ', _SEP)}){_END}"


@cache
def _compile(source: str) -> re.Pattern[str]:
    return re.compile(source)


def compile_pass(rules: tuple[LabelRule, ...]) -> ScanPass:
    """One regex for a pass. Rule sets whose pass has the same patterns in the same order (the
    shared negations: every jurisdiction's first pass) get the same compiled object, so a
    caption checked for several jurisdictions is scanned for them once (`_Caption.scan`)."""
    alternation = "|".join(f"(?P<g{i}>{r.pattern.replace(' ', _SEP)})" for i, r in enumerate(rules))
    return ScanPass(_compile(f"{_START}(?:{alternation}){_END}"), rules)


def _need(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise RulesError(f"{where}: missing {key!r}")
    return data[key]


def _citation(data: dict[str, Any], sources: dict[str, Any], where: str) -> Citation:
    key = _need(data, "source", where)
    if key not in sources:
        raise RulesError(f"{where}: unknown source {key!r}")
    src = sources[key]
    return Citation(key, src["title"], src["url"], _need(data, "section", where))


def _check_pattern(pattern: str, where: str) -> str:
    unescaped = re.sub(r"\\.", "", pattern)  # escapes such as \W are fine
    if not pattern.isascii() or unescaped != unescaped.lower():
        raise RulesError(f"{where}: patterns are written folded (ASCII, lower case): {pattern!r}")
    try:
        re.compile(wrap(pattern))
    except re.error as exc:
        raise RulesError(f"{where}: bad pattern {pattern!r}: {exc}") from exc
    return pattern


def _label(
    data: dict[str, Any], sources: dict[str, Any], patterns: dict[str, str], where: str
) -> LabelRule:
    lid = _need(data, "id", where)
    where = f"{where} label {lid!r}"
    try:
        kind = LabelKind(_need(data, "kind", where))
    except ValueError as exc:
        raise RulesError(f"{where}: unknown kind {data['kind']!r}") from exc
    if "pattern_ref" in data:
        if data["pattern_ref"] not in patterns:
            raise RulesError(f"{where}: unknown pattern_ref {data['pattern_ref']!r}")
        pattern = patterns[data["pattern_ref"]]
    else:
        pattern = _need(data, "pattern", where)
    connections = None
    if "connections" in data:
        try:
            connections = frozenset(Connection(c) for c in data["connections"])
        except ValueError as exc:
            raise RulesError(f"{where}: {exc}") from exc
    reason = data.get("reason")
    if kind in (LabelKind.AMBIGUOUS, LabelKind.FOREIGN, LabelKind.UNLISTED) and not reason:
        raise RulesError(f"{where}: a rejected label needs a 'reason' for the creator")
    return LabelRule(
        id=lid,
        kind=kind,
        pattern=_check_pattern(pattern, where),
        connections=connections,
        reason=reason,
        citation=_citation(data, sources, where),
        label=data.get("label"),
        strict_plain=bool(data.get("strict_plain", False)),
    )


def _ruleset(data: dict[str, Any], common: dict[str, Any], where: str) -> RuleSet:
    jurisdiction = Jurisdiction(_need(data, "jurisdiction", where))
    sources = _need(data, "sources", where)
    patterns = common["patterns"]

    req = _need(data, "requirement", where)
    requirement: dict[Connection, Requirement] = {}
    for conn in Connection:
        if conn is Connection.NONE:
            continue
        requirement[conn] = Requirement(_need(req, conn.value, f"{where} requirement"))

    placement = _need(data, "placement", where)
    mode = PlacementMode(_need(placement, "mode", f"{where} placement"))
    block = data.get("hashtag_block")
    plabel = _need(data, "platform_label", where)

    labels = [_label(d, sources, patterns, where) for d in _need(data, "labels", where)]
    for negation in common["negations"]:
        labels.insert(0, _common_negation(negation, common))
    image_mentions: dict[LabelKind, LabelRule] = {}
    for key, kind in (("retouched", LabelKind.RETOUCHED), ("ai", LabelKind.AI)):
        spec = (data.get("image_mentions") or {}).get(key)
        if spec:
            rule = _label(
                {"id": key, "kind": kind.value, **spec}, sources, patterns, f"{where} image"
            )
            image_mentions[kind] = rule
            labels.append(rule)
    ids = [r.id for r in labels]
    if len(ids) != len(set(ids)):
        raise RulesError(f"{where}: duplicate label ids")

    passes = []
    for kinds in PASSES:
        group = tuple(r for r in labels if r.kind in kinds)
        if group:
            passes.append(compile_pass(group))

    return RuleSet(
        jurisdiction=jurisdiction,
        name=_need(data, "name", where),
        version=str(_need(data, "version", where)),
        suggest=tuple(_need(data, "suggest", where)),
        requirement=requirement,
        requirement_citation=_citation(req, sources, f"{where} requirement"),
        placement=mode,
        max_words_before=int(placement.get("max_words_before") or 0),
        placement_citation=_citation(placement, sources, f"{where} placement"),
        block_min_tags=int(block["min_tags"]) if block else None,
        block_edges_ok=bool(block.get("edges_ok", False)) if block else False,
        platform_label=PlatformLabelPolicy(_need(plabel, "policy", f"{where} platform_label")),
        platform_label_citation=_citation(plabel, sources, f"{where} platform_label"),
        labels=tuple(labels),
        passes=tuple(passes),
        image_mentions=image_mentions,
    )


def _common_negation(data: dict[str, Any], common: dict[str, Any]) -> LabelRule:
    where = f"common.json negation {data.get('id')!r}"
    return LabelRule(
        id=f"negation:{_need(data, 'id', where)}",
        kind=LabelKind.NEGATION,
        pattern=_check_pattern(_need(data, "pattern", where), where),
        connections=None,
        reason=None,
        citation=Citation("common", "common.json", "", "negations"),
    )


def _read(name: str) -> bytes:
    return resources.files(__package__ + ".rules").joinpath(name).read_bytes()


def parse_rules(files: dict[str, bytes]) -> Rules:
    """Build rules from file contents: "common.json" plus one "<JURISDICTION>.json" each."""
    try:
        common = json.loads(files["common.json"])
    except KeyError as exc:
        raise RulesError("common.json is missing") from exc
    platforms = {}
    for name, spec in common["platforms"].items():
        platform = Platform(name)
        platforms[platform] = PlatformRules(
            platform=platform,
            fold_chars=int(spec["fold_chars"]),
            fold_lines=spec["fold_lines"],
            labels=frozenset(PlatformLabel(x) for x in spec["labels"]),
            label_name=spec["label_name"],
        )
    if set(platforms) != set(Platform):
        raise RulesError("common.json: every platform needs a fold and its labels")
    screen = common["on_screen_formats"]

    jurisdictions = {}
    for j in Jurisdiction:
        name = f"{j.value}.json"
        if name not in files:
            raise RulesError(f"{name} is missing")
        ruleset = _ruleset(json.loads(files[name]), common, name)
        if ruleset.jurisdiction is not j:
            raise RulesError(f"{name} declares jurisdiction {ruleset.jurisdiction}")
        jurisdictions[j] = ruleset

    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    parts = [f"common@{common['version']}"]
    parts += [f"{j.value}@{r.version}" for j, r in jurisdictions.items()]
    version = ",".join(parts) + "+" + digest.hexdigest()[:12]

    return Rules(
        version=version,
        platforms=platforms,
        visual_formats=frozenset(ContentFormat(f) for f in screen["visual"]),
        audio_formats=frozenset(ContentFormat(f) for f in screen["audio"]),
        jurisdictions=jurisdictions,
    )


@cache
def load_rules() -> Rules:
    """The packaged rules, read and compiled once per process."""
    names = ["common.json"] + [f"{j.value}.json" for j in Jurisdiction]
    return parse_rules({name: _read(name) for name in names})
