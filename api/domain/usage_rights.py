"""Usage rights of one deliverable: where the brand may use the content, and until when.

Rules:
- Channels are where the content may appear (ORGANIC: the brand's own social accounts;
  PAID_SOCIAL: ads; WEBSITE; EMAIL; OOH: outdoor; PRINT; TV). Paid use is running it as paid
  media; allowlisting (whitelisting) is running ads from the creator's own account. Allowlisting
  is paid use, and PAID_SOCIAL needs paid use: each is refused without it.
- Territories are ISO 3166 alpha-2 countries (or EU), or WORLDWIDE alone.
- From the contract, the rights of a published deliverable last `usage_rights_days` days from
  publication (no days: no end date); the contract's kind gives the channels (ORGANIC: organic
  only; PAID_WHITELISTING: organic and paid social with allowlisting; FULL_COMMERCIAL: every
  channel, paid) and its regions the territories (none: WORLDWIDE). NONE grants nothing.
- State: EXPIRED from `expires_at` on; EXPIRING within `notice_days` before it; ACTIVE before
  that, or when there is no end date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from api.domain.problems import Problem
from api.domain.validation import country

WORLDWIDE = "WORLDWIDE"
MAX_TERRITORIES = 100


class Channel(StrEnum):
    ORGANIC = "ORGANIC"
    PAID_SOCIAL = "PAID_SOCIAL"
    WEBSITE = "WEBSITE"
    EMAIL = "EMAIL"
    OOH = "OOH"
    PRINT = "PRINT"
    TV = "TV"


class RightsState(StrEnum):
    ACTIVE = "ACTIVE"
    EXPIRING = "EXPIRING"
    EXPIRED = "EXPIRED"


class Basis(StrEnum):
    CONTRACT = "CONTRACT"  # derived from the partnership's contract at publication
    EXPLICIT = "EXPLICIT"  # set on the deliverable by a manager


@dataclass(frozen=True)
class Rights:
    channels: tuple[Channel, ...]
    paid_use: bool
    allowlisting: bool
    territories: tuple[str, ...]
    expires_at: datetime | None


def from_contract(
    kind: str, days: int | None, regions: Iterable[str], published_at: datetime | None
) -> Rights | None:
    """The rights a contract grants a deliverable published at `published_at` (None: none)."""
    if kind == "NONE":
        return None
    c = Channel
    channels = {
        "ORGANIC": (c.ORGANIC,),
        "PAID_WHITELISTING": (c.ORGANIC, c.PAID_SOCIAL),
        "FULL_COMMERCIAL": tuple(Channel),
    }[kind]
    paid = kind != "ORGANIC"
    expires = published_at + timedelta(days=days) if published_at and days is not None else None
    return Rights(
        channels=channels,
        paid_use=paid,
        allowlisting=kind == "PAID_WHITELISTING",
        territories=tuple(regions) or (WORLDWIDE,),
        expires_at=expires,
    )


def validate(
    channels: Iterable[str], paid_use: bool, allowlisting: bool, territories: Iterable[str]
) -> tuple[Rights | None, list[Problem]]:
    """Cleaned rights (no end date yet) or the problems of the input, by snake_case field."""
    problems: list[Problem] = []
    chosen: list[Channel] = []
    for i, value in enumerate(channels):
        try:
            chosen.append(Channel(value))
        except ValueError:
            problems.append(Problem(f"channels[{i}]", f"{value!r} is not a channel", "INVALID"))
    if not chosen and not problems:
        problems.append(Problem("channels", "give at least one channel", "REQUIRED"))
    if allowlisting and not paid_use:
        problems.append(
            Problem("allowlisting", "allowlisting runs ads: it needs paid use", "NOT_ALLOWED")
        )
    if Channel.PAID_SOCIAL in chosen and not paid_use:
        problems.append(Problem("paid_use", "PAID_SOCIAL is paid use", "NOT_ALLOWED"))
    places: list[str] = []
    given = list(territories)
    if len(given) > MAX_TERRITORIES:
        problems.append(Problem("territories", f"at most {MAX_TERRITORIES}", "TOO_LONG"))
        given = []
    for i, value in enumerate(given):
        code = WORLDWIDE if value.strip().upper() == WORLDWIDE else country(value)
        if code is None:
            problems.append(
                Problem(
                    f"territories[{i}]", f"{value!r} is not an ISO country or WORLDWIDE", "INVALID"
                )
            )
        else:
            places.append(code)
    if not given and not problems:
        problems.append(Problem("territories", "give WORLDWIDE or countries", "REQUIRED"))
    if WORLDWIDE in places and len(set(places)) > 1:
        problems.append(Problem("territories", "WORLDWIDE stands alone", "NOT_ALLOWED"))
    if problems:
        return None, problems
    return (
        Rights(
            channels=tuple(dict.fromkeys(chosen)),
            paid_use=paid_use,
            allowlisting=allowlisting,
            territories=tuple(dict.fromkeys(places)),
            expires_at=None,
        ),
        [],
    )


def state(expires_at: datetime | None, now: datetime, notice_days: int) -> RightsState:
    if expires_at is None:
        return RightsState.ACTIVE
    if now >= expires_at:
        return RightsState.EXPIRED
    if now >= expires_at - timedelta(days=notice_days):
        return RightsState.EXPIRING
    return RightsState.ACTIVE
