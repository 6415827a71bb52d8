"""The demo history's orders and refunds, as the brands' shops post them to the tracker.

Each is the JSON body of a postback, turned into the stream event by the tracker's own parser
(`ConversionEvent.from_body`, `RefundEvent.from_body`), so the worker reads exactly what the
tracker would have written. Orders follow the clicks: some shoppers buy minutes to days after
their first click (with the creator's code now and then), others type the code without
clicking; a few orders land outside the attribution window, use a shop-wide code, come seconds
after the click (held: FAST_CONVERSION) or from the creator themself (held: SELF_REFERRAL), or
are charged in another currency than the plan's (held: it cannot be priced). About one order in
fifteen is refunded, in full or in part, days later. One creator is planted risky: their code
leaked to coupon sites in the last day and they ordered with it themselves (`_planted_risk`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from api.demo.catalog import BRANDS
from api.demo.state import PartnershipRow, Seeding
from api.demo.traffic import DAY_MS, LinkTraffic, customer, event_id, to_ms
from api.models.enums import CampaignObjective
from tracker.conversions import ConversionEvent, RefundEvent
from tracker.currencies import CURRENCIES

# Orders per shopper's first click, by what the campaign is for.
CONVERSION_RATES = {CampaignObjective.CONVERSIONS: 0.035, CampaignObjective.TRAFFIC: 0.02}
OTHER_RATE = 0.015
FAST_SHARE = 0.025  # bought within seconds of the click: held for review
LATE_SHARE = 0.02  # bought after the attribution window: not attributed
WITH_CODE_SHARE = 0.2  # a click's order that also carries the creator's code
CODE_ONLY_SHARE = 0.3  # per click's order, one more by someone who typed the code instead
FOREIGN_SHARE = 0.005  # charged in another currency than the plan's
REPEAT_SHARE = 0.25  # a click's shopper who orders again, with no click or code, weeks later
REFUND_SHARE = 0.07
PARTIAL_SHARE = 0.3
SHOP_CODES = ("WELCOME10", "FREESHIP", "SPRING20")
SHOP_CODE_DAYS = 3  # one order with a shop-wide code every few days per brand


@dataclass
class _Order:
    brand: int  # index into BRANDS
    brand_id: int
    occurred_ms: int
    amount: int
    currency: str
    click_id: str | None = None
    code: str | None = None
    customer_id: str | None = None
    referrer: str | None = None


# The planted risky creator (`_planted_risk`): their code leaked to coupon sites in the last day
# and they ordered with it themselves, again and again.
LEAK_REFERRERS = (
    "https://www.retailmenot.com/view/{brand}",
    "https://www.dealabs.com/codes-promo/{brand}",
    "https://www.hotukdeals.com/vouchers/{brand}",
)
LEAKED_ORDERS = 14
SELF_ORDERS = 3


def _major(minor: int, currency: str) -> str:
    return format(Decimal(minor).scaleb(-CURRENCIES[currency]), "f")


def _amount(rng: random.Random, basket: int) -> int:
    return max(500, round(basket * rng.lognormvariate(0, 0.45) / 5) * 5)


def _delay_ms(rng: random.Random, window_days: int) -> int:
    draw = rng.random()
    if draw < FAST_SHARE:
        return rng.randint(3_000, 9_000)
    if draw < FAST_SHARE + LATE_SHARE:
        return (window_days + rng.randint(1, 6)) * DAY_MS
    return min(round(rng.lognormvariate(math.log(1_800), 1.3) * 1000), 5 * DAY_MS)


def _order(
    rng: random.Random, row: PartnershipRow, at: int, currency: str | None = None, **ids: Any
) -> _Order:
    """An order at the shop of the partnership's brand, of one of its usual baskets."""
    brand = BRANDS[row.spec.brand]
    amount = _amount(rng, brand.basket)
    return _Order(
        row.spec.brand, row.campaign.brand_id, at, amount, currency or row.campaign.currency, **ids
    )


