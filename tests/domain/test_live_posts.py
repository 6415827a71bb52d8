"""The rules of `api.domain.live_posts`: what an edit of a live caption changes."""

from __future__ import annotations

from typing import Any

from api.domain.live_posts import ChangeKind, caption_hash, compare


def report(verdict: str | None, *codes: str, missing: dict[str, list[str]] | None = None) -> Any:
    missing = missing or {}
    return {
        "worstVerdict": verdict,
        "results": [
            {
                "jurisdiction": "US",
                "verdict": verdict,
                "findings": [{"code": c, "severity": "FAIL"} for c in codes],
            }
        ],
        "brandRequirements": {
            "missingHashtags": missing.get("hashtags", []),
            "missingMentions": missing.get("mentions", []),
            "missingLabels": missing.get("labels", []),
        },
    }


def kinds(changes: list[Any]) -> list[ChangeKind]:
    return [c.kind for c in changes]


def test_the_same_check_is_no_change() -> None:
    assert compare(report("PASS"), report("PASS")) == []
    assert compare(None, None) == []


def test_a_verdict_worse_than_approved_is_a_removed_disclosure() -> None:
    (change,) = compare(report("PASS"), report("FAIL", "MISSING_LABEL"))
    assert change.kind is ChangeKind.DISCLOSURE_REMOVED
    assert change.details["newFindings"] == ["US: MISSING_LABEL"]
    assert kinds(compare(report("PASS"), report("NEEDS_REVIEW"))) == [ChangeKind.DISCLOSURE_REMOVED]
    assert kinds(compare(report("NEEDS_REVIEW"), report("FAIL"))) == [ChangeKind.DISCLOSURE_REMOVED]


def test_an_approval_that_already_failed_cannot_get_worse() -> None:
    assert compare(report("FAIL", "MISSING_LABEL"), report("FAIL", "MISSING_LABEL")) == []
    assert compare(report("FAIL"), report("PASS")) == []  # better is no finding


def test_removed_required_tags_are_a_caption_change() -> None:
    (change,) = compare(
        report("PASS"), report("PASS", missing={"hashtags": ["glowup"], "mentions": ["glow"]})
    )
    assert change.kind is ChangeKind.CAPTION_CHANGED
    assert change.details == {"removedHashtags": ["glowup"], "removedMentions": ["glow"]}
    # Already missing when approved: nothing was removed.
    assert (
        compare(
            report("PASS", missing={"hashtags": ["x"]}), report("PASS", missing={"hashtags": ["x"]})
        )
        == []
    )


def test_a_label_moved_below_the_fold_is_a_caption_change_and_may_fail_too() -> None:
    changes = compare(report("PASS"), report("FAIL", "LABEL_NOT_UPFRONT"))
    assert kinds(changes) == [ChangeKind.DISCLOSURE_REMOVED, ChangeKind.CAPTION_CHANGED]
    assert changes[1].details["placement"] == ["US: LABEL_NOT_UPFRONT"]
    buried = compare(report("NEEDS_REVIEW"), report("NEEDS_REVIEW", "LABEL_BURIED_IN_HASHTAGS"))
    assert kinds(buried) == [ChangeKind.CAPTION_CHANGED]


def test_no_jurisdictions_compares_the_brand_requirements_only() -> None:
    approved = {"worstVerdict": None, "results": [], "brandRequirements": {"missingLabels": []}}
    live = {"worstVerdict": None, "results": [], "brandRequirements": {"missingLabels": ["Ad"]}}
    assert kinds(compare(approved, live)) == [ChangeKind.CAPTION_CHANGED]


def test_caption_hash_is_the_sha256_of_the_utf8_text() -> None:
    assert caption_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert caption_hash("#ad é") != caption_hash("#ad e")
