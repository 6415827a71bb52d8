"""The labelled corpus: every caption's verdict and finding codes, per jurisdiction, must match.

Prints accuracy per jurisdiction (run with -s to see it) and fails below 100%.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from api.domain.disclosure import DisclosureInput, Jurisdiction, check

CORPUS = Path(__file__).with_name("corpus.jsonl")


def load_corpus() -> list[dict]:
    with CORPUS.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def to_input(row: dict) -> DisclosureInput:
    return DisclosureInput(
        caption=row["caption"],
        platform=row["platform"],
        format=row["format"],
        platform_label=row["platformLabel"],
        connection=row["connection"],
        retouched=row["retouched"],
        ai_generated=row["aiGenerated"],
        jurisdictions=tuple(row["expected"]),
        comments=tuple(row.get("comments", ())),
    )


def test_corpus_is_large_and_covers_every_jurisdiction():
    rows = load_corpus()
    assert len(rows) >= 150
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert set(row["expected"]) == {j.value for j in Jurisdiction}, row["id"]
    assert {r["lang"] for r in rows} >= {"en", "de", "fr", "ga", "es", "it", "nl", "pt"}


def test_corpus_accuracy_is_100_percent_per_jurisdiction():
    rows = load_corpus()
    right: Counter[str] = Counter()
    wrong: list[str] = []
    for row in rows:
        report = check(to_input(row))
        for result in report.results:
            want = row["expected"][result.jurisdiction]
            got = {"verdict": result.verdict.value, "codes": sorted(c.value for c in result.codes)}
            if got == want:
                right[result.jurisdiction] += 1
            else:
                wrong.append(
                    f"#{row['id']} {result.jurisdiction} {row['caption']!r}: want {want}, got {got}"
                )
    print(f"\ndisclosure corpus: {len(rows)} captions")
    for j in Jurisdiction:
        print(f"  {j.value}: {right[j] / len(rows):7.2%} ({right[j]}/{len(rows)})")
    if wrong:
        pytest.fail(f"{len(wrong)} mismatches:\n" + "\n".join(wrong))


def test_corpus_covers_every_finding_code_and_verdict():
    from api.domain.disclosure import FindingCode, Verdict

    seen_codes = set()
    seen_verdicts = set()
    for row in load_corpus():
        for exp in row["expected"].values():
            seen_codes.update(exp["codes"])
            seen_verdicts.add(exp["verdict"])
    assert seen_codes == {c.value for c in FindingCode}
    assert seen_verdicts == {v.value for v in Verdict}
