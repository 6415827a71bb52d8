"""The events Vouch sends to brands' webhook endpoints, and their payloads (version 1).

Every delivery's body is the JSON of

    {"type": "conversion.created", "version": 1, "timestamp": "2026-12-04T19:00:00+00:00",
     "data": {...}}

`version` is the version of that type's `data`: a change that could break a consumer (a field
removed or retyped) comes as a new version, never silently. Ids are the API's global ids
(`node(id:)` resolves them) and money is as in the API: `{"amount": "12.34", "currency": "EUR"}`
(a decimal string in the currency's minor units, never a float). Times are ISO 8601 UTC.

Types, when each is sent, and what its data holds:
- conversion.created: an order is recorded (ingest worker). {conversion}
- conversion.held: an order is held for review (at ingest, or its plan cannot price it).
  {conversion}
- conversion.approved: finance approves a held order. {conversion}
- conversion.reversed: a refund takes commission back, or finance rejects the order.
  {conversion, reason: REFUND or REJECTED, entry: the reversal or clawback, or null}
- ledger.entry.created: any ledger entry is appended. {entry}
- payout_batch.created: a payout batch (DRAFT) is created. {payoutBatch}
- payout_batch.paid: a payout batch is marked paid. {payoutBatch}
- partnership.status_changed: a partnership changes status. {partnership, previousStatus}
- deliverable.submitted: content is submitted for review. {deliverable, submission}
- deliverable.approved: submitted content is approved. {deliverable, submission}
- deliverable.published: approved content goes live. {deliverable}
- disclosure.failed: a submission fails the disclosure check. {deliverable, submission,
  failures: ["US: MISSING_LABEL", ...]}
- post_metrics.recorded: a snapshot of a published post's results is recorded (recordPostMetrics,
  the CSV import). {deliverable, capturedAt, source, metrics: {impressions, reach, views, likes,
  comments, shares, saves, linkClicks} (null where not reported)}
- content.disclosure_removed, content.caption_changed: a live post's caption lost the
  disclosure (or a required tag) its approved version had (`api.content.live_posts`).
  {findingId, kind, deliverableId, partnershipId, consequence, reasons, sha256}
- content.finding_resolved: a MANAGER resolved such a finding. {..., note, resolvedBy}
- exclusivity.conflict: an invitation or a caption conflicts with an exclusivity. {findingId, ...}
- usage_rights.expiring, usage_rights.expired: a deliverable's usage rights end within
  USAGE_RIGHTS_NOTICE_DAYS, or have ended. {deliverableId, expiresAt, channels, territories}
- discount_code.leak_suspected: a discount code looks leaked (coupon-site orders, sudden
  volume: `api.risk.recompute`), once per episode. {discountCodeId, code, partnershipId,
  suspectedAt, reasons: [{code, weight, message, evidence}]}
- webhook_endpoint.disabled: an endpoint was disabled (a day of failures, or 410 Gone); sent
  to the organization's other endpoints. {endpoint}

The shapes (each key camelCase as in the API):
- conversion: id, orderId, status, amount (Money), brandId, campaignId, partnershipId,
  influencerId (null when unattributed), attributedVia (CLICK, DISCOUNT_CODE or null),
  holdReasons, occurredAt.
- entry: id, kind, amount (Money, negative for reversals, clawbacks and payouts), influencerId,
  partnershipId, campaignId, conversionId, availableAt, memo.
- payoutBatch: id, status, currency, asOf, total (Money), lines, paidAt, reference.
- partnership: id, status, campaignId, influencerId.
- deliverable: id, status, partnershipId, platform, format, title, publishedUrl, publishedAt.
- submission: id, version, disclosureVerdict.
- endpoint: id, url, disabledReason.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from api.money import format_amount
from tracker.globalid import encode

# type -> version of its data
EVENT_TYPES: Final[dict[str, int]] = {
    "conversion.created": 1,
    "conversion.held": 1,
    "conversion.approved": 1,
    "conversion.reversed": 1,
    "ledger.entry.created": 1,
    "payout_batch.created": 1,
    "payout_batch.paid": 1,
    "partnership.status_changed": 1,
    "deliverable.submitted": 1,
    "deliverable.approved": 1,
    "deliverable.published": 1,
    "disclosure.failed": 1,
    "post_metrics.recorded": 1,
    "content.disclosure_removed": 1,
    "content.caption_changed": 1,
    "content.finding_resolved": 1,
    "exclusivity.conflict": 1,
    "usage_rights.expiring": 1,
    "usage_rights.expired": 1,
    "discount_code.leak_suspected": 1,
    "webhook_endpoint.disabled": 1,
}


def enum_name(event_type: str) -> str:
    """The GraphQL enum member of an event type: conversion.created -> CONVERSION_CREATED."""
    return event_type.replace(".", "_").upper()


def gid(type_name: str, pk: int | None) -> str | None:
    return encode(type_name, pk) if pk is not None else None


def money(minor: int, currency: str) -> dict[str, str]:
    return {"amount": format_amount(minor, currency), "currency": currency}


def when(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _get(row: Any, name: str) -> Any:
    """A column of an ORM row or of a dict of values (the worker inserts Core rows)."""
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


def _text(value: Any) -> Any:
    return getattr(value, "value", value)


def conversion(row: Any, conversion_id: int | None = None) -> dict[str, Any]:
    pk = conversion_id if conversion_id is not None else _get(row, "id")
    return {
        "id": gid("Conversion", pk),
        "orderId": _get(row, "order_id"),
        "status": _text(_get(row, "status")),
        "amount": money(_get(row, "amount"), _get(row, "currency")),
        "brandId": gid("Brand", _get(row, "brand_id")),
        "campaignId": gid("Campaign", _get(row, "campaign_id")),
        "partnershipId": gid("Partnership", _get(row, "partnership_id")),
        "influencerId": gid("Influencer", _get(row, "influencer_id")),
        "attributedVia": _text(_get(row, "attributed_via")),
        "holdReasons": list(_get(row, "hold_reasons") or []),
        "occurredAt": when(_get(row, "occurred_at")),
    }


def entry(row: Any, entry_id: int | None = None) -> dict[str, Any]:
    pk = entry_id if entry_id is not None else _get(row, "id")
    return {
        "id": gid("LedgerEntry", pk),
        "kind": _text(_get(row, "kind")),
        "amount": money(_get(row, "amount"), _get(row, "currency")),
        "influencerId": gid("Influencer", _get(row, "influencer_id")),
        "partnershipId": gid("Partnership", _get(row, "partnership_id")),
        "campaignId": gid("Campaign", _get(row, "campaign_id")),
        "conversionId": gid("Conversion", _get(row, "conversion_id")),
        "availableAt": when(_get(row, "available_at")),
        "memo": _get(row, "memo"),
    }


def payout_batch(row: Any, total: int, lines: int) -> dict[str, Any]:
    return {
        "id": gid("PayoutBatch", row.id),
        "status": _text(row.status),
        "currency": row.currency,
        "asOf": when(row.as_of),
        "total": money(total, row.currency),
        "lines": lines,
        "paidAt": when(row.paid_at),
        "reference": row.reference,
    }


def partnership(row: Any) -> dict[str, Any]:
    return {
        "id": gid("Partnership", row.id),
        "status": _text(row.status),
        "campaignId": gid("Campaign", row.campaign_id),
        "influencerId": gid("Influencer", row.influencer_id),
    }


def deliverable(row: Any) -> dict[str, Any]:
    return {
        "id": gid("Deliverable", row.id),
        "status": _text(row.status),
        "partnershipId": gid("Partnership", row.partnership_id),
        "platform": _text(row.platform),
        "format": _text(row.format),
        "title": row.title,
        "publishedUrl": row.published_url,
        "publishedAt": when(row.published_at),
    }


def submission(row: Any) -> dict[str, Any]:
    return {
        "id": gid("ContentSubmission", row.id),
        "version": row.version,
        "disclosureVerdict": row.disclosure_verdict,
    }
