"""Click events from the hot path to the Redis stream: buffered, batched, spooled, replayed.

The hot path only appends an event to a list (`ClickSink.add`); the app's `encode` function packs
them when they leave the buffer, a batch at a time. Batches of at most
`batch_size` events are written by up to `max_flushes` concurrent writes, at most
`flush_delay_ms` after the first event was buffered.

Each batch is written by one Lua script call (`WRITE_SCRIPT`), not a pipeline of XADDs: redis-py
encodes every argument of every command in Python, which for 34 arguments per event costs more
than the whole rest of a redirect, while one call whose one argument holds the packed batch
costs almost nothing. The script (atomic, like any Redis script) also makes a batch idempotent:
it first sets a marker key named after the batch id (SET NX, with a TTL) and writes nothing if
the marker exists. So when a write's reply is lost (timeout, Redis killed after applying it) and
the batch goes to the spool, its replay under the same id is a no-op if the first write landed.
Markers of acknowledged batches are deleted by the next write, so only the markers of such lost
replies stay, until their TTL. All keys
share the stream's `{ev}` hash tag: on a Redis Cluster they live in one slot.

The script is also where repeats are found across tracker processes: a click its own process
took for a visitor's first (`unique` 1) is looked up by a key of its IP hash, user agent and
code (`...:seen:<sha1>`, kept for the dedupe window); when another process logged that visitor
first, the event is written as a repeat with that first click's id (its redirect's `vclid` is
its own event id, itself a stored click, so a sale on it is attributed all the same).

When a write fails, Redis is marked down: the batch and the following ones go to the spool
(fsync'd JSON lines), cached links keep redirecting, and a maintenance task pings Redis every
`replay_interval_seconds`; once it answers, the spool is replayed and deleted segment by
segment. The buffer is bounded: past `buffer_size` events, the excess goes to the spool too.
Shutdown writes out the buffer (to Redis, else to the spool).

While Redis answers, the maintenance task also reports at `tracker.keys.trackers` up to when
everything this process logged is in the stream (the time of its oldest event still buffered,
being written, refused by the spool or spooled; now when none), stamped with Redis's clock. A
process cut off from Redis stops reporting, so its last report says its clicks since then may
be anywhere: the worker keeps an order whose click it cannot find waiting while that click may
still come from one of them (`api.ingest.batches`). A clean stop with nothing left removes the
report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import NoScriptError, RedisError

from tracker.events import FIELDS, RS, SEP
from tracker.metrics import Metrics
from tracker.spool import Batch, Spool, fresh_batch

log = logging.getLogger("tracker.sink")

# What a failed Redis call may raise besides RedisError (socket errors, our own timeouts).
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)

WRITE_SCRIPT = r"""
-- KEYS[1]: the clicks stream; KEYS[2]: this batch's marker; KEYS[3..]: markers to delete
-- ARGV[1]: marker TTL (s); ARGV[2]: the events, each its values (in the order of the field
-- names below) joined with \31, joined with \30; ARGV[3]: the dedupe window (ms, 0: off)
-- Returns {events written, first clicks found to be repeats} ({-1, 0}: batch already there).
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return {-1, 0} end
local names = {FIELD_NAMES}
local n = #names
local entry = {}
for j = 1, n do entry[2 * j - 1] = names[j] end
local window = tonumber(ARGV[3] or '0')
local seen = KEYS[1] .. ':seen:'
local count, repeats = 0, 0
for event in string.gmatch(ARGV[2], '[^\30]+') do
  local j = 0
  for value in string.gmatch(event .. '\31', '([^\31]*)\31') do
    j = j + 1
    entry[2 * j] = value
  end
  if j ~= n then return redis.error_reply('malformed click event') end
  -- A first click of its process: is it the first of every tracker's?
  if window > 0 and entry[UNIQUE] == '1' and entry[BOT] == '0' then
    local key = seen .. redis.sha1hex(entry[IP_HASH] .. '\31' .. entry[UA] .. '\31' .. entry[CODE])
    local first = redis.call('GET', key)
    if first then
      entry[CLICK_ID] = first
      entry[UNIQUE] = '0'
      repeats = repeats + 1
    else
      redis.call('SET', key, entry[EVENT_ID], 'PX', window)
    end
  end
  redis.call('XADD', KEYS[1], '*', unpack(entry, 1, 2 * n))
  count = count + 1
