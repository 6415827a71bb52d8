"""The local spool: click events that could not be written to Redis, kept on disk until they are.

Files `clicks-<id>.jsonl` in the spool directory, one JSON object per line:
`{"batch": "<batch id>", "event": {<stream fields>}}`. Lines are only ever appended, a batch
at a time, and fsync'd before the write is reported done; a new file's directory entry is
fsync'd too. Each process appends to its own segment, holding an exclusive `flock` on it, and
starts a new one when it is large or about to be replayed. A replayer takes closed segments
(any process's) under the same lock, writes their batches to Redis and only then deletes the
file: a crash in between replays the segment again, and the batch ids make that harmless (see
`tracker.sink`). A line cut short by a crash mid-write is skipped: its events were only in
that process's memory.

All file work runs on one thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tracker.events import FIELDS, OPTIONAL_FIELDS, new_id, pack, unpack

log = logging.getLogger("tracker.spool")

SEGMENT_BYTES = 16 * 1024 * 1024


@dataclass
class Batch:
    """Events written to Redis together, all or none, under one id."""

    id: str
    events: list[str]  # packed, see tracker.events.pack


@dataclass
class Segment:
    path: Path
    file: IO[bytes]
    batches: list[Batch] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(len(batch.events) for batch in self.batches)


class Spool:
    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracker-spool")
        self._current: IO[bytes] | None = None
        self._current_path: Path | None = None
        self._current_bytes = 0
        # Events in each segment file we know of, and their sum, the spool depth. Both are
        # changed on the spool thread only; the event loop reads `depth`, a plain int.
        self._counts: dict[Path, int] = {}
        self._depth = 0

    @property
    def depth(self) -> int:
        return self._depth

    def _count(self, path: Path, events: int) -> None:
        self._depth += events - self._counts.get(path, 0)
        if events:
            self._counts[path] = events
        else:
            self._counts.pop(path, None)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        await self._run(self._open)

    async def append(self, batches: list[Batch]) -> None:
        await self._run(self._append, batches)

    async def rotate(self) -> None:
        """Closes this process's segment, so it can be replayed; the next append starts one."""
        await self._run(self._close_current)

    async def claim(self) -> Segment | None:
        """Takes (locks and reads) the oldest closed segment nobody else holds, if any."""
        segment: Segment | None = await self._run(self._claim)
        return segment

    async def remove(self, segment: Segment) -> None:
        await self._run(self._remove, segment)

    async def release(self, segment: Segment) -> None:
        await self._run(self._release, segment)

    async def close(self) -> None:
        await self._run(self._close_current)
        self._executor.shutdown(wait=True)

    # --- on the spool thread -------------------------------------------------------------

    def _segments(self) -> list[Path]:
        return sorted(self.directory.glob("clicks-*.jsonl"))

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for path in self._segments():
            try:
                with path.open("rb") as f:
                    self._count(path, sum(1 for line in f if line.endswith(b"\n")))
            except FileNotFoundError:
                continue
        if self._counts:
            log.info(
                "spool holds events from an earlier run",
                extra={"segments": len(self._counts), "events": self.depth},
            )

    def _append(self, batches: list[Batch]) -> None:
        if self._current is None or self._current_bytes >= SEGMENT_BYTES:
            self._start_segment()
        assert self._current is not None and self._current_path is not None
        lines = []
        count = 0
        for batch in batches:
            for packed in batch.events:
                event = dict(zip(FIELDS, unpack(packed), strict=True))
                lines.append(json.dumps({"batch": batch.id, "event": event}, ensure_ascii=False))
                count += 1
        data = ("\n".join(lines) + "\n").encode()
        self._current.write(data)
        self._current.flush()
        os.fsync(self._current.fileno())
        self._current_bytes += len(data)
        self._count(self._current_path, self._counts.get(self._current_path, 0) + count)

    def _start_segment(self) -> None:
        self._close_current()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"clicks-{new_id()}.jsonl"
        file = path.open("ab")
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        self._fsync_directory()
        self._current, self._current_path, self._current_bytes = file, path, 0

    def _close_current(self) -> None:
        if self._current is not None:
            self._current.close()  # releases the lock: the segment may now be replayed
            self._current = self._current_path = None
            self._current_bytes = 0

    def _claim(self) -> Segment | None:
        for path in self._segments():
            if path == self._current_path:
                continue
            try:
                file = path.open("rb")
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                # Still the same file? Another replayer may have deleted it meanwhile.
                if os.stat(path).st_ino != os.fstat(file.fileno()).st_ino:
                    raise FileNotFoundError(path)
            except (BlockingIOError, FileNotFoundError):
                file.close()
                continue
            segment = Segment(path, file, self._read(path, file))
            self._count(path, segment.events)
            return segment
        return None

    def _read(self, path: Path, file: IO[bytes]) -> list[Batch]:
        batches: list[Batch] = []
        skipped = 0
        for line in file:
            try:
                if not line.endswith(b"\n"):
                    raise ValueError("line cut short")
                record = json.loads(line)
                event = record["event"]
                packed = pack([str(_value(event, name)) for name in FIELDS])
                unpack(packed)  # a hand-edited line must not break the packed format
                batch_id = str(record["batch"])
            except (ValueError, KeyError, TypeError):
                skipped += 1
                continue
            if not batches or batches[-1].id != batch_id:
                batches.append(Batch(batch_id, []))
            batches[-1].events.append(packed)
        if skipped:
            log.warning(
                "skipped unreadable spool lines", extra={"path": str(path), "lines": skipped}
            )
        return batches

    def _remove(self, segment: Segment) -> None:
        segment.path.unlink(missing_ok=True)
        self._fsync_directory()
        segment.file.close()
        self._count(segment.path, 0)

    def _release(self, segment: Segment) -> None:
        segment.file.close()

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fresh_batch(events: list[str]) -> Batch:
    return Batch(new_id(), events)


def _value(event: dict[str, Any], name: str) -> Any:
    """A spooled event's field; one added since the line was written reads as its default."""
    if name in OPTIONAL_FIELDS:
        return event.get(name, OPTIONAL_FIELDS[name])
    return event[name]
