"""What an INFLUENCER key reaches: its own results, never another influencer's.

A campaign has two influencers. B's figures are all "marked" (every amount and click count of
B's is at least `MARK`, A's are all below it), so any number at or above `MARK` in what A reads
is B's money or a total that includes it. The queries are not written by hand: they are
generated from the schema (`api.graphql.schema.schema`), one per field of Query, selecting every
field reachable from it, so a field added later is walked too. Every field that returns money, a
number or a value type carrying money must also be classified below (`FIGURES`): a new one fails
`test_every_figure_is_classified` until someone decides whether it is the viewer's own, a count,
a setting or refused.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
)
from graphql.language import Lexer, Source, TokenKind

from api.db import utcnow
from api.domain.commission import Commission, CommissionKind, CompensationPlan
from api.finance.payouts import create_payout_batch
from api.graphql.schema import schema as vouch_schema
from api.ledger.posting import approve_conversion
from api.models import DiscountCode, MetricSnapshot, PostMetricSnapshot, TrackedLink
from api.models.enums import Role
from api.models.events import Click, ClickRollup, Conversion
from api.models.ledger import CampaignCost
from api.settings import get_settings
from tests.factories import gid
from tests.rollups import roll_up_daily
from tests.test_query_counts import count_statements
from tracker import globalid
from tracker.globalid import encode

MARK = 1_000_000  # B's amounts (minor units) and click counts are >= MARK; A's are below
SCHEMA: GraphQLSchema = vouch_schema._schema
MAX_DEPTH = get_settings().max_query_depth - 2  # room for the small value types below it

# --- what each figure is ---------------------------------------------------------------------
# OWN: a figure of rows the viewer may see (its own), or a sum over them: never B's.
# COUNT: a count: as A it must count A's rows only (checked against A's rows).
# SETTING: a term or setting of a row the viewer may see (days, versions, rates, positions in a
#   caption), not a result of anyone's.
# REFUSED: null for an INFLUENCER key (the figure is about every partnership of a campaign).
OWN, COUNT, SETTING, REFUSED = "OWN", "COUNT", "SETTING", "REFUSED"
FIGURES = {
    "Query.balance": OWN,
    "Query.statement": OWN,
    "Balance.pending": OWN,
    "Balance.available": OWN,
    "Balance.paid": OWN,
    "Balance.held": OWN,
    "Statement.openingBalance": OWN,
    "Statement.closingBalance": OWN,
    "Statement.credits": OWN,
    "Statement.debits": OWN,
    "Statement.firstOrderRevenue": OWN,
    "Statement.repeatRevenue": OWN,
    "BrandConnection.totalCount": COUNT,
    "InfluencerConnection.totalCount": COUNT,
    "CampaignConnection.totalCount": COUNT,
    "PartnershipConnection.totalCount": COUNT,
    "ConversionConnection.totalCount": COUNT,
    "LedgerEntryConnection.totalCount": COUNT,
    "PayoutBatchConnection.totalCount": COUNT,
    "ApiKeyConnection.totalCount": COUNT,
    "UserConnection.totalCount": COUNT,
    "ContentFindingConnection.totalCount": COUNT,
    "DeliverableConnection.totalCount": COUNT,
    "Influencer.totalFollowers": OWN,
    "Influencer.engagementRate": OWN,
    "Influencer.performance": OWN,
    "AudienceQuality.score": OWN,
    "AudienceSignal.weight": SETTING,
    "Campaign.attributionWindowDays": SETTING,
    "Campaign.holdDays": SETTING,
    "Campaign.repeatOrderMonths": SETTING,
    "Campaign.budget": REFUSED,
    "Campaign.compensationPlan": REFUSED,
    "Campaign.performance": OWN,
    "DisclosureCompliance.pass": COUNT,
    "DisclosureCompliance.needsReview": COUNT,
    "DisclosureCompliance.fail": COUNT,
    "DisclosureCompliance.unchecked": COUNT,
    "DisclosureCompliance.awaitingContent": COUNT,
    "DisclosureCompliance.overridden": COUNT,
    "Partnership.performance": OWN,
    "Partnership.compensation": OWN,
    "TrackedLink.performance": OWN,
    # Series, breakdowns and leaderboards: sums over the viewer's own partnerships' rollups.
    "Campaign.performanceSeries": OWN,
    # (performanceBreakdown and leaderboard: their rows' `performance`, below)
    "Partnership.performanceSeries": OWN,
    "Influencer.performanceSeries": OWN,
    "TrackedLink.performanceSeries": OWN,
    "PerformanceBucket.clicks": OWN,
    "PerformanceBucket.uniqueClicks": OWN,
    "PerformanceBucket.conversions": OWN,
    "PerformanceBucket.revenue": OWN,
    "PerformanceBucket.commission": OWN,
    "PerformanceBucket.cost": OWN,
    **{
        f"PerformanceBucket.{name}": OWN
        for name in [
            "impressions",
            "reach",
            "views",
            "engagements",
            "engagementRate",
            "ctr",
            "cpm",
            "cpe",
        ]
    },
    "LeaderboardEntry.value": OWN,
    "LeaderboardEntry.rank": SETTING,
    "Performance.clicks": OWN,
    "Performance.uniqueClicks": OWN,
    "Performance.conversions": OWN,
    "Performance.revenue": OWN,
    "Performance.firstOrderRevenue": OWN,
    "Performance.repeatRevenue": OWN,
    "Performance.commission": OWN,
    "Performance.cost": OWN,
    "Performance.conversionRate": OWN,
    "Performance.epc": OWN,
    "Performance.averageOrderValue": OWN,
    "Performance.roi": OWN,
    "Performance.roas": OWN,
    "Performance.impressions": OWN,
    "Performance.reach": OWN,
    "Performance.views": OWN,
    "Performance.engagements": OWN,
    "Performance.engagementRate": OWN,
    "Performance.ctr": OWN,
    "Performance.cpm": OWN,
    "Performance.cpe": OWN,
    "Performance.cpv": OWN,
    "Performance.costPerConversion": OWN,
    # A's own posts' results (B's deliverables are not A's to see) and their cost share.
    **{
        f"PostMetrics.{name}": OWN
        for name in [
            "impressions",
            "reach",
            "views",
            "likes",
            "comments",
            "shares",
            "saves",
            "linkClicks",
            "followersAtPosting",
            "engagements",
            "engagementRate",
            "engagementRateByFollowers",
            "ctr",
            "cost",
            "cpm",
            "cpe",
            "cpv",
            "costPerClick",
        ]
    },
    "SocialAccount.followers": OWN,
    "SocialAccount.following": OWN,
    "SocialAccount.posts": OWN,
    "SocialAccount.avgLikes": OWN,
    "SocialAccount.avgComments": OWN,
    "SocialAccount.avgViews": OWN,
    "SocialAccount.suspiciousAudiencePct": OWN,
    # Audience shares (basis points) of the viewer's own accounts or influencer only (scoped
    # through AudienceSnapshot / InfluencerFacet.influencer_scope; tests/test_audience.py).
    "AudienceSnapshot.fakeShare": OWN,
    "AudienceSummary.fakeShare": OWN,
    "CountryShare.share": OWN,
    "AgeBandShare.share": OWN,
    "GenderShare.share": OWN,
    "SocialAccount.engagementRate": OWN,
    "MetricSnapshot.followers": OWN,
    "MetricSnapshot.following": OWN,
    "MetricSnapshot.avgLikes": OWN,
    "MetricSnapshot.avgComments": OWN,
    "MetricSnapshot.avgViews": OWN,
    "MetricSnapshot.postsSampled": OWN,
    "MetricSnapshot.engagementRate": OWN,
    # A's own terms (under its partnership: the campaign's plan is refused).
    "CompensationPlan.flatFeePerDeliverable": OWN,
    "CompensationPlan.commission": OWN,
    "CompensationPlan.giftedProduct": OWN,
    "CompensationPlan.bonus": OWN,
    "CompensationPlan.repeatOrderRateBps": SETTING,
    "CompensationPlan.leakedOrderRateBps": SETTING,
    # The creator-risk is the brand's: null for an INFLUENCER key (`Influencer.risk`).
    "RiskAssessment.score": REFUSED,
    "RiskReason.weight": REFUSED,
    "Commission.rateBps": SETTING,
    "Commission.flatPerConversion": OWN,
    "Commission.tiers": OWN,
    "CommissionTier.minMonthlyRevenue": SETTING,
    "CommissionTier.rateBps": SETTING,
    "GiftedProduct.value": OWN,
    "Bonus.amount": OWN,
    "Contract.version": SETTING,
    "Contract.usageRightsDays": SETTING,
    "Contract.exclusivityDays": SETTING,
    "Contract.paymentTermsDays": SETTING,
    "Contract.approvalRounds": SETTING,
    "ContentSubmission.version": SETTING,
    "DisclosureFinding.start": SETTING,
    "DisclosureFinding.end": SETTING,
    "DiscountCode.percentOff": SETTING,
    "DiscountCode.commissionRateBps": SETTING,
    "Conversion.amount": OWN,
    "LedgerEntry.amount": OWN,
    "LedgerEntry.basisPoints": SETTING,
    "PayoutBatch.minimumAmount": SETTING,
    "PayoutBatch.total": OWN,
    "PayoutBatch.lines": OWN,
    "PayoutLine.amount": OWN,
    "PayoutLine.paidAmount": OWN,
    "PayoutLine.fxRate": SETTING,
    "SelfBillingInvoice.amount": OWN,
    # FINANCE and ADMIN only: refused as a whole (FORBIDDEN) for an INFLUENCER key.
    "Query.payoutFile": REFUSED,
    "PayoutFile.lineCount": REFUSED,
    "PayoutFile.totals": REFUSED,
    "PayoutFxRate.rate": SETTING,
    # webhooks: the ADMIN's only (an INFLUENCER key sees no endpoint, delivery or attempt)
    "WebhookEndpointConnection.totalCount": COUNT,
    "WebhookDeliveryConnection.totalCount": COUNT,
    "WebhookDelivery.attemptCount": SETTING,
    "WebhookDelivery.lastStatusCode": SETTING,
    "WebhookAttempt.attempt": SETTING,
    "WebhookAttempt.statusCode": SETTING,
    "WebhookAttempt.durationMs": SETTING,
    # Breakdown rows and leaderboard entries: a key or a rank and a Performance.
    "BreakdownRow.performance": OWN,
    "LeaderboardEntry.performance": OWN,
    # Ambassador programs: a program's published terms are settings; a member's figures (its
    # month's progress, what its level review measured, its retainer, its shipments) are its own.
    "ProgramConnection.totalCount": COUNT,
    "ProgramMemberConnection.totalCount": COUNT,
    "ShipmentConnection.totalCount": COUNT,
    "ProgramLevel.rank": SETTING,
    "ProgramLevel.compensation": SETTING,
    "ProgramLevel.conversionsThreshold": SETTING,
    "ProgramLevel.revenueThreshold": SETTING,
    "ProgramBonus.amount": SETTING,
    "ProgramBonus.targetConversions": SETTING,
    "ProgramBonus.targetRevenue": SETTING,
    "ProgramMember.bonusProgress": OWN,
    "BonusProgress.target": SETTING,
    "BonusProgress.targetRevenue": SETTING,
    "BonusProgress.achieved": OWN,
    "BonusProgress.achievedRevenue": OWN,
    "BonusProgress.remaining": OWN,
    "BonusProgress.remainingRevenue": OWN,
    "ProgramLevelChange.measured": OWN,
    "Retainer.amount": OWN,
    "Shipment.quantity": OWN,
    "Shipment.value": OWN,
    "Shipment.totalValue": OWN,
}
NUMBERS = {"Int", "Float", "Decimal"}


def _is_value_type_with_money(t: Any) -> bool:
    """An object type that is not a Node (a value, not a row) with a Money field."""
    return (
        isinstance(t, GraphQLObjectType)
        and not any(i.name == "Node" for i in t.interfaces)
        and t.name != "Money"
        and any(get_named_type(f.type).name == "Money" for f in t.fields.values())
    )


def _is_figure(f: GraphQLField) -> bool:
    t = get_named_type(f.type)
    return t.name in NUMBERS or t.name == "Money" or _is_value_type_with_money(t)


def reachable_types() -> list[GraphQLObjectType]:
    """Object types reachable from Query, `node(id:)`'s implementations included."""
    seen: dict[str, GraphQLObjectType] = {}
    queue: list[Any] = [SCHEMA.query_type]
    while queue:
        t = queue.pop(0)
        if isinstance(t, GraphQLInterfaceType):
            queue.extend(SCHEMA.get_possible_types(t))
            continue
        if not isinstance(t, GraphQLObjectType) or t.name in seen:
            continue
        seen[t.name] = t
        queue.extend(get_named_type(f.type) for f in t.fields.values())
    return list(seen.values())


