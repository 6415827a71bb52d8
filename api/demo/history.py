"""Months of demo history, replayed through the engine as it happened.

The clicks (`traffic`), orders and refunds (`orders`) are written as the tracker writes them, to
the tracker's streams in Redis under a scratch key prefix, in rounds of four weeks (the clicks
of a round go with the orders of the round before), in the order the tracker would have
appended them; after each round the ingest worker (`api.ingest.Worker`, `drain`) reads them
into the database: attribution, holds, commissions, reversals and rollups are the worker's,
nothing here writes them. Between the rounds, people's actions run at the time they happened
(`actions`): flat fees, gifted costs, reviews, payout batches.

The worker works inside the seeding transaction: its sessions share the seeding session's
connection and each of its transactions is a SAVEPOINT (SQLAlchemy's `create_savepoint`), so
the caller still commits or rolls back the whole data set at once. The scratch keys are deleted
at the end.

The worker stamps what it posts (commission entries, reversals) with its `clock`, which here
is the replayed time of each round, so those entries are dated within the history as the
orders, refunds, clicks and people's actions (flat fees, reviews, payouts) are; each month's
payout batch pays what was available by then.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from api.demo.actions import Actions
from api.demo.orders import order_events
from api.demo.state import Seeding
from api.demo.traffic import link_traffic, orphan_visits, to_ms
from api.ingest import Worker, WorkerOptions
from api.models import Click, Conversion, LedgerEntry, Refund
from api.settings import get_settings
from tracker import keys
from tracker.conversions import ConversionEvent, RefundEvent
from tracker.events import KIND_ORPHAN, RS, ClickEvent
from tracker.redis_client import sync_client
from tracker.sink import WRITE_SCRIPT

E = TypeVar("E")
PUSH_CHUNK = 2_000  # stream entries per pipeline
# How much history the worker is given at a time: the actions in between wait for it. A round
# has a fixed cost (Redis round trips; on PostgreSQL the worker's click staging table is only
# emptied when the seeding transaction commits, so each round re-reads the earlier ones).
ROUND = timedelta(days=28)


@contextmanager
def scratch_streams(client: Any | None) -> Iterator[tuple[Any, str]]:
    """A Redis client (the configured one unless given) and a key prefix of its own; every key
    under the prefix is deleted at the end."""
    settings = get_settings()
    own = client is None
    client = client if client is not None else sync_client(settings.redis)
    prefix = f"{settings.redis.prefix}:demo-{secrets.token_hex(4)}"
    try:
        yield client, prefix
    finally:
        for key in list(client.scan_iter(match=f"{prefix}:*", count=1000)):
            client.delete(key)
        if own:
            client.close()


def _push_clicks(client: Any, prefix: str, clicks: list[ClickEvent]) -> None:
    """As the tracker's sink writes them: batches of packed events, one script call each."""
    write = client.register_script(WRITE_SCRIPT)
    stream = keys.clicks_stream(prefix)
    for start in range(0, len(clicks), PUSH_CHUNK):
        batch = clicks[start : start + PUSH_CHUNK]
        # The sink's idempotency marker: named after the batch (here, its first event).
        marker = f"{prefix}:{{ev}}:demo-batch:{batch[0].event_id}"
        # Window 0: the demo's clicks carry the repeats it made up, not found again.
        written, _ = write(keys=[stream, marker], args=[60, RS.join(e.pack() for e in batch), 0])
        if int(written) != len(batch):
            raise RuntimeError(f"the tracker's script wrote {written} of {len(batch)} clicks")


def _push_orders(client: Any, prefix: str, events: list[ConversionEvent | RefundEvent]) -> None:
    """As the postback handlers append them: one XADD of the event's fields each."""
    stream = keys.conversions_stream(prefix)
    for start in range(0, len(events), PUSH_CHUNK):
        pipe = client.pipeline(transaction=False)
        for event in events[start : start + PUSH_CHUNK]:
            pipe.xadd(stream, event.to_fields())
        pipe.execute()


def _drain(worker: Worker, client: Any, prefix: str) -> None:
    """Lets the worker read everything written so far; an event it dead-letters is a bug here."""
    worker.drain()
    dead = client.xrange(keys.dead_letter_stream(prefix), count=3)
    if dead:
        total = client.xlen(keys.dead_letter_stream(prefix))
        reasons = [fields.get(b"dlq_reason", b"").decode() for _, fields in dead]
        raise RuntimeError(f"the demo history has {total} dead-lettered events: {reasons}")


