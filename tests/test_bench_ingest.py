"""`make bench-ingest` compares the worker with the tracker's rate measured in the same run, or
prints no ratio at all: there is no default figure to flatter it."""

from __future__ import annotations

import argparse

from bench import ingest

ROUNDS = [(1, 30_000, 2.0), (2, 30_000, 1.0)]  # workers, events, seconds


def test_without_a_measured_tracker_rate_no_ratio_is_printed():
    args = argparse.Namespace(skip_tracker=True)
    tracker, why = ingest.start_tracker_rate(None, "", None, args)  # type: ignore[arg-type]
    assert tracker is None
    assert "without --skip-tracker" in why and "wrk" in why
    lines = ingest.summary(ROUNDS, [], why)
    text = "\n".join(lines)
    assert "ratio" not in lines[0] and "x the tracker" not in text
    assert lines[-1] == f"no ratio to the tracker: {why}"
    assert "15,000" in text and "30,000" in text  # the rounds' own rates still show
    # Runs that do not bracket every round (one failed) are no figure to compare with either.
    assert "x the tracker" not in "\n".join(ingest.summary(ROUNDS, [20_000.0], ""))


def test_each_round_is_compared_with_the_tracker_runs_around_it():
    lines = ingest.summary(ROUNDS, [20_000.0, 10_000.0, 30_000.0], "")
    text = "\n".join(lines)
    # 15,000 events/s against (20,000 + 10,000) / 2; 30,000 against (10,000 + 30,000) / 2.
    assert "1 worker(s): 1.00x the tracker's redirect rate measured around it (meets" in text
    assert "2 worker(s): 1.50x the tracker's redirect rate measured around it (meets" in text
    assert "20,000, 10,000, 30,000 req/s (median 20,000)" in text
    below = "\n".join(ingest.summary(ROUNDS[:1], [30_000.0, 30_000.0], ""))
    assert "0.50x" in below and "(below the target" in below
    assert not hasattr(ingest, "DEFAULT_TRACKER_RPS")
