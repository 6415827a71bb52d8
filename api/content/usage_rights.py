"""Usage rights of deliverables: derived from the contract at publication, set by a manager,
and the notices before and after they end (`vouch content usage-rights`). Rules in
`api.domain.usage_rights`; no GraphQL here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from api.content.live_events import record_event
from api.content.live_posts import record_expiry
from api.db import utcnow
from api.domain import usage_rights
from api.domain.deliverable_status import DeliverableStatus
from api.models import Contract, Deliverable, DeliverableUsageRights
from tracker.globalid import encode


def _latest_contract(session: Session, partnership_id: int) -> Contract | None:
    return session.scalar(
        select(Contract)
        .where(Contract.partnership_id == partnership_id)
        .order_by(Contract.version.desc())
        .limit(1)
    )


def _granted(contract: Contract | None, deliverable: Deliverable) -> usage_rights.Rights | None:
    if contract is None:
        return None
    return usage_rights.from_contract(
        str(contract.usage_rights),
        contract.usage_rights_days,
        contract.usage_rights_regions or (),
        deliverable.published_at,
    )


def _stored(session: Session, deliverable_id: int) -> DeliverableUsageRights | None:
    return session.scalar(
        select(DeliverableUsageRights).where(
            DeliverableUsageRights.deliverable_id == deliverable_id
        )
    )


def derive(session: Session, deliverable: Deliverable) -> DeliverableUsageRights | None:
    """The deliverable's rights from its partnership's latest contract, stored (CONTRACT) if it
    has none yet; None when the contract grants none (or there is no contract)."""
    existing = _stored(session, deliverable.id)
    if existing is not None:
        return existing
    rights = _granted(_latest_contract(session, deliverable.partnership_id), deliverable)
    if rights is None:
        return None
    return store(session, deliverable, rights, usage_rights.Basis.CONTRACT, None)


def follow_contract(session: Session, partnership_id: int) -> None:
    """New contract terms: the rights of the partnership's published deliverables that come
    from the contract (not those a manager set) follow them; a contract granting none removes
    them."""
    contract = _latest_contract(session, partnership_id)
    for deliverable in session.scalars(
        select(Deliverable).where(
            Deliverable.partnership_id == partnership_id,
            Deliverable.status == DeliverableStatus.PUBLISHED.value,
        )
    ):
        row = _stored(session, deliverable.id)
        if row is not None and row.basis is usage_rights.Basis.EXPLICIT:
            continue
        rights = _granted(contract, deliverable)
        if rights is not None:
            store(session, deliverable, rights, usage_rights.Basis.CONTRACT, None)
        elif row is not None:
            session.delete(row)
            session.flush()


def contract_expiry(session: Session, deliverable: Deliverable) -> datetime | None:
    """The end the contract gives: its usage_rights_days from publication, if both are known."""
    contract = _latest_contract(session, deliverable.partnership_id)
    if contract is None or contract.usage_rights_days is None or deliverable.published_at is None:
        return None
    return deliverable.published_at + timedelta(days=contract.usage_rights_days)


def store(
    session: Session,
    deliverable: Deliverable,
    rights: usage_rights.Rights,
    basis: usage_rights.Basis,
    by: str | None,
) -> DeliverableUsageRights:
    row = _stored(session, deliverable.id)
    if row is None:
        row = DeliverableUsageRights(
            organization_id=deliverable.organization_id, deliverable_id=deliverable.id
        )
        session.add(row)
    row.channels = [c.value for c in rights.channels]
    row.paid_use = rights.paid_use
    row.allowlisting = rights.allowlisting
    row.territories = list(rights.territories)
    row.expires_at = rights.expires_at
    row.basis = basis
    row.set_by = by
    session.flush()
    return row


def expiring_clause(now: datetime, within_days: int) -> list[ColumnElement[bool]]:
    """Rights that end within `within_days` from now and have not ended yet."""
    r = DeliverableUsageRights
    return [
        r.expires_at.is_not(None),
        r.expires_at > now,
        r.expires_at <= now + timedelta(days=within_days),
    ]


@dataclass
class NoticeReport:
    derived: int = 0  # published deliverables whose rights were stored from their contract
    expiring: int = 0  # usage_rights.expiring raised
    expired: int = 0  # usage_rights.expired raised


def notify(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    notice_days: int,
    now: datetime | None = None,
) -> NoticeReport:
    """Stores the rights of published deliverables that have none yet (from their contract),
    then raises `usage_rights.expiring` once per deliverable and expiry date within
    `notice_days` of it, and `usage_rights.expired` (with a USAGE_RIGHTS_EXPIRED finding) once
    after it. Idempotent: a notice raised before is not raised again."""
    now = now or utcnow()
    report = NoticeReport()
    r = DeliverableUsageRights
    missing = session.scalars(
        select(Deliverable).where(
            *conditions,
            Deliverable.status == DeliverableStatus.PUBLISHED.value,
            ~Deliverable.id.in_(select(r.deliverable_id)),
        )
    ).all()
    for deliverable in missing:
        if derive(session, deliverable) is not None:
            report.derived += 1
    due = session.execute(
        select(r, Deliverable)
        .join(Deliverable, Deliverable.id == r.deliverable_id)
        .where(
            *conditions,
            r.expires_at.is_not(None),
            r.expires_at <= now + timedelta(days=notice_days),
        )
        .order_by(r.id)
    ).all()
    for rights, deliverable in due:
        assert rights.expires_at is not None
        payload = {
            "deliverableId": encode("Deliverable", deliverable.id),
            "expiresAt": rights.expires_at.isoformat(),
            "channels": rights.channels,
            "territories": rights.territories,
        }
        key = f"{deliverable.id}:{rights.expires_at.isoformat()}"
        if rights.expires_at > now:
            if record_event(
                session,
                deliverable.organization_id,
                "usage_rights.expiring",
                payload,
                f"usage_rights.expiring:{key}",
            ):
                report.expiring += 1
            continue
        finding = record_expiry(session, deliverable, rights.expires_at, payload, now)
        if finding is not None:
            report.expired += 1
    return report
