"""What the API publishes to Redis for the tracker: tracked links and brands' postback secrets.

The database is the truth; Redis holds a copy the tracker reads. There is one way a change
reaches it: the transaction that makes the change also writes a `TrackerPublication` row
(`after_commit`), so a commit can never leave Redis behind for good. Right after the commit the
row is published (the current state of its link or brand is read and written) and deleted; a row
whose publish failed, because Redis was away, stays and the worker publishes it within seconds
(`publish_pending`). When Redis lost its data altogether, `republish_all` (the worker on seeing
its stream groups gone, or `vouch tracker republish`) rewrites every record and removes keys that
match no row.

- A link lives at `tracker.keys.link(prefix, code)` as the JSON of `tracker.events.LinkRecord`.
  A deactivated link stays there with `"active": false`, so the tracker knows the code.
- A brand's postback secrets live at `tracker.keys.brand_secrets(prefix, brand_id)` as the JSON
  of `api.tracking.postback_secrets.record`, each secret sealed as it is in the database (the
  tracker unseals it with the same `VOUCH_SECRET_KEYS`); the key is deleted when none is valid.
- A shop connection lives at `tracker.keys.shop_connection(prefix, public_id)` as the JSON of
  `api.tracking.shop_connections.record` (its secrets sealed as in the database); the key is
  deleted when the connection is disconnected, so intake stops at once.
- Discount codes are not published: the tracker passes a postback's `discount_code` on as it is
  and the worker attributes it from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Final, Protocol

from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.db import get_sessionmaker, utcnow
from api.models import (
    BrandPostbackSecret,
    ShopConnection,
    TrackedLink,
    TrackerPublication,
)
from api.settings import get_settings
from api.tracking import postback_secrets, shop_connections
from tracker import keys
from tracker.events import LinkRecord, Utm
from tracker.redis_client import sync_client

log = logging.getLogger("vouch.publish")

BATCH_SIZE = 500
# A publish after commit must not hold a request for long when Redis is away: short timeouts and
# one quick retry (redis-py's default backs off for seconds), since the worker repairs a miss.
REDIS_TIMEOUT_SECONDS = 1.0

LINK: Final = "link"
BRAND_SECRETS: Final = "brand_secrets"
SHOP: Final = "shop"  # ref: a shop connection's id
KINDS: Final = (LINK, BRAND_SECRETS, SHOP)
# The worker leaves a fresh row to the request that wrote it, which publishes it after commit.
PENDING_GRACE: Final = timedelta(seconds=2)
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


def _link_item(link: TrackedLink, prefix: str) -> tuple[str, str]:
    return keys.link(prefix, link.code or ""), link_record(link).to_json()


def _secrets_item(
    session: Session, brand_id: int, prefix: str, now: datetime | None = None
) -> tuple[str, str | None]:
    """The brand's valid secrets, or None (delete the key) when it has none."""
    rows = postback_secrets.valid_secrets(session, brand_id, now)
    return keys.brand_secrets(prefix, brand_id), postback_secrets.record(rows) if rows else None


def _shop_items(
    session: Session, connections: Iterable[ShopConnection], prefix: str, now: datetime | None
) -> list[tuple[str, str | None]]:
    """Each connection's record, or None (delete the key) when it takes no webhooks."""
    return [
        (
            keys.shop_connection(prefix, c.public_id),
            shop_connections.record(c, shop_connections.valid_secrets(session, c.id, now)),
        )
        for c in connections
    ]


# --- after a change commits ------------------------------------------------------------------


class UnitOfWork(Protocol):
    """What `after_commit` needs of its caller: the GraphQL context is one."""

    @property
    def session(self) -> Session: ...

    @property
    def after_commit(self) -> list[Callable[[], None]]: ...


def after_commit(unit: UnitOfWork, kind: str, ref_id: int) -> None:
    """Records in the caller's transaction that the tracker must hear of `kind` `ref_id`, and
    publishes it once the transaction commits (a rollback drops both)."""
    row = mark(unit.session, kind, ref_id)

    def effect() -> None:
        try:
            with get_sessionmaker()() as session:
                publish_pending(session, redis_client(), ids=[row.id])
        except Exception as exc:  # the row stays: the worker publishes it
            log.warning(
                "publishing %s %s after commit failed (%s); the worker retries", kind, ref_id, exc
            )

    unit.after_commit.append(effect)


