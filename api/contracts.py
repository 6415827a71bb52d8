"""Contracts that are signed: a contract version's terms as a PDF, and the influencer's signature.

What the PDF shows is a snapshot (`Contract.document`): the version's terms plus what they refer
to (brand, campaign, influencer, the compensation plan's fees and commission), taken when the
version is made (`setContractTerms`) or, for a version made before snapshots existed, when it is
signed. The PDF renders from the snapshot alone with the version's timestamp as its creation
date (`api.finance.pdf`), so the same version always gives the same bytes and the SHA-256
recorded at signing can be checked against it later. New terms are a new version to sign; the
old version and its signature stay.

A signature records who (the influencer's key), when, the typed name, the keyed hash of the
client's IP (the lockout's hash, `api.accounts.lockout.client_subject`: no IP is stored) and the
SHA-256 of the exact PDF signed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.campaigns.plans import effective_plan
from api.db import utcnow
from api.domain import partnership_status
from api.domain.commission import CommissionKind, CompensationPlan
from api.finance.errors import FinanceError
from api.finance.pdf import Document, sha256
from api.models import Brand, Campaign, Contract, ContractSignature, Influencer, Partnership
from api.money import format_money

MAX_TYPED_NAME = 200


def _plan_terms(plan: CompensationPlan | None) -> dict[str, str]:
    if plan is None:
        return {"fees": "none", "commission": "none"}
    c, cur = plan.commission, plan.currency
    commission = {
        CommissionKind.NONE: "none",
        CommissionKind.PERCENT: f"{(c.bps or 0) / 100:g} % of each attributed order",
        CommissionKind.FLAT_PER_CONVERSION: (
            f"{format_money(c.flat_minor or 0, cur)} per attributed order"
        ),
        CommissionKind.TIERED: "; ".join(
            f"{t.bps / 100:g} % from {format_money(t.min_monthly_revenue_minor, cur)} a month"
            for t in c.tiers
        ),
    }[c.kind]
    terms = {
        "fees": (
            f"{format_money(plan.flat_fee_per_deliverable_minor, cur)} per published deliverable"
            if plan.flat_fee_per_deliverable_minor
            else "none"
        ),
        "commission": commission,
    }
    if plan.gifted_product is not None:
        terms["gifted_product"] = plan.gifted_product.description
    if plan.bonus is not None:
        terms["bonus"] = f"{format_money(plan.bonus.amount_minor, cur)}: {plan.bonus.description}"
    return terms


def snapshot(session: Session, contract: Contract) -> dict[str, Any]:
    """Everything the version's PDF shows, from the rows as they are now."""
    partnership = session.get_one(Partnership, contract.partnership_id)
    campaign = session.get_one(Campaign, partnership.campaign_id)
    brand = session.get_one(Brand, campaign.brand_id)
    influencer = session.get_one(Influencer, partnership.influencer_id)
    kill_fee = (
        format_money(contract.kill_fee_amount, campaign.currency)
        if contract.kill_fee_amount is not None
        else "none"
    )
    return {
        "version": contract.version,
        "created_at": contract.created_at.isoformat(),
        "brand": brand.name,
        "campaign": campaign.name,
        "influencer": influencer.name,
        "currency": campaign.currency,
        **_plan_terms(effective_plan(campaign, partnership)),
        "deliverables": contract.deliverables_due or "as listed in the campaign",
        "usage_rights": str(contract.usage_rights),
        "usage_rights_days": contract.usage_rights_days,
        "usage_rights_regions": list(contract.usage_rights_regions or []),
        "exclusivity_days": contract.exclusivity_days,
        "exclusivity_categories": list(contract.exclusivity_categories or []),
        "payment_terms_days": contract.payment_terms_days,
        "approval_rounds": contract.approval_rounds,
        "kill_fee": kill_fee,
        "starts_on": campaign.starts_at.date().isoformat() if campaign.starts_at else None,
        "ends_on": campaign.ends_at.date().isoformat() if campaign.ends_at else None,
    }


def document_of(session: Session, contract: Contract) -> dict[str, Any]:
    return contract.document if contract.document else snapshot(session, contract)


