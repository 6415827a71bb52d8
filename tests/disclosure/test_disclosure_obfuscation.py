"""Obfuscated labels, in every market: spelt out, look-alike letters, invisible characters, buried
at the end in a block of hashtags, or only in a reply or first comment."""

from __future__ import annotations

import pytest

from api.domain.disclosure import FindingCode, Jurisdiction, Verdict, load_rules

MARKETS = [j.value for j in Jurisdiction]
assert len(MARKETS) == 12

# Latin letters and the Cyrillic letters that look the same.
CYRILLIC = str.maketrans(
    {
        "a": "\u0430",
        "e": "\u0435",
        "o": "\u043e",
        "c": "\u0441",
        "p": "\u0440",
        "A": "\u0410",
        "P": "\u0420",
    }
)


def label(jurisdiction: str) -> str:
    """The market's first suggested label ("#ad", "Werbung", "Publicidad", "#publi" ...)."""
    return load_rules().jurisdictions[Jurisdiction(jurisdiction)].suggest[0]


def hashtag(jurisdiction: str) -> str:
    text = label(jurisdiction)
    return text if text.startswith("#") else "#" + text.replace(" ", "")


@pytest.mark.parametrize("jurisdiction", MARKETS)
def test_a_label_spelt_out_letter_by_letter_is_found_but_needs_review(run, jurisdiction):
    written = label(jurisdiction)
    letters = " ".join(written.lstrip("#"))
    spelt = ("# " + letters) if written.startswith("#") else letters
    caption = f"{spelt} | new routine @glowco"
    result = run(caption, jurisdiction)
    assert result.verdict is Verdict.NEEDS_REVIEW, caption
    (finding,) = result.findings
    assert finding.code is FindingCode.OBFUSCATED_LABEL
    assert caption[finding.start : finding.end] == spelt
    assert "letter by letter" in finding.message
    # The same label written as one word passes.
    assert run(f"{written} | new routine @glowco", jurisdiction).verdict is Verdict.PASS


@pytest.mark.parametrize("jurisdiction", MARKETS)
def test_a_label_in_look_alike_letters_reads_as_the_label(run, jurisdiction):
    written = label(jurisdiction)
    disguised = written.translate(CYRILLIC)
    assert disguised != written and not disguised.isascii()
    assert run(f"{disguised} | new routine @glowco", jurisdiction).verdict is Verdict.PASS


@pytest.mark.parametrize("jurisdiction", MARKETS)
def test_a_label_broken_up_by_zero_width_characters_reads_as_the_label(run, jurisdiction):
    written = label(jurisdiction)
    salted = "\u200b".join(written) + "\ufeff"
    assert run(f"{salted} | new routine @glowco", jurisdiction).verdict is Verdict.PASS


@pytest.mark.parametrize("jurisdiction", MARKETS)
def test_a_label_buried_in_a_block_of_hashtags_at_the_end_fails(run, jurisdiction):
    caption = f"New routine with @glowco\n#skincare #glow {hashtag(jurisdiction)} #beauty"
    result = run(caption, jurisdiction)
    assert result.verdict is Verdict.FAIL
    assert FindingCode.LABEL_BURIED_IN_HASHTAGS in result.codes
    buried = next(f for f in result.findings if f.code is FindingCode.LABEL_BURIED_IN_HASHTAGS)
    assert caption[buried.start : buried.end] == hashtag(jurisdiction)


@pytest.mark.parametrize("jurisdiction", MARKETS)
def test_a_label_only_in_a_reply_or_first_comment_does_not_count(run, jurisdiction):
    written = label(jurisdiction)
    result = run("New routine ✨ @glowco", jurisdiction, comments=("so good!", written))
    assert result.verdict is Verdict.FAIL
    (finding,) = result.findings
    assert finding.code is FindingCode.LABEL_ONLY_IN_COMMENT
    assert (finding.start, finding.end) == (None, None)  # not in the caption
    assert "only in a comment" in finding.message and written in finding.message
    # Without the comment it is simply missing; with the label in the caption it passes.
    assert run("New routine ✨ @glowco", jurisdiction).codes == (FindingCode.MISSING_LABEL,)
    assert (
        run(f"{written} New routine ✨ @glowco", jurisdiction, comments=(written,)).verdict
        is Verdict.PASS
    )


@pytest.mark.parametrize("jurisdiction", MARKETS)
def test_a_comment_with_a_rejected_label_is_not_reported_as_one(run, jurisdiction):
    result = run("New routine ✨ @glowco", jurisdiction, comments=("#sp",))
    assert result.codes == (FindingCode.MISSING_LABEL,)


@pytest.mark.parametrize(
    "caption",
    ["a day at the spa", "I am so happy", "e.g. my routine", "A B testing", "x x o o"],
)
def test_ordinary_single_letters_are_not_read_as_a_spelt_label(run, caption):
    assert run(caption, "US").codes == (FindingCode.MISSING_LABEL,)
