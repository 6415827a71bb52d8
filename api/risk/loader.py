"""The facts the creator-risk score reads (`api.domain.risk`), from rollups and small indexed
queries: a partnership's orders through `ix_conversions_partnership_id_occurred_at` (aggregated
in the database, a few rows back), its clicks from the hourly rollup, its influencer's audience
from the accounts, their snapshots, the stored peer medians and the blended fake-share facet.
Nothing here scans a whole table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.domain import audience_quality as aq
from api.domain import risk
from api.domain.attribution import FAST_CONVERSION
from api.domain.coupon_sites import is_coupon_site
from api.influencers.audience import account_metrics, thresholds_of
from api.influencers.derived import stored_peer_medians
from api.models import (
    ClickRollup,
    Conversion,
    DiscountCode,
    Influencer,
    InfluencerFacet,
    MetricSnapshot,
    Partnership,
    Refund,
    SocialAccount,
)
from api.models.events import AttributedVia, ConversionStatus, RefundStatus

# Orders that count: attributed ones, whatever their review said (a rejected self-referral
# still says something about the creator).
COUNTED = (ConversionStatus.APPROVED, ConversionStatus.HELD, ConversionStatus.REJECTED)


def audience_facts(
    session: Session, organization_id: int, influencer_ids: Iterable[int]
) -> dict[int, risk.AudienceFacts]:
    """Each influencer's audience facts, in four statements whatever their number."""
    ids = sorted(set(influencer_ids))
    if not ids:
        return {}
    accounts = session.scalars(
        select(SocialAccount).where(SocialAccount.influencer_id.in_(ids)).order_by(SocialAccount.id)
    ).all()
    snapshots: dict[int, list[MetricSnapshot]] = defaultdict(list)
    if accounts:
        for snap in session.scalars(
            select(MetricSnapshot)
            .where(MetricSnapshot.social_account_id.in_([a.id for a in accounts]))
            .order_by(MetricSnapshot.captured_at)
        ):
            snapshots[snap.social_account_id].append(snap)
    fake = dict(
        session.execute(
            select(InfluencerFacet.influencer_id, InfluencerFacet.share).where(
                InfluencerFacet.influencer_id.in_(ids),
                InfluencerFacet.kind == "FAKE",
                InfluencerFacet.key == "",
            )
        ).all()
    )
    medians = stored_peer_medians(session, organization_id)
    thresholds = thresholds_of(session, organization_id)
    by_influencer: dict[int, list[SocialAccount]] = defaultdict(list)
    for account in accounts:
        by_influencer[account.influencer_id].append(account)
    out = {}
    for influencer_id in ids:
        own = by_influencer.get(influencer_id, [])
        metrics = [account_metrics(a, snapshots.get(a.id, [])) for a in own]
        quality = aq.influencer_quality(metrics, medians, thresholds)
        out[influencer_id] = risk.AudienceFacts(
            quality_signals=quality.signals if quality else (),
            fake_share_bps=fake.get(influencer_id),
            accounts=tuple(
                risk.AccountEngagement(m.label, m.avg_likes, m.avg_comments) for m in metrics
            ),
        )
    return out


@dataclass
class CampaignRefunds:
    """A campaign's revenue and refunds per partnership and currency (one query a campaign, kept
    for the run: every partnership of the campaign compares with the others)."""

    by_partnership: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)

    def others(self, partnership_id: int, currency: str) -> tuple[int, int]:
        revenue = refunded = 0
        for (pid, cur), (rev, ref) in self.by_partnership.items():
            if cur == currency and pid != partnership_id:
                revenue += rev
                refunded += ref
        return revenue, refunded