def _rounds(start: datetime, end: datetime) -> list[datetime]:
    """The ends of the worker's rounds: every ROUND from the Monday (UTC) before `start`, the
    last one at `end`."""
    moment = (start - timedelta(days=start.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    ends = []
    while moment < end:
        moment = min(moment + ROUND, end)
        ends.append(moment)
    return ends


def _split(events: list[E], ends: list[int], time_of: Callable[[E], int]) -> list[list[E]]:
    """Time-ordered `events` cut into rounds: those before ends[0], then before ends[1], ..."""
    rounds: list[list[E]] = [[] for _ in ends]
    i = 0
    for event in events:
        while time_of(event) >= ends[i]:
            i += 1
        rounds[i].append(event)
    return rounds


def seed_history(state: Seeding, redis: Any | None = None) -> None:
    # Event ids follow the seed, and the organizations' ids: seeding again into a database that
    # has a demo already (`vouch demo --force`) must not reuse its click ids.
    state.ids.seed(f"{state.rng.getrandbits(64)}:{state.orgs[0].id}")
    actions = Actions(state)
    posts = actions.plan_content_and_deals()
    traffic = [
        link_traffic(state, link, posts.get(link.link.partnership_id, [])) for link in state.links
    ]
    clicks: list[ClickEvent] = sorted(
        [e for t in traffic for e in t.events] + orphan_visits(state, traffic), key=lambda e: e.ts
    )
    orders: list[ConversionEvent | RefundEvent] = sorted(
        order_events(state, traffic), key=lambda e: e.received_at_ms
    )
    first = actions.first() or state.now
    if clicks:
        first = min(first, datetime.fromtimestamp(clicks[0].ts / 1000, UTC))
    actions.plan_payouts(first)
    # Round ends; the last one just after now, so that what happens at `now` is in.
    ends = _rounds(first, state.now + timedelta(seconds=1))
    session = state.session
    session.flush()
    # The worker's transactions are savepoints of the seeding one (see the module's docstring).
    sessions = sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    clock = [0.0]
    with scratch_streams(redis) as (client, prefix):
        worker = Worker(
            client,
            sessions,
            prefix,
            consumer="demo-history",
            options=WorkerOptions(block_ms=1, risk_interval_s=0),
            clock=lambda: clock[0],
        )
        # Step i gives the worker round i's clicks and round i-1's orders: every order's click
        # is in the database before the order is read, whatever order the worker reads its two
        # streams in (it waits for a missing click only while an order is minutes old,
        # `defer_max_s`, and these are months old to it). Then people's actions of round i-1.
        click_rounds = _split(clicks, [to_ms(end) for end in ends], lambda e: e.ts)
        order_rounds = _split(orders, [to_ms(end) for end in ends], lambda e: e.received_at_ms)
        for i in range(len(ends) + 1):
            round_clicks = click_rounds[i] if i < len(ends) else []
            round_orders = order_rounds[i - 1] if i else []
            if round_clicks or round_orders:
                session.flush()
                clock[0] = ends[min(i, len(ends) - 1)].timestamp()  # when the worker runs
                _push_clicks(client, prefix, round_clicks)
                _push_orders(client, prefix, round_orders)
                _drain(worker, client, prefix)
                actions.plan_reviews()
            if i:
                actions.run_until(ends[i - 1])
            state.progress("history", i, len(ends))
    actions.prepare_todays_batches()
    session.flush()
    # What the worker recorded, counted in the database (its own statistics are its business).
    orgs = state.result.organization_ids
    for name, model in (
        ("clicks", Click),
        ("conversions", Conversion),
        ("refunds", Refund),
        ("ledger_entries", LedgerEntry),
    ):
        total = session.scalar(
            select(func.count()).select_from(model).where(model.organization_id.in_(orgs))
        )
        state.count(name, int(total or 0))
    state.count("orphan_visits", sum(1 for e in clicks if e.kind == KIND_ORPHAN))
    for name, value in actions.counts.items():
        state.count(name, value)
