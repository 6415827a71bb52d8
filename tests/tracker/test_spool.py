"""The spool on its own: what survives on disk, what a replayer may take."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest

from tracker.events import KIND_CLICK, ClickEvent, new_id
from tracker.spool import Batch, Spool

pytestmark = pytest.mark.anyio


def _event(n: int) -> ClickEvent:
    return ClickEvent(KIND_CLICK, new_id(), new_id(), "abc", n, "10.0.0.0", "h", link_id=1)


async def test_batches_are_appended_as_json_lines_and_read_back(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    await spool.open()
    first = Batch("b1", [_event(1).pack(), _event(2).pack()])
    second = Batch("b2", [_event(3).pack()])
    await spool.append([first])
    await spool.append([second])
    assert spool.depth == 3
    [path] = tmp_path.glob("clicks-*.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["batch"] for line in lines] == ["b1", "b1", "b2"]
    assert ClickEvent.from_fields(lines[2]["event"]) == ClickEvent.unpack(second.events[0])

    assert await spool.claim() is None  # still this process's open segment
    await spool.rotate()
    segment = await spool.claim()
    assert segment is not None and segment.batches == [first, second]
    await spool.remove(segment)
    assert spool.depth == 0 and not path.exists()
    await spool.close()


async def test_cut_and_garbled_lines_are_skipped(tmp_path: Path) -> None:
    good = _event(1)
    path = tmp_path / "clicks-0000.jsonl"
    path.write_text(
        json.dumps({"batch": "b1", "event": good.to_fields()})
        + "\n"
        + "not json\n"
        + json.dumps({"batch": "b1", "event": {"v": "1"}})
        + "\n"
        + json.dumps({"batch": "b1", "event": {**good.to_fields(), "ua": "a\x1fb"}})
        + "\n"
        + json.dumps({"batch": "b2", "event": _event(2).to_fields()})[:40]  # cut by a crash
    )
    spool = Spool(str(tmp_path))
    await spool.open()
    assert spool.depth == 4  # complete lines, before reading them
    segment = await spool.claim()
    assert segment is not None
    assert segment.batches == [Batch("b1", [good.pack()])]
    assert spool.depth == 1
    await spool.remove(segment)
    await spool.close()


async def test_a_segment_locked_by_another_process_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "clicks-0000.jsonl"
    path.write_text(json.dumps({"batch": "b1", "event": _event(1).to_fields()}) + "\n")
    spool = Spool(str(tmp_path))
    await spool.open()
    with path.open("rb") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        assert await spool.claim() is None
    segment = await spool.claim()
    assert segment is not None and len(segment.batches) == 1
    await spool.release(segment)
    assert path.exists()  # released, not removed: it will be replayed later
    await spool.close()


async def test_a_line_spooled_before_the_country_field_reads_with_none(tmp_path: Path) -> None:
    old = _event(1)
    fields = {k: v for k, v in old.to_fields().items() if k != "country"}
    (tmp_path / "clicks-0000.jsonl").write_text(json.dumps({"batch": "b1", "event": fields}) + "\n")
    spool = Spool(str(tmp_path))
    await spool.open()
    segment = await spool.claim()
    assert segment is not None and segment.batches == [Batch("b1", [old.pack()])]
    assert ClickEvent.unpack(segment.batches[0].events[0]).country == ""
    await spool.remove(segment)
    await spool.close()
