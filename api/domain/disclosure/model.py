"""What goes into a disclosure check and what comes out of it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from api.domain.platforms import ContentFormat, Platform

MAX_CAPTION_CHARS = 100_000  # well above any platform's caption limit (Instagram: 2,200)
MAX_COMMENTS = 20  # the creator's own replies and first comment checked with a caption


class Jurisdiction(StrEnum):
    US = "US"  # FTC Endorsement Guides (16 CFR 255)
    UK = "UK"  # ASA/CAP and CMA
    IE = "IE"  # ASAI
    DE = "DE"  # Landesmedienanstalten, UWG
    FR = "FR"  # loi 2023-451
    EU = "EU"  # UCPD/DSA baseline
    ES = "ES"  # Autocontrol code, Real Decreto 444/2024
    IT = "IT"  # AGCOM delibera 7/24/CONS, IAP Digital Chart
    NL = "NL"  # Reclamecode Social Media & Influencer Marketing
    CA = "CA"  # Ad Standards disclosure guidelines
    AU = "AU"  # AANA Code of Ethics and Practice Note, AiMCO code
    BR = "BR"  # CONAR Guia de Publicidade por Influenciadores Digitais


class PlatformLabel(StrEnum):
    """The platform's own commercial-content label, switched on by the creator."""

    PAID_PARTNERSHIP = "PAID_PARTNERSHIP"  # Instagram/Facebook "Paid partnership with …"
    BRANDED_CONTENT = "BRANDED_CONTENT"  # TikTok "Disclose commercial content", Twitch toggle
    PAID_PROMOTION = "PAID_PROMOTION"  # YouTube "Includes paid promotion"


class Connection(StrEnum):
    """The material connection between the creator and the brand."""

    PAID = "PAID"  # money, a fee, a commission-free flat payment
    GIFTED = "GIFTED"  # free or discounted product, trip or service
    AFFILIATE = "AFFILIATE"  # commission on sales through a link or code
    EMPLOYEE = "EMPLOYEE"  # works for, owns or invests in the brand
    FAMILY = "FAMILY"  # family or personal tie to the brand
    NONE = "NONE"  # no connection: an organic post


class Verdict(StrEnum):
    PASS = "PASS"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        return _VERDICT_RANK[self]

    @classmethod
    def worst(cls, verdicts: Iterable[Verdict]) -> Verdict:
        return max(verdicts, key=lambda v: v.rank, default=cls.PASS)


_VERDICT_RANK = {Verdict.PASS: 0, Verdict.NEEDS_REVIEW: 1, Verdict.FAIL: 2}


class FindingCode(StrEnum):
    MISSING_LABEL = "MISSING_LABEL"  # no advertising label at all
    AMBIGUOUS_LABEL = "AMBIGUOUS_LABEL"  # a label followers don't read as advertising (#sp)
    LANGUAGE_MISMATCH = "LANGUAGE_MISMATCH"  # a clear label, but not in the language required
    SECONDARY_LABEL_ONLY = "SECONDARY_LABEL_ONLY"  # IE: a secondary label without a primary one
    LABEL_CONNECTION_MISMATCH = "LABEL_CONNECTION_MISMATCH"  # "#gifted" on a paid post
    UNLISTED_LABEL = "UNLISTED_LABEL"  # a translation of an accepted label the regulator omits
    CONTRADICTORY_LABEL = "CONTRADICTORY_LABEL"  # "not sponsored" despite a connection
    LABEL_NOT_UPFRONT = "LABEL_NOT_UPFRONT"  # after the "more" cut, or not at the start
    LABEL_BURIED_IN_HASHTAGS = "LABEL_BURIED_IN_HASHTAGS"  # mixed into a block of hashtags
    LABEL_ONLY_IN_COMMENT = "LABEL_ONLY_IN_COMMENT"  # in a reply or first comment, not the caption
    OBFUSCATED_LABEL = "OBFUSCATED_LABEL"  # spelt out letter by letter ("# a d")
    PLATFORM_LABEL_ONLY = "PLATFORM_LABEL_ONLY"  # the platform's label alone may not suffice
    MISSING_RETOUCHED_LABEL = "MISSING_RETOUCHED_LABEL"  # FR: "Images retouchées"
    MISSING_AI_LABEL = "MISSING_AI_LABEL"  # FR: "Images virtuelles"
    VISUAL_CHECK_REQUIRED = "VISUAL_CHECK_REQUIRED"  # video/story/live: check the screen
    AUDIO_CHECK_REQUIRED = "AUDIO_CHECK_REQUIRED"  # podcast: check the spoken disclosure


