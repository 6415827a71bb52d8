"""Self-billing invoices (Directive 2006/112/EC art. 224): the brand issues the invoice for a
payee who agreed to it beforehand (`TaxProfile.self_billing`), one per paid payout line.

Numbers run without gaps per organization (the paying party: batches, the debtor account and
the ledger are the organization's): the counter row is locked and moved on in the transaction
that marks the batch paid, so a rolled-back payment takes no number, and (organization,
number) is unique, so no number is used twice. The parties are copied onto the invoice when it
is issued (an invoice does not change when a profile does), sealed because they hold the
supplier's tax id. The PDF renders from the row, the same bytes every time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.finance.payout_details import seal_json, unseal_json
from api.finance.pdf import Document
from api.ledger.sql import dialect_insert
from api.models import (
    Influencer,
    InvoiceCounter,
    Organization,
    PayoutBatch,
    PayoutLine,
    SelfBillingInvoice,
    TaxProfile,
)
from api.money import format_money


def _next_numbers(session: Session, organization_id: int, count: int) -> int:
    """Takes `count` numbers and returns the first; the counter row stays locked until commit."""
    session.flush()
    session.connection().execute(
        dialect_insert(session, InvoiceCounter.__table__)
        .values(organization_id=organization_id, last_number=0)
        .on_conflict_do_nothing(index_elements=["organization_id"])
    )
    counter = session.scalars(
        select(InvoiceCounter)
        .where(InvoiceCounter.organization_id == organization_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    first = counter.last_number + 1
    counter.last_number += count
    return first


def invoice_label(number: int) -> str:
    return f"SB-{number:06d}"


def issue(
    session: Session, batch: PayoutBatch, lines: list[PayoutLine], *, now: datetime
) -> list[SelfBillingInvoice]:
    """One invoice per line of a payee who opted in to self-billing, numbered in order."""
    ids = [line.influencer_id for line in lines]
    profiles = {
        p.influencer_id: p
        for p in session.scalars(
            select(TaxProfile).where(TaxProfile.influencer_id.in_(ids), TaxProfile.self_billing)
        )
    }
    due = [line for line in lines if line.influencer_id in profiles and (line.paid_amount or 0) > 0]
    if not due:
        return []
    names = dict(
        session.execute(select(Influencer.id, Influencer.name).where(Influencer.id.in_(ids))).all()
    )
    org = session.get_one(Organization, batch.organization_id)
    number = _next_numbers(session, batch.organization_id, len(due))
    out = []
    for offset, line in enumerate(due):
        profile = profiles[line.influencer_id]
        parties = {
            "supplier_name": names.get(line.influencer_id, ""),
            "supplier_country": profile.country,
            "supplier_entity_type": profile.entity_type.value,
            "supplier_tax_id_kind": profile.tax_id_kind,
            "supplier_tax_id": unseal_json(profile.sealed).get("tax_id")
            if profile.sealed
            else None,
            "customer_name": org.name,
            "batch_id": batch.id,
            "as_of": batch.as_of.isoformat(),
        }
        invoice = SelfBillingInvoice(
            organization_id=batch.organization_id,
            influencer_id=line.influencer_id,
            payout_line_id=line.id,
            number=number + offset,
            amount=line.paid_amount,
            currency=line.paid_currency,
            issued_at=now,
            parties=seal_json(parties),
        )
        session.add(invoice)
        out.append(invoice)
    session.flush()
    return out


def render(invoice: SelfBillingInvoice) -> bytes:
    """The invoice as a PDF (art. 226: date, sequential number, parties, supply, amount, and
    the words "Self-billing")."""
    parties = unseal_json(invoice.parties)
    doc = Document(f"Invoice {invoice_label(invoice.number)} - Self-billing", invoice.issued_at)
    doc.rows(
        [
            ("Invoice number", invoice_label(invoice.number)),
            ("Date of issue", invoice.issued_at.date().isoformat()),
            ("Supplier", parties["supplier_name"]),
            ("Supplier country", parties["supplier_country"]),
            (
                "Supplier tax id",
                f"{parties['supplier_tax_id_kind']} {parties['supplier_tax_id']}"
                if parties.get("supplier_tax_id")
                else "-",
            ),
            ("Customer (issuer)", parties["customer_name"]),
        ]
    )
    doc.heading("Supply")
    doc.rows(
        [
            (
                "Services",
                f"Influencer marketing services (commissions and fees) paid in payout batch "
                f"{parties['batch_id']} for earnings available by {parties['as_of']}",
            ),
            ("Taxable amount", format_money(invoice.amount, invoice.currency)),
            ("Total", format_money(invoice.amount, invoice.currency)),
        ]
    )
    doc.paragraph(
        "Self-billing: this invoice is issued by the customer in the name and on behalf of the "
        "supplier, under the self-billing agreement between them (Directive 2006/112/EC, "
        "articles 224 and 226(18)). VAT, where due, is accounted for as the supplier's status "
        "requires (reverse charge for a supplier established in another member state)."
    )
    return doc.bytes()