end
return {count, repeats}
"""


def _script(template: str) -> str:
    """The script with its field names and the entry positions of the values it reads (an
    entry alternates names and values: value j, 1-based, is at 2 * j)."""
    script = template.replace("FIELD_NAMES", ", ".join(f"'{name}'" for name in FIELDS))
    for name in ("unique", "bot", "ip_hash", "ua", "code", "click_id", "event_id"):
        script = script.replace(f"[{name.upper()}]", f"[{2 * (FIELDS.index(name) + 1)}]")
    return script


WRITE_SCRIPT = _script(WRITE_SCRIPT)  # plain identifiers

REPORT_SCRIPT = """
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ms)
return ms
"""
_TS = FIELDS.index("ts")
_MAX_MARKER_DELETES = 256
# How long `close` lets maintenance finish (a Redis probe, one segment replayed) before
# cancelling it.
CLOSE_GRACE_SECONDS = 5.0


class RedisHealth:
    """Whether Redis answered the last call; shared by the link lookups and the sink."""

    def __init__(self) -> None:
        self.up = True

    def mark_down(self, error: BaseException, during: str) -> None:
        if self.up:
            log.warning("redis unreachable", extra={"during": during, "error": repr(error)})
        self.up = False

    def mark_up(self) -> None:
        if not self.up:
            log.info("redis reachable again")
        self.up = True


class ClickSink:
    def __init__(
        self,
        redis: Any,
        stream: str,
        spool: Spool,
        metrics: Metrics,
        health: RedisHealth,
        *,
        batch_size: int = 256,
        buffer_size: int = 20_000,
        flush_delay: float = 0.005,
        max_flushes: int = 4,
        replay_interval: float = 0.5,
        marker_ttl: int = 7 * 86400,
        encode: Callable[[list[Any]], list[str]] | None = None,
        dedupe_window: float = 0.0,
        trackers_key: str | None = None,
        instance: str = "",
    ) -> None:
        self._redis = redis
        # Turns buffered events into packed ones when they leave the buffer, a batch at a time
        # (None: they are buffered packed).
        self._encode = encode
        self._stream = stream
        self._spool = spool
        self._metrics = metrics
        self.health = health
        self._batch_size = max(1, batch_size)
        self._buffer_size = max(self._batch_size, buffer_size)
        self._flush_delay = flush_delay
        self._max_flushes = max(1, max_flushes)
        self._replay_interval = replay_interval
        self._marker_ttl = marker_ttl
        self._ttl_arg = str(marker_ttl)
        self._window_arg = str(max(0, round(dedupe_window * 1000)))
        # where this process reports up to when its clicks are in the stream (None: it doesn't)
        self._trackers_key = trackers_key
        self._instance = instance
        # the time (ms) of the oldest spooled event, 0 when unknown (left by an earlier run),
        # None when the spool is empty
        self._spooled_since: int | None = None
        self._writing: dict[int, int] = {}  # id(batch) -> its oldest event's time, being written
        self._sha: str | None = None

        self._buffer: list[Any] = []  # events as given to `add`
        self._retry: list[Batch] = []  # batches the spool refused (disk full): kept in memory
        self._due = False  # the buffer holds events older than the flush delay
        self._timer: asyncio.TimerHandle | None = None
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._acked: list[str] = []  # ids of acknowledged batches whose marker can go
        self._maintainer: asyncio.Task[None] | None = None
        self._replaying = False
        self._closing = False
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def depth(self) -> int:
        return len(self._buffer) + sum(len(b.events) for b in self._retry)

    def _marker(self, batch_id: str) -> str:
        return f"{self._stream}:batch:{batch_id}"

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await self._spool.open()
        if self._spool.depth:
            self._spooled_since = 0
        self._maintainer = asyncio.create_task(self._maintain(), name="tracker-sink-maintain")

    async def close(self) -> None:
        """Writes out everything buffered (to Redis, else to the spool) and stops."""
        self._closing = True
        if self._maintainer is not None:
            # Let maintenance finish what it is doing (a replayed segment is removed and its
            # markers queued for deletion below), then stop; cancel it only if it hangs.
            self._wake.set()
            await asyncio.wait({self._maintainer}, timeout=CLOSE_GRACE_SECONDS)
            self._maintainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintainer
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._buffer or self._retry or self._tasks:
            self._due = True
            self._pump()
            if self._tasks:
                await asyncio.wait(set(self._tasks))
        if self._acked and self.health.up:
            with contextlib.suppress(*REDIS_ERRORS):
                await self._redis.delete(*map(self._marker, self._acked[:_MAX_MARKER_DELETES]))
        if self._trackers_key and self.health.up and not self._spool.depth:
            with contextlib.suppress(*REDIS_ERRORS):  # nothing of ours is anywhere but Redis
                await self._redis.hdel(self._trackers_key, self._instance)
        await self._spool.close()

    # --- hot path ------------------------------------------------------------------------

    def add(self, event: Any) -> None:
        """Buffers an event: packed, or as the `encode` function takes it."""
        buffer = self._buffer
        buffer.append(event)
        if len(buffer) >= self._batch_size:
            self._pump()
        elif self._timer is None and self._loop is not None:
            self._timer = self._loop.call_later(self._flush_delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._due = True
        self._pump()

    def _pump(self) -> None:
        """Starts writes while there is work and a free slot; spools what overflows."""
        while self._inflight < self._max_flushes:
            if self._retry:
                batch = self._retry.pop(0)
            elif self._buffer and (self._due or len(self._buffer) >= self._batch_size):
                events = self._buffer[: self._batch_size]
                del self._buffer[: self._batch_size]
                batch = self._batch(events)
            else:
                break
            self._start(self._flush(batch))
        if not self._buffer:
            self._due = False
        elif self._timer is None and not self._due and self._loop is not None:
            self._timer = self._loop.call_later(self._flush_delay, self._on_timer)
        if len(self._buffer) > self._buffer_size:
            overflow = len(self._buffer) - self._buffer_size // 2
            batches = [
                self._batch(self._buffer[i : min(i + self._batch_size, overflow)])
                for i in range(0, overflow, self._batch_size)
            ]
            del self._buffer[:overflow]
            log.warning("click buffer full, spooling", extra={"events": overflow})
            self._start(self._to_spool(batches))

    def _batch(self, events: list[Any]) -> Batch:
        return fresh_batch(self._encode(events) if self._encode else events)

    def _start(self, coro: Any) -> None:
        self._inflight += 1
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._inflight -= 1
        if not task.cancelled() and task.exception() is not None:
            log.error("click flush crashed", exc_info=task.exception())
        self._pump()

    # --- writing -------------------------------------------------------------------------

    async def _flush(self, batch: Batch) -> None:
        self._writing[id(batch)] = _oldest_ms(batch)
        try:
            if self.health.up:
                started = time.perf_counter()
                try:
                    await self.write(batch)
                except REDIS_ERRORS as exc:
                    self._metrics.redis_errors += 1
                    self.health.mark_down(exc, "flush")
                else:
                    self._metrics.flush_seconds.observe(time.perf_counter() - started)
                    self._metrics.events_written += len(batch.events)
                    self._acked.append(batch.id)
                    return
            await self._to_spool([batch])
        finally:
            del self._writing[id(batch)]

    async def _to_spool(self, batches: list[Batch]) -> None:
        if self._spooled_since is None and batches:
            self._spooled_since = min(map(_oldest_ms, batches))
        try:
            await self._spool.append(batches)
        except (OSError, RuntimeError) as exc:
            lost = sum(len(b.events) for b in batches)
            if self._closing:
                log.critical("click events lost: no Redis, no spool", extra={"events": lost})
                return
            # Nowhere to put them: keep them in memory and try again with the next flush.
            log.error("cannot write the spool", extra={"error": repr(exc), "events": lost})
            self._retry.extend(batches)
            await asyncio.sleep(self._replay_interval)
            return
        self._metrics.events_spooled += sum(len(b.events) for b in batches)
        self._wake.set()

    async def write(self, batch: Batch) -> int:
        """Writes one batch with the script; returns the events written (0 if the batch was
        already there). Also deletes the markers of batches acknowledged earlier."""
        drop = self._acked[:_MAX_MARKER_DELETES]
        del self._acked[:_MAX_MARKER_DELETES]
        keys = [self._stream, self._marker(batch.id), *map(self._marker, drop)]
        args = (self._ttl_arg, RS.join(batch.events), self._window_arg)
        try:
            if self._sha is None:
                self._sha = await self._redis.script_load(WRITE_SCRIPT)
            try:
                written = await self._redis.evalsha(self._sha, len(keys), *keys, *args)
            except NoScriptError:  # Redis restarted, or another node of a cluster
                written = await self._redis.eval(WRITE_SCRIPT, len(keys), *keys, *args)
        except BaseException:
            self._acked[:0] = drop
            raise
        count, repeats = (int(value) for value in written)
        # first clicks of this process that another one had logged first
        self._metrics.unique_clicks -= repeats
        self._metrics.cross_process_repeats += repeats
        return max(0, count)

    # --- maintenance: probe Redis, replay the spool ----------------------------------------

    async def _maintain(self) -> None:
        # `asyncio.timeout`, not `asyncio.wait_for`: on Python 3.11, wait_for swallows a
        # cancellation that arrives as the event is set (gh-86296), and `close` then waited
        # for this loop forever. `_closing` ends it even so.
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._replay_interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                if not self.health.up:
                    await self._redis.ping()
                    self.health.mark_up()
                    self._pump()
                if self._spool.depth:
                    await self.replay()
                if not self._spool.depth:
                    self._spooled_since = None
                await self.report()
            except REDIS_ERRORS as exc:
                self._metrics.redis_errors += 1
                self.health.mark_down(exc, "maintenance")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("spool maintenance failed")

    def logged_before_ms(self) -> int:
        """Every event this process logged before this time (ms) is in Redis."""
        now = time.time_ns() // 1_000_000
        oldest = [now, *self._writing.values()]
        if self._spooled_since is not None:
            oldest.append(self._spooled_since)
        if self._retry:
            oldest.append(min(map(_oldest_ms, self._retry)))
        if self._buffer:
            first = self._buffer[0]
            oldest.append(int(first[3]) if isinstance(first, tuple) else _event_ms(first))
        return min(oldest)

    async def report(self) -> None:
        """Tells the worker up to when this process's clicks are in the stream."""
        if self._trackers_key is None or not self.health.up:
            return
        mark = self.logged_before_ms()  # taken before the call: what is written by then
        await self._redis.eval(REPORT_SCRIPT, 1, self._trackers_key, self._instance, str(mark))

    async def replay(self) -> None:
        """Writes the spool's closed segments to Redis, deleting each once it is written."""
        if self._replaying or not self.health.up:
            return
        self._replaying = True
        try:
            await self._spool.rotate()
            while (
                self.health.up
                and not self._closing  # the rest waits on disk for the next start
                and (segment := await self._spool.claim()) is not None
            ):
                try:
                    for batch in segment.batches:
                        written = await self.write(batch)
                        self._metrics.events_replayed += written
                        self._metrics.events_written += written
                        if not written:
                            self._metrics.batches_already_written += 1
                except BaseException:
                    await self._spool.release(segment)
                    raise
                await self._spool.remove(segment)
                # Only now may their markers go: until the file is gone it may be replayed.
                self._acked.extend(batch.id for batch in segment.batches)
                log.info(
                    "replayed spool segment",
                    extra={"path": str(segment.path), "events": segment.events},
                )
        finally:
            self._replaying = False


def _event_ms(packed: str) -> int:
    return int(packed.split(SEP, _TS + 1)[_TS])


def _oldest_ms(batch: Batch) -> int:
    """The time of a batch's oldest event (they leave the buffer in order: its first one)."""
    try:
        return _event_ms(batch.events[0]) if batch.events else time.time_ns() // 1_000_000
    except (ValueError, IndexError):
        return 0