def reachable_figures() -> set[str]:
    return {
        f"{t.name}.{name}"
        for t in reachable_types()
        if t.name != "Money"
        for name, f in t.fields.items()
        if _is_figure(f)
    }


def test_every_figure_is_classified():
    found = reachable_figures()
    unclassified = sorted(found - FIGURES.keys())
    assert not unclassified, (
        f"classify these fields in FIGURES (own, count, setting or refused): {unclassified}"
    )
    assert not sorted(FIGURES.keys() - found), "FIGURES names fields that no longer exist"


# --- the documents: every field reachable from each field of Query ---------------------------


@dataclass
class Shape:
    """A selection: response key -> (parent type, field name, the sub-selection if any)."""

    fields: dict[str, tuple[str, str, Shape | None]] = field(default_factory=dict)


def _cheap(t: Any, stack: tuple[str, ...] = ()) -> bool:
    """A small value type (scalars, or other small value types): always selected in full."""
    if not isinstance(t, GraphQLObjectType):
        return True
    if any(i.name == "Node" for i in t.interfaces) or t.name in stack:
        return False
    return all(_cheap(get_named_type(f.type), (*stack, t.name)) for f in t.fields.values())


@dataclass(frozen=True)
class EnumValue:
    """An enum value in an argument (written bare, not quoted)."""

    name: str