class DisclosureInputError(ValueError):
    """A check was asked with a value it does not know; `field` names the input field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


E = TypeVar("E", bound=StrEnum)


def _member(enum: type[E], value: object, field_name: str) -> E:
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value.strip().upper())
        except ValueError:
            pass
    allowed = ", ".join(m.value for m in enum)
    raise DisclosureInputError(field_name, f"{field_name} must be one of {allowed}; got {value!r}")


@dataclass(frozen=True, slots=True)
class DisclosureInput:
    """One piece of content to check. Strings are accepted for every enum and validated."""

    caption: str
    platform: Platform
    format: ContentFormat
    platform_label: PlatformLabel | None = None
    connection: Connection = Connection.PAID
    retouched: bool = False
    ai_generated: bool = False
    jurisdictions: tuple[Jurisdiction, ...] = tuple(Jurisdiction)
    # The creator's own first comment and replies under the post: a label there does not count
    # (followers who don't open the comments never see it), but it is reported as such.
    comments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.caption, str):
            raise DisclosureInputError("caption", "caption must be text")
        if len(self.caption) > MAX_CAPTION_CHARS:
            raise DisclosureInputError(
                "caption", f"caption is longer than {MAX_CAPTION_CHARS:,} characters"
            )
        set_ = object.__setattr__
        set_(self, "platform", _member(Platform, self.platform, "platform"))
        set_(self, "format", _member(ContentFormat, self.format, "format"))
        if self.platform_label is not None and self.platform_label != "":
            set_(
                self,
                "platform_label",
                _member(PlatformLabel, self.platform_label, "platform_label"),
            )
        else:
            set_(self, "platform_label", None)
        set_(self, "connection", _member(Connection, self.connection, "connection"))
        for flag in ("retouched", "ai_generated"):
            if not isinstance(getattr(self, flag), bool):
                raise DisclosureInputError(flag, f"{flag} must be true or false")
        raw = self.jurisdictions
        if isinstance(raw, str):
            raw = (raw,)
        members: list[Jurisdiction] = []
        for value in raw:
            j = _member(Jurisdiction, value, "jurisdictions")
            if j not in members:
                members.append(j)
        if not members:
            raise DisclosureInputError("jurisdictions", "name at least one jurisdiction")
        set_(self, "jurisdictions", tuple(members))
        comments = (self.comments,) if isinstance(self.comments, str) else tuple(self.comments)
        if len(comments) > MAX_COMMENTS:
            raise DisclosureInputError("comments", f"at most {MAX_COMMENTS} comments")
        for comment in comments:
            if not isinstance(comment, str):
                raise DisclosureInputError("comments", "every comment must be text")
            if len(comment) > MAX_CAPTION_CHARS:
                raise DisclosureInputError(
                    "comments", f"a comment is longer than {MAX_CAPTION_CHARS:,} characters"
                )
        set_(self, "comments", comments)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem. `start`/`end` are offsets into the original caption, or None when the
    finding is about something absent (a missing label) or outside the text (the video)."""

    code: FindingCode
    message: str
    start: int | None = None
    end: int | None = None
    severity: Verdict = Verdict.FAIL

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "message": self.message,
            "start": self.start,
            "end": self.end,
            "severity": self.severity.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            code=FindingCode(data["code"]),
            message=str(data["message"]),
            start=data.get("start"),
            end=data.get("end"),
            severity=Verdict(data.get("severity", Verdict.FAIL)),
        )


@dataclass(frozen=True, slots=True)
class JurisdictionResult:
    jurisdiction: Jurisdiction
    verdict: Verdict
    findings: tuple[Finding, ...] = ()

    @property
    def codes(self) -> tuple[FindingCode, ...]:
        return tuple(f.code for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction.value,
            "verdict": self.verdict.value,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JurisdictionResult:
        return cls(
            jurisdiction=Jurisdiction(data["jurisdiction"]),
            verdict=Verdict(data["verdict"]),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
        )


@dataclass(frozen=True, slots=True)
class DisclosureReport:
    results: tuple[JurisdictionResult, ...]
    rules_version: str
    _by_jurisdiction: dict[Jurisdiction, JurisdictionResult] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", tuple(self.results))
        object.__setattr__(self, "_by_jurisdiction", {r.jurisdiction: r for r in self.results})

    @property
    def worst_verdict(self) -> Verdict:
        """FAIL > NEEDS_REVIEW > PASS over every checked jurisdiction (for gating)."""
        return Verdict.worst(r.verdict for r in self.results)

    def result(self, jurisdiction: Jurisdiction | str) -> JurisdictionResult:
        return self._by_jurisdiction[_member(Jurisdiction, jurisdiction, "jurisdiction")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rulesVersion": self.rules_version,
            "worstVerdict": self.worst_verdict.value,
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DisclosureReport:
        return cls(
            results=tuple(JurisdictionResult.from_dict(r) for r in data["results"]),
            rules_version=str(data["rulesVersion"]),
        )
