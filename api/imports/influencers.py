"""Importing influencers from a Modash or HypeAuditor style CSV (the CLI and GraphQL share it).

One line is one social account: found by (platform, handle) in the organization it is updated
(with its influencer), otherwise a new influencer is created with it. The columns and their
aliases are `COLUMNS` (documented in the README); shares and rates are percentages ("23.5" or
"23.5%"), counts may be written "12,400", "12.4K" or "1.2M". Audience columns record an audience
snapshot (api.influencers.demographics).

The whole file is one transaction: a dry run, or a line with an error when `skip_invalid` is
not set, rolls everything back; with `skip_invalid` the bad lines are left out and the rest is
imported. Every line gets a result: CREATED, UPDATED, SKIPPED (nothing to change) or ERROR with
the column and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import utcnow
from api.domain import demographics as dm
from api.domain import validation
from api.domain.platforms import Platform
from api.imports.csvfile import header_key, read_csv
from api.influencers.audience import refresh_scores
from api.influencers.demographics import record_snapshot, snapshot_exists
from api.influencers.stats import refresh_influencer_stats
from api.models import Influencer, SocialAccount

# canonical column -> the headers exports use for it (normalised by api.imports.csvfile)
COLUMNS: dict[str, tuple[str, ...]] = {
    "handle": ("handle", "username", "user_name", "account", "profile", "channel", "nickname"),
    "platform": ("platform", "network", "social_network", "source"),
    "name": ("full_name", "name", "fullname", "display_name", "influencer_name"),
    "email": ("email", "contact_email", "e_mail", "business_email"),
    "country": ("country", "location", "influencer_country", "country_code"),
    "language": ("language", "languages", "lang"),
    "niche": ("niche", "niches", "category", "categories", "interests", "topics"),
    "url": ("url", "profile_url", "link", "profile_link"),
    "followers": ("followers", "followers_count", "subscribers", "follower_count"),
    "following": ("following", "following_count", "followings"),
    "posts": ("posts", "posts_count", "media_count", "videos", "uploads"),
    "engagement_rate": ("engagement_rate", "er", "engagement_rate_pct", "er_pct", "engagement"),
    "avg_likes": ("avg_likes", "average_likes", "likes_avg", "avg_likes_per_post"),
    "avg_comments": ("avg_comments", "average_comments", "comments_avg"),
    "avg_views": ("avg_views", "average_views", "views_avg", "avg_reels_plays"),
    "fake_share": (
        "fake_followers",
        "fake_followers_pct",
        "fake_share",
        "suspicious_followers",
        "suspicious_followers_pct",
        "audience_fake",
    ),
    "captured_at": ("captured_at", "audience_date", "report_date", "date"),
    "audience_female": ("audience_female", "audience_gender_female", "female_pct", "female"),
    "audience_male": ("audience_male", "audience_gender_male", "male_pct", "male"),
    "audience_other": ("audience_other", "audience_gender_other", "audience_gender_unknown"),
    **{
        f"audience_age_{band.name.removeprefix('AGE_').lower()}": (
            f"audience_age_{band.name.removeprefix('AGE_').lower()}",
            f"age_{band.name.removeprefix('AGE_').lower()}",
            f"audience_age_{band.name.removeprefix('AGE_').lower()}_pct",
        )
        for band in dm.AgeBand
    },
}
MAX_AUDIENCE_COUNTRIES = 10
_AUDIENCE_COUNTRY = re.compile(r"^(?:audience_)?(?:top_)?country_(\d{1,2})(_share|_pct|_percent)?$")
_AGE_COLUMNS = {f"audience_age_{b.name.removeprefix('AGE_').lower()}": b for b in dm.AgeBand}
_GENDER_COLUMNS = {
    "audience_female": dm.Gender.FEMALE,
    "audience_male": dm.Gender.MALE,
    "audience_other": dm.Gender.OTHER,
}
_PLATFORMS = {p.value: p for p in Platform} | {
    "TWITTER": Platform.X,
    "YT": Platform.YOUTUBE,
    "IG": Platform.INSTAGRAM,
    "TT": Platform.TIKTOK,
}
ALIASES = {header_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


def canonical(header: str) -> str | None:
    """The canonical name of a normalised header; audience_country_N(_share) by pattern."""
    match = _AUDIENCE_COUNTRY.match(header)
    if match:
        n = int(match.group(1))
        if 1 <= n <= MAX_AUDIENCE_COUNTRIES:
            return f"audience_country_{n}{'_share' if match.group(2) else ''}"
        return None
    return ALIASES.get(header)


class Status(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    SKIPPED = "SKIPPED"
    ERROR = "ERROR"


@dataclass
class LineError:
    column: str | None  # the header as written in the file
    message: str


@dataclass
class LineResult:
    line: int
    status: Status
    platform: str | None = None
    handle: str | None = None
    influencer_id: int | None = None
    errors: list[LineError] = field(default_factory=list)


@dataclass
class Report:
    dry_run: bool
    committed: bool = False
    lines: list[LineResult] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for line in self.lines if line.status is status)

    @property
    def has_errors(self) -> bool:
        return any(line.status is Status.ERROR for line in self.lines)


class LineProblem(Exception):
    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


# --- values -----------------------------------------------------------------------------------


def count(value: str, column: str) -> int:
    """12400, "12,400", "12.4K", "1.2M": a whole, non-negative number."""
    text = value.strip().replace(",", "").replace("_", "").replace(" ", "").upper()
    scale = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}.get(text[-1:], 1)
    if scale != 1:
        text = text[:-1]
    try:
        number = Decimal(text) * scale
    except InvalidOperation:
        raise LineProblem(column, f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise LineProblem(column, f"{value!r} must be zero or more")
    if number != number.to_integral_value() or number >= 10**15:
        raise LineProblem(column, f"{value!r} is not a whole count")
    return int(number)


def percent(value: str, column: str) -> Decimal:
    """A percentage 0-100: "23.5" or "23.5%"."""
    text = value.strip().removesuffix("%").strip().replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise LineProblem(column, f"{value!r} is not a percentage") from None
    if not number.is_finite() or not 0 <= number <= 100:
        raise LineProblem(column, f"{value!r} is not a percentage from 0 to 100")
    return number


def basis_points(value: str, column: str) -> int:
    return int((percent(value, column) * 100).to_integral_value(rounding=ROUND_HALF_EVEN))


def captured(value: str, column: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise LineProblem(column, f"{value!r} is not a date (YYYY-MM-DD)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # a date in an export is a UTC date
    if when > utcnow():
        raise LineProblem(column, f"{value} is in the future")
    return when


# --- one line ---------------------------------------------------------------------------------


@dataclass
class Line:
    """A line's values, checked: what it says about an account, its influencer and audience."""

    platform: Platform
    handle: str
    key: str
    profile: dict[str, Any]
    account: dict[str, Any]
    audience: dm.Audience | None
    captured_at: datetime | None


