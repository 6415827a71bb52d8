"""The ClickHouse sink on the embedded engine (chdb): what the worker committed is copied
exactly once whatever fails, and series and breakdowns read from it say what the rollups say."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from api.domain import buckets
from api.domain.dimensions import Dimension
from api.finance import analytics
from api.ledger import posting
from api.models import Click, Conversion, Refund
from tests.ingest import seed
from tests.ingest.helpers import drain, make_worker, push

pytest.importorskip("chdb", reason="chdb (the embedded ClickHouse) is not installed")

from api.clickhouse import client as ch
from api.clickhouse import sink as ch_sink
from api.clickhouse.sink import Sink, backfill

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
VISITS = [
    ("81.2.69.0", IPHONE, "https://l.instagram.com/"),
    ("8.8.8.0", MAC, "https://www.google.com/search"),
    ("2a00:1450:4001::", IPHONE, ""),
    ("10.0.0.0", "", "not a url"),
]
# Around the end of summer time in Berlin (2026-10-25, 03:00 CEST -> 02:00 CET): the 25th is
# 25 hours long there.
HOURS = [
    datetime(2026, 10, 24, 21, 10, tzinfo=UTC),
    datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 59, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 5, tzinfo=UTC),
    datetime(2026, 10, 25, 22, 45, tzinfo=UTC),
    datetime(2026, 10, 25, 23, 15, tzinfo=UTC),
]
START, END = datetime(2026, 10, 23, 22, tzinfo=UTC), datetime(2026, 10, 28, tzinfo=UTC)


@pytest.fixture
def ch_url(tmp_path: Any, monkeypatch: Any) -> Any:
    from api.settings import reset_settings

    url = f"chdb://{tmp_path}/clickhouse"
    monkeypatch.setenv("CLICKHOUSE_URL", url)
    reset_settings()
    yield url
    ch.disconnect(url)
    monkeypatch.delenv("CLICKHOUSE_URL")
    monkeypatch.delenv("ANALYTICS_SOURCE", raising=False)
    reset_settings()


def _source(monkeypatch: Any, name: str) -> None:
    from api.settings import reset_settings

    monkeypatch.setenv("ANALYTICS_SOURCE", name)
    reset_settings()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _traffic(rds: Any, prefix: str, sessions: Any, session: Any) -> seed.World:
    """Two partners' clicks (from four places, a bot, a replay) around the DST change, orders
    through clicks and a code, one in another currency, and a partial refund, ingested."""
    w = seed.world(session, partners=2, window_days=365)
    events: list[Any] = []
    for i, at in enumerate(HOURS * 2):
        ip, ua, referer = VISITS[i % len(VISITS)]
        partner = w.partners[i % 2]
        c = dataclasses.replace(
            seed.click(w, partner, ts_ms=_ms(at) + i, unique=i % 3 != 0),
            ip=ip,
            user_agent=ua,
            referer=referer,
        )
        events.append(c)
        if i % 2 == 0:
            events.append(
                seed.conversion(
                    w, f"o-{i}", 1_000 * (i + 1), click_id=c.event_id, occurred=_ms(at) + 60_000
                )
            )
    events.append(dataclasses.replace(seed.click(w, ts_ms=_ms(HOURS[0])), bot=True))
    events.append(seed.conversion(w, "o-code", 5_000, code=w.p.discount_code, occurred=HOURS[3]))
    events.append(seed.conversion(w, "o-usd", 7_000, currency="USD", occurred=HOURS[2]))
    push(rds, prefix, *events)
    drain(rds, sessions, prefix)
    push(rds, prefix, *events)  # a replay: nothing new
    push(rds, prefix, seed.refund(w, "r-1", "o-0", "0.40"))
    drain(rds, sessions, prefix)
    session.commit()
    return w


def _answers(session: Any, w: seed.World) -> dict[str, Any]:
    """Every grouping the resolvers ask `aggregate` for, and a Berlin daily series."""
    p = w.partners
    scopes = {
        "campaign_id": [p[0].campaign_id],
        "partnership_id": [x.partnership_id for x in p],
        "influencer_id": [x.influencer_id for x in p],
        "link_id": [x.link_id for x in p],
        "brand_id": [w.brand_id],
    }
    found: dict[str, Any] = {}
    for scope, ids in scopes.items():
        for key in ("hour", None, "influencer_id", "link_id"):
            found[f"{scope}/{key}"] = analytics.aggregate(
                session, w.org_id, scope, ids, key, "EUR", START, END
            )
        # Hours as they are (whole UTC days not keyed by their midnight): what a series in a
        # zone whose days do not start at UTC midnight reads.
        found[f"{scope}/hours"] = analytics.aggregate(
            session, w.org_id, scope, ids, "hour", "EUR", START, END, daily=False
        )
        # Breakdowns are brands' and campaigns' (and the leaderboard's, by influencer).
        for dimension in Dimension if scope in ("campaign_id", "brand_id") else ():
            found[f"{scope}/{dimension}"] = analytics.aggregate(
                session, w.org_id, scope, ids, "value", "EUR", START, END, dimension=dimension
            )
    found["share"] = analytics.aggregate(
        session,
        w.org_id,
        "campaign_id",
        scopes["campaign_id"],
        "hour",
        "EUR",
        START,
        END,
        share_of=p[1].influencer_id,
    )
    found["usd"] = analytics.aggregate(
        session, w.org_id, "campaign_id", scopes["campaign_id"], None, "USD", START, END
    )
    hourly = {k: v for (_, k), v in found["campaign_id/hours"].items()}
    days = buckets.buckets(START, END, buckets.Granularity.DAY, ZoneInfo("Europe/Berlin"))
    found["berlin"] = buckets.fold(
        days, hourly.items(), lambda: analytics.zero("EUR"), analytics.add
    )
    found["berlin_hours"] = [b.end - b.start for b in days]
    return found


def _copy_all(sink: Sink) -> None:
    while sink.step():
        pass


def test_both_sources_answer_the_same(rds, prefix, sessions, session, ch_url, monkeypatch):
    w = _traffic(rds, prefix, sessions, session)
    # A review after ingest (the API's change, not the worker's): rejected, so it stops counting.
    rejected = session.scalar(select(Conversion).where(Conversion.order_id == "o-4"))
    posting.reject_conversion(session, rejected, "finance@example.com", "fraud")
    session.commit()
    sink = Sink(ch.connect(ch_url), sessions)
    _copy_all(sink)
    assert sink.stats.clicks == session.scalar(select(func.count()).select_from(Click))

    _source(monkeypatch, "rollups")
    rollups = _answers(session, w)
    _source(monkeypatch, "clickhouse")
    clickhouse = _answers(session, w)
    assert clickhouse == rollups
    # ... and they say something: clicks net of bots, the refund and the rejection counted.
    total = rollups["campaign_id/None"][(w.p.campaign_id, 0)]
    assert total.clicks == len(HOURS) * 2
    assert total.conversions == len(HOURS) - 1 + 1  # one rejected, the code's order
    assert total.revenue == sum(1_000 * (i + 1) for i in range(0, 12, 2)) - 5_000 + 5_000 - 40
    assert [day.clicks for day in rollups["berlin"]] == [2, 8, 2, 0, 0]
    assert 25 * 3600 in [d.total_seconds() for d in rollups["berlin_hours"]]
    assert {k for (_, k) in rollups["campaign_id/COUNTRY"]} >= {"GB", "US", "DE"}
    assert rollups["usd"][(w.p.campaign_id, 0)].conversions == 0  # not attributed
    # The clickhouse answers were ClickHouse's: without its clicks, no clicks.
    sink.client.command("TRUNCATE TABLE clicks")
    assert (
        analytics.aggregate(
            session, w.org_id, "campaign_id", [w.p.campaign_id], None, "EUR", START, END
        )[(w.p.campaign_id, 0)].clicks
        == 0
    )


def test_a_late_commit_and_a_clickhouse_outage_lose_nothing_and_count_nothing_twice(
    rds, prefix, sessions, session, ch_url
):
    w = seed.world(session)
    client = ch.connect(ch_url)
    push(rds, prefix, *(seed.click(w) for _ in range(5)))
    drain(rds, sessions, prefix)
    sink = Sink(client, sessions, margin_s=60, chunk=3)
    _copy_all(sink)
    high = sink.high

    def add_click(id_: int) -> None:
        values = seed.click(w)
        session.add(
            Click(
                id=id_,
                click_id=values.event_id,
                organization_id=w.org_id,
                link_id=w.p.link_id,
                partnership_id=w.p.partnership_id,
                campaign_id=w.p.campaign_id,
                occurred_at=datetime.now(UTC),
            )
        )
        session.commit()

    # Another worker's batch took ids high+1..high+3 and commits after this one's high+4.
    add_click(high + 4)
    assert sink.step() == 1
    assert [(g.lo, g.hi) for g in sink.gaps] == [(high + 1, high + 3)]
    assert sink.watermarks()["clicks"] == high  # a restart looks at the gap again
    add_click(high + 2)
    assert sink.step() == 1
    assert [(g.lo, g.hi) for g in sink.gaps] == [(high + 1, high + 1), (high + 3, high + 3)]

    # ClickHouse down: the round fails and marks nothing done.
    class Down:
        database = "x"

        def insert(self, *_: Any) -> None:
            raise ch.ClickHouseError("Connection refused")

        insert_tsv = insert

        def query(self, *_: Any) -> list[Any]:
            raise ch.ClickHouseError("Connection refused")

    add_click(high + 1)
    sink.client = Down()  # type: ignore[assignment]
    with pytest.raises(ch.ClickHouseError):
        sink.step()
    # A sink started again (the worker died) begins at the kept watermark and copies some
    # clicks twice: FINAL counts each once.
    again = Sink(client, sessions, margin_s=60)
    _copy_all(again)
    stored = session.scalar(select(func.count()).select_from(Click))
    assert stored == 8
    (final,) = client.query(
        "SELECT count() FROM clicks FINAL WHERE organization_id = {o:UInt64}", {"o": w.org_id}
    )[0]
    assert int(final) == stored
    # Gaps never filled are given up after the margin (a rollback, a replay's ON CONFLICT).
    again.clock = lambda: time.monotonic() + 61
    again.step()
    assert again.gaps == []
    assert again.watermarks()["clicks"] == again.high


def test_changes_after_ingest_reach_clickhouse(rds, prefix, sessions, session, ch_url):
    w = seed.world(session)
    push(rds, prefix, seed.conversion(w, "o-1", 9_000, code=w.p.discount_code))
    push(rds, prefix, seed.refund(w, "r-early", "o-2", "1.00"))  # waits for its order
    drain(rds, sessions, prefix)
    client = ch.connect(ch_url)
    sink = Sink(client, sessions)
    _copy_all(sink)

    def status(table: str, **where: Any) -> list[Any]:
        cond = " AND ".join(f"{k} = {{{k}:String}}" for k in where)
        return client.query(f"SELECT status FROM {table} FINAL WHERE {cond}", where)

    assert status("conversions", order_id="o-1") == [("APPROVED",)]
    assert session.scalar(select(Refund.status).where(Refund.refund_id == "r-early")) == "WAITING"
    push(rds, prefix, seed.conversion(w, "o-2", 3_000, code=w.p.discount_code))
    drain(rds, sessions, prefix)
    session.commit()
    conversion = session.scalar(select(Conversion).where(Conversion.order_id == "o-1"))
    posting.reject_conversion(session, conversion, "finance@example.com", "test order")
    session.commit()
    _copy_all(sink)
    assert status("conversions", order_id="o-1") == [("REJECTED",)]
    (applied,) = client.query(
        "SELECT status, amount FROM refunds FINAL WHERE organization_id = {o:UInt64}",
        {"o": w.org_id},
    )
    assert applied == ("APPLIED", 100)


def test_backfill_is_resumable_and_counts_each_row_once(rds, prefix, sessions, session, ch_url):
    w = seed.world(session)
    push(rds, prefix, *(seed.click(w) for _ in range(7)))
    push(rds, prefix, seed.conversion(w, "o-1", 1_000, code=w.p.discount_code))
    drain(rds, sessions, prefix)
    client = ch.connect(ch_url)
    seen: list[tuple[str, int, int]] = []

    def stop_after_two_chunks(table: str, done: int, total: int) -> None:
        seen.append((table, done, total))
        if table == "clicks" and done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill(client, sessions, chunk=2, progress=stop_after_two_chunks)
    resumed = backfill(client, sessions, chunk=2)
    assert resumed == {"clicks": 3, "conversions": 1, "refunds": 0}
    assert ("clicks", 0, 7) in seen
    again = backfill(client, sessions, chunk=2, resume=False)  # all of it again
    assert again["clicks"] == 7
    (n,) = client.query(
        "SELECT count() FROM clicks FINAL WHERE organization_id = {o:UInt64}", {"o": w.org_id}
    )[0]
    assert int(n) == 7


def test_the_worker_copies_what_it_commits(rds, prefix, sessions, session, ch_url, monkeypatch):
    monkeypatch.setattr(ch_sink, "LOCK_MS", 3_000)
    w = seed.world(session)
    client = ch.connect(ch_url)
    stop = threading.Event()
    worker = make_worker(rds, sessions, prefix, clickhouse_url=ch_url)
    worker.stop_event = stop
    worker._sink = None
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        push(rds, prefix, *(seed.click(w) for _ in range(20)))
        query = "SELECT count() FROM clicks FINAL WHERE organization_id = {o:UInt64}"
        deadline = time.monotonic() + 30
        while int(client.query(query, {"o": w.org_id})[0][0]) < 20:
            assert time.monotonic() < deadline, "the worker's sink did not copy the clicks"
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert rds.get(ch_sink.lock_key(prefix)) is None  # the lock is let go
    assert int(rds.hget(ch_sink.progress_key(prefix), "clicks")) >= 20


def test_bad_settings_are_one_line_errors(monkeypatch):
    from api.settings import Settings
    from tracker.settings import SettingError

    for url in ("clickhouse://h", "chdb://", "http://:8123/db", "http://h:port/db"):
        monkeypatch.setenv("CLICKHOUSE_URL", url)
        with pytest.raises(SettingError) as info:
            Settings()
        assert "\n" not in str(info.value) and "CLICKHOUSE_URL" in str(info.value)
    monkeypatch.setenv("CLICKHOUSE_URL", "http://u:secret@h:8123/db")
    assert Settings().clickhouse_url
    monkeypatch.delenv("CLICKHOUSE_URL")
    monkeypatch.setenv("ANALYTICS_SOURCE", "clickhouse")
    with pytest.raises(SettingError, match="needs CLICKHOUSE_URL"):
        Settings()


def test_the_commands(ch_url, capsys, monkeypatch):
    from api.cli import main

    assert main(["clickhouse", "backfill", "--since", "2026-01-01", "--chunk", "500"]) == 0
    out = capsys.readouterr()
    assert "clicks:" in out.out and "rows copied" in out.out
    assert main(["clickhouse", "status"]) == 0
    assert "watermark" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["clickhouse", "backfill", "--since", "yesterday"])
    from api.settings import reset_settings

    monkeypatch.delenv("CLICKHOUSE_URL")
    reset_settings()
    assert main(["clickhouse", "status"]) == 2
    assert "CLICKHOUSE_URL is not set" in capsys.readouterr().err
    monkeypatch.setenv("CLICKHOUSE_URL", ch_url)


def test_with_clickhouse_down_analytics_come_from_the_rollups(
    rds, prefix, sessions, session, monkeypatch
):
    from api.finance import analytics as module
    from api.settings import reset_settings

    w = seed.world(session)
    push(rds, prefix, *(seed.click(w) for _ in range(3)))
    drain(rds, sessions, prefix)
    session.commit()
    now = datetime.now(UTC)
    window = (now.replace(minute=0, second=0, microsecond=0), now.replace(year=now.year + 1))
    args = (session, w.org_id, "campaign_id", [w.p.campaign_id], None, "EUR", *window)
    rollups = analytics.aggregate(*args)
    monkeypatch.setenv("CLICKHOUSE_URL", "http://default:x@127.0.0.1:9/vouch")  # nothing there
    _source(monkeypatch, "clickhouse")
    monkeypatch.setattr(module, "_clickhouse_down_until", 0.0)
    try:
        assert analytics.aggregate(*args) == rollups
        assert rollups[(w.p.campaign_id, 0)].clicks == 3
        assert module._clickhouse_down_until > time.monotonic()  # not asked again at once
    finally:
        monkeypatch.delenv("ANALYTICS_SOURCE")
        monkeypatch.delenv("CLICKHOUSE_URL")
        reset_settings()


def test_an_order_written_with_an_old_time_is_copied_by_its_id(
    rds, prefix, sessions, session, ch_url
):
    """History loaded in one long transaction (the demo's) carries updated_at values long
    past the margin when it commits: new orders are found by id all the same."""
    from api.models import ConversionKey

    w = seed.world(session)
    push(rds, prefix, seed.conversion(w, "o-now", 1_000, code=w.p.discount_code))
    drain(rds, sessions, prefix)
    client = ch.connect(ch_url)
    sink = Sink(client, sessions)
    _copy_all(sink)
    old = datetime(2025, 1, 5, 12, tzinfo=UTC)
    key = ConversionKey(brand_id=w.brand_id, order_id="o-old", occurred_at=old)
    session.add(key)
    session.flush()
    session.add(
        Conversion(
            id=key.id,
            organization_id=w.org_id,
            brand_id=w.brand_id,
            order_id="o-old",
            amount=2_000,
            currency="EUR",
            occurred_at=old,
            received_at=old,
            status="UNATTRIBUTED",
            created_at=old,
            updated_at=old,
        )
    )
    session.commit()
    assert sink.step() == 1
    orders = client.query(
        "SELECT order_id FROM conversions FINAL WHERE organization_id = {o:UInt64} "
        "ORDER BY order_id",
        {"o": w.org_id},
    )
    assert orders == [("o-now",), ("o-old",)]
    assert key.id not in sink.changing["conversions"].sent  # only the margin is remembered
