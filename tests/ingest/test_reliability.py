"""Nothing lost, nothing counted twice: thousands of clicks, orders and refunds (duplicates,
partial and out-of-order refunds, postbacks racing each other) while worker processes are
SIGKILLed and restarted and Redis (AOF, fsync always) is killed and restarted once. At the end
every total matches the ledger computed independently here, to the cent."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aredis
from sqlalchemy import func, select
from starlette.applications import Starlette

from api.ingest.worker import GROUP
from api.models import BrandPostbackSecret, Click, ClickRollup, Conversion, LedgerEntry, Refund
from api.money import apply_basis_points, round_half_even
from api.tracking.publish import republish_all
from tests.ingest import seed
from tests.redis_server import RedisServer
from tracker import keys
from tracker.postbacks import Postbacks, brand_global_id, signature_header
from tracker.sealing import sealer
from tracker.settings import secret_keys

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_reliability"
SEALER = sealer(secret_keys())
N_CLICKS = 3000
N_ORDERS = 500
BPS = 1000


class Workers:
    """Worker subprocesses, SIGKILLed at random and restarted while `chaos` is on."""

    def __init__(self, env: dict[str, str], logdir: Path, count: int = 2) -> None:
        self.env = env
        self.logdir = logdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.kills = 0
        self.started = 0
        self.chaos = threading.Event()
        self.done = threading.Event()
        for _ in range(count):
            self.procs.append(self._start())
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = open(self.logdir / f"worker-{self.started}.log", "wb")  # noqa: SIM115
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.ingest",
                "--batch-size",
                "100",
                "--block-ms",
                "100",
                "--claim-idle-ms",
                "1000",
                "--claim-interval",
                "0.3",
                "--log-level",
                os.environ.get("VOUCH_TEST_WORKER_LOG_LEVEL", "WARNING"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def _loop(self) -> None:
        rnd = random.Random(7)
        while not self.done.wait(rnd.uniform(0.3, 1.0)):
            if not self.chaos.is_set():
                continue
            i = rnd.randrange(len(self.procs))
            self.procs[i].send_signal(signal.SIGKILL)
            self.procs[i].wait()
            self.kills += 1
            self.procs[i] = self._start()

    def stop(self) -> list[int]:
        self.done.set()
        self.thread.join()
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        return [proc.wait(20) for proc in self.procs]


def drained(client: redis.Redis, prefix: str) -> bool:
    for stream in (keys.clicks_stream(prefix), keys.conversions_stream(prefix)):
        group = {g["name"].decode(): g for g in client.xinfo_groups(stream)}.get(GROUP)
        last = client.xinfo_stream(stream)["last-generated-id"]
        if group is None or group["last-delivered-id"] != last:
            return False
        if client.xpending(stream, GROUP)["pending"]:
            return False
    return True


@pytest.mark.slow
def test_nothing_lost_nothing_twice_under_kills_and_a_redis_restart(
    tmp_path, db_url, engine, session
):
    rnd = random.Random(20261121)
    server = RedisServer(str(tmp_path / "redis"), appendonly=True).start()
    prefix = "rel"
    w = seed.world(session, partners=4, hold_days=0, plan=seed.percent(bps=BPS))
    sync = redis.Redis.from_url(server.url)
    # The brand's secret in the database (the truth: a worker that finds Redis without its
    # groups republishes from there) and in Redis, as rotatePostbackSecret leaves them.
    sealed = SEALER.seal(SECRET)
    session.add(BrandPostbackSecret(organization_id=w.org_id, brand_id=w.brand_id, secret=sealed))
    session.commit()
    republish_all(session, sync, prefix=prefix)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_CLUSTER_URL",)}
    env |= {"DATABASE_URL": db_url, "REDIS_URL": server.url, "REDIS_PREFIX": prefix}
    workers = Workers(env, tmp_path)
    workers.chaos.set()

    # --- the plan of events and the ledger they must produce ---------------------------------
    clicks = []
    for i in range(N_CLICKS):
        partner = w.partners[i % 4]
        clicks.append(seed.click(w, partner, bot=i % 17 == 0, unique=i % 5 != 0))
    orders: list[dict[str, Any]] = []
    expected: dict[int, int] = defaultdict(int)  # influencer -> net commission, minor units
    applied_refunds = 0
    refund_plan: list[tuple[str, dict[str, Any], bool]] = []  # (when, body, expect_applied)
    for i in range(N_ORDERS):
        amount = rnd.randrange(100, 50_000)
        body: dict[str, Any] = {
            "order_id": f"O{i}",
            "amount": str(Decimal(amount).scaleb(-2)),
            "currency": "EUR",
        }
        if i % 3 == 0:
            partner_index = i % 4
            body["discount_code"] = w.partners[partner_index].discount_code
        else:  # a click already pushed when the order is posted (see the rounds below)
            c = clicks[(i * 7) % ((i // (N_ORDERS // 10) + 1) * (N_CLICKS // 10))]
            partner_index = [p.link_id for p in w.partners].index(c.link_id)
            body["click_id"] = c.event_id
            body["occurred_at"] = int(c.ts / 1000) + 30
        commission = apply_basis_points(amount, BPS)
        refunded = 0
        if i % 4 == 1:  # two partial refunds
            parts = [amount * 3 // 10, amount // 5]
            for j, part in enumerate(parts):
                refund_plan.append(
                    (
                        "after",
                        {
                            "order_id": f"O{i}",
                            "refund_id": f"R{i}-{j}",
                            "amount": str(Decimal(part).scaleb(-2)),
                        },
                        True,
                    )
                )
                refunded += part
        if i % 20 == 3:  # refunded in full before the order was even reported
            refund_plan.append(
                (
                    "before",
                    {
                        "order_id": f"O{i}",
                        "refund_id": f"E{i}",
                        "amount": str(Decimal(amount).scaleb(-2)),
                    },
                    True,
                )
            )
            refunded += amount
        if i % 25 == 7:  # more than the order: refused (422 at the edge or REJECTED)
            refund_plan.append(
                (
                    "after",
                    {
                        "order_id": f"O{i}",
                        "refund_id": f"X{i}",
                        "amount": str(Decimal(amount + 100).scaleb(-2)),
                    },
                    False,
                )
            )
        applied_refunds += sum(1 for _, b, ok in refund_plan if ok and b["order_id"] == f"O{i}")
        expected[w.partners[partner_index].influencer_id] += commission - round_half_even(
            Decimal(commission) * refunded / amount
        )
        orders.append(body)

    # --- producing, with chaos ----------------------------------------------------------------
    def push_clicks(batch: list[Any]) -> None:
        while True:
            try:
                pipe = sync.pipeline(transaction=False)
                for c in batch:
                    pipe.xadd(keys.clicks_stream(prefix), c.to_fields())
                pipe.execute()
                return
            except (redis.ConnectionError, redis.BusyLoadingError):
                time.sleep(0.05)  # a replay may write some twice: click ids dedupe them

    answers: dict[str, list[int]] = defaultdict(list)

    async def produce() -> dict[str, int]:
        clients: list[Any] = []

        def client() -> Any:
            if not clients:
                clients.append(aredis.Redis.from_url(server.url))
            return clients[0]

        app = Starlette(routes=Postbacks(client, prefix, sealer=SEALER).routes())
        statuses: dict[str, int] = defaultdict(int)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tracker"
        ) as http:

            async def post(path: str, body: dict[str, Any]) -> int:
                raw = json.dumps(body).encode()
                while True:
                    response = await http.post(
                        path,
                        content=raw,
                        headers={
                            "vouch-brand": brand_global_id(w.brand_id),
                            "vouch-signature": signature_header(SECRET, raw),
                        },
                    )
                    if response.status_code != 503:  # a brand retries until answered
                        statuses[f"{path}:{response.status_code}"] += 1
                        answers[body.get("refund_id") or body["order_id"]].append(
                            response.status_code
                        )
                        return response.status_code
                    await asyncio.sleep(0.05)

            chunk = N_ORDERS // 10
            for round_ in range(10):
                await asyncio.to_thread(
                    push_clicks, clicks[round_ * N_CLICKS // 10 : (round_ + 1) * N_CLICKS // 10]
                )
                # Some clicks twice, as a tracker replaying its spool might.
                await asyncio.to_thread(push_clicks, rnd.sample(clicks[: (round_ + 1) * 300], 30))
                mine = orders[round_ * chunk : (round_ + 1) * chunk]
                names = {b["order_id"] for b in mine}
                early = [
                    b for when, b, _ in refund_plan if when == "before" and b["order_id"] in names
                ]
                await asyncio.gather(*(post("/v1/refunds", b) for b in early))
                # Every order twice, concurrently: one 202, one 200.
                await asyncio.gather(*(post("/v1/conversions", b) for b in mine + mine))
                late = [
                    b for when, b, _ in refund_plan if when == "after" and b["order_id"] in names
                ]
                await asyncio.gather(*(post("/v1/refunds", b) for b in late + late[::3]))
                if round_ == 4:
                    server.stop(kill=True)  # Redis dies; AOF with fsync always keeps every ack
                    await asyncio.sleep(0.3)
                    server.start()
                await asyncio.sleep(0.4)
            await clients[0].aclose()
        return dict(statuses)

    statuses = asyncio.run(produce())
    workers.chaos.clear()
    deadline = time.monotonic() + 60
    stable = 0
    while stable < 3:
        assert time.monotonic() < deadline, "the workers did not drain the streams"
        time.sleep(0.5)
        try:
            stable = stable + 1 if drained(sync, prefix) else 0
        except redis.ConnectionError:
            stable = 0
    session.commit()
    waiting = session.scalar(
        select(func.count()).select_from(Refund).where(Refund.status == "WAITING")
    )
    dead = sync.xlen(keys.dead_letter_stream(prefix))
    exit_codes = workers.stop()
    server.stop()

    # --- every total, to the cent -------------------------------------------------------------
    assert workers.kills >= 8, workers.kills
    assert exit_codes == [0, 0]  # SIGTERM: a graceful stop
    assert statuses["/v1/conversions:202"] == N_ORDERS
    assert statuses["/v1/conversions:200"] == N_ORDERS
    assert waiting == 0
    assert dead == 0
    session.commit()
    distinct = {c.event_id for c in clicks}
    assert session.scalar(select(func.count()).select_from(Click)) == len(distinct)
    bots = sum(1 for c in clicks if c.bot)
    assert session.scalar(select(func.sum(ClickRollup.bot_hits))) == bots
    assert session.scalar(select(func.sum(ClickRollup.clicks))) == len(distinct) - bots
    assert session.scalar(select(func.sum(ClickRollup.unique_clicks))) == sum(
        1 for c in clicks if c.unique and not c.bot
    )
    assert session.scalar(select(func.count()).select_from(Conversion)) == N_ORDERS
    statuses_db = dict(
        session.execute(select(Conversion.status, func.count()).group_by(Conversion.status)).all()
    )
    assert statuses_db == {"APPROVED": N_ORDERS}
    commissions = session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "COMMISSION")
    )
    assert commissions == N_ORDERS
    reversals = session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "REVERSAL")
    )
    assert reversals == applied_refunds
    applied = session.scalar(
        select(func.count()).select_from(Refund).where(Refund.status == "APPLIED")
    )
    assert applied == applied_refunds
    # Refunds larger than their order were refused at the edge (it knew the order), each time;
    # every other postback was accepted once and answered "duplicate" when repeated.
    assert (
        session.scalar(select(func.count()).select_from(Refund).where(Refund.status == "REJECTED"))
        == 0
    )
    for _, body, ok in refund_plan:
        codes = answers[body["refund_id"]]
        if ok:
            assert sorted(codes)[-1] == 202 and codes.count(202) == 1, (body, codes)
            assert set(codes) <= {200, 202}, (body, codes)
        else:
            assert codes and set(codes) == {422}, (body, codes)
    assert all(sorted(answers[b["order_id"]]) == [200, 202] for b in orders)
    by_influencer = dict(
        session.execute(
            select(LedgerEntry.influencer_id, func.sum(LedgerEntry.amount)).group_by(
                LedgerEntry.influencer_id
            )
        ).all()
    )
    assert {k: int(v) for k, v in by_influencer.items()} == dict(expected)
    keys_total, keys_distinct = session.execute(
        select(func.count(), func.count(func.distinct(LedgerEntry.idempotency_key)))
    ).one()
    assert keys_total == keys_distinct