def _literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, EnumValue):
        return value.name
    return json.dumps(value)


def _arguments(parent: str, name: str, f: GraphQLField, values: dict[str, Any]) -> str:
    """The arguments of a field that `values` has (by `Type.field.argument` or by argument
    name); a required argument it lacks fails the test, so a new one gets a value."""
    given = []
    for arg_name, arg in f.args.items():
        key = next((k for k in (f"{parent}.{name}.{arg_name}", arg_name) if k in values), None)
        if key is None:
            assert not isinstance(arg.type, GraphQLNonNull) or arg.default_value is not None, (
                f"no value for the required argument {parent}.{name}({arg_name}:): add one"
            )
            continue
        given.append(f"{arg_name}: {_literal(values[key])}")
    return f"({', '.join(given)})" if given else ""


def _select(
    t: GraphQLObjectType, values: dict[str, Any], expanded: set[str], depth: int
) -> tuple[str, Shape]:
    """The selection of every field of `t`: object types are expanded once per document (the
    first place they appear, depth first, so a type left out here was selected in full earlier
    in the document: documents stay small and acyclic) except small value types (Money,
    Performance, ...), which are selected wherever they are."""
    parts, shape = [], Shape()
    for name, f in t.fields.items():
        if name == "edges":  # the same nodes as `nodes`
            continue
        target = get_named_type(f.type)
        if isinstance(target, GraphQLInterfaceType):
            continue  # node(id:): see test_nodes_of_others_are_null
        args = _arguments(t.name, name, f, values)
        if isinstance(target, GraphQLScalarType | GraphQLEnumType):
            parts.append(name + args)
            shape.fields[name] = (t.name, name, None)
            continue
        assert isinstance(target, GraphQLObjectType)
        if not _cheap(target):
            if target.name in expanded or depth >= MAX_DEPTH:
                continue
            expanded.add(target.name)
        sub, sub_shape = _select(target, values, expanded, depth + 1)
        parts.append(f"{name}{args} {{ {sub} }}")
        shape.fields[name] = (t.name, name, sub_shape)
    return " ".join(parts), shape


