"""Country, device class and referrer host of a click are decided once, at ingest, and kept in
the dimension rollups; conversions attributed to a click inherit them; replays count nothing."""

from __future__ import annotations

import dataclasses
from collections import Counter

from sqlalchemy import func, select

from api.domain.dimensions import Dimension
from api.models import (
    Click,
    ClickDimensionRollup,
    Conversion,
    LedgerEntry,
    PerformanceDimensionRollup,
)
from tests.ingest import seed
from tests.ingest.helpers import drain, push

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
IPAD = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
# (truncated IP, user agent, referer) -> the dimensions the click must get
VISITS = [
    (("81.2.69.0", IPHONE, "https://l.instagram.com/"), ("GB", "MOBILE", "l.instagram.com")),
    (("8.8.8.0", MAC, "https://www.google.com/search"), ("US", "DESKTOP", "google.com")),
    (("2a00:1450:4001::", IPAD, ""), ("DE", "TABLET", "")),
    (("10.0.0.0", "", "not a url"), ("", "OTHER", "")),
]


def _dimension_sums(session, model, counter: str) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(model.dimension, model.value, func.sum(getattr(model, counter))).group_by(
            model.dimension, model.value
        )
    )
    return {(d, v): int(n) for d, v, n in rows if n}


def test_dimensions_are_decided_at_ingest_and_inherited(rds, prefix, sessions, session):
    w = seed.world(session, partners=2)
    session.commit()
    now = seed.now_ms()
    events, clicks = [], []
    for i, ((ip, ua, referer), _) in enumerate(VISITS * 3):
        partner = w.partners[i % 2]
        ts = now - 3_600_000 * (1 + i % 3)
        click = dataclasses.replace(
            seed.click(w, partner, ts_ms=ts),
            ip=ip,
            user_agent=ua,
            referer=referer,
        )
        clicks.append(click)
        events.append(click)
        events.append(
            seed.conversion(
                w, f"o-{i}", 1_000 * (i + 1), click_id=click.event_id, occurred=ts + 600_000
            )
        )
    bot = dataclasses.replace(seed.click(w, ts_ms=now), ip="81.2.69.0", bot=True)
    events += [bot, seed.conversion(w, "o-code", 5_000, code=w.p.discount_code, occurred=now)]
    push(rds, prefix, *events)
    drain(rds, sessions, prefix)
    push(rds, prefix, *events)  # a replay: counts nothing
    drain(rds, sessions, prefix)
    session.expire_all()

    stored = {
        c.click_id: (c.country, c.device, c.referrer_host) for c in session.scalars(select(Click))
    }
    for click, (_, expected) in zip(clicks, VISITS * 3, strict=True):
        assert stored[click.event_id] == expected
    # No column holds more of the address than the tracker logged.
    assert all(
        c.ip_trunc in {v[0][0] for v in VISITS} | {"81.2.69.0"}
        for c in session.scalars(select(Click))
    )

    # Click rollups by dimension: every value of every (non-bot) click, unknown ones left out.
    expected_clicks: Counter[tuple[str, str]] = Counter()
    for _, dims in VISITS * 3:
        for dimension, value in zip(
            (Dimension.COUNTRY, Dimension.DEVICE, Dimension.REFERRER), dims, strict=True
        ):
            if value:
                expected_clicks[(str(dimension), value)] += 1
    assert _dimension_sums(session, ClickDimensionRollup, "clicks") == dict(expected_clicks)

    # Conversions inherit their click's dimensions; revenue and commission by country add up
    # to the raw rows'.
    conversions = session.scalars(select(Conversion).where(Conversion.status == "APPROVED")).all()
    by_click = {c.click_id: c for c in conversions if c.click_id}
    for click in clicks:
        conversion = by_click[click.event_id]
        assert (conversion.country, conversion.device, conversion.referrer_host) == stored[
            click.event_id
        ]
    revenue: Counter[tuple[str, str]] = Counter()
    commission: Counter[tuple[str, str]] = Counter()
    entries = {
        e.conversion_id: e.amount
        for e in session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "COMMISSION"))
    }
    assert entries, "the plan earns commission"
    for c in conversions:
        for dimension, value in (
            ("COUNTRY", c.country),
            ("DEVICE", c.device),
            ("REFERRER", c.referrer_host),
            (
                "DISCOUNT_CODE",
                c.discount_code.upper() if c.attributed_via == "DISCOUNT_CODE" else "",
            ),
        ):
            if value:
                revenue[(dimension, value)] += c.amount
                commission[(dimension, value)] += entries.get(c.id, 0)
    assert _dimension_sums(session, PerformanceDimensionRollup, "revenue") == dict(revenue)
    assert _dimension_sums(session, PerformanceDimensionRollup, "commission") == {
        k: v for k, v in commission.items() if v
    }
    assert ("DISCOUNT_CODE", w.p.discount_code.upper()) in revenue


def test_a_country_the_tracker_logged_wins_over_the_lookup(rds, prefix, sessions, session):
    """`TRACKER_COUNTRY_HEADER`: the proxy's country is kept; an entry written before the
    field existed (no `country`) or without one is looked up by its truncated IP."""
    from tracker import keys

    w = seed.world(session, partners=1)
    session.commit()
    now = seed.now_ms()
    given = dataclasses.replace(seed.click(w, ts_ms=now - 1000), ip="81.2.69.0", country="FR")
    none = dataclasses.replace(seed.click(w, ts_ms=now - 2000), ip="81.2.69.0")
    old = dataclasses.replace(seed.click(w, ts_ms=now - 3000), ip="81.2.69.0")
    old_fields = {k: v for k, v in old.to_fields().items() if k != "country"}
    push(rds, prefix, given, none, (keys.clicks_stream(prefix), old_fields))
    drain(rds, sessions, prefix)
    stored = {c.click_id: c.country for c in session.scalars(select(Click))}
    assert stored == {given.event_id: "FR", none.event_id: "GB", old.event_id: "GB"}
    sums = _dimension_sums(session, ClickDimensionRollup, "clicks")
    assert sums[(Dimension.COUNTRY, "FR")] == 1 and sums[(Dimension.COUNTRY, "GB")] == 2
