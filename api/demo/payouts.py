"""Demo payout rails: each organization's paying account, most influencers' payout details and
tax profiles (some opted in to self-billing), and signed contracts.

Payees of the first organization (EUR and GBP brands) are all paid in EUR: by SEPA, or PayPal
or Wise for those outside the euro area, so its GBP batches are paid at a GBP/EUR rate finance
enters (`DEMO_RATES`, set by `actions` before a batch is marked paid). The second
organization's (USD) payees are paid in USD. One in ten payees has no details: payout files
list them as held back. The accounts are generated (valid checksums, no real bank account).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from schwifty import IBAN
from sqlalchemy import select

from api import contracts
from api.demo.state import Seeding
from api.finance import fx, payout_details, tax
from api.finance.errors import FinanceError
from api.models import Contract, PayoutBatch
from api.models.payouts import EntityType, PayoutMethod, UsTaxForm

# 1 unit of the batch currency in the payee's: what demo finance enters for a batch.
DEMO_RATES: Final = {
    ("GBP", "EUR"): Decimal("1.16900000"),
    ("EUR", "GBP"): Decimal("0.85540000"),
    ("USD", "EUR"): Decimal("0.92310000"),
    ("EUR", "USD"): Decimal("1.08330000"),
}
EURO_AREA: Final = frozenset({"FR", "DE", "IE", "ES", "IT", "NL"})
SIGNED_CONTRACTS: Final = 24


def _account(org_index: int, n: int, country: str) -> payout_details.Account:
    currency = "USD" if org_index == 1 else "EUR"
    if currency == "EUR" and country in EURO_AREA:
        iban = str(IBAN.generate("DE", bank_code="37040044", account_code=f"{n + 1:010d}"))
        return payout_details.validate(
            PayoutMethod.SEPA, currency="EUR", account_holder=f"Payee {n}", iban=iban
        )
    if n % 3 == 0:
        return payout_details.validate(
            PayoutMethod.WISE,
            currency=currency,
            account_holder=f"Payee {n}",
            wise_recipient=str(40_000_000 + n),
        )
    return payout_details.validate(
        PayoutMethod.PAYPAL, currency=currency, paypal_email=f"payee{n}@paypal.example.com"
    )


def seed_payouts(state: Seeding) -> None:
    session = state.session
    for index, org in enumerate(state.orgs):
        debtor = payout_details.validate(
            PayoutMethod.SEPA,
            currency="EUR",
            account_holder=org.name[:70],
            iban=str(IBAN.generate("NL", bank_code="ABNA", account_code=f"{index + 1:010d}")),
            bic="ABNANL2A",
        )
        payout_details.set_debtor(session, org.id, debtor, "demo")
    details = profiles = 0
    for n, plan in enumerate(state.influencers):
        if plan.model is None or n % 10 == 9:
            continue  # held back from payout files: no details
        org_id = plan.model.organization_id
        account = _account(plan.org, n, plan.country)
        payout_details.set_details(session, org_id, plan.model.id, account, "demo", now=state.now)
        details += 1
        if n % 4 == 0:
            us = plan.country == "US"
            profile = tax.Profile(
                country=plan.country,
                entity_type=EntityType.INDIVIDUAL,
                tax_id_kind=None,
                tax_id=None,
                us_form=UsTaxForm.W9 if us else UsTaxForm.W8BEN,
                us_form_signed_on=state.days(-200).date(),
                self_billing=not us,
            )
            tax.set_profile(session, org_id, plan.model.id, profile, "demo", now=state.now)
            profiles += 1
    state.count("payout details", details)
    state.count("tax profiles", profiles)


def enter_rates(state: Seeding, batch: PayoutBatch) -> None:
    """The rates a batch needs for payees paid in another currency, as finance would enter."""
    for (source, target), rate in DEMO_RATES.items():
        if source == batch.currency:
            fx.set_rate(state.session, batch, target, rate, "demo finance", now=state.now)


def sign_contracts(state: Seeding) -> None:
    """Some influencers signed their contract's latest version (the INFLUENCER key's is left
    for the README to sign)."""
    keyed = set(state.result.key_influencer_ids.values())
    signed = 0
    for row in state.partnerships:
        if signed >= SIGNED_CONTRACTS:
            break
        influencer = row.influencer.model
        if influencer is None or influencer.id in keyed:
            continue
        contract = state.session.scalar(
            select(Contract)
            .where(Contract.partnership_id == row.partnership.id)
            .order_by(Contract.version.desc())
            .limit(1)
        )
        if contract is None:
            continue
        try:
            contracts.sign(
                state.session,
                contract,
                influencer_id=influencer.id,
                signed_by=f"influencer:{influencer.id}",
                typed_name=influencer.name,
                ip_hash=None,
                now=state.now,
            )
        except FinanceError:  # a declined or ended partnership: nothing to sign
            continue
        signed += 1
    state.count("signed contracts", signed)
