"""Logging configured once writes to the stderr of the moment: a stream that a test's capture
(or a redirection) closed since is never written to ("I/O operation on closed file")."""

from __future__ import annotations

import io
import logging
import sys

from tracker.log import configure_logging


def test_records_go_to_the_current_stderr_not_a_closed_one(monkeypatch) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("INFO")
    first.close()  # the capture of the test that configured logging ends
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    errors: list[object] = []
    monkeypatch.setattr(logging.Handler, "handleError", lambda self, record: errors.append(record))
    try:
        logging.getLogger("vouch.test").warning("still heard")
    finally:
        configure_logging("WARNING", stream=io.StringIO())
    assert errors == []
    assert "still heard" in second.getvalue()
