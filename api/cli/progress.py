"""The one progress line long commands draw on stderr, redrawn in place."""

from __future__ import annotations

import sys

WIDTH = 30


def show(phase: str, done: int, total: int) -> None:
    """`[#########.....]  40% links 120/300`; ends the line once done reaches total."""
    filled = WIDTH if total <= 0 else min(WIDTH, done * WIDTH // total)
    pct = 100 if total <= 0 else min(100, 100 * done // total)
    line = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {pct:3d}% {phase} {done}/{total}"
    sys.stderr.write("\r" + line.ljust(72))
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