def _list(value: str) -> list[str]:
    return [v.strip() for v in re.split(r"[,;|/]", value) if v.strip()]


def check_line(values: dict[str, str], header: Callable[[str], str]) -> Line:
    """The checked line, or the first LineProblem (its `column` is the header in the file)."""
    if "handle" not in values:
        raise LineProblem(header("handle"), "a handle (username) is required")
    raw_handle = values["handle"].strip()
    url_handle = re.search(r"/@?([A-Za-z0-9._\-]+)/?$", raw_handle)
    handle = url_handle.group(1) if "/" in raw_handle and url_handle else raw_handle.lstrip("@")
    key = validation.handle_key(handle)
    if key is None:
        raise LineProblem(header("handle"), f"{raw_handle!r} is not a handle")
    if "platform" not in values:
        raise LineProblem(header("platform"), "a platform is required (INSTAGRAM, TIKTOK, ...)")
    platform = _PLATFORMS.get(values["platform"].strip().upper())
    if platform is None:
        raise LineProblem(
            header("platform"),
            f"{values['platform']!r} is not one of {', '.join(p.value for p in Platform)}",
        )
    profile: dict[str, Any] = {}
    if "name" in values:
        if len(values["name"]) > 200:
            raise LineProblem(header("name"), "a name is at most 200 characters")
        profile["name"] = values["name"]
    if "email" in values:
        email = validation.email(values["email"])
        if email is None:
            raise LineProblem(header("email"), f"{values['email']!r} is not an email address")
        profile["email"] = email
    if "country" in values:
        country = validation.country(values["country"])
        if country is None:
            raise LineProblem(header("country"), f"{values['country']!r} is not an ISO code")
        profile["country"] = country
    if "language" in values:
        languages = [validation.language(v) for v in _list(values["language"])]
        if None in languages:
            raise LineProblem(header("language"), f"{values['language']!r}: ISO 639-1 codes")
        profile["languages"] = list(dict.fromkeys(v for v in languages if v))
    if "niche" in values:
        niches = [v.lower() for v in _list(values["niche"])]
        if any(len(n) > 50 for n in niches) or len(niches) > 50:
            raise LineProblem(header("niche"), "at most 50 niches of 50 characters")
        profile["niches"] = list(dict.fromkeys(niches))
    account: dict[str, Any] = {}
    if "url" in values:
        url = validation.http_url(values["url"])
        if url is None:
            raise LineProblem(header("url"), f"{values['url']!r} is not an http(s) URL")
        account["url"] = url
    for name in ("followers", "following", "posts", "avg_likes", "avg_comments", "avg_views"):
        if name in values:
            account[name] = count(values[name], header(name))
    if "engagement_rate" in values:
        rate = percent(values["engagement_rate"], header("engagement_rate"))
        followers = account.get("followers")
        if followers is None:
            raise LineProblem(header("engagement_rate"), "an engagement rate needs followers")
        if "avg_likes" not in account and "avg_comments" not in account:
            # The export's rate stands for likes per post (Vouch derives the rate from them).
            account["avg_likes"] = int(
                (rate * followers / 100).to_integral_value(rounding=ROUND_HALF_EVEN)
            )
            account["avg_comments"] = 0
    audience = _audience(values, header)
    when = (
        captured(values["captured_at"], header("captured_at")) if "captured_at" in values else None
    )
    return Line(platform, handle, key, profile, account, audience, when)