def render(document: dict[str, Any]) -> bytes:
    """The PDF of a snapshot: the same snapshot, the same bytes."""
    created = datetime.fromisoformat(document["created_at"])
    doc = Document(
        f"Influencer agreement: {document['brand']} x {document['influencer']} "
        f"(version {document['version']})",
        created,
    )
    doc.rows(
        [
            ("Brand", document["brand"]),
            ("Campaign", document["campaign"]),
            ("Influencer", document["influencer"]),
            (
                "Term",
                f"{document['starts_on'] or 'on signature'} to {document['ends_on'] or 'open'}",
            ),
        ]
    )
    doc.heading("Deliverables")
    doc.paragraph(document["deliverables"])
    doc.heading("Compensation")
    rows = [("Fees", document["fees"]), ("Commission", document["commission"])]
    if "gifted_product" in document:
        rows.append(("Gifted product", document["gifted_product"]))
    if "bonus" in document:
        rows.append(("Bonus", document["bonus"]))
    rows += [
        ("Payment terms", f"net {document['payment_terms_days']} days"),
        ("Kill fee", document["kill_fee"]),
    ]
    doc.rows(rows)
    doc.heading("Usage rights and exclusivity")
    regions = ", ".join(document["usage_rights_regions"]) or "worldwide"
    days = document["usage_rights_days"]
    exclusivity = document["exclusivity_days"]
    doc.rows(
        [
            ("Usage rights", document["usage_rights"]),
            ("Usage period", f"{days} days" if days is not None else "-"),
            ("Usage regions", regions),
            ("Exclusivity", f"{exclusivity} days" if exclusivity else "none"),
            ("Exclusive categories", ", ".join(document["exclusivity_categories"]) or "-"),
            ("Approval rounds", str(document["approval_rounds"])),
        ]
    )
    doc.heading("Acceptance")
    doc.paragraph(
        "The influencer accepts these terms by typing their name in Vouch. Vouch records who "
        "accepted, when, a keyed hash of the client's address and the SHA-256 of this document."
    )
    return doc.bytes()


def pdf_of(session: Session, contract: Contract) -> bytes:
    return render(document_of(session, contract))


def signature_of(session: Session, contract_id: int) -> ContractSignature | None:
    return session.scalar(
        select(ContractSignature).where(ContractSignature.contract_id == contract_id)
    )


def sign(
    session: Session,
    contract: Contract,
    *,
    influencer_id: int,
    signed_by: str,
    typed_name: str,
    ip_hash: str | None,
    expected_sha256: str | None = None,
    now: datetime | None = None,
) -> ContractSignature:
    """Records the influencer's signature of `contract` (the latest version of one of its own
    partnerships); raises FinanceError for anything else."""
    now = now or utcnow()
    name = " ".join((typed_name or "").split())
    if not name:
        raise FinanceError("REQUIRED", "typedName is required: type your full name", "typedName")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        raise FinanceError("INVALID", "typedName must not contain control characters", "typedName")
    if len(name) > MAX_TYPED_NAME:
        raise FinanceError(
            "TOO_LONG", f"typedName is at most {MAX_TYPED_NAME} characters", "typedName"
        )
    partnership = session.get_one(Partnership, contract.partnership_id)
    if partnership.influencer_id != influencer_id:
        raise FinanceError("NOT_FOUND", "no such contract", "contractId")
    if partnership_status.is_terminal(partnership.status):
        raise FinanceError(
            "INVALID_TRANSITION",
            f"the partnership is {partnership.status}: its contract cannot be signed",
            "contractId",
        )
    if signature_of(session, contract.id) is not None:
        raise FinanceError(
            "ALREADY_SIGNED", "this contract version is signed already", "contractId"
        )
    latest = session.scalar(
        select(Contract.version)
        .where(Contract.partnership_id == contract.partnership_id)
        .order_by(Contract.version.desc())
        .limit(1)
    )
    if latest != contract.version:
        raise FinanceError(
            "SUPERSEDED",
            f"version {contract.version} was replaced by version {latest}: sign the latest",
            "contractId",
        )
    if contract.document is None:
        contract.document = snapshot(session, contract)  # what is signed never changes again
    digest = sha256(render(contract.document))
    if expected_sha256 is not None and expected_sha256.strip().lower() != digest:
        raise FinanceError(
            "DOCUMENT_CHANGED",
            "the PDF is not the one you were shown (its SHA-256 differs): read it again",
            "pdfSha256",
        )
    signature = ContractSignature(
        organization_id=contract.organization_id,
        contract_id=contract.id,
        partnership_id=contract.partnership_id,
        signed_by=signed_by,
        typed_name=name,
        signed_at=now,
        ip_hash=ip_hash,
        pdf_sha256=digest,
    )
    session.add(signature)
    if contract.accepted_at is None:
        contract.accepted_at = now
        contract.accepted_by = signed_by
    session.flush()
    return signature