def documents(values: dict[str, Any]) -> Iterator[tuple[str, str, Shape]]:
    """(root field, document, shape) for every field of Query but `node`."""
    query = SCHEMA.query_type
    assert query is not None
    for name, f in query.fields.items():
        target = get_named_type(f.type)
        if isinstance(target, GraphQLInterfaceType):
            continue
        args = _arguments("Query", name, f, values)
        if isinstance(target, GraphQLObjectType):
            sub, sub_shape = _select(target, values, {target.name}, 2)
            doc = f"{{ {name}{args} {{ {sub} }} }}"
        else:
            sub_shape, doc = None, f"{{ {name}{args} }}"
        shape = Shape({name: ("Query", name, sub_shape)})
        yield name, doc, shape


def _tokens(doc: str) -> int:
    lexer, n = Lexer(Source(doc)), 0
    while lexer.advance().kind != TokenKind.EOF:
        n += 1
    return n


@dataclass
class Seen:
    """Every figure a walk returned: (Type.field, value, path)."""

    values: list[tuple[str, Any, str]] = field(default_factory=list)
    objects: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def of(self, name: str) -> list[Any]:
        return [v for n, v, _ in self.values if n == name]


def _collect(data: Any, shape: Shape, path: str, seen: Seen) -> None:
    if data is None:
        return
    if isinstance(data, list):
        for i, item in enumerate(data):
            _collect(item, shape, f"{path}[{i}]", seen)
        return
    for key, (parent, name, sub) in shape.fields.items():
        value = data.get(key)
        seen.values.append((f"{parent}.{name}", value, f"{path}.{key}"))
        if sub is not None and value is not None:
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                if item is not None:
                    seen.objects.append((f"{parent}.{name}", item, f"{path}.{key}[{i}]"))
                    _collect(item, sub, f"{path}.{key}[{i}]", seen)


