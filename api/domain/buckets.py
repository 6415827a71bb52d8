"""Time buckets of a report in an IANA time zone: where each HOUR, DAY, WEEK (ISO, from
Monday) or MONTH starts and ends, and the folding of hourly counters into them.

Rollups are kept per UTC hour. A bucket is the set of rollup hours that start inside it, so a
day in Berlin is 23 hours on the day summer time starts and 25 on the day it ends. (In a zone
whose offset is not whole hours, e.g. Asia/Kolkata, a local day starts in the middle of a
rollup hour: that hour is counted in the bucket its start falls in.)
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

MAX_BUCKETS = 1000


class Granularity(StrEnum):
    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


class BucketError(ValueError):
    """A report's buckets cannot be made (unknown zone, too many buckets, empty range)."""


@dataclass(frozen=True)
class Bucket:
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC: the next bucket's start

    @property
    def hours(self) -> int:
        return int((self.end - self.start).total_seconds() // 3600)


@cache
def _names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name` ("Europe/Berlin", "UTC"), or BucketError: only names of the time
    zone database (never a path, a file of it or a directory)."""
    if name not in _names():
        raise BucketError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BucketError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin"
        ) from None


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def floor(moment: datetime, granularity: Granularity, tz: ZoneInfo) -> datetime:
    """The start (UTC) of the bucket holding `moment` (aware)."""
    if granularity is Granularity.HOUR:
        return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    local = moment.astimezone(tz).date()
    if granularity is Granularity.WEEK:
        local -= timedelta(days=local.weekday())
    elif granularity is Granularity.MONTH:
        local = local.replace(day=1)
    start = _local_midnight(local, tz)
    if start > moment:  # a midnight that does not exist (DST at 00:00) falls after the moment
        start = _local_midnight(local - timedelta(days=1), tz)
    return start


def _next(start: datetime, granularity: Granularity, tz: ZoneInfo) -> datetime:
    if granularity is Granularity.HOUR:
        return start + timedelta(hours=1)
    local = start.astimezone(tz).date()
    if granularity is Granularity.DAY:
        following = local + timedelta(days=1)
    elif granularity is Granularity.WEEK:
        following = local + timedelta(days=7 - local.weekday())
    else:
        following = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    return _local_midnight(following, tz)


def buckets(
    start: datetime, end: datetime, granularity: Granularity, tz: ZoneInfo, limit: int = MAX_BUCKETS
) -> list[Bucket]:
    """Every bucket from the one holding `start` to the one holding the last instant before
    `end` (both aware): [start, end) rounded out to whole buckets. BucketError past `limit`."""
    if end <= start:
        raise BucketError("to must be after from")
    found: list[Bucket] = []
    current = floor(start, granularity, tz)
    while current < end:
        following = _next(current, granularity, tz)
        if len(found) == limit:
            raise BucketError(
                f"from..to makes more than {limit} {granularity.lower()} buckets: "
                "shorten the range or use a coarser granularity"
            )
        found.append(Bucket(current, following))
        current = following
    return found


T = TypeVar("T")


def fold(
    bucket_list: list[Bucket],
    hourly: Iterable[tuple[datetime, T]],
    empty: Callable[[], T],
    add: Callable[[T, T], T],
) -> list[T]:
    """The counters of each bucket (zero-filled: `empty()` where no hour fell), from
    (hour start, counters) pairs; hours outside the buckets are left out."""
    starts = [b.start for b in bucket_list]
    end = bucket_list[-1].end if bucket_list else None
    totals = [empty() for _ in bucket_list]
    for hour, counters in hourly:
        hour = hour if hour.tzinfo else hour.replace(tzinfo=UTC)
        i = bisect_right(starts, hour) - 1
        if i < 0 or end is None or hour >= end:
            continue
        totals[i] = add(totals[i], counters)
    return totals
