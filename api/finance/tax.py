"""Influencers' tax profiles, and the US 1099-NEC report of a year's payments.

A profile says where the payee is taxed, whether it is an individual or a company, its tax or
VAT id (format and check digits verified with `python-stdnum`; stored sealed, shown masked), the
US form it gave (W-9 for a US person, W-8BEN / W-8BEN-E for a foreign individual / entity) with
its dates, and whether it agreed to self-billing (the brand issues its invoices).

1099-NEC: a US payee paid at least the year's threshold in nonemployee compensation is
reported. 26 U.S.C. 6041(a) as amended by P.L. 119-21 s. 70433 puts it at $2,000 for payments
made after 31 December 2025 ($600 before); `TAX_1099_THRESHOLD` overrides it (indexed for
inflation from 2027). Payments are the paid payout lines of the year, in USD.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.exceptions import ValidationError
from stdnum.us import ein, itin, ssn
from stdnum.util import get_cc_module

from api.db import utcnow
from api.domain import validation
from api.finance import csvsafe
from api.finance.errors import FinanceError
from api.finance.payout_details import mask_id, record_change, seal_json, unseal_json
from api.models import Influencer, PayoutBatch, PayoutLine, TaxProfile
from api.models.ledger import PayoutStatus
from api.models.payouts import EntityType, UsTaxForm
from api.money import format_amount

SUBJECT = "TAX_PROFILE"
TAX_ID_KINDS = ("VAT", "EIN", "SSN", "ITIN")
_US = {"EIN": ein, "SSN": ssn, "ITIN": itin}


def threshold_for(year: int, override: int | None) -> int:
    """The 1099-NEC threshold in US cents for payments made in `year`."""
    if override is not None:
        return override
    return 200_000 if year >= 2026 else 60_000


def check_tax_id(kind: str, value: str, country: str) -> str:
    """The id in its compact form, or FinanceError INVALID_TAX_ID."""
    if kind not in TAX_ID_KINDS:
        raise FinanceError(
            "INVALID", f"taxIdKind must be one of {', '.join(TAX_ID_KINDS)}", "taxIdKind"
        )
    module: Any
    if kind == "VAT":
        from stdnum.eu import vat as eu_vat

        prefix = value.strip().upper()[:2]
        module = eu_vat if prefix.isalpha() and prefix.lower() in eu_vat.MEMBER_STATES else None
        if module is None:
            try:
                module = get_cc_module(country.lower(), "vat")
            except (ImportError, ValueError):
                module = None
        if module is None:
            raise FinanceError(
                "INVALID_TAX_ID", f"no VAT number format is known for {country}", "taxId"
            )
    else:
        if country != "US":
            raise FinanceError("INVALID_TAX_ID", f"an {kind} is a US tax id", "taxIdKind")
        module = _US[kind]
    try:
        compact: str = module.validate(value)
    except ValidationError as exc:
        raise FinanceError(
            "INVALID_TAX_ID", f"taxId is not a valid {kind}: {exc}", "taxId"
        ) from None
    return compact


def _form_expiry(form: UsTaxForm, signed_on: date) -> date | None:
    """A W-8BEN stays valid to the end of the third calendar year after it was signed; a W-9
    does not expire."""
    if form in (UsTaxForm.W8BEN, UsTaxForm.W8BEN_E):
        return date(signed_on.year + 3, 12, 31)
    return None


@dataclass(frozen=True)
class Profile:
    country: str
    entity_type: EntityType
    tax_id_kind: str | None
    tax_id: str | None
    us_form: UsTaxForm
    us_form_signed_on: date | None
    self_billing: bool


def validate(
    *,
    country: str,
    entity_type: EntityType,
    tax_id_kind: str | None,
    tax_id: str | None,
    us_form: UsTaxForm,
    us_form_signed_on: date | None,
    self_billing: bool,
    today: date,
) -> Profile:
    code = validation.country(country or "")
    if code is None or len(code) != 2:
        raise FinanceError("INVALID", "country must be an ISO 3166 alpha-2 code", "country")
    compact = None
    if tax_id and tax_id.strip():
        if not tax_id_kind:
            raise FinanceError("REQUIRED", "taxIdKind is required with a taxId", "taxIdKind")
        compact = check_tax_id(tax_id_kind, tax_id, code)
    elif tax_id_kind:
        raise FinanceError("REQUIRED", "taxId is required with a taxIdKind", "taxId")
    if us_form is UsTaxForm.W9 and code != "US":
        raise FinanceError("NOT_ALLOWED", "a W-9 is for US persons", "usForm")
    if us_form in (UsTaxForm.W8BEN, UsTaxForm.W8BEN_E) and code == "US":
        raise FinanceError("NOT_ALLOWED", "a W-8BEN is for foreign persons", "usForm")
    expected = {UsTaxForm.W8BEN: EntityType.INDIVIDUAL, UsTaxForm.W8BEN_E: EntityType.COMPANY}
    if us_form in expected and entity_type is not expected[us_form]:
        raise FinanceError(
            "NOT_ALLOWED",
            f"a {'W-8BEN-E' if us_form is UsTaxForm.W8BEN_E else 'W-8BEN'} is for "
            f"{expected[us_form].value.lower()} payees",
            "usForm",
        )
    if us_form is UsTaxForm.NONE and us_form_signed_on is not None:
        raise FinanceError("NOT_ALLOWED", "no form: leave usFormSignedOn out", "usFormSignedOn")
    if us_form is not UsTaxForm.NONE:
        if us_form_signed_on is None:
            raise FinanceError(
                "REQUIRED", "usFormSignedOn is required with a form", "usFormSignedOn"
            )
        if us_form_signed_on > today:
            raise FinanceError("OUT_OF_RANGE", "usFormSignedOn is in the future", "usFormSignedOn")
    return Profile(
        code,
        entity_type,
        tax_id_kind if compact else None,
        compact,
        us_form,
        us_form_signed_on,
        self_billing,
    )


def profile_of(session: Session, influencer_id: int) -> TaxProfile | None:
    return session.scalar(select(TaxProfile).where(TaxProfile.influencer_id == influencer_id))


def tax_id_of(row: TaxProfile) -> str | None:
    return unseal_json(row.sealed).get("tax_id") if row.sealed else None


def masked_tax_id(row: TaxProfile) -> str | None:
    value = tax_id_of(row)
    return mask_id(value) if value else None


def _snapshot(row: TaxProfile | None) -> dict[str, object]:
    if row is None:
        return {}
    return {
        "country": row.country,
        "entity_type": row.entity_type.value,
        "tax_id_kind": row.tax_id_kind,
        "tax_id": tax_id_of(row),
        "us_form": row.us_form.value,
        "us_form_signed_on": row.us_form_signed_on,
        "self_billing": row.self_billing,
    }


def set_profile(
    session: Session,
    organization_id: int,
    influencer_id: int,
    profile: Profile,
    changed_by: str,
    *,
    now: datetime | None = None,
) -> TaxProfile:
    now = now or utcnow()
    row = profile_of(session, influencer_id)
    before = _snapshot(row)
    if row is None:
        row = TaxProfile(organization_id=organization_id, influencer_id=influencer_id)
        session.add(row)
    row.country = profile.country
    row.entity_type = profile.entity_type
    row.tax_id_kind = profile.tax_id_kind
    row.sealed = seal_json({"tax_id": profile.tax_id}) if profile.tax_id else None
    row.us_form = profile.us_form
    row.us_form_signed_on = profile.us_form_signed_on
    row.us_form_expires_on = (
        _form_expiry(profile.us_form, profile.us_form_signed_on)
        if profile.us_form_signed_on
        else None
    )
    row.self_billing = profile.self_billing
    row.updated_at = now
    row.updated_by = changed_by
    session.flush()
    after = _snapshot(row)
    kinds = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if kinds:
        record_change(session, organization_id, influencer_id, SUBJECT, kinds, changed_by, now=now)
    return row


# --- the 1099-NEC report ------------------------------------------------------------------------

REPORT_HEADER = (
    "organization_id",
    "influencer_id",
    "name",
    "tax_id_kind",
    "tax_id",
    "us_form",
    "payments",
    "paid_amount_usd",
    "threshold_usd",
    "reportable_1099_nec",
)


@dataclass(frozen=True)
class Payee:
    organization_id: int
    influencer_id: int
    name: str
    tax_id_kind: str | None
    tax_id: str | None  # masked: the profile holds it
    us_form: str
    payments: int
    amount: int  # US cents
    reportable: bool


def us_payees(
    session: Session, year: int, threshold: int, org_id: int | None = None
) -> list[Payee]:
    """Per US payee (tax profile country US), the USD it was paid in `year`'s paid batches."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    paid_currency = func.coalesce(PayoutLine.paid_currency, PayoutLine.currency)
    paid_amount = func.coalesce(PayoutLine.paid_amount, PayoutLine.amount)
    stmt = (
        select(
            TaxProfile,
            Influencer.name,
            func.count(PayoutLine.id),
            func.coalesce(func.sum(paid_amount), 0),
        )
        .join(Influencer, Influencer.id == TaxProfile.influencer_id)
        .join(PayoutLine, PayoutLine.influencer_id == TaxProfile.influencer_id)
        .join(PayoutBatch, PayoutBatch.id == PayoutLine.batch_id)
        .where(
            TaxProfile.country == "US",
            PayoutBatch.status == PayoutStatus.PAID.value,
            PayoutBatch.paid_at >= start,
            PayoutBatch.paid_at < end,
            paid_currency == "USD",
        )
        .group_by(TaxProfile.id, Influencer.name)
        .order_by(TaxProfile.organization_id, TaxProfile.influencer_id)
    )
    if org_id is not None:
        stmt = stmt.where(TaxProfile.organization_id == org_id)
    out = []
    for profile, name, count, total in session.execute(stmt).all():
        out.append(
            Payee(
                profile.organization_id,
                profile.influencer_id,
                name,
                profile.tax_id_kind,
                masked_tax_id(profile),
                profile.us_form.value,
                int(count),
                int(total),
                int(total) >= threshold,
            )
        )
    return out


def report_lines(payees: list[Payee], threshold: int) -> Iterator[str]:
    """The report as CSV lines (csvsafe), the tax ids masked (a copy of the report is no copy
    of the ids: the filing takes them from the profiles)."""
    yield csvsafe.line(REPORT_HEADER)
    for p in payees:
        yield csvsafe.line(
            (
                p.organization_id,
                p.influencer_id,
                p.name,
                p.tax_id_kind or "",
                p.tax_id or "",
                p.us_form,
                p.payments,
                format_amount(p.amount, "USD"),
                format_amount(threshold, "USD"),
                "yes" if p.reportable else "no",
            )
        )