def walk(gql: Any, key: str, values: dict[str, Any]) -> Seen:
    """Runs every generated document with `key`; documents refused as a whole (FORBIDDEN, e.g.
    apiKeys for an INFLUENCER key) are left out."""
    seen = Seen()
    limit = get_settings().max_tokens
    for root, doc, shape in documents(values):
        assert _tokens(doc) <= limit, f"the {root} document is too long to send"
        body = gql.post(key, doc).json()
        errors = body.get("errors") or []
        if errors:
            codes = {(e.get("extensions") or {}).get("code") for e in errors}
            assert codes == {"FORBIDDEN"}, (root, errors)
            continue
        _collect(body["data"], shape, "", seen)
    return seen


# --- the world -------------------------------------------------------------------------------


def _marked(value: Any) -> bool:
    """A number or amount at or above MARK: B's, or a total including B's."""
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return abs(Decimal(value["amount"])) * 100 >= MARK  # every amount here is in EUR
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return abs(value) >= MARK
    if isinstance(value, str):
        try:
            return abs(Decimal(value)) >= MARK
        except ArithmeticError:
            return False
    return False


@dataclass
class Side:
    influencer: Any
    partnership: Any
    link: Any
    code: Any
    deliverables: int


def _results(db: Any, w: dict[str, Any], side: Side, clicks: int, orders: list[int], gift: int):
    """`clicks` clicks (unique: 3/4 of them) in the last hour and approved orders through the
    side's link, and a gifted product: what performance, balances and payouts are made of."""
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    common = {
        "organization_id": w["org"].id,
        "link_id": side.link.id,
        "partnership_id": side.partnership.id,
        "campaign_id": w["campaign"].id,
    }
    db.add(
        ClickRollup(
            hour=now - timedelta(hours=1),
            clicks=clicks,
            unique_clicks=clicks * 3 // 4,
            bot_hits=0,
            **common,
        )
    )
    click_id = f"click-{secrets.token_hex(6)}"  # ids never all digits: numbers to _marked
    db.add(Click(click_id=click_id, occurred_at=now - timedelta(hours=1), **common))
    for amount in orders:
        order = Conversion.keyed(
            db,
            organization_id=w["org"].id,
            brand_id=w["brand"].id,
            order_id=f"order-{secrets.token_hex(6)}",
            amount=amount,
            currency="EUR",
            occurred_at=now - timedelta(minutes=30),
            received_at=now,
            click_id=click_id,
            link_id=side.link.id,
            partnership_id=side.partnership.id,
            influencer_id=side.influencer.id,
            campaign_id=w["campaign"].id,
            attributed_via="CLICK",
            status="HELD",
        )
        db.add(order)
        db.flush()
        assert approve_conversion(db, order, "test")
    db.add(
        CampaignCost(
            organization_id=w["org"].id,
            campaign_id=w["campaign"].id,
            partnership_id=side.partnership.id,
            influencer_id=side.influencer.id,
            kind="GIFTED_PRODUCT",
            amount=gift,
            currency="EUR",
            idempotency_key=f"cost:{secrets.token_hex(6)}",
        )
    )


