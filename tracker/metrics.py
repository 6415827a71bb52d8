"""The tracker's counters, rendered in the Prometheus text format.

Plain integer attributes: incrementing one on the hot path costs next to nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Histogram:
    buckets: tuple[float, ...] = _LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.buckets) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def render(self, name: str) -> list[str]:
        lines = []
        cumulative = 0
        for bound, n in zip(self.buckets, self.counts, strict=False):
            cumulative += n
            lines.append(f'{name}_bucket{{le="{bound}"}} {cumulative}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{name}_sum {self.total:.6f}")
        lines.append(f"{name}_count {self.count}")
        return lines


# (attribute, help) of every counter, rendered as tracker_<attribute>_total
_COUNTERS = (
    ("redirects", "302 responses, GET and HEAD"),
    ("clicks", "GET redirects logged as human clicks (unique or repeat)"),
    ("unique_clicks", "Human clicks that were the first of their visitor on a code in the window"),
    ("cross_process_repeats", "First clicks of this process another one had logged (Redis)"),
    ("bot_hits", "GET redirects to crawlers, previewers and HTTP libraries (never counted)"),
    ("head_requests", "HEAD requests on /c/ (answered, never logged)"),
    ("orphans", "GET requests for unknown or deactivated codes (404, logged as orphans)"),
    ("invalid_codes", "Requests for malformed codes (404 without a lookup, not logged)"),
    ("unavailable", "503 answers: uncached code while Redis is unreachable"),
    ("events", "Click and orphan events produced"),
    ("events_written", "Events acknowledged by Redis (direct or replayed)"),
    ("events_spooled", "Events written to the local spool"),
    ("events_replayed", "Spooled events acknowledged by Redis on replay"),
    ("batches_already_written", "Replayed batches found already written (a lost reply)"),
    ("redis_errors", "Failed Redis calls (lookups, flushes, replays, pings)"),
    ("link_lookups", "Link cache misses answered by Redis"),
)


# Counters derived from others (properties of Metrics) rather than counted on the hot path.
_DERIVED = frozenset({"redirects", "events"})


class Metrics:
    def __init__(self) -> None:
        for name, _ in _COUNTERS:
            if name not in _DERIVED:
                setattr(self, name, 0)
        self.head_redirects = 0
        self.flush_seconds = Histogram()
        # gauges, read when rendering: name -> (help, callable)
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    @property
    def redirects(self) -> int:
        """Every GET of an active link is a redirect, logged as a click or a bot hit."""
        return self.clicks + self.bot_hits + self.head_redirects

    @property
    def events(self) -> int:
        """Every GET of a well-formed code that got an answer is one event."""
        return self.clicks + self.bot_hits + self.orphans

    # Declared for type checkers; set in __init__ from _COUNTERS.
    clicks: int
    unique_clicks: int
    cross_process_repeats: int
    bot_hits: int
    head_requests: int
    orphans: int
    invalid_codes: int
    unavailable: int
    events_written: int
    events_spooled: int
    events_replayed: int
    batches_already_written: int
    redis_errors: int
    link_lookups: int

    def gauge(self, name: str, help_: str, read: Callable[[], float]) -> None:
        self.gauges[name] = (help_, read)

    def render(self) -> str:
        lines: list[str] = []
        for name, help_ in _COUNTERS:
            metric = f"tracker_{name}_total"
            lines += [
                f"# HELP {metric} {help_}",
                f"# TYPE {metric} counter",
                f"{metric} {getattr(self, name)}",
            ]
        for name, (help_, read) in self.gauges.items():
            metric = f"tracker_{name}"
            lines += [f"# HELP {metric} {help_}", f"# TYPE {metric} gauge", f"{metric} {read()}"]
        metric = "tracker_flush_seconds"
        lines += [
            f"# HELP {metric} Time to write one batch of events to Redis",
            f"# TYPE {metric} histogram",
            *self.flush_seconds.render(metric),
        ]
        return "\n".join(lines) + "\n"
