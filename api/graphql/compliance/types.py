"""Disclosure reports and audience quality in GraphQL."""

from __future__ import annotations

from typing import Any

import strawberry

from api.domain import audience_quality as aq
from api.domain import disclosure

Jurisdiction = disclosure.Jurisdiction
strawberry.enum(Jurisdiction, name="Jurisdiction")
Verdict = disclosure.Verdict
strawberry.enum(Verdict, name="DisclosureVerdict")
FindingCode = disclosure.FindingCode
strawberry.enum(FindingCode, name="DisclosureFindingCode")
SignalCode = aq.SignalCode
strawberry.enum(SignalCode, name="AudienceSignalCode")


@strawberry.type(name="DisclosureFinding")
class DisclosureFinding:
    code: FindingCode
    message: str
    start: int | None = strawberry.field(description="Character span in the caption, if any.")
    end: int | None
    severity: Verdict


@strawberry.type(name="DisclosureResult")
class DisclosureResult:
    jurisdiction: Jurisdiction
    verdict: Verdict
    findings: list[DisclosureFinding]


@strawberry.type(name="DisclosureReport")
class DisclosureReport:
    results: list[DisclosureResult]
    rules_version: str | None
    worst_verdict: Verdict | None

    @classmethod
    def of(cls, report: disclosure.DisclosureReport) -> DisclosureReport:
        return cls(
            results=[
                DisclosureResult(
                    jurisdiction=r.jurisdiction,
                    verdict=r.verdict,
                    findings=[
                        DisclosureFinding(
                            code=f.code,
                            message=f.message,
                            start=f.start,
                            end=f.end,
                            severity=f.severity,
                        )
                        for f in r.findings
                    ],
                )
                for r in report.results
            ],
            rules_version=report.rules_version,
            worst_verdict=report.worst_verdict if report.results else None,
        )

    @classmethod
    def from_stored(cls, data: dict[str, Any] | None) -> DisclosureReport | None:
        if not data or not data.get("results"):
            return None
        return cls.of(disclosure.DisclosureReport.from_dict(data))


@strawberry.type(name="DisclosureCompliance", description="Latest submissions by verdict.")
class DisclosureCompliance:
    passed: int = strawberry.field(name="pass")
    needs_review: int
    failed: int = strawberry.field(name="fail")
    unchecked: int = strawberry.field(description="Submitted without a legal check.")
    awaiting_content: int = strawberry.field(description="Deliverables with nothing submitted.")
    overridden: int = strawberry.field(description="FAIL approved by an ADMIN override.")


@strawberry.type(name="AudienceSignal")
class AudienceSignal:
    code: SignalCode
    message: str
    weight: int = strawberry.field(description="Points taken off the score of 100.")


@strawberry.type(name="AudienceQuality")
class AudienceQuality:
    score: int = strawberry.field(description="0-100; lower means more signs of fake audience.")
    signals: list[AudienceSignal]

    @classmethod
    def of(cls, quality: aq.InfluencerQuality | aq.AccountQuality) -> AudienceQuality:
        return cls(
            score=quality.score,
            signals=[
                AudienceSignal(code=s.code, message=s.message, weight=s.weight)
                for s in quality.signals
            ],
        )
