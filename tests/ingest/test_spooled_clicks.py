"""An order whose click is still in a tracker's spool (that tracker could not reach Redis) waits
for it, rather than being recorded unattributed: the trackers report up to when their clicks are
in the stream (`tracker.keys.trackers`), and the worker reads the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aredis
from sqlalchemy import func, select

from api.models import Click, Conversion
from api.models.events import AttributedVia
from tests.ingest import seed
from tests.ingest.helpers import make_worker, push
from tests.redis_server import free_port
from tests.tracker.helpers import BROWSER_UA, lifespan, link, publish, wait_for
from tracker import keys
from tracker.app import create_app
from tracker.settings import RedisSettings, TrackerSettings

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _settings(redis_url: str, prefix: str, spool: Path) -> TrackerSettings:
    return TrackerSettings(
        redis=RedisSettings(url=redis_url, cluster_url="", prefix=prefix),
        spool_dir=str(spool),
        ip_hash_key="test-ip-hash-key",
        trusted_proxies=(),
        flush_delay_ms=1.0,
        replay_interval_seconds=0.05,
        redis_timeout_seconds=0.2,
    )


def _reported(rds: Any, key: str) -> int:
    [value] = rds.hvals(key)
    return int(value.split(b":")[0])


async def test_an_order_waits_for_its_click_in_a_trackers_spool(
    rds: Any, redis_url: str, prefix: str, sessions: Any, session: Any, tmp_path: Path
) -> None:
    w = seed.world(session)
    publish(
        rds,
        prefix,
        link(
            w.p.link_code,
            link_id=w.p.link_id,
            partnership_id=w.p.partnership_id,
            campaign_id=w.p.campaign_id,
            brand_id=w.brand_id,
            organization_id=w.org_id,
        ),
    )
    app = create_app(_settings(redis_url, prefix, tmp_path / "spool"))
    worker = make_worker(rds, sessions, prefix)
    worker.ensure_groups()
    reports = keys.trackers(prefix)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t.example") as http:
            # cache the link, and let the tracker report that its clicks are in the stream
            await http.get(f"/c/{w.p.link_code}", headers={"user-agent": BROWSER_UA + " warm"})
            await wait_for(lambda: rds.hlen(reports) == 1)
            # this tracker loses Redis (the others keep it): its clicks go to its spool
            reachable = app.sink._redis
            cut_off = aredis.Redis(port=free_port(), socket_connect_timeout=0.2)
            app.sink._redis = cut_off
            answer = await http.get(f"/c/{w.p.link_code}", headers={"user-agent": BROWSER_UA})
            assert answer.status_code == 302
            click_id = dict(httpx.URL(answer.headers["location"]).params)["vclid"]
            await wait_for(lambda: app.spool.depth == 1)
            # the shopper buys at once; another tracker accepts the order
            push(rds, prefix, seed.conversion(w, "o-spooled", 5000, click_id=click_id))
            for _ in range(3):  # (drain would wait as long as the order does)
                worker.read_once()
            assert session.scalar(select(func.count()).select_from(Conversion)) == 0
            assert worker.stats.deferred >= 1  # waiting, not unattributed
            # Redis is back for this tracker: its spool is replayed, and the order attributed
            app.sink._redis = reachable
            await cut_off.aclose()
            await wait_for(lambda: app.spool.depth == 0)
            replayed_at = seed.now_ms()
            await wait_for(lambda: _reported(rds, reports) > replayed_at)
            worker.drain(timeout=10)
    session.commit()
    conversion = session.scalars(select(Conversion)).one()
    assert conversion.attributed_via == AttributedVia.CLICK
    assert session.scalar(select(func.count()).select_from(Click).where(Click.click_id == click_id))
    # stopped with nothing left: it no longer reports
    assert rds.hlen(reports) == 0


async def test_reports_of_trackers_gone_too_long_are_forgotten(
    rds: Any, prefix: str, sessions: Any, session: Any
) -> None:
    w = seed.world(session)
    worker = make_worker(rds, sessions, prefix, defer_max_s=60)
    worker.ensure_groups()
    now = seed.now_ms()
    # a tracker killed two minutes ago, never restarted; its last report is still there
    rds.hset(keys.trackers(prefix), "gone:1:x", f"{now - 120_000}:{now - 120_000}")
    rds.hset(keys.trackers(prefix), "broken", "not a report")
    click = seed.click(w, ts_ms=now - 5_000)
    push(rds, prefix, seed.conversion(w, "o-unknown", 5000, click_id=click.event_id))
    worker.drain(timeout=10)
    session.commit()
    conversion = session.scalars(select(Conversion)).one()  # not kept waiting by the dead
    assert conversion.attributed_via is None
    assert rds.hlen(keys.trackers(prefix)) == 0
