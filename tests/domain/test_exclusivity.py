"""The rules of `api.domain.exclusivity`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.domain.exclusivity import (
    Exclusivity,
    caption_conflicts,
    clean_competitor,
    invitation_conflicts,
    mentions,
    post_conflicts,
)

START = datetime(2026, 11, 1, tzinfo=UTC)


def ex(**kw: object) -> Exclusivity:
    values: dict[str, object] = {
        "partnership_id": 1,
        "brand_id": 10,
        "brand_name": "Lumen",
        "starts_at": START,
        "days": 30,
        "categories": ("Skincare",),
        "competitors": ("Glow Labs", "@rivalco"),
    }
    values.update(kw)
    return Exclusivity(**values)  # type: ignore[arg-type]


def test_the_period_is_start_plus_days_end_excluded() -> None:
    e = ex()
    assert e.ends_at == START + timedelta(days=30)
    assert e.in_force(START) and e.in_force(START + timedelta(days=29, hours=23))
    assert not e.in_force(START + timedelta(days=30))
    assert not e.in_force(START - timedelta(seconds=1))
    assert not ex(days=0).in_force(START) and not ex(days=None).in_force(START)
    assert not ex(starts_at=None).in_force(START)  # terms nobody accepted


def test_names_match_as_words_handles_and_hashtags() -> None:
    caption = "Loving GLOW LABS today, thanks @GlowLabs #glowlabs and @rivalco!"
    found = [m.text for m in mentions(caption, ["Glow Labs", "@rivalco"])]
    assert found == ["GLOW LABS", "@GlowLabs", "#glowlabs", "@rivalco"]


def test_names_with_punctuation_and_accents() -> None:
    found = [m.text for m in mentions("Merci L\u2019ORÉAL et @loreal, #LOréal", ["L'Oréal"])]
    assert found == ["L\u2019ORÉAL", "#LOréal"]


def test_no_match_inside_longer_words_or_handles() -> None:
    assert mentions("glowlabsfan and @rivalcompany, myglow labs", ["Glow Labs", "@rivalco"]) == []
    assert mentions("write to x@rivalco.com", ["@rivalco"]) == []
    assert mentions("Rivalco is great", ["@rivalco"]) == []  # a handle matches as a handle only


def test_blank_or_punctuation_competitors_are_ignored() -> None:
    assert clean_competitor("  ") is None and clean_competitor("!!!") is None
    assert clean_competitor("  Glow   Labs ") == "Glow Labs"
    assert clean_competitor("x" * 101) is None
    assert mentions("anything", ["", "---"]) == []


def test_an_invitation_conflicts_by_category_or_by_name() -> None:
    by_category = invitation_conflicts([ex()], 20, "Aura", [" skincare "], START)
    assert [c.categories for c in by_category] == [("skincare",)]
    by_name = invitation_conflicts([ex()], 20, "Glow Labs", ["drinks"], START)
    assert [c.named for c in by_name] == [True]
    by_handle = invitation_conflicts([ex()], 20, "Rival Co", [], START)
    assert [c.named for c in by_handle] == [True]


def test_no_conflict_with_the_same_brand_another_category_or_outside_the_period() -> None:
    assert invitation_conflicts([ex()], 10, "Lumen", ["skincare"], START) == []
    assert invitation_conflicts([ex()], 20, "Aura", ["drinks"], START) == []
    later = START + timedelta(days=31)
    assert invitation_conflicts([ex()], 20, "Aura", ["skincare"], later) == []


def test_a_caption_conflicts_only_during_the_period() -> None:
    caption = "New routine with @rivalco"
    ((found, hits),) = caption_conflicts([ex()], caption, START + timedelta(days=3))
    assert found.partnership_id == 1 and [h.text for h in hits] == ["@rivalco"]
    assert caption_conflicts([ex()], caption, START + timedelta(days=40)) == []
    assert caption_conflicts([ex()], "nothing to see", START) == []


def test_the_creators_comments_are_post_data_too() -> None:
    during = START + timedelta(days=3)
    comments = ["thanks!", "my other fave is #GlowLabs"]
    ((found, hits),) = post_conflicts([ex()], "#ad my routine", comments, during)
    assert found.partnership_id == 1
    assert [(where, m.text) for where, m in hits] == [("comment 2", "#GlowLabs")]
    both = post_conflicts([ex()], "with @rivalco", comments, during)
    assert [(w, m.text) for w, m in both[0][1]] == [
        ("caption", "@rivalco"),
        ("comment 2", "#GlowLabs"),
    ]
    assert post_conflicts([ex()], "#ad my routine", comments, START + timedelta(days=40)) == []
    assert post_conflicts([ex()], "#ad my routine", ["glowlabsfan"], during) == []