# A: 40 clicks (30 unique), orders of 100.00 and 50.00 at the plan's 10 %, a 7.00 gift.
A_CLICKS, A_ORDERS, A_GIFT = 40, [10_000, 5_000], 700
# B: every figure marked.
B_CLICKS, B_ORDERS, B_GIFT = 2 * MARK, [50 * MARK, 50 * MARK, 50 * MARK], 2 * MARK


def _performance(clicks: int, orders: list[int], gift: int) -> dict[str, Any]:
    revenue, commission = sum(orders), sum(orders) // 10
    return {
        "clicks": clicks,
        "uniqueClicks": clicks * 3 // 4,
        "conversions": len(orders),
        "revenue": revenue,
        "commission": commission,
        "cost": commission + gift,
    }


A_PERFORMANCE = _performance(A_CLICKS, A_ORDERS, A_GIFT)
A_LINK_PERFORMANCE = _performance(A_CLICKS, A_ORDERS, 0)  # gifts go to partnerships, not links
TOTAL_PERFORMANCE = {
    k: v + _performance(B_CLICKS, B_ORDERS, B_GIFT)[k] for k, v in A_PERFORMANCE.items()
}


@pytest.fixture
def world(factory: Any, db: Any) -> dict[str, Any]:
    org = factory.org()
    brand = factory.brand(org)
    plan = CompensationPlan(
        currency="EUR",
        commission=Commission(kind=CommissionKind.PERCENT, bps=1000),
        flat_fee_per_deliverable_minor=3 * MARK,  # B's terms (B has no override)
    )
    campaign = factory.campaign(
        brand, hold_days=0, budget_amount=900 * MARK, compensation=plan.to_dict()
    )
    w: dict[str, Any] = {"org": org, "brand": brand, "campaign": campaign}
    sides = {}
    for name, followers, override, deliverables in (
        ("A", 20_000, {"flat_fee_per_deliverable_minor": 30_000}, 1),
        ("B", 5 * MARK, None, 3),
    ):
        influencer = factory.influencer(org, accounts=0)
        account = factory.account(influencer, followers=followers, handle=f"{name}{org.id}")
        db.add(
            MetricSnapshot(
                organization_id=org.id,
                social_account_id=account.id,
                captured_at=utcnow() - timedelta(days=1),
                followers=followers,
                avg_likes=600,
                avg_comments=20,
                avg_views=0,
                posts_sampled=12,
            )
        )
        partnership = factory.partnership(campaign, influencer, compensation_override=override)
        factory.contract(partnership)
        for i in range(deliverables):
            post = factory.deliverable(
                partnership,
                title=f"{name} post {i}",
                status="PUBLISHED",
                published_at=utcnow() - timedelta(hours=2),
            )
            # B's post results are marked too (its smallest counter, comments, is MARK), and
            # its three posts' sums still fit a GraphQL Int.
            scale = 1 if name == "A" else MARK // 5
            db.add(
                PostMetricSnapshot(
                    organization_id=org.id,
                    deliverable_id=post.id,
                    captured_at=utcnow() - timedelta(hours=1),
                    impressions=1000 * scale,
                    reach=800 * scale,
                    views=500 * scale,
                    likes=50 * scale,
                    comments=5 * scale,
                    shares=2 * scale,
                    saves=3 * scale,
                    link_clicks=20 * scale,
                    followers_at_posting=followers,
                    source="MANUAL",
                )
            )
        common = {
            "organization_id": org.id,
            "brand_id": brand.id,
            "campaign_id": campaign.id,
            "partnership_id": partnership.id,
        }
        link = TrackedLink(
            **common, code=f"t{secrets.token_hex(4)}", destination_url="https://shop.example.com"
        )
        code = DiscountCode(
            **common, code=f"{name}{secrets.token_hex(3)}".upper(), percent_off_bps=1000
        )
        db.add_all([link, code])
        db.flush()
        sides[name] = Side(influencer, partnership, link, code, deliverables)
    _results(db, w, sides["A"], A_CLICKS, A_ORDERS, A_GIFT)
    _results(db, w, sides["B"], B_CLICKS, B_ORDERS, B_GIFT)
    db.flush()
    batch = create_payout_batch(db, org.id, "EUR", utcnow().date(), 0)
    db.commit()
    roll_up_daily(db, org.id)  # the clicks above went straight into the hourly rollup
    w.update(
        batch=batch,
        a=sides["A"],
        b=sides["B"],
        influencer_key=factory.key(org, Role.INFLUENCER, sides["A"].influencer),
        manager_key=factory.key(org, Role.MANAGER),
    )
    return w


