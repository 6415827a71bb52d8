"""Automatic advertising-disclosure checker for influencer content.

    from api.domain.disclosure import check, DisclosureInput
    report = check(DisclosureInput(caption="#ad Love this serum!", platform="INSTAGRAM",
                                   format="POST", connection="PAID", jurisdictions=("US", "DE")))
    report.worst_verdict            # Verdict.FAIL: Germany wants "Werbung" or "Anzeige"
    report.result("DE").findings    # (Finding(code=LANGUAGE_MISMATCH, start=0, end=3, ...),)

The rules are versioned data (rules/*.json, one file per jurisdiction, each rule citing its
source); `report.rules_version` says which version produced a report.
"""

from .checker import check
from .model import (
    MAX_COMMENTS,
    Connection,
    ContentFormat,
    DisclosureInput,
    DisclosureInputError,
    DisclosureReport,
    Finding,
    FindingCode,
    Jurisdiction,
    JurisdictionResult,
    Platform,
    PlatformLabel,
    Verdict,
)
from .ruleset import RulesError, load_rules

__all__ = [
    "MAX_COMMENTS",
    "Connection",
    "ContentFormat",
    "DisclosureInput",
    "DisclosureInputError",
    "DisclosureReport",
    "Finding",
    "FindingCode",
    "Jurisdiction",
    "JurisdictionResult",
    "Platform",
    "PlatformLabel",
    "RulesError",
    "Verdict",
    "check",
    "load_rules",
]
