"""Focused checks of each finding code, its verdict, its message and its span."""

from __future__ import annotations

import pytest

from api.domain.disclosure import (
    DisclosureInput,
    FindingCode,
    Jurisdiction,
    Verdict,
    check,
)

PAID_POST = {"platform": "INSTAGRAM", "format": "POST", "connection": "PAID"}


def spanned(caption: str, finding) -> str:
    assert finding.start is not None and finding.end is not None
    return caption[finding.start : finding.end]


# -- acceptance --------------------------------------------------------------------------------


def test_acceptance_ad_upfront_passes_us_uk_and_fails_fr_de_naming_the_local_label():
    caption = "#ad Love this serum! #skincare"
    report = check(
        DisclosureInput(caption=caption, **PAID_POST, jurisdictions=("US", "UK", "FR", "DE"))
    )
    assert report.result("US").verdict is Verdict.PASS
    assert report.result("UK").verdict is Verdict.PASS
    assert report.result("US").findings == ()
    for jurisdiction, local in (("FR", "Publicité"), ("DE", "Werbung")):
        result = report.result(jurisdiction)
        assert result.verdict is Verdict.FAIL
        assert result.codes == (FindingCode.LANGUAGE_MISMATCH,)
        assert local in result.findings[0].message
        assert spanned(caption, result.findings[0]) == "#ad"
    assert report.worst_verdict is Verdict.FAIL


def test_acceptance_sp_fails_everywhere_as_ambiguous():
    caption = "#sp thanks @brand"
    report = check(DisclosureInput(caption=caption, **PAID_POST))
    assert len(report.results) == len(Jurisdiction) == 12
    for result in report.results:
        assert result.verdict is Verdict.FAIL, result.jurisdiction
        assert FindingCode.AMBIGUOUS_LABEL in result.codes
        assert [spanned(caption, f) for f in result.findings] == ["#sp", "thanks @brand"]


# -- one test per finding code -------------------------------------------------------------------


def test_missing_label_has_no_span_and_says_what_and_where(run):
    result = run("Loving my new sneakers from @stride", "US")
    (finding,) = result.findings
    assert finding.code is FindingCode.MISSING_LABEL
    assert (finding.start, finding.end) == (None, None)
    assert '"#ad"' in finding.message and "first 125 characters" in finding.message
    assert result.verdict is Verdict.FAIL


def test_missing_label_is_review_level_where_the_connection_may_not_need_one(run):
    result = run("Il nuovo brand di mia sorella @knitco", "DE", connection="FAMILY")
    assert result.verdict is Verdict.NEEDS_REVIEW
    assert result.findings[0].code is FindingCode.MISSING_LABEL
    assert result.findings[0].severity is Verdict.NEEDS_REVIEW
    assert run("Il nuovo brand di mia sorella @knitco", "FR", connection="FAMILY").findings == ()


def test_ambiguous_label(run):
    caption = "New bag from @bagco #spon"
    result = run(caption, "UK")
    (finding,) = result.findings
    assert finding.code is FindingCode.AMBIGUOUS_LABEL
    assert spanned(caption, finding) == "#spon"
    assert '"#ad"' in finding.message


def test_language_mismatch_for_germany(run):
    caption = "Sponsored by @stride - neue Laufschuhe"
    (finding,) = run(caption, "DE").findings
    assert finding.code is FindingCode.LANGUAGE_MISMATCH
    assert spanned(caption, finding) == "Sponsored by"
    assert '"Werbung" or "Anzeige"' in finding.message


def test_secondary_label_only_in_ireland(run):
    caption = "#sponsored new serum @glowco"
    (finding,) = run(caption, "IE").findings
    assert finding.code is FindingCode.SECONDARY_LABEL_ONLY
    assert spanned(caption, finding) == "#sponsored"
    assert run("#ad #sponsored new serum @glowco", "IE").verdict is Verdict.PASS


def test_label_connection_mismatch(run):
    caption = "#gifted Loving these PJs from @sleepco"
    assert run(caption, "US", connection="GIFTED").verdict is Verdict.PASS
    (finding,) = run(caption, "US", connection="PAID").findings
    assert finding.code is FindingCode.LABEL_CONNECTION_MISMATCH
    assert spanned(caption, finding) == "#gifted"
    assert "paid you" in finding.message