def _values(w: dict[str, Any], side: Side) -> dict[str, Any]:
    """Arguments of the generated documents, the ids being `side`'s."""
    now = utcnow()
    return {
        "first": 100,
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
        "currency": "EUR",
        "within": 3650,
        "granularity": EnumValue("HOUR"),
        "by": EnumValue("INFLUENCER"),
        "metric": EnumValue("REVENUE"),
        "period": f"{now:%Y-%m}",
        "influencerId": gid(side.influencer),
        "Query.brand.id": gid(w["brand"]),
        "Query.campaign.id": gid(w["campaign"]),
        "Query.influencer.id": gid(side.influencer),
        "Query.partnership.id": gid(side.partnership),
        # No program in this world (tests/programs/ check members' scope): an id of none.
        "Query.program.id": globalid.encode("Program", 2**40),
        "batchId": gid(w["batch"]),
        "format": EnumValue("WISE_BATCH_CSV"),
        # any endpoint's: the ADMIN's only, so neither key sees one
        "Query.webhookDeliveries.endpointId": encode("WebhookEndpoint", 1),
        "input": {
            "caption": "#ad New serum",
            "platform": EnumValue("INSTAGRAM"),
            "format": EnumValue("POST"),
        },
    }


def _amount(money: dict[str, Any]) -> int:
    return int(Decimal(money["amount"]) * 100)


def _figures(performance: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _amount(v) if isinstance(v, dict) else v
        for k, v in performance.items()
        if k in A_PERFORMANCE
    }


def _performances(seen: Seen) -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, path, obj) for name, obj, path in seen.objects if name.endswith(".performance")]


# --- the walks -------------------------------------------------------------------------------


def test_documents_cover_every_figure(world):
    """The generated documents select every classified figure somewhere (so the walks below
    read them all) and fit the API's limits."""
    selected: set[str] = set()

    def names(shape: Shape) -> Iterator[str]:
        for parent, name, sub in shape.fields.values():
            yield f"{parent}.{name}"
            if sub is not None:
                yield from names(sub)

    for _, _, shape in documents(_values(world, world["a"])):
        selected.update(names(shape))
    assert sorted(FIGURES.keys() - selected) == []


def test_an_influencer_reads_no_figure_of_another(gql, world):
    a, b = world["a"], world["b"]
    key = world["influencer_key"]
    for side in (a, b):  # ids of A's rows, then of B's
        seen = walk(gql, key, _values(world, side))
        leaks = [(name, value, path) for name, value, path in seen.values if _marked(value)]
        assert leaks == [], leaks
        # Every performance (campaign, partnership, influencer, link) is A's own.
        performances = _performances(seen)
        assert performances, "the walk read no performance"
        # ... those inside breakdown rows (by INFLUENCER: A's row) and leaderboard entries too.
        for row in ("BreakdownRow.performance", "LeaderboardEntry.performance"):
            assert row in {name for name, _, _ in performances}, row
        for name, path, p in performances:
            own = A_LINK_PERFORMANCE if name == "TrackedLink.performance" else A_PERFORMANCE
            assert _figures(p) == own, path
        # Counts count A's rows: every connection shows all it counts on its one page.
        for name, obj, path in seen.objects:
            if "totalCount" in obj and "nodes" in obj:
                assert obj["totalCount"] == len(obj["nodes"]), (name, path, obj)
        for compliance in seen.of("Campaign.disclosureCompliance"):
            assert sum(compliance.values()) == a.deliverables, compliance
        # The campaign's lists are A's part of it.
        assert seen.of("Campaign.partnerships")
        assert all(len(p) == 1 for p in seen.of("Campaign.partnerships"))
        assert seen.of("Campaign.deliverables")
        assert all(len(d) == a.deliverables for d in seen.of("Campaign.deliverables"))
        for name, state in FIGURES.items():
            if state == REFUSED:
                assert all(v is None for v in seen.of(name)), name
        if side is a:  # A's money: its commission, in its balance, statement and payout line
            own = {"amount": f"{A_PERFORMANCE['commission'] / 100:.2f}", "currency": "EUR"}
            assert seen.of("PayoutBatch.total") == [own]
            assert seen.of("PayoutLine.amount") == [own]
            assert seen.of("Balance.available") == [own]
            assert seen.of("Statement.credits") == [own]
        if side is b:  # B's records are out of reach, whoever asks for them by id
            for name in ("Query.balance", "Query.statement", "Query.influencer"):
                assert seen.of(name) == [None], name
            assert seen.of("Query.partnership") == [None]


