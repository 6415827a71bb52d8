"""The worker's side of the Redis streams: the consumer group, reading and acknowledging.

Every worker reads the click and conversion streams in one consumer group (`GROUP`) with
XREADGROUP. A batch ends with one atomic call per stream (`Streams.finish`, a Lua script) that
appends its undeliverable entries to the dead-letter stream, requeues the deferred ones at the
end of their stream and XACKs them all (a plain XACK when there are none), so a crash before it
leaves every entry pending and a crash after it loses nothing. Entries another consumer left
pending are taken over with XAUTOCLAIM (`claim`); `trim` deletes what every group has
acknowledged; `clicks_watermark_ms` says which clicks are surely in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from tracker import keys

GROUP = "ingest"

_FINISH_LUA = """
local i = 2
local function take()
  local n = tonumber(ARGV[i]); i = i + 1
  local f = {}
  for j = 1, n do f[j] = ARGV[i]; i = i + 1 end
  return f
end
local dead = tonumber(ARGV[i]); i = i + 1
for _ = 1, dead do redis.call('XADD', KEYS[2], '*', unpack(take())) end
local requeue = tonumber(ARGV[i]); i = i + 1
for _ = 1, requeue do redis.call('XADD', KEYS[1], '*', unpack(take())) end
local ids = {}
local n = 0
for j = i, #ARGV do
  ids[#ids + 1] = ARGV[j]
  n = n + 1
  if #ids == 1000 then  -- unpack() is bounded by Lua's stack
    redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
    ids = {}
  end
end
if #ids > 0 then redis.call('XACK', KEYS[1], ARGV[1], unpack(ids)) end
return n
"""


@dataclass(slots=True)
class Entry:
    stream: str  # the stream's key
    id: str
    # A mapping, or the flat [name, value, ...] list Redis sends; None: deleted from the stream
    # while pending.
    fields: Any


def pairs(fields: Any) -> list[tuple[Any, Any]]:
    """An entry's fields as (name, value) pairs, whichever shape Redis sent them in."""
    if fields is None:
        return []
    if isinstance(fields, dict):
        return list(fields.items())
    return list(zip(fields[0::2], fields[1::2], strict=True))


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def id_ms(entry_id: str) -> int:
    """The Redis server time (ms) at which the entry was added."""
    return int(entry_id.split("-", 1)[0])


def id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class Streams:
    """The click, conversion and dead-letter streams of a key prefix, as one consumer sees
    them."""

    def __init__(self, client: Any, prefix: str, consumer: str) -> None:
        self.redis = client
        self.consumer = consumer
        self.clicks = keys.clicks_stream(prefix)
        self.conversions = keys.conversions_stream(prefix)
        self.dead = keys.dead_letter_stream(prefix)
        self.trackers = keys.trackers(prefix)
        self._finish = client.register_script(_FINISH_LUA)
        # XREADGROUP replies as Redis sends them (no per-entry dicts): a client of its own
        # sharing the connection pool, whose reply callback for XREADGROUP is the identity.
        self._raw: Any = None
        if isinstance(client, redis.Redis):
            self._raw = redis.Redis(connection_pool=client.connection_pool)
            self._raw.set_response_callback("XREADGROUP", lambda response, **_: response)

    # --- the group ------------------------------------------------------------------------

    def ensure_groups(self) -> bool:
        """Creates the consumer groups that are missing; whether any was (a Redis that is new,
        or lost its data)."""
        created = False
        for stream in (self.clicks, self.conversions):
            try:
                self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
                created = True
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        return created

    def pending(self) -> int:
        """Entries read by some consumer of the group and not acknowledged yet."""
        return sum(
            int(self.redis.xpending(s, GROUP)["pending"]) for s in (self.clicks, self.conversions)
        )

    # --- reading --------------------------------------------------------------------------

    def read(self, streams: dict[str, str], count: int, block: int | None) -> list[Entry]:
        """XREADGROUP (">": new entries; "0": this consumer's own pending ones); on a standalone
        Redis the entries keep the flat field lists of the reply (decoded lazily, clicks never
        into dicts)."""
        client = self._raw or self.redis
        response = client.xreadgroup(GROUP, self.consumer, streams, count=count, block=block)
        if isinstance(response, dict):  # RESP3
            response = list(response.items())
        entries: list[Entry] = []
        for stream, items in response or []:
            name = text(stream)
            entries += [Entry(name, text(entry_id), fields) for entry_id, fields in items]
        return entries

    def claim(self, stream: str, start: str, idle_ms: int, count: int) -> tuple[str, list[Entry]]:
        """One XAUTOCLAIM page: entries another consumer left pending for `idle_ms`, and where
        the next page starts ("0-0": none)."""
        response = self.redis.xautoclaim(
            stream, GROUP, self.consumer, min_idle_time=idle_ms, start_id=start, count=count
        )
        return text(response[0]), [Entry(stream, text(i), f) for i, f in response[1]]

    def deliveries(self, entries: list[Entry]) -> dict[str, int]:
        """How many times each pending entry was delivered (XPENDING), by entry id."""
        counts: dict[str, int] = {}
        by_stream: dict[str, list[str]] = {}
        for entry in entries:
            by_stream.setdefault(entry.stream, []).append(entry.id)
        for stream, ids in by_stream.items():
            ordered = sorted(ids, key=id_key)
            for item in self.redis.xpending_range(
                stream, GROUP, min=ordered[0], max=ordered[-1], count=len(ordered) * 4 + 10
            ):
                counts[text(item["message_id"])] = int(item["times_delivered"])
        return counts

    def clicks_watermark_ms(self) -> float:
        """Every click entry with a stream id below this (ms) is committed to the database."""
        groups = {text(g["name"]): g for g in self.redis.xinfo_groups(self.clicks)}
        group = groups.get(GROUP)
        if group is None:
            return 0
        last_delivered = text(group["last-delivered-id"])
        last_generated = text(self.redis.xinfo_stream(self.clicks)["last-generated-id"])
        summary = self.redis.xpending(self.clicks, GROUP)
        if last_delivered == last_generated and not summary["pending"]:
            return float("inf")
        mark = float(id_ms(last_delivered) - 1)
        if summary["pending"]:
            mark = min(mark, id_ms(text(summary["min"])) - 1)
        return mark

    def tracker_reports(self, forget_before_ms: float) -> list[tuple[int, int]]:
        """What each tracker process last reported (`tracker.keys.trackers`): (every click it
        logged before this, its own clock, ms; was in the stream when Redis's clock read this,
        ms). Reports older than `forget_before_ms` (Redis's clock) are deleted and left out: a
        process gone for longer is no reason to keep any order waiting."""
        key = self.trackers
        reports: list[tuple[int, int]] = []
        stale: list[Any] = []
        for instance, value in self.redis.hgetall(key).items():
            try:
                logged_before, _, at = text(value).partition(":")
                report = (int(logged_before), int(at))
            except ValueError:
                stale.append(instance)
                continue
            if report[1] < forget_before_ms:
                stale.append(instance)
            else:
                reports.append(report)
        if stale:
            self.redis.hdel(key, *stale)
        return reports

    def clicks_in_for_next_conversion(self) -> bool:
        """Whether the clicks older than the next unread conversion entry are all in the
        database (False when there is no unread conversion)."""
        group = {text(g["name"]): g for g in self.redis.xinfo_groups(self.conversions)}.get(GROUP)
        if group is None:
            return True
        after = "(" + text(group["last-delivered-id"])
        upcoming = self.redis.xrange(self.conversions, min=after, count=1)
        if not upcoming:
            return False
        return id_ms(text(upcoming[0][0])) <= self.clicks_watermark_ms()

    # --- acknowledging --------------------------------------------------------------------

    def finish(
        self,
        dead: list[tuple[Entry, list[Any]]],
        requeue: list[tuple[Entry, list[Any]]],
        ack: list[Entry],
    ) -> None:
        """Ends a batch, atomically per stream: appends the dead letters (an entry and the
        flat fields of its dead letter) to the dead-letter stream, re-adds the requeued entries
        (with their new fields) at the end of their stream, and acknowledges all of them."""
        per_stream: dict[str, tuple[list[list[Any]], list[list[Any]], list[str]]] = {}

        def slot(stream: str) -> tuple[list[list[Any]], list[list[Any]], list[str]]:
            return per_stream.setdefault(stream, ([], [], []))

        for entry, flat in dead:
            slot(entry.stream)[0].append(flat)
            slot(entry.stream)[2].append(entry.id)
        for entry, flat in requeue:
            slot(entry.stream)[1].append(flat)
            slot(entry.stream)[2].append(entry.id)
        for entry in ack:
            slot(entry.stream)[2].append(entry.id)
        for stream, (dead_fields, requeued, ids) in per_stream.items():
            if not dead_fields and not requeued:  # acknowledging only: no script (cheaper)
                for start in range(0, len(ids), 1000):
                    self.redis.xack(stream, GROUP, *ids[start : start + 1000])
                continue
            args: list[Any] = [GROUP, len(dead_fields)]
            for flat in dead_fields:
                args += [len(flat), *flat]
            args.append(len(requeued))
            for flat in requeued:
                args += [len(flat), *flat]
            args += ids
            self._finish(keys=[stream, self.dead], args=args)

    # --- trimming -------------------------------------------------------------------------

    def trim(self) -> None:
        """Deletes entries every group has read and acknowledged, and forgets consumers that
        have been idle for an hour with nothing pending."""
        for stream in (self.clicks, self.conversions):
            floor: tuple[int, int] | None = None
            for group in self.redis.xinfo_groups(stream):
                name = text(group["name"])
                candidates = [id_key(text(group["last-delivered-id"]))]
                summary = self.redis.xpending(stream, name)
                if summary["pending"]:
                    candidates.append(id_key(text(summary["min"])))
                low = min(candidates)
                floor = low if floor is None else min(floor, low)
            if floor is not None and floor > (0, 0):
                self.redis.xtrim(stream, minid=f"{floor[0]}-{floor[1]}", approximate=True)
            for consumer in self.redis.xinfo_consumers(stream, GROUP):
                name = text(consumer["name"])
                if (
                    name != self.consumer
                    and not consumer["pending"]
                    and consumer["idle"] > 3600_000
                ):
                    self.redis.xgroup_delconsumer(stream, GROUP, name)