def _revenue_and_refunds(session: Session, *where: Any) -> dict[tuple[int, str], tuple[int, int]]:
    """Gross revenue and applied refunds of counted orders, per partnership and currency."""
    counted = (*where, Conversion.status.in_(COUNTED))
    key = (Conversion.partnership_id, Conversion.currency)
    revenue = session.execute(
        select(*key, func.sum(Conversion.amount)).where(*counted).group_by(*key)
    ).all()
    refunds = dict(
        ((pid, cur), int(total or 0))
        for pid, cur, total in session.execute(
            select(*key, func.sum(Refund.amount))
            .join(Refund, Refund.conversion_id == Conversion.id)
            .where(*counted, Refund.status == RefundStatus.APPLIED)
            .group_by(*key)
        )
    )
    return {
        (pid, cur): (int(rev or 0), refunds.get((pid, cur), 0))
        for pid, cur, rev in revenue
        if pid is not None
    }


def _order_counts() -> tuple[Any, ...]:
    """Orders; through a click; of those, under 10 s after it; on a code with no click."""
    via_click = Conversion.attributed_via == AttributedVia.CLICK
    fast = via_click & (Conversion.click_seconds < FAST_CONVERSION.seconds)
    no_click = Conversion.attributed_via == AttributedVia.DISCOUNT_CODE
    return (
        func.count(),
        func.coalesce(func.sum(case((via_click, 1), else_=0)), 0),
        func.coalesce(func.sum(case((fast, 1), else_=0)), 0),
        func.coalesce(func.sum(case((no_click, 1), else_=0)), 0),
    )