def test_a_manager_reads_the_totals(gql, world):
    """The same documents with a MANAGER key: the campaign's totals, B's records and every
    figure the influencer's walk must not show (so that walk would have caught a leak)."""
    seen = walk(gql, world["manager_key"], _values(world, world["b"]))
    campaigns = [
        _figures(p) for name, _, p in _performances(seen) if name == "Campaign.performance"
    ]
    assert TOTAL_PERFORMANCE in campaigns
    marked = {name for name, value, _ in seen.values if _marked(value)}
    assert marked >= {
        "Campaign.budget",
        "CompensationPlan.flatFeePerDeliverable",
        "Performance.clicks",
        "Performance.revenue",
        "Performance.commission",
        "Performance.cost",
        "Conversion.amount",
        "LedgerEntry.amount",
        "PayoutBatch.total",
        "PayoutLine.amount",
        "Balance.available",
        "Statement.credits",
        "Statement.closingBalance",
        "SocialAccount.followers",
        "MetricSnapshot.followers",
        "Influencer.totalFollowers",
    }, marked
    assert 1 + world["b"].deliverables in [
        sum(c.values()) for c in seen.of("Campaign.disclosureCompliance")
    ]
    totals = {name: v for name, v, _ in seen.values if name.endswith(".totalCount")}
    assert totals["PartnershipConnection.totalCount"] == 2
    assert totals["ConversionConnection.totalCount"] == len(A_ORDERS) + len(B_ORDERS)


def test_nodes_of_others_are_null(gql, world):
    """node(id:) of any of B's rows is null for A's key (and not for a MANAGER's)."""
    b = world["b"]
    ids = [gid(b.influencer), gid(b.partnership), gid(b.link), gid(b.code)]
    q = "query($id: ID!) { node(id: $id) { id } }"
    for node_id in ids:
        assert gql(world["influencer_key"], q, id=node_id) == {"node": None}, node_id
        assert gql(world["manager_key"], q, id=node_id) == {"node": {"id": node_id}}


def test_filters_on_another_influencer_find_nothing(gql, world):
    b, key = world["b"], world["influencer_key"]
    q = """query($p: ID!, $i: ID!) {
      conversions(filter: {partnershipId: $p}) { totalCount nodes { amount { amount } } }
      ledgerEntries(filter: {influencerId: $i}) { totalCount nodes { amount { amount } } }
    }"""
    data = gql(key, q, p=gid(b.partnership), i=gid(b.influencer))
    assert data == {
        "conversions": {"totalCount": 0, "nodes": []},
        "ledgerEntries": {"totalCount": 0, "nodes": []},
    }
    data = gql(world["manager_key"], q, p=gid(b.partnership), i=gid(b.influencer))
    assert data["conversions"]["totalCount"] == len(B_ORDERS)


PAGE = """query($from: DateTime!, $to: DateTime!) { campaigns(first: 100) { nodes {
  performance(from: $from, to: $to) { clicks revenue { amount } cost { amount } }
  partnerships { performance(from: $from, to: $to) { conversions } } } } }"""


def test_an_influencers_page_of_performance_is_a_fixed_number_of_statements(
    gql, factory, db, world
):
    """Scoping to the influencer's share adds no statement per campaign."""
    brand, a = world["brand"], world["a"]
    window = {k: v for k, v in _values(world, a).items() if k in ("from", "to")}
    key = world["influencer_key"]
    gql(key, "{ viewer { role } }")  # a key's first request records its use
    counts = {}
    for extra in (0, 6):
        for _ in range(extra):
            factory.partnership(factory.campaign(brand), a.influencer)
        with count_statements() as counter:
            nodes = gql(key, PAGE, **window)["campaigns"]["nodes"]
        assert len(nodes) == 1 + extra
        assert A_PERFORMANCE["clicks"] in [n["performance"]["clicks"] for n in nodes]
        counts[extra] = counter["n"]
    assert counts[0] == counts[6], counts
