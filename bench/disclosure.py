"""Benchmark of the disclosure checker: the labelled corpus, checked many times.

    .venv/bin/python bench/disclosure.py [--rounds N]

Prints the one-off cost of loading and compiling the rules, then, for several jurisdiction sets,
captions per second and mean microseconds per caption, plus the ASCII and non-ASCII captions
side by side (non-ASCII captions take the offset-mapping path). Target: well under 1 ms per
caption for all twelve jurisdictions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.domain.disclosure import DisclosureInput, check  # noqa: E402
from api.domain.disclosure.ruleset import load_rules  # noqa: E402

CORPUS = ROOT / "tests" / "disclosure" / "corpus.jsonl"
SETS: list[tuple[str, ...]] = [
    ("US",),
    ("DE",),
    ("FR",),
    ("ES",),
    ("US", "UK"),
    ("US", "UK", "IE", "DE", "FR", "EU"),
    ("ES", "IT", "NL", "CA", "AU", "BR"),
    ("US", "UK", "IE", "DE", "FR", "EU", "ES", "IT", "NL", "CA", "AU", "BR"),
]


def inputs(rows: list[dict], jurisdictions: tuple[str, ...]) -> list[DisclosureInput]:
    return [
        DisclosureInput(
            caption=r["caption"],
            platform=r["platform"],
            format=r["format"],
            platform_label=r["platformLabel"],
            connection=r["connection"],
            retouched=r["retouched"],
            ai_generated=r["aiGenerated"],
            jurisdictions=jurisdictions,
            comments=tuple(r.get("comments", ())),
        )
        for r in rows
    ]


def run(label: str, batch: list[DisclosureInput], rounds: int) -> float:
    """Check `batch` `rounds` times; print and return mean µs per caption."""
    for inp in batch:  # warm-up: regex and fold caches
        check(inp)
    step = max(1, rounds // 10)
    start = time.perf_counter()
    for i in range(rounds):
        for inp in batch:
            check(inp)
        if (i + 1) % step == 0:  # progress on stderr, so piped figures stay clean
            print(f"\r  {label:<28} round {i + 1}/{rounds}", end="", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start
    print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    n = rounds * len(batch)
    mean_us = elapsed / n * 1e6
    print(f"  {label:<28} {n / elapsed:>10,.0f} captions/s  {mean_us:>8.1f} µs/caption")
    return mean_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="passes over the corpus per set")
    args = parser.parse_args()

    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    start = time.perf_counter()
    load_rules.cache_clear()
    rules = load_rules()
    load_ms = (time.perf_counter() - start) * 1e3
    print(f"rules {rules.version}")
    print(f"load + compile rules once: {load_ms:.1f} ms")
    print(f"corpus: {len(rows)} captions x {args.rounds} rounds per jurisdiction set")

    results = {}
    for jurisdictions in SETS:
        results[jurisdictions] = run(
            "+".join(jurisdictions) if len(jurisdictions) < 12 else "all twelve",
            inputs(rows, jurisdictions),
            args.rounds,
        )

    every = SETS[-1]
    ascii_rows = [r for r in rows if r["caption"].isascii()]
    other_rows = [r for r in rows if not r["caption"].isascii()]
    print(f"all twelve, by caption kind ({len(ascii_rows)} ASCII, {len(other_rows)} non-ASCII):")
    ascii_us = run("ASCII captions", inputs(ascii_rows, every), args.rounds)
    other_us = run("non-ASCII captions", inputs(other_rows, every), args.rounds)
    print(f"  non-ASCII / ASCII cost ratio: {other_us / ascii_us:.2f}x")

    worst = max(results.values())
    verdict = "OK" if worst < 1000 else "TOO SLOW"
    print(f"slowest set: {worst:.1f} µs/caption (target < 1000 µs): {verdict}")


if __name__ == "__main__":
    main()