def mark(session: Session, kind: str, ref_id: int) -> TrackerPublication:
    """Adds the publication row to the session's transaction (flushed, so it has its id)."""
    if kind not in KINDS:
        raise ValueError(f"unknown publication kind {kind!r}")
    row = TrackerPublication(kind=kind, ref_id=ref_id, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def publish_pending(
    session: Session,
    redis: Any,
    *,
    ids: list[int] | None = None,
    older_than: timedelta | None = None,
    prefix: str | None = None,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Publishes pending rows (`ids`, or all created more than `older_than` ago, or all) in id
    order: reads the current state of each link or brand, writes it, then deletes the rows.
    Returns how many rows were published. Raises on Redis errors, leaving the rows in place.

    Two publishers of one row (the request and the worker) both write the current state, so
    the later write is never older than the earlier; deleting a row twice is harmless."""
    prefix = get_settings().redis.prefix if prefix is None else prefix
    stmt = select(TrackerPublication).order_by(TrackerPublication.id).limit(batch_size)
    if ids is not None:
        stmt = stmt.where(TrackerPublication.id.in_(ids))
    if older_than is not None:
        stmt = stmt.where(TrackerPublication.created_at < utcnow() - older_than)
    rows = list(session.scalars(stmt))
    if not rows:
        session.rollback()
        return 0
    wanted = {(r.kind, r.ref_id) for r in rows}
    items: list[tuple[str, str | None]] = []
    link_ids = [ref for kind, ref in wanted if kind == LINK]
    for link in session.scalars(select(TrackedLink).where(TrackedLink.id.in_(link_ids))):
        try:
            items.append(_link_item(link, prefix))
        except ValueError as exc:
            log.warning("not publishing tracked link %s: %s", link.id, exc)
    for brand_id in sorted(ref for kind, ref in wanted if kind == BRAND_SECRETS):
        items.append(_secrets_item(session, brand_id, prefix, now))
    shop_ids = sorted(ref for kind, ref in wanted if kind == SHOP)
    if shop_ids:
        shops = session.scalars(select(ShopConnection).where(ShopConnection.id.in_(shop_ids)))
        items += _shop_items(session, shops, prefix, now)
    _apply(redis, items)
    session.execute(
        delete(TrackerPublication).where(TrackerPublication.id.in_([r.id for r in rows]))
    )
    session.commit()
    return len(rows)


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


# --- everything ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepublishCounts:
    links: int  # link records written
    brands: int  # brands whose postback secrets were written
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


def _link_items(rows: list[TrackedLink], prefix: str) -> tuple[list[tuple[str, str]], list[Any]]:
    """(key, value) of each link, and the links they are of. A link that makes no valid record
    (no code yet, a destination the tracker would refuse) is logged and left out rather than
    stopping the whole run."""
    items, published = [], []
    for row in rows:
        try:
            items.append(_link_item(row, prefix))
        except ValueError as exc:
            log.warning("not publishing tracked link %s: %s", row.id, exc)
            continue
        published.append(row)
    return items, published


def _apply(redis: Any, items: Iterable[tuple[str, str | None]]) -> int:
    """Sets each key to its value (deletes it for None), pipelined; returns how many."""
    pipe = redis.pipeline(transaction=False)
    n = 0
    for key, value in items:
        if value is None:
            pipe.delete(key)
        else:
            pipe.set(key, value)
        n += 1
    if n:
        pipe.execute()
    return n


def _deactivated_since(session: Session, rows: list[TrackedLink]) -> list[TrackedLink]:
    """Links of the batch that were deactivated after it was read. A deactivation publishes
    after its commit; one that commits between our read and our write would otherwise be
    overwritten by our stale active record, so the batch is re-checked after it is written."""
    active_ids = [r.id for r in rows if r.active]
    if not active_ids:
        return []
    stmt = select(TrackedLink).where(TrackedLink.id.in_(active_ids), TrackedLink.active.is_(False))
    changed = list(session.scalars(stmt))
    _end_read(session)
    return changed


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


def _scan(redis: Any, pattern: str, size: int) -> Iterator[list[str]]:
    return _chunks(redis.scan_iter(match=pattern, count=size), size)


def _remove_stale_links(session: Session, redis: Any, prefix: str, size: int) -> int:
    head = keys.link(prefix, "")
    removed = 0
    for chunk in _scan(redis, head + "*", size):
        codes = {k[len(head) :]: k for k in chunk}
        found = set(session.scalars(select(TrackedLink.code).where(TrackedLink.code.in_(codes))))
        _end_read(session)
        removed += _apply(redis, [(k, None) for c, k in codes.items() if c not in found])
    return removed


def _remove_stale_secrets(session: Session, redis: Any, prefix: str, size: int) -> int:
    """Deletes the secrets keys of brands that have no valid secret. Checked against the
    database at deletion time, so a brand that rotated during the run keeps its key."""
    removed = 0
    for chunk in _scan(redis, keys.brand_secrets(prefix, "*"), size):
        by_brand = {_brand_of(prefix, k): k for k in chunk}
        live = {
            row.brand_id
            for brand_id in by_brand
            if brand_id is not None
            for row in postback_secrets.valid_secrets(session, brand_id)
        }
        _end_read(session)
        removed += _apply(redis, [(k, None) for b, k in by_brand.items() if b not in live])
    return removed


def _brand_of(prefix: str, key: str) -> int | None:
    head, tail = keys.brand_secrets(prefix, "*").split("*")
    middle = key[len(head) : len(key) - len(tail)]
    return int(middle) if middle.isdigit() and key == keys.brand_secrets(prefix, middle) else None


def _remove_stale_shops(session: Session, redis: Any, prefix: str, size: int) -> int:
    """Deletes the keys of shop connections that take no webhooks (disconnected, unknown or
    without a valid secret), checked against the database at deletion time."""
    head = keys.shop_connection(prefix, "")
    removed = 0
    for chunk in _scan(redis, head + "*", size):
        by_public = {k[len(head) :]: k for k in chunk}
        rows = session.scalars(
            select(ShopConnection).where(ShopConnection.public_id.in_(by_public))
        ).all()
        live = {key for key, value in _shop_items(session, rows, prefix, None) if value}
        _end_read(session)
        removed += _apply(redis, [(k, None) for k in by_public.values() if k not in live])
    return removed


def _remove_legacy(redis: Any, prefix: str, size: int) -> int:
    """Discount-code records that earlier versions published and the tracker never read."""
    return sum(
        _apply(redis, [(k, None) for k in chunk])
        for chunk in _scan(redis, prefix + ":dcode:*", size)
    )


def republish_all(
    session: Session,
    redis: Any,
    progress: Callable[[int, int], None] | None = None,
    *,
    prefix: str | None = None,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
) -> RepublishCounts:
    """Makes Redis match the database: writes the record of every tracked link (deactivated
    ones with active=false) and every brand's valid postback secrets, pipelined `batch_size` at
    a time, then deletes the keys under `prefix` (default: the settings') that match no row.

    `progress(done, total)` is called after each batch of links. Only reads through `session`,
    but ends its transaction (and expunges its objects) after each read, so that every batch
    sees what is committed by then: pass a session with no pending changes.
    """
    prefix = get_settings().redis.prefix if prefix is None else prefix
    total = int(session.scalar(select(func.count()).select_from(TrackedLink)) or 0)
    _end_read(session)
    done = skipped = links = 0
    for rows in _batches(session, TrackedLink, batch_size):
        items, published = _link_items(rows, prefix)
        links += _apply(redis, items)
        skipped += len(rows) - len(published)
        _apply(redis, _link_items(_deactivated_since(session, published), prefix)[0])
        done += len(rows)
        if progress is not None:
            progress(done, max(total, done))
    brand_ids = list(session.scalars(select(BrandPostbackSecret.brand_id).distinct()))
    secrets = [_secrets_item(session, b, prefix, now) for b in sorted(brand_ids)]
    _end_read(session)
    written = [item for item in secrets if item[1] is not None]
    _apply(redis, written)
    connected = session.scalars(
        select(ShopConnection).where(ShopConnection.disconnected_at.is_(None))
    ).all()
    _apply(redis, [item for item in _shop_items(session, connected, prefix, now) if item[1]])
    _end_read(session)
    removed = _remove_stale_links(session, redis, prefix, batch_size)
    removed += _remove_stale_shops(session, redis, prefix, batch_size)
    removed += _remove_stale_secrets(session, redis, prefix, batch_size)
    removed += _remove_legacy(redis, prefix, batch_size)
    log.info(
        "republished %d links and the secrets of %d brands, removed %d stale keys, skipped %d",
        links,
        len(written),
        removed,
        skipped,
    )
    return RepublishCounts(links=links, brands=len(written), removed=removed, skipped=skipped)