def _orders(state: Seeding, traffic: list[LinkTraffic]) -> list[_Order]:
    rng = state.rng
    now_ms = to_ms(state.now)
    orders: list[_Order] = []
    for link_traffic in traffic:
        row, code = link_traffic.link.row, link_traffic.link.code.code
        brand = BRANDS[row.spec.brand]
        rate = CONVERSION_RATES.get(row.spec.objective, OTHER_RATE) * rng.lognormvariate(0, 0.4)
        people = link_traffic.shoppers
        for click, visitor in people:
            if rng.random() >= rate:
                continue
            at = click.ts + _delay_ms(rng, row.campaign.attribution_window_days)
            if at < now_ms - 60_000:
                foreign = rng.random() < FOREIGN_SHARE and brand.currency != "USD"
                orders.append(
                    _order(
                        rng,
                        row,
                        at,
                        "USD" if foreign else None,
                        click_id=click.click_id,
                        code=code if rng.random() < WITH_CODE_SHARE else None,
                        customer_id=visitor.customer_id,
                    )
                )
                again = at + rng.randint(7 * DAY_MS, 60 * DAY_MS)
                if rng.random() < REPEAT_SHARE and again < now_ms - 60_000:
                    orders.append(_order(rng, row, again, customer_id=visitor.customer_id))
            if rng.random() < CODE_ONLY_SHARE:  # saw the post, typed the code at checkout
                at = rng.choice(people)[0].ts + rng.randint(600_000, 2 * DAY_MS)
                if at < now_ms - 60_000:
                    orders.append(_order(rng, row, at, code=code, customer_id=customer(rng)))
        influencer = row.influencer.model
        if influencer is not None and influencer.customer_ids and people:
            # The creator ordered with their own code a day or two ago: waiting for review.
            at = now_ms - rng.randint(DAY_MS, 2 * DAY_MS)
            orders.append(_order(rng, row, at, code=code, customer_id=influencer.customer_ids[0]))
    orders += _recent_fast_orders(state, traffic)
    orders += _shop_code_orders(state, traffic)
    orders += _planted_risk(state, traffic)
    return orders


def _planted_risk(state: Seeding, traffic: list[LinkTraffic]) -> list[_Order]:
    """The first organization's first live partnership with shoppers (not the INFLUENCER key's
    creator) gets a leaked code (orders from coupon sites within the last day, far above the
    code's usual volume) and more orders of the creator's own: its creator-risk is HIGH on first
    run."""
    rng, now_ms = state.rng, to_ms(state.now)
    first_org = state.orgs[0].id
    for link_traffic in traffic:
        row, code = link_traffic.link.row, link_traffic.link.code
        influencer = row.influencer.model
        if row.campaign.organization_id != first_org or not link_traffic.shoppers:
            continue
        if influencer is None or influencer.id == state.result.key_influencer_ids.get(first_org):
            continue  # the INFLUENCER key's creator stays the README's honest one
        if not influencer.customer_ids:  # the shop knows the creator as a customer
            influencer.customer_ids = [f"cus_{influencer.id:08d}"]
            state.session.flush()
        state.result.risky_partnership_id = row.partnership.id
        state.result.leaked_code_id = code.id
        slug = BRANDS[row.spec.brand].name.lower().replace(" ", "-")
        orders = []
        for n in range(LEAKED_ORDERS):
            at = now_ms - rng.randint(600_000, 20 * 3_600_000)
            referrer = LEAK_REFERRERS[n % len(LEAK_REFERRERS)].format(brand=slug)
            orders.append(
                _order(rng, row, at, code=code.code, customer_id=customer(rng), referrer=referrer)
            )
        for _ in range(SELF_ORDERS):
            at = now_ms - rng.randint(3 * DAY_MS, 20 * DAY_MS)
            orders.append(
                _order(rng, row, at, code=code.code, customer_id=influencer.customer_ids[0])
            )
        return orders
    return []


def _recent_fast_orders(state: Seeding, traffic: list[LinkTraffic]) -> list[_Order]:
    """Per organization, an order seconds after the latest click of the last day: the review
    queue always has something in it."""
    latest: dict[int, tuple[int, LinkTraffic, Any]] = {}
    for link_traffic in traffic:
        for click, visitor in link_traffic.shoppers:
            assert click.organization_id is not None
            best = latest.get(click.organization_id)
            if click.ts < to_ms(state.now) - 3_600_000 and (best is None or click.ts > best[0]):
                latest[click.organization_id] = (click.ts, link_traffic, (click, visitor))
    orders = []
    for _org, (ts, link_traffic, (click, visitor)) in sorted(latest.items()):
        at = ts + state.rng.randint(3_000, 8_000)
        orders.append(
            _order(
                state.rng,
                link_traffic.link.row,
                at,
                click_id=click.click_id,
                customer_id=visitor.customer_id,
            )
        )
    return orders