def _audience(values: dict[str, str], header: Callable[[str], str]) -> dm.Audience | None:
    countries, numbers = [], []
    for n in range(1, MAX_AUDIENCE_COUNTRIES + 1):
        code, share = values.get(f"audience_country_{n}"), values.get(f"audience_country_{n}_share")
        if code is None and share is None:
            continue
        if code is None or share is None:
            missing = f"audience_country_{n}" if code is None else f"audience_country_{n}_share"
            raise LineProblem(header(missing), "a country needs both its code and its share")
        countries.append((code, basis_points(share, header(f"audience_country_{n}_share"))))
        numbers.append(n)
    ages = [
        (b.value, basis_points(values[c], header(c)))
        for c, b in _AGE_COLUMNS.items()
        if c in values
    ]
    genders = [
        (g.value, basis_points(values[c], header(c)))
        for c, g in _GENDER_COLUMNS.items()
        if c in values
    ]
    fake = (
        basis_points(values["fake_share"], header("fake_share")) if "fake_share" in values else None
    )
    if not (countries or ages or genders or fake is not None):
        return None
    audience, problems = dm.audience(countries, ages, genders, fake)
    if problems:
        raise LineProblem(header(_column_of(problems[0].field or "", numbers)), problems[0].message)
    return audience


def _column_of(field: str, numbers: list[int]) -> str:
    """The CSV column a demographics problem (`countries[1].share`, `age_bands`) is about."""
    match = re.match(r"countries\[(\d+)\]\.(\w+)", field)
    if match:
        n = numbers[int(match.group(1))]
        return f"audience_country_{n}" + ("_share" if match.group(2) == "share" else "")
    first = {"countries": "audience_country_1", "age_bands": next(iter(_AGE_COLUMNS))}
    return first.get(field.split("[")[0], "audience_female" if "gender" in field else "fake_share")