class Loader:
    """Gathers facts for many partnerships in one run, keeping what they share."""

    def __init__(self, session: Session, now: datetime):
        self.session = session
        self.now = now
        self._campaigns: dict[int, CampaignRefunds] = {}
        self._counts: dict[int, tuple[int, int, int, int]] = {}
        self._clicks_of: dict[int, int] = {}

    def prepare(self, partnership_ids: Iterable[int]) -> None:
        """Counts the orders and clicks of a batch of partnerships in two grouped statements,
        for `order_stats` to read."""
        ids = sorted(set(partnership_ids))
        if not ids:
            return
        self._counts.update(dict.fromkeys(ids, (0, 0, 0, 0)))
        for pid, *counts in self.session.execute(
            select(Conversion.partnership_id, *_order_counts())
            .where(Conversion.partnership_id.in_(ids), Conversion.status.in_(COUNTED))
            .group_by(Conversion.partnership_id)
        ):
            orders, click, fast, code = (int(v or 0) for v in counts)
            self._counts[pid] = (orders, click, fast, code)
        self._clicks_of.update(dict.fromkeys(ids, 0))
        for pid, clicks in self.session.execute(
            select(ClickRollup.partnership_id, func.sum(ClickRollup.clicks))
            .where(ClickRollup.partnership_id.in_(ids))
            .group_by(ClickRollup.partnership_id)
        ):
            self._clicks_of[pid] = int(clicks or 0)

    def campaign_refunds(self, campaign_id: int) -> CampaignRefunds:
        if campaign_id not in self._campaigns:
            self._campaigns[campaign_id] = CampaignRefunds(
                _revenue_and_refunds(self.session, Conversion.campaign_id == campaign_id)
            )
        return self._campaigns[campaign_id]

    def order_stats(self, partnership: Partnership, customer_ids: Iterable[str]) -> risk.OrderStats:
        session = self.session
        own = (Conversion.partnership_id == partnership.id, Conversion.status.in_(COUNTED))
        if partnership.id not in self._counts:
            self.prepare([partnership.id])
        orders, click_orders, fast_orders, code_orders = self._counts[partnership.id]
        if not orders:
            return risk.OrderStats(clicks=self._clicks(partnership.id))
        customer = func.lower(func.trim(Conversion.customer_id))
        top_ip = top_customer = None
        if orders >= risk.REPEAT_MIN_ORDERS:  # fewer never make a repeated buyer
            top_ip, top_customer = self._top_buyers(own, customer)
        ids = sorted({c.strip().casefold() for c in customer_ids if c and c.strip()})
        self_referrals = (
            int(session.scalar(select(func.count()).where(*own, customer.in_(ids))) or 0)
            if ids
            else 0
        )
        refunds = self.campaign_refunds(partnership.campaign_id)
        mine = {cur: v for (pid, cur), v in refunds.by_partnership.items() if pid == partnership.id}
        currency = max(mine, key=lambda c: (mine[c][0], c)) if mine else None
        revenue, refunded = mine.get(currency, (0, 0)) if currency else (0, 0)
        others = refunds.others(partnership.id, currency) if currency else (0, 0)
        return risk.OrderStats(
            orders=orders,
            click_orders=click_orders,
            fast_click_orders=fast_orders,
            self_referrals=self_referrals,
            top_ip=(str(top_ip[0]), int(top_ip[1])) if top_ip else None,
            top_customer=(str(top_customer[0]), int(top_customer[1])) if top_customer else None,
            currency=currency,
            revenue=revenue,
            refunded=refunded,
            campaign_revenue=others[0],
            campaign_refunded=others[1],
            code_orders_without_click=code_orders,
            clicks=self._clicks(partnership.id),
        )

    def _top_buyers(self, own: tuple[Any, ...], customer: Any) -> tuple[Any, Any]:
        """The IP hash and the customer behind the most of the partnership's orders."""
        top_ip = self.session.execute(
            select(Conversion.ip_hash, func.count().label("n"))
            .where(*own, Conversion.ip_hash.is_not(None))
            .group_by(Conversion.ip_hash)
            .order_by(func.count().desc(), Conversion.ip_hash)
            .limit(1)
        ).first()
        top_customer = self.session.execute(
            select(customer, func.count().label("n"))
            .where(*own, Conversion.customer_id.is_not(None))
            .group_by(customer)
            .order_by(func.count().desc(), customer)
            .limit(1)
        ).first()
        return top_ip, top_customer

    def _clicks(self, partnership_id: int) -> int:
        if partnership_id not in self._clicks_of:
            self.prepare([partnership_id])
        return self._clicks_of[partnership_id]

    def code_facts(self, partnership: Partnership) -> list[tuple[DiscountCode, risk.CodeFacts]]:
        """Each of the partnership's codes with its orders: by referrer host, the last day's and
        the 28 days' before (one grouped query for all the codes)."""
        codes = self.session.scalars(
            select(DiscountCode)
            .where(DiscountCode.partnership_id == partnership.id)
            .order_by(DiscountCode.id)
        ).all()
        if not codes:
            return []
        day = self.now - timedelta(days=1)
        since = day - timedelta(days=risk.SPIKE_BASELINE_DAYS)
        recent = Conversion.occurred_at >= day
        before = (Conversion.occurred_at >= since) & (Conversion.occurred_at < day)
        rows = self.session.execute(
            select(
                Conversion.discount_code,
                Conversion.order_referrer_host,
                func.count(),
                func.coalesce(func.sum(case((recent, 1), else_=0)), 0),
                func.coalesce(func.sum(case((before, 1), else_=0)), 0),
            )
            .where(
                Conversion.partnership_id == partnership.id,
                Conversion.status.in_(COUNTED),
                Conversion.attributed_via == AttributedVia.DISCOUNT_CODE,
                Conversion.discount_code.in_([c.code for c in codes]),
            )
            .group_by(Conversion.discount_code, Conversion.order_referrer_host)
        ).all()
        per: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"orders": 0, "sites": {}, "last": 0, "base": 0}
        )
        for code, host, count, last, base in rows:
            entry = per[code.upper()]
            entry["orders"] += int(count)
            entry["last"] += int(last)
            entry["base"] += int(base)
            if is_coupon_site(host):
                entry["sites"][host] = entry["sites"].get(host, 0) + int(count)
        out = []
        for code in codes:
            entry = per.get(code.code) or {"orders": 0, "sites": {}, "last": 0, "base": 0}
            out.append(
                (
                    code,
                    risk.CodeFacts(
                        discount_code_id=code.id,
                        code=code.code,
                        orders_without_click=entry["orders"],
                        coupon_sites=entry["sites"],
                        last_day=entry["last"],
                        baseline=entry["base"],
                    ),
                )
            )
        return out


def influencers(session: Session, ids: Iterable[int]) -> dict[int, Influencer]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {i.id: i for i in session.scalars(select(Influencer).where(Influencer.id.in_(wanted)))}