def test_unlisted_label_needs_review(run):
    result = run("#fógra Mo rogha nua ó @glowco", "IE")
    assert result.verdict is Verdict.NEEDS_REVIEW
    assert result.codes == (FindingCode.UNLISTED_LABEL,)
    assert spanned("#fógra Mo rogha nua ó @glowco", result.findings[0]) == "#fógra"


def test_contradictory_label_fails_only_with_a_connection(run):
    caption = "Not sponsored, I just love this moisturiser"
    result = run(caption, "US")
    assert FindingCode.CONTRADICTORY_LABEL in result.codes
    contradiction = next(f for f in result.findings if f.code is FindingCode.CONTRADICTORY_LABEL)
    assert spanned(caption, contradiction) == "Not sponsored"
    assert run(caption, "US", connection="NONE").verdict is Verdict.PASS


def test_negation_is_not_read_as_a_label(run):
    # "unbezahlte Werbung" contains "Werbung" but says the opposite.
    result = run("Unbezahlte Werbung: selbst gekauft", "DE")
    assert set(result.codes) == {FindingCode.CONTRADICTORY_LABEL, FindingCode.MISSING_LABEL}


def test_label_not_upfront_after_the_fold(run):
    caption = "x" * 130 + " #ad"
    (finding,) = run(caption, "US").findings
    assert finding.code is FindingCode.LABEL_NOT_UPFRONT
    assert (finding.start, finding.end) == (131, 134)
    # X shows 280 characters, so the same caption passes there.
    assert run(caption, "US", platform="X").verdict is Verdict.PASS


def test_label_not_upfront_below_the_visible_lines(run):
    assert run("New in!\n#ad", "US").verdict is Verdict.PASS
    result = run("New in!\n\n\n#ad", "US")
    assert result.codes == (FindingCode.LABEL_NOT_UPFRONT,)


def test_label_not_upfront_at_the_start_for_germany_and_ireland(run):
    assert run("Werbung: mein Lieblingsserum", "DE").verdict is Verdict.PASS
    assert run("Mein liebstes Serum: Werbung", "DE").verdict is Verdict.PASS  # three words first
    caption = "Mein Lieblingsserum von @glowco 💛 #werbung"
    (finding,) = run(caption, "DE").findings
    assert finding.code is FindingCode.LABEL_NOT_UPFRONT
    assert spanned(caption, finding) == "#werbung"
    assert "very first word" in finding.message


def test_label_buried_in_hashtags(run):
    caption = "Love this serum! #skincare #ad #glow #beauty"
    (finding,) = run(caption, "US").findings
    assert finding.code is FindingCode.LABEL_BURIED_IN_HASHTAGS
    assert (finding.start, finding.end) == (27, 30)
    # The same hashtags with the label leading the caption are fine.
    assert run("#ad #skincare #glow #beauty Love this serum!", "US").verdict is Verdict.PASS
    # ... and so is a row of labels.
    assert run("Love it! #ad #sponsored", "US").verdict is Verdict.PASS


def test_platform_label_only(run):
    us = run("Love this serum!", "US", platform_label="PAID_PARTNERSHIP")
    assert us.verdict is Verdict.NEEDS_REVIEW
    assert us.codes == (FindingCode.PLATFORM_LABEL_ONLY,)
    assert "Paid partnership" in us.findings[0].message
    for accepted in ("IE", "DE", "EU"):
        assert run("Love this serum!", accepted, platform_label="PAID_PARTNERSHIP").findings == ()
    assert run("#ad Love it", "US", platform_label="PAID_PARTNERSHIP").verdict is Verdict.PASS


def test_missing_retouched_and_ai_labels_in_france(run):
    result = run("Publicité: mon avatar", "FR", retouched=True, ai_generated=True)
    assert set(result.codes) == {FindingCode.MISSING_RETOUCHED_LABEL, FindingCode.MISSING_AI_LABEL}
    assert all(f.start is None for f in result.findings)
    assert any("Images retouchées" in f.message for f in result.findings)
    ok = run(
        "Publicité | Images retouchées | Images virtuelles", "FR", retouched=True, ai_generated=True
    )
    assert ok.verdict is Verdict.PASS
    # Other jurisdictions have no such rule.
    assert run("#ad mon avatar", "UK", retouched=True, ai_generated=True).verdict is Verdict.PASS