def _shop_code_orders(state: Seeding, traffic: list[LinkTraffic]) -> list[_Order]:
    """Orders with the shop's own codes: the brand posts them too, and nobody earns on them."""
    rng = state.rng
    spans: dict[int, tuple[int, int, int]] = {}  # brand index -> (brand id, first, last click)
    for link_traffic in traffic:
        if not link_traffic.events:
            continue
        row = link_traffic.link.row
        first, last = link_traffic.events[0].ts, link_traffic.events[-1].ts
        _, low, high = spans.get(row.spec.brand, (0, first, last))
        spans[row.spec.brand] = (row.campaign.brand_id, min(low, first), max(high, last))
    orders = []
    for brand_index, (brand_id, first, last) in sorted(spans.items()):
        brand = BRANDS[brand_index]
        for _ in range((last - first) // (SHOP_CODE_DAYS * DAY_MS)):
            orders.append(
                _Order(
                    brand_index,
                    brand_id,
                    rng.randint(first, last),
                    _amount(rng, brand.basket),
                    brand.currency,
                    code=rng.choice(SHOP_CODES),
                    customer_id=customer(rng),
                )
            )
    return orders


def _received_ms(rng: random.Random, occurred_ms: int, now_ms: int) -> int:
    """When the tracker accepted the shop's postback: a second to two minutes later."""
    return min(occurred_ms + rng.randint(1_000, 120_000), now_ms)


def order_events(state: Seeding, traffic: list[LinkTraffic]) -> list[ConversionEvent | RefundEvent]:
    """The conversion and refund events of the history, in no particular order."""
    rng = state.rng
    now_ms = to_ms(state.now)
    orders = _orders(state, traffic)
    # Order numbers count up per shop in the order the orders were placed.
    orders.sort(key=lambda o: (o.brand, o.occurred_ms))
    numbers = {i: 100_001 for i in range(len(BRANDS))}
    events: list[ConversionEvent | RefundEvent] = []
    for order in orders:
        order_id = f"{BRANDS[order.brand].order_prefix}-{numbers[order.brand]}"
        numbers[order.brand] += 1
        body: dict[str, Any] = {
            "order_id": order_id,
            "amount": _major(order.amount, order.currency),
            "currency": order.currency,
            "click_id": order.click_id,
            "discount_code": order.code,
            "customer_id": order.customer_id,
            "occurred_at": order.occurred_ms // 1000,
            "referrer": order.referrer,
        }
        received = _received_ms(rng, order.occurred_ms, now_ms)
        eid = event_id(state, received)
        if order.click_id is None and order.code is None:
            # A repeat order of a known customer, as the shop's order webhook reports it (a
            # postback needs a click id or a code; the shop connectors pass the customer on).
            events.append(
                ConversionEvent(
                    event_id=eid,
                    brand_id=order.brand_id,
                    order_id=order_id,
                    amount=order.amount,
                    currency=order.currency,
                    occurred_at_ms=order.occurred_ms // 1000 * 1000,
                    received_at_ms=received,
                    customer_id=order.customer_id,
                )
            )
        else:
            events.append(
                ConversionEvent.from_body(
                    body, brand_id=order.brand_id, event_id=eid, now_ms=received
                )
            )
        if rng.random() < REFUND_SHARE:
            events += _refunds(state, order, order_id)
    return events


def _refunds(state: Seeding, order: _Order, order_id: str) -> list[RefundEvent]:
    """One refund (in full, or of part of the basket) days after the order; a partial one is
    sometimes followed by a second."""
    rng, now_ms = state.rng, to_ms(state.now)
    parts = [order.amount]
    if rng.random() < PARTIAL_SHARE:
        first = round(order.amount * rng.uniform(0.25, 0.6) / 5) * 5
        parts = (
            [first, round((order.amount - first) * 0.5 / 5) * 5] if rng.random() < 0.15 else [first]
        )
    refunds = []
    at = order.occurred_ms
    for n, amount in enumerate(parts, start=1):
        at += min(round(rng.lognormvariate(math.log(6), 0.6) * DAY_MS), 40 * DAY_MS)
        if at >= now_ms - 60_000 or amount <= 0:
            break
        body = {
            "refund_id": f"{order_id}-R{n}",
            "order_id": order_id,
            "amount": _major(amount, order.currency),
            "occurred_at": at // 1000,
        }
        # The currency is optional, but the tracker fills in the order's when it knows it.
        body["currency"] = order.currency
        received = _received_ms(rng, at, now_ms)
        refunds.append(
            RefundEvent.from_body(
                body, brand_id=order.brand_id, event_id=event_id(state, received), now_ms=received
            )
        )
    return refunds