# --- the import -------------------------------------------------------------------------------


def import_influencers(
    session: Session,
    organization_id: int,
    data: bytes | str,
    *,
    max_bytes: int,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Imports the CSV into the organization; commits unless it is a dry run or a line failed
    (without `skip_invalid`). Raises api.imports.csvfile.CsvError for a file that cannot be read
    at all."""
    table = read_csv(data, ALIASES, max_bytes=max_bytes, canonical=canonical)
    report = Report(dry_run=dry_run, unknown_columns=list(table.unknown))
    header = table.header
    seen: dict[tuple[str, str], int] = {}
    total = len(table.rows)
    for done, row in enumerate(table.rows, start=1):
        number = row.line
        values = {column: cell for column, cell in row.values.items() if cell}
        result = LineResult(line=number, status=Status.ERROR)
        try:
            line = check_line(values, header)
            result.platform, result.handle = line.platform.value, line.handle
            first = seen.setdefault((line.platform.value, line.key), number)
            if first != number:
                raise LineProblem(header("handle"), f"the same account as line {first}")
            # Every check is done: applying a checked line cannot fail, so no savepoint.
            result.status, result.influencer_id = _apply(session, organization_id, line)
        except LineProblem as problem:
            result.status = Status.ERROR
            result.errors.append(LineError(problem.column, problem.message))
        report.lines.append(result)
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)
    if dry_run or (report.has_errors and not skip_invalid):
        session.rollback()
        return report
    if any(line.status is not Status.SKIPPED for line in report.lines):
        session.flush()
        refresh_scores(session, organization_id)
    session.commit()
    report.committed = True
    return report


def _apply(session: Session, organization_id: int, line: Line) -> tuple[Status, int]:
    account = session.scalar(
        select(SocialAccount).where(
            SocialAccount.organization_id == organization_id,
            SocialAccount.platform == line.platform.value,
            SocialAccount.handle_key == line.key,
        )
    )
    if account is None:
        influencer = Influencer(
            organization_id=organization_id,
            name=line.profile.get("name") or line.handle,
            languages=[],
            niches=[],
            customer_ids=[],
        )
        _set(influencer, line.profile)
        session.add(influencer)
        session.flush()
        account = SocialAccount(
            organization_id=organization_id,
            influencer_id=influencer.id,
            platform=line.platform.value,
            handle=line.handle,
            handle_key=line.key,
        )
        _set(
            account,
            {
                "followers": 0,
                "following": 0,
                "posts": 0,
                "avg_likes": 0,
                "avg_comments": 0,
                "avg_views": 0,
                **line.account,
            },
        )
        session.add(account)
        session.flush()
        _audience_snapshot(session, account, line)
        refresh_influencer_stats(session, influencer)
        return Status.CREATED, influencer.id
    found = session.get(Influencer, account.influencer_id)
    assert found is not None
    influencer = found
    changed = _set(influencer, line.profile) | _set(account, line.account)
    changed |= _audience_snapshot(session, account, line)
    if not changed:
        return Status.SKIPPED, influencer.id
    session.flush()
    refresh_influencer_stats(session, influencer)
    return Status.UPDATED, influencer.id


def _set(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _audience_snapshot(session: Session, account: SocialAccount, line: Line) -> bool:
    if line.audience is None:
        return False
    when = line.captured_at or utcnow()
    if snapshot_exists(session, account.id, when):
        return False  # the same report imported again: nothing new
    record_snapshot(session, account, when, line.audience)
    return True