def test_visual_check_required_for_video_story_live_without_the_platform_label(run):
    for fmt in ("VIDEO", "STORY", "LIVE", "REEL", "SHORT"):
        platform = "YOUTUBE" if fmt in ("VIDEO", "SHORT") else "INSTAGRAM"
        result = run("#ad new runners @stride", "US", format=fmt, platform=platform)
        assert result.verdict is Verdict.NEEDS_REVIEW, fmt
        assert result.codes == (FindingCode.VISUAL_CHECK_REQUIRED,)
    story = run("#ad", "US", format="STORY").findings[0].message
    assert "every story slide" in story
    live = run("#ad", "US", format="LIVE").findings[0].message
    assert "repeat it regularly" in live


def test_visual_check_not_added_on_top_of_a_fail_or_under_the_platform_label(run):
    assert run("new runners", "US", format="STORY").codes == (FindingCode.MISSING_LABEL,)
    story = run("new runners", "DE", format="STORY", platform_label="PAID_PARTNERSHIP")
    assert story.findings == ()


def test_audio_check_for_podcasts(run):
    result = run("Ad: brought to you by @mattressco", "UK", platform="PODCAST", format="PODCAST")
    assert result.codes == (FindingCode.AUDIO_CHECK_REQUIRED,)
    assert '"Ad"' in result.findings[0].message and "#" not in result.findings[0].message


def test_no_connection_needs_no_label(run):
    for jurisdiction in Jurisdiction:
        assert run("#sp new bag", jurisdiction, connection="NONE").verdict is Verdict.PASS


# -- matching robustness and spans -------------------------------------------------------------


@pytest.mark.parametrize(
    ("caption", "label"),
    [
        ("#\u0430d morning coffee", "#\u0430d"),  # Cyrillic a
        ("\uff03\uff21\uff24 new drop", "\uff03\uff21\uff24"),  # fullwidth
        ("#a\u200bd glow serum", "#a\u200bd"),  # zero-width space
        ("love it#ad", "#ad"),  # glued hashtag
        ("\U0001f525\U0001f525 #Ad new drop", "#Ad"),  # astral emoji before
        ("\U0001d400\U0001d41d new drop", "\U0001d400\U0001d41d"),  # mathematical bold
    ],
)
def test_spans_point_at_the_original_text_after_folding(run, caption, label):
    result = run(caption, "DE")  # DE reports the English label with its span
    (finding,) = result.findings
    assert finding.code is FindingCode.LANGUAGE_MISMATCH
    assert spanned(caption, finding) == label


def test_span_includes_a_combining_accent(run):
    # "Publicite" + U+0301 (combining acute), placed after the fold so the span is reported.
    caption = "Mon avatar " * 12 + "Publicite\u0301 \u2013 @glowco"
    (finding,) = run(caption, "FR").findings
    assert finding.code is FindingCode.LABEL_NOT_UPFRONT
    assert spanned(caption, finding) == "Publicite\u0301"


@pytest.mark.parametrize(
    "caption",
    [
        "#adorable puppy",
        "My #advent calendar",
        "so bad",
        "#adidas drop",
        "Ad hoc picnic",
        "Ad-free zone",
        "https://shop.example.com/ad/summer",
        "@ad_agency shot this",
        "@brand.ad new drop",
    ],
)
def test_label_inside_another_word_or_handle_or_url_does_not_count(run, caption):
    assert run(caption, "US").codes == (FindingCode.MISSING_LABEL,)


def test_label_inside_a_german_word_does_not_count(run):
    assert run("Werbungsfrei und ehrlich", "DE").codes == (FindingCode.MISSING_LABEL,)
    assert run("#werbung und ehrlich", "DE").verdict is Verdict.PASS


def test_findings_are_sorted_fail_first():
    report = check(DisclosureInput(caption="Not sponsored!", **PAID_POST, jurisdictions=("US",)))
    severities = [f.severity.rank for f in report.result("US").findings]
    assert severities == sorted(severities, reverse=True)
