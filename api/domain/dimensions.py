"""What a click is, decided once when it is ingested: the shopper's country, device class and
referrer domain. Conversions attributed to a click inherit them (`api.ingest.conversions`), so
a breakdown of revenue by country needs no raw click scan.

The values are short, fixed-form text ('' when unknown), stored on the click, the conversion and
the dimension rollups (`api.models.rollups`): the shopper's IP is never stored (only its /24 or
/48 network and a keyed hash, as before), and the country is looked up from that network.
"""

from __future__ import annotations

import re
from enum import StrEnum
from urllib.parse import urlsplit

from api.domain.platforms import Platform

UNKNOWN = ""  # a dimension value that could not be decided
HOST_MAX = 253


class Dimension(StrEnum):
    """The dimensions the rollups are kept by (besides partnership, link and hour)."""

    COUNTRY = "COUNTRY"  # ISO 3166-1 alpha-2, upper case
    DEVICE = "DEVICE"  # a `Device`
    REFERRER = "REFERRER"  # the Referer's host, lower case, without "www."
    DISCOUNT_CODE = "DISCOUNT_CODE"  # conversions only: the code it came through


CLICK_DIMENSIONS = (Dimension.COUNTRY, Dimension.DEVICE, Dimension.REFERRER)
CONVERSION_DIMENSIONS = (*CLICK_DIMENSIONS, Dimension.DISCOUNT_CODE)


class Device(StrEnum):
    DESKTOP = "DESKTOP"
    MOBILE = "MOBILE"
    TABLET = "TABLET"
    OTHER = "OTHER"  # TVs, consoles, watches, no user agent: bots are never clicks


# Order matters: iPads and Android tablets also say "Mobile" in some versions.
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|(android(?!.*mobile))", re.IGNORECASE)
_MOBILE = re.compile(
    r"mobi|iphone|ipod|android|blackberry|opera mini|windows phone|iemobile", re.IGNORECASE
)
_OTHER = re.compile(r"smart-?tv|tizen|webos|playstation|xbox|nintendo|roku|crkey|watch", re.I)
_DESKTOP = re.compile(r"windows nt|macintosh|x11|cros|linux", re.IGNORECASE)


def device_class(user_agent: str) -> Device:
    """The device class of a User-Agent; OTHER for an empty or unknown one."""
    if not user_agent:
        return Device.OTHER
    if _OTHER.search(user_agent):
        return Device.OTHER
    if _TABLET.search(user_agent):
        return Device.TABLET
    if _MOBILE.search(user_agent):
        return Device.MOBILE
    if _DESKTOP.search(user_agent):
        return Device.DESKTOP
    return Device.OTHER


_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")


def referrer_host(referer: str) -> str:
    """The host of a Referer (origin and path as the tracker keeps it), lower case, without a
    leading "www."; UNKNOWN when absent or not a plain host name (an IP is kept as it is)."""
    if not referer:
        return UNKNOWN
    try:
        host = urlsplit(referer).hostname or ""
    except ValueError:
        return UNKNOWN
    host = host.lower().removeprefix("www.")
    return host if len(host) <= HOST_MAX and _HOST.fullmatch(host) else UNKNOWN


# Referrer hosts of the platforms' apps and link wrappers (l.instagram.com, lm.facebook.com...).
_PLATFORM_DOMAINS = {
    "instagram.com": Platform.INSTAGRAM,
    "tiktok.com": Platform.TIKTOK,
    "youtube.com": Platform.YOUTUBE,
    "youtu.be": Platform.YOUTUBE,
    "x.com": Platform.X,
    "twitter.com": Platform.X,
    "t.co": Platform.X,
    "twitch.tv": Platform.TWITCH,
    "facebook.com": Platform.FACEBOOK,
    "fb.com": Platform.FACEBOOK,
    "fb.me": Platform.FACEBOOK,
}


def platform_of(host: str) -> Platform | None:
    """The social platform a referrer host belongs to (its domain or a subdomain of it)."""
    parts = host.split(".")
    for i in range(len(parts) - 1):
        found = _PLATFORM_DOMAINS.get(".".join(parts[i:]))
        if found is not None:
            return found
    return None


_COUNTRY = re.compile(r"[A-Z]{2}")


def country_code(value: str | None) -> str:
    """An ISO 3166-1 alpha-2 code as the lookup gave it, or UNKNOWN ("--", "", private ranges)."""
    code = (value or "").strip().upper()
    return code if _COUNTRY.fullmatch(code) else UNKNOWN
