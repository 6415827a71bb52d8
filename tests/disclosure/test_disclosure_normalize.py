from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from api.domain.disclosure import DisclosureInput, check
from api.domain.disclosure.normalize import fold


def test_ascii_folds_to_lower_case_with_identity_offsets():
    folded = fold("Hello #AD")
    assert folded.text == "hello #ad"
    assert folded.span(6, 9) == (6, 9)


def test_look_alikes_fullwidth_accents_and_invisibles_fold_to_ascii():
    cases = {
        "\u0430d": "ad",  # Cyrillic a
        "publi\u0441ite": "publicite",  # Cyrillic es
        "\u0391\u0394": "a\u03b4",  # Greek capital alpha folds, delta does not look Latin
        "\uff21\uff24": "ad",  # fullwidth
        "a\u200bd": "ad",  # zero-width space
        "Publicit\u00e9": "publicite",
        "Publicite\u0301": "publicite",  # combining accent
        "Stra\u00dfe": "strasse",
        "wsp\u00f3\u0142praca": "wspolpraca",
        "s\u0153ur": "soeur",
        "\u1d00\u1d05": "ad",  # small capitals
        "\u24b6\u24d3": "ad",  # circled
        "\U0001d400\U0001d41d": "ad",  # mathematical bold
        "\uff03ad": "#ad",
        "it\u2019s": "it's",
    }
    for original, expected in cases.items():
        assert fold(original).text == expected, original


def test_letters_spelt_out_are_joined_and_remembered_with_their_span():
    folded = fold("Love it # a d and P.U.B.L.I")
    assert folded.text == "love it #ad and publi"
    assert [folded.text[s:e] for s, e in folded.spaced] == ["#ad", "publi"]
    caption = folded.original
    assert [caption[slice(*folded.span(s, e))] for s, e in folded.spaced] == ["# a d", "P.U.B.L.I"]
    # Two letters without "#" stay apart, and so do letters inside words.
    assert fold("a b testing, a day").spaced == ()
    assert fold("# \u0430 d").text == "#ad"  # with a look-alike letter too


def test_offsets_map_back_through_expansion_and_removal():
    caption = "\u00dfx #a\u200bd \u00e9\u0301"
    folded = fold(caption)
    assert folded.text == "ssx #ad e"
    start = folded.text.index("#ad")
    assert folded.span(start, start + 3) == (3, 7)  # includes the zero-width space
    assert caption[slice(*folded.span(0, 2))] == "\u00df"
    last = len(folded.text) - 1
    assert folded.span(last, last + 1) == (8, 10)  # the e with its combining accent
    assert folded.visible(len(caption)) == 8  # no room for the zero-width space or the accent


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_checks_without_error_and_spans_stay_inside_the_caption(caption):
    report = check(DisclosureInput(caption=caption, platform="INSTAGRAM", format="POST"))
    for result in report.results:
        for finding in result.findings:
            if finding.start is None:
                assert finding.end is None
            else:
                assert 0 <= finding.start < finding.end <= len(caption)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="ascii"), max_size=200))
def test_invisible_characters_do_not_change_the_verdict(caption):
    plain = check(DisclosureInput(caption=caption, platform="INSTAGRAM", format="POST"))
    salted = check(
        DisclosureInput(
            caption="\u200b".join(caption) + "\ufeff", platform="INSTAGRAM", format="POST"
        )
    )
    assert [r.codes for r in plain.results] == [r.codes for r in salted.results]
