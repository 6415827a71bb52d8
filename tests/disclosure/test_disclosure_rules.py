"""The rule files: versioned, cited, validated at load time, shipped as package data."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from api.domain.disclosure import DisclosureInput, Jurisdiction, RulesError, Verdict, check
from api.domain.disclosure.ruleset import LabelKind, load_rules, parse_rules

NAMES = ["common.json"] + [f"{j.value}.json" for j in Jurisdiction]


def files() -> dict[str, bytes]:
    folder = resources.files("api.domain.disclosure.rules")
    return {name: folder.joinpath(name).read_bytes() for name in NAMES}


def test_rules_are_loaded_once_and_cached():
    assert load_rules() is load_rules()


def test_rules_version_names_every_file_version_and_a_content_hash():
    version = load_rules().version
    for name in NAMES:
        data = json.loads(files()[name])
        key = name.removesuffix(".json")
        assert f"{key}@{data['version']}" in version
    assert len(version.rsplit("+", 1)[1]) == 12
    assert (
        check(DisclosureInput(caption="#ad", platform="X", format="POST")).rules_version == version
    )


def test_editing_a_rule_file_changes_the_version():
    edited = files()
    data = json.loads(edited["US.json"])
    data["labels"][0]["section"] += " (edited)"
    edited["US.json"] = json.dumps(data).encode()
    assert parse_rules(edited).version != parse_rules(files()).version


def test_every_rule_cites_a_source_with_a_url_and_section():
    for ruleset in load_rules().jurisdictions.values():
        citations = [ruleset.requirement_citation, ruleset.placement_citation]
        citations.append(ruleset.platform_label_citation)
        citations += [r.citation for r in ruleset.labels if r.kind is not LabelKind.NEGATION]
        for citation in citations:
            assert citation.title and citation.section, ruleset.jurisdiction
            assert citation.url.startswith("https://"), citation


def test_each_jurisdiction_accepts_the_labels_it_suggests():
    for jurisdiction, ruleset in load_rules().jurisdictions.items():
        for label in ruleset.suggest:
            report = check(
                DisclosureInput(
                    caption=f"{label} my new serum from @glowco",
                    platform="INSTAGRAM",
                    format="POST",
                    jurisdictions=(jurisdiction,),
                )
            )
            assert report.worst_verdict is Verdict.PASS, (jurisdiction, label)


def test_france_has_the_image_mentions_and_others_do_not():
    rules = load_rules().jurisdictions
    assert set(rules[Jurisdiction.FR].image_mentions) == {LabelKind.RETOUCHED, LabelKind.AI}
    assert rules[Jurisdiction.FR].image_mentions[LabelKind.RETOUCHED].label == "Images retouchées"
    assert not rules[Jurisdiction.US].image_mentions


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["labels"][0].update(pattern="(unclosed"), "bad pattern"),
        (lambda d: d["labels"][0].update(pattern="Ad"), "folded"),
        (lambda d: d["labels"][0].update(source="nowhere"), "unknown source"),
        (lambda d: d["labels"][0].update(kind="maybe"), "unknown kind"),
        (lambda d: d["labels"].append(dict(d["labels"][0])), "duplicate"),
        (lambda d: d["requirement"].pop("GIFTED"), "GIFTED"),
        (
            lambda d: d["labels"].append(
                {
                    "id": "x",
                    "kind": "ambiguous",
                    "pattern": "x",
                    "source": "ftc-255",
                    "section": "s",
                }
            ),
            "reason",
        ),
    ],
)
def test_malformed_rules_are_refused_at_load_time(edit, message):
    broken = files()
    data = json.loads(broken["US.json"])
    edit(data)
    broken["US.json"] = json.dumps(data).encode()
    with pytest.raises(RulesError, match=message):
        parse_rules(broken)


def test_a_missing_rule_file_is_refused():
    incomplete = files()
    del incomplete["IE.json"]
    with pytest.raises(RulesError, match=r"IE\.json"):
        parse_rules(incomplete)


def test_rule_files_ship_as_package_data():
    # rules/ is a package, so setuptools' package-data glob ("*.json") includes its files.
    from setuptools import find_packages

    assert "api.domain.disclosure.rules" in find_packages(include=["api*"])
    folder = resources.files("api.domain.disclosure.rules")
    assert {p.name for p in folder.iterdir() if p.name.endswith(".json")} == set(NAMES)
