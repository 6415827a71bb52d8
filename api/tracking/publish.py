"""What the API publishes to Redis for the tracker: tracked links and discount codes.

The database is the truth; Redis holds a copy the tracker reads. Mutations publish a row after
their transaction commits (`ctx.after_commit`), so a rolled-back change is never published, and
a Redis failure there only logs: `republish_all` (`vouch tracker republish`) rewrites every link
and code and removes keys that match no row, which repairs anything missed.

- A link lives at `tracker.keys.link(prefix, code)` as the JSON of `tracker.events.LinkRecord`.
  A deactivated link stays there with `"active": false`, so the tracker knows the code.
- A discount code lives at `tracker.keys.discount_code(prefix, brand_id, code)` as the JSON of
  `discount_code_record` (below), also kept with `"active": false` once deactivated.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import DiscountCode, TrackedLink
from api.settings import Settings, get_settings
from tracker import keys
from tracker.events import LinkRecord, Utm
from tracker.redis_client import sync_client

log = logging.getLogger("vouch.publish")

BATCH_SIZE = 500
# A publish after commit must not hold a request for long when Redis is away: short timeouts and
# one quick retry (redis-py's default backs off for seconds), since republish repairs a miss.
REDIS_TIMEOUT_SECONDS = 1.0


@lru_cache(maxsize=1)
def redis_client() -> Any:
    """The API's Redis client, from `get_settings().redis` (REDIS_URL, REDIS_CLUSTER_URL or the
    embedded server), created once a process."""
    return sync_client(
        get_settings().redis,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), 1),
    )


def reset_redis_client() -> None:
    """Forgets the cached client (tests point REDIS_URL elsewhere, then call reset_settings)."""
    if redis_client.cache_info().currsize:
        try:
            redis_client().close()
        except Exception:  # closing a client of a server that is gone
            log.debug("closing the old Redis client failed", exc_info=True)
    redis_client.cache_clear()


# --- records -------------------------------------------------------------------------------


def link_record(link: TrackedLink) -> LinkRecord:
    if not link.code:
        raise ValueError(f"tracked link {link.id} has no code yet")
    return LinkRecord(
        link_id=link.id,
        partnership_id=link.partnership_id,
        campaign_id=link.campaign_id,
        brand_id=link.brand_id,
        organization_id=link.organization_id,
        code=link.code,
        destination=link.destination_url,
        utm=Utm(
            source=link.utm_source,
            medium=link.utm_medium,
            campaign=link.utm_campaign,
            content=link.utm_content,
        ),
        active=bool(link.active),
    )


def discount_code_record(code: DiscountCode) -> dict[str, Any]:
    return {
        "discount_code_id": code.id,
        "partnership_id": code.partnership_id,
        "campaign_id": code.campaign_id,
        "brand_id": code.brand_id,
        "organization_id": code.organization_id,
        "code": code.code,
        "percent_off_bps": code.percent_off_bps,
        "active": bool(code.active),
    }


def _link_item(link: TrackedLink, prefix: str) -> tuple[str, str]:
    return keys.link(prefix, link.code or ""), link_record(link).to_json()


def _code_item(code: DiscountCode, prefix: str) -> tuple[str, str]:
    raw = json.dumps(discount_code_record(code), separators=(",", ":"))
    return keys.discount_code(prefix, code.brand_id, code.code), raw


# --- one row, after a mutation commits -----------------------------------------------------


def publish_link(redis: Any, settings: Settings, link: TrackedLink) -> None:
    """Writes one link's record (active or not). Raises on Redis errors: callers log them."""
    redis.set(*_link_item(link, settings.redis.prefix))


def publish_discount_code(redis: Any, settings: Settings, code: DiscountCode) -> None:
    redis.set(*_code_item(code, settings.redis.prefix))


def after_commit_link(settings: Settings, link: TrackedLink) -> Callable[[], None]:
    """The effect a mutation appends to `ctx.after_commit` for a link it created or changed."""

    def effect() -> None:
        try:
            publish_link(redis_client(), settings, link)
        except Exception:
            log.exception("publishing tracked link %s failed; republish repairs it", link.id)

    return effect


def after_commit_discount_code(settings: Settings, code: DiscountCode) -> Callable[[], None]:
    def effect() -> None:
        try:
            publish_discount_code(redis_client(), settings, code)
        except Exception:
            log.exception("publishing discount code %s failed; republish repairs it", code.id)

    return effect


# --- everything ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepublishCounts:
    links: int  # link records written
    discount_codes: int  # discount-code records written
    removed: int  # keys deleted because no row matches them
    skipped: int = 0  # rows that make no valid record (logged)


def _batches(session: Session, model: Any, size: int) -> Iterator[list[Any]]:
    """All rows of `model` in id order, `size` at a time (keyset, so memory stays flat)."""
    last = 0
    while True:
        stmt = select(model).where(model.id > last).order_by(model.id).limit(size)
        rows = list(session.scalars(stmt))
        if not rows:
            return
        last = rows[-1].id
        _end_read(session)
        yield rows


def _end_read(session: Session) -> None:
    """Ends the read transaction and forgets the rows read, so the next statement sees what is
    committed by then and loads fresh objects."""
    session.expunge_all()
    session.commit()


