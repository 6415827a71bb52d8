"""How pages write money and dates: in the brand's locale (CLDR, via babel) and time zone."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency

from api.domain.buckets import BucketError, zone

DEFAULT_LOCALE = "en_US"
NONE = "\u2013"  # an en dash where a value is missing


def locale_of(brand: dict[str, Any] | None) -> str:
    """The locale of a brand as the API returns it (`Brand.locale`), else the default."""
    value = (brand or {}).get("locale") or DEFAULT_LOCALE
    try:
        return str(Locale.parse(value))
    except (ValueError, UnknownLocaleError):
        return DEFAULT_LOCALE


def time_zone(brand: dict[str, Any] | None = None) -> tzinfo:
    """The zone pages show a brand's dates in: its `Brand.timeZone` (IANA), else UTC."""
    name = (brand or {}).get("timeZone")
    if not name:
        return UTC
    try:
        return zone(name)
    except BucketError:
        return UTC


def money(value: dict[str, Any] | None, locale: str) -> str:
    """A `Money { amount currency }` of the API (amount as a decimal string)."""
    if not value:
        return NONE
    return format_currency(Decimal(value["amount"]), value["currency"], locale=locale)


def _parse(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def when(value: str | datetime | None, locale: str, zone: tzinfo) -> str:
    """A moment: the day, the time to the minute, and the zone it is shown in."""
    if not value:
        return NONE
    moment = _parse(value).astimezone(zone)
    shown = format_datetime(moment, "medium", tzinfo=zone, locale=locale)
    day_part = format_date(moment.date(), "medium", locale=locale)
    time_part = format_time(moment, "short", tzinfo=zone, locale=locale)
    if day_part in shown:  # the locale's medium pattern, to the minute
        return f"{day_part}, {time_part} {moment.tzname()}"
    return f"{shown} {moment.tzname()}"


def day(value: str | datetime | None, locale: str, zone: tzinfo) -> str:
    if not value:
        return NONE
    parsed = _parse(value)
    if isinstance(value, str) and len(value) == 10:  # a Date: no zone to convert from
        return format_date(parsed.date(), "medium", locale=locale)
    return format_date(parsed.astimezone(zone).date(), "medium", locale=locale)
