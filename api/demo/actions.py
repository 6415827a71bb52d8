"""What people did in the app during the demo history, each at the moment it happened and through
the functions the GraphQL mutations call:

- a creator accepting a gifted deal ships the product: a campaign cost (`record_gifted_cost`, as
  `respondToPartnership`);
- a post going live earns the plan's flat fee (`credit_flat_fee`, as `markDeliverablePublished`);
- finance reviews held orders a few days after they came in (`approve_conversion` or
  `reject_conversion`, as `reviewConversion`, by the organization's demo FINANCE key); the last
  days' are still waiting;
- on the 3rd of every month finance makes a payout batch per currency for what was available at
  the end of the month before (`create_payout_batch`, as `createPayoutBatch`) and marks it paid
  two days later (`mark_paid`, as `markPayoutBatchPaid`); at the end, today's batch of what is
  payable now is left a DRAFT (`prepare_todays_batches`).

`Actions` keeps them in time order; the history runs them between the worker's drains, so an
action never comes before the events it depends on, nor a ledger entry before a batch created
after it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial

from sqlalchemy import select

from api.db import utcnow
from api.demo.catalog import BRANDS
from api.demo.payouts import enter_rates
from api.demo.state import Seeding
from api.finance.errors import FinanceError
from api.finance.payouts import create_payout_batch, mark_paid
from api.ledger.posting import (
    PostingError,
    approve_conversion,
    credit_flat_fee,
    record_gifted_cost,
    reject_conversion,
)
from api.models import Conversion, Deliverable, Partnership, PayoutBatch
from api.models.enums import Role
from api.models.events import ConversionStatus
from api.models.ledger import PayoutStatus

PAYOUT_MINIMUM = 5_000  # minor units: smaller balances wait for the next month
PAYOUT_DAY, PAYOUT_HOUR = 3, 10
PAID_AFTER = timedelta(days=2, hours=-1)
REVIEW_AFTER_DAYS = (2, 9)  # a held order is looked at this many days later

APPROVED_FAST = "Checked with the shop: a returning customer who had the basket ready."
REJECTED_FAST = "Bought seconds after the click by a price-watch script: not a shopper."
REJECTED_SELF = "Bought by the creator with their own code: self-referrals earn no commission."
REJECTED_OTHER = "Charged in a currency the plan does not pay in: settled with the creator apart."


class Actions:
    def __init__(self, state: Seeding) -> None:
        self.state = state
        self._queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._reviewed_up_to = 0  # conversion id: held orders after it are not scheduled yet
        self.counts = {"reviews": 0, "flat_fees": 0, "gifted_costs": 0, "payout_batches": 0}
        self._fast_reviews = 0

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (moment, next(self._order), action))

    def first(self) -> datetime | None:
        return self._queue[0][0] if self._queue else None

    def run_until(self, moment: datetime) -> None:
        """Runs every action due before `moment`, oldest first."""
        while self._queue and self._queue[0][0] < moment:
            _, _, action = heapq.heappop(self._queue)
            action()

    # --- known from the start: deals accepted, posts published, payout runs ----------------

    def plan_content_and_deals(self) -> dict[int, list[datetime]]:
        """Schedules gifted costs and flat fees; returns the partnerships' post times (the
        traffic bursts after them)."""
        session = self.state.session
        for row in self.state.partnerships:
            partnership = row.partnership
            if partnership.status in ("ACCEPTED", "ACTIVE", "COMPLETED", "TERMINATED"):
                assert partnership.responded_at is not None
                self.at(partnership.responded_at, partial(self._gift, partnership))
        posts: dict[int, list[datetime]] = {}
        published = session.scalars(
            select(Deliverable)
            .where(
                Deliverable.organization_id.in_(self.state.result.organization_ids),
                Deliverable.status == "PUBLISHED",
            )
            .order_by(Deliverable.id)
        )
        for deliverable in published:
            assert deliverable.published_at is not None
            posts.setdefault(deliverable.partnership_id, []).append(deliverable.published_at)
            self.at(deliverable.published_at, partial(self._flat_fee, deliverable))
        return posts

    def plan_payouts(self, since: datetime) -> None:
        """A run on the 3rd of each month from `since` until now, per organization and
        currency, each batch paid two days later (if that is not after now)."""
        now = self.state.now
        runs = []
        month = date(since.year, since.month, 1)
        while True:
            month = (month + timedelta(days=32)).replace(day=1)
            run = datetime(month.year, month.month, PAYOUT_DAY, PAYOUT_HOUR, tzinfo=UTC)
            if run > now:
                break
            runs.append((run, month - timedelta(days=1)))
        for currency, org in self._currencies():
            for run, as_of in runs:
                self.at(run, partial(self._payout, org, currency, as_of, run))

    def prepare_todays_batches(self) -> None:
        """The end of the history, now: finance prepares a batch of what is payable today in
        every currency without a draft, and leaves it a DRAFT for the demo's FINANCE key. At
        the wall clock's time (the batch must come after what the worker posted)."""
        session = self.state.session
        for currency, org in self._currencies():
            draft = session.scalar(
                select(PayoutBatch.id).where(
                    PayoutBatch.organization_id == org,
                    PayoutBatch.currency == currency,
                    PayoutBatch.status == PayoutStatus.DRAFT,
                )
            )
            if draft is None:  # as of the wall clock's day: what the worker posted is dated so
                # Whatever is owed, however little: days after a monthly run nobody may be owed
                # the minimum yet, and the walkthrough pays a draft in each currency.
                self._payout(org, currency, utcnow().date(), None, minimum=0)

    def _currencies(self) -> list[tuple[str, int]]:
        """(currency, organization id) of every organization's brands."""
        return [
            (currency, org.id)
            for index, org in enumerate(self.state.orgs)
            for currency in sorted({b.currency for b in BRANDS if b.org == index})
        ]

    # --- found as the worker records them: held orders -------------------------------------

    def plan_reviews(self) -> None:
        """Schedules the review of every order the worker has put on hold since the last call;
        one reviewed after now stays held (the queue)."""
        state = self.state
        held = state.session.scalars(
            select(Conversion)
            .where(
                Conversion.organization_id.in_(state.result.organization_ids),
                Conversion.status == ConversionStatus.HELD,
                Conversion.id > self._reviewed_up_to,
            )
            .order_by(Conversion.id)
        ).all()
        for conversion in held:
            self._reviewed_up_to = conversion.id
            day = conversion.occurred_at + timedelta(days=state.rng.randint(*REVIEW_AFTER_DAYS))
            moment = day.replace(hour=state.rng.randint(9, 16), minute=state.rng.randrange(60))
            if moment < state.now:
                self.at(moment, partial(self._review, conversion, moment))

    # --- the actions ------------------------------------------------------------------------

    def _gift(self, partnership: Partnership) -> None:
        if record_gifted_cost(self.state.session, partnership, now=partnership.responded_at):
            self.counts["gifted_costs"] += 1

    def _flat_fee(self, deliverable: Deliverable) -> None:
        if credit_flat_fee(self.state.session, deliverable, now=deliverable.published_at):
            self.counts["flat_fees"] += 1

    def _review(self, conversion: Conversion, moment: datetime) -> None:
        state = self.state
        reviewer = state.labels[conversion.organization_id][Role.FINANCE]
        reasons = set(conversion.hold_reasons)
        # Of the orders seconds after their click, the shop confirms every other one as a real
        # customer; the rest were scripts.
        fast = reasons == {"FAST_CONVERSION"}
        self._fast_reviews += fast
        try:
            if fast and self._fast_reviews % 2 == 1:
                approve_conversion(state.session, conversion, reviewer, APPROVED_FAST, now=moment)
            else:
                reason = (
                    REJECTED_SELF
                    if "SELF_REFERRAL" in reasons
                    else REJECTED_FAST
                    if fast
                    else REJECTED_OTHER
                )
                reject_conversion(state.session, conversion, reviewer, reason, now=moment)
        except PostingError:  # cannot be priced: the reviewer rejects it instead
            reject_conversion(state.session, conversion, reviewer, REJECTED_OTHER, now=moment)
        self.counts["reviews"] += 1

    def _payout(
        self,
        org_id: int,
        currency: str,
        as_of: date,
        run: datetime | None,
        minimum: int = PAYOUT_MINIMUM,
    ) -> None:
        session = self.state.session
        try:
            batch = create_payout_batch(session, org_id, currency, as_of, minimum, now=run)
        except FinanceError as exc:
            if exc.code == "NOTHING_PAYABLE":  # a quiet month: nobody is owed the minimum yet
                return
            raise
        self.counts["payout_batches"] += 1
        enter_rates(self.state, batch)  # payees paid in another currency than the batch's
        paid_at = run + PAID_AFTER if run is not None else None
        if paid_at is not None and paid_at < self.state.now:
            reference = f"{currency}-TRANSFER-{as_of:%Y%m}-{org_id}"
            self.at(paid_at, partial(self._pay, batch, reference, paid_at))

    def _pay(self, batch: PayoutBatch, reference: str, moment: datetime) -> None:
        mark_paid(self.state.session, batch, reference, now=moment)