def _items(
    rows: list[Any], item: Callable[[Any, str], tuple[str, str]], prefix: str
) -> tuple[list[tuple[str, str]], list[Any]]:
    """(key, value) of each row, and the rows they are of. A row that makes no valid record (a
    link without its code, a destination the tracker would refuse) is logged and left out rather
    than stopping the whole run."""
    items, published = [], []
    for row in rows:
        try:
            items.append(item(row, prefix))
        except ValueError as exc:
            log.warning("not publishing %s %s: %s", type(row).__name__, row.id, exc)
            continue
        published.append(row)
    return items, published


def _write(redis: Any, items: Iterable[tuple[str, str]]) -> int:
    pipe = redis.pipeline(transaction=False)
    n = 0
    for key, value in items:
        pipe.set(key, value)
        n += 1
    if n:
        pipe.execute()
    return n


def _deactivated_since(session: Session, model: Any, rows: list[Any]) -> list[Any]:
    """Rows of the batch that were deactivated after it was read. A deactivation publishes after
    its commit; one that commits between our read and our write would otherwise be overwritten by
    our stale active record, so the batch is re-checked after it is written."""
    active_ids = [r.id for r in rows if r.active]
    if not active_ids:
        return []
    stmt = select(model).where(model.id.in_(active_ids), model.active.is_(False))
    rows = list(session.scalars(stmt))
    _end_read(session)
    return rows


def _delete(redis: Any, stale: list[str]) -> int:
    if not stale:
        return 0
    pipe = redis.pipeline(transaction=False)
    for key in stale:
        pipe.delete(key)
    pipe.execute()
    return len(stale)


def _text(key: Any) -> str:
    return key.decode() if isinstance(key, bytes) else str(key)


def _chunks(keys_: Iterable[Any], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for key in keys_:
        chunk.append(_text(key))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _remove_stale_links(session: Session, redis: Any, prefix: str, size: int) -> int:
    head = keys.link(prefix, "")
    removed = 0
    for chunk in _chunks(redis.scan_iter(match=head + "*", count=size), size):
        codes = {k[len(head) :]: k for k in chunk}
        found = set(session.scalars(select(TrackedLink.code).where(TrackedLink.code.in_(codes))))
        _end_read(session)
        removed += _delete(redis, [k for c, k in codes.items() if c not in found])
    return removed


def _remove_stale_codes(session: Session, redis: Any, prefix: str, size: int) -> int:
    head = keys.discount_code(prefix, 0, "")[: -len("0:")]  # "<prefix>:dcode:"
    removed = 0
    for chunk in _chunks(redis.scan_iter(match=head + "*", count=size), size):
        wanted: dict[tuple[int, str], str] = {}
        stale: list[str] = []
        for key in chunk:
            brand, _, code = key[len(head) :].partition(":")
            if brand.isdigit() and code and keys.discount_code(prefix, int(brand), code) == key:
                wanted[(int(brand), code)] = key
            else:
                stale.append(key)
        by_brand: dict[int, list[str]] = {}
        for brand_id, code in wanted:
            by_brand.setdefault(brand_id, []).append(code)
        found: set[tuple[int, str]] = set()
        for brand_id, codes in by_brand.items():
            stmt = select(DiscountCode.code).where(
                DiscountCode.brand_id == brand_id, DiscountCode.code.in_(codes)
            )
            found.update((brand_id, c) for c in session.scalars(stmt))
        _end_read(session)
        stale += [k for pair, k in wanted.items() if pair not in found]
        removed += _delete(redis, stale)
    return removed


def republish_all(
    session: Session,
    redis: Any,
    progress: Callable[[int, int], None] | None = None,
    *,
    prefix: str | None = None,
    batch_size: int = BATCH_SIZE,
) -> RepublishCounts:
    """Makes Redis match the database: writes the record of every tracked link and discount code
    (deactivated ones with active=false), pipelined `batch_size` at a time, then deletes link and
    code keys under `prefix` (default: the settings') that match no row.

    `progress(done, total)` is called after each batch. Only reads through `session`, but ends
    its transaction (and expunges its objects) after each read, so that every batch sees what is
    committed by then: pass a session with no pending changes.
    """
    prefix = get_settings().redis.prefix if prefix is None else prefix
    total = sum(
        int(session.scalar(select(func.count()).select_from(m)) or 0)
        for m in (TrackedLink, DiscountCode)
    )
    _end_read(session)
    done = skipped = 0
    counts = {"links": 0, "codes": 0}
    for model, item, name in (
        (TrackedLink, _link_item, "links"),
        (DiscountCode, _code_item, "codes"),
    ):
        for rows in _batches(session, model, batch_size):
            items, published = _items(rows, item, prefix)
            counts[name] += _write(redis, items)
            skipped += len(rows) - len(published)
            changed = _deactivated_since(session, model, published)
            _write(redis, _items(changed, item, prefix)[0])
            done += len(rows)
            if progress is not None:
                progress(done, max(total, done))
    removed = _remove_stale_links(session, redis, prefix, batch_size)
    removed += _remove_stale_codes(session, redis, prefix, batch_size)
    log.info(
        "republished %d links and %d discount codes, removed %d stale keys, skipped %d rows",
        counts["links"],
        counts["codes"],
        removed,
        skipped,
    )
    return RepublishCounts(
        links=counts["links"], discount_codes=counts["codes"], removed=removed, skipped=skipped
    )
