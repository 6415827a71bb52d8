"""Demo data: sizes, consistency, keys, planted fakes and determinism, on a fresh SQLite file."""

from __future__ import annotations

import os
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from api import demo
from api.accounts.keys import Viewer, authenticate
from api.content import review
from api.db import Base, make_engine, utcnow
from api.demo import actions, catalog
from api.domain import audience_quality as aq
from api.domain import validation
from api.domain.commission import CommissionKind, CompensationPlan, PlanOverride, effective_plan
from api.domain.disclosure import Jurisdiction
from api.domain.metrics import Tier, influencer_tier
from api.finance import balances, export
from api.finance.performance import Scope, performance
from api.ledger import posting
from api.models import (
    ApiKey,
    AudienceSnapshot,
    Brand,
    Campaign,
    CampaignCost,
    Click,
    ContentSubmission,
    Contract,
    Conversion,
    Deliverable,
    DiscountCode,
    Influencer,
    InfluencerFacet,
    LedgerEntry,
    MetricSnapshot,
    Organization,
    OrphanVisit,
    Partnership,
    PayoutBatch,
    PayoutLine,
    PeerMedian,
    Program,
    ProgramLevel,
    ProgramLevelChange,
    ProgramMember,
    Refund,
    Shipment,
    SocialAccount,
    TrackedLink,
    WebhookEndpoint,
    WebhookEvent,
)
from api.models.enums import Role
from api.models.events import ClickRollup
from api.models.rollups import PerformanceRollup
from api.programs import jobs as program_jobs
from api.settings import get_settings
from api.tracking.codes import link_code
from tracker.redis_client import sync_client

# --- a fresh database per seed, outside the shared test database -------------------------------
# SQLite in a temporary directory, or a randomly named PostgreSQL database when TEST_DATABASE_URL
# is set; the history's Redis is TEST_REDIS_URL when set, else the embedded default.

NOW = utcnow()  # the demo's clock for every seed of this module: same seed, same rows


@contextmanager
def demo_database(directory: Path) -> Iterator[Engine]:
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    name = f"vouch_demo_{secrets.token_hex(5)}"
    if base:
        admin = make_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = f"{base.rpartition('/')[0]}/{name}"
    else:
        directory.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{directory / 'demo.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        if base:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def redis_client() -> Any:
    url = os.environ.get("TEST_REDIS_URL", "").strip()
    return redis.Redis.from_url(url) if url else sync_client(get_settings().redis)


@dataclass
class Seeded:
    session: Session
    result: demo.DemoResult
    progress: list[tuple[str, int, int]]
    empty_before: bool
    empty_after_flush: bool


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    calls: list[tuple[str, int, int]] = []
    client = redis_client()
    with demo_database(tmp_path_factory.mktemp("demo")) as engine, Session(engine) as session:
        empty = demo.is_empty(session)
        result = demo.seed(
            session,
            progress=lambda phase, done, total: calls.append((phase, done, total)),
            now=NOW,
            redis=client,
        )
        flushed = demo.is_empty(session)  # flushed, not yet committed: the caller commits
        session.commit()
        yield Seeded(session, result, calls, empty, flushed)
    client.close()


@pytest.fixture
def s(seeded: Seeded) -> Session:
    return seeded.session


@pytest.fixture
def result(seeded: Seeded) -> demo.DemoResult:
    return seeded.result


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def key_labels(session: Session, role: Role) -> dict[int, str]:
    """By organization, its demo key of `role` as the mutations name who did something."""
    keys = session.scalars(select(ApiKey).where(ApiKey.role == role))
    return {
        k.organization_id: Viewer(k.id, k.organization_id, k.role, None, k.prefix, k.name).label
        for k in keys
    }


def accounts_by_influencer(session: Session) -> dict[int, list[SocialAccount]]:
    grouped: dict[int, list[SocialAccount]] = defaultdict(list)
    for account in session.scalars(select(SocialAccount).order_by(SocialAccount.id)):
        grouped[account.influencer_id].append(account)
    return grouped


# --- tests ------------------------------------------------------------------------------------


def test_is_empty_before_and_after_and_progress(seeded: Seeded, tmp_path: Path) -> None:
    assert seeded.empty_before and not seeded.empty_after_flush
    with demo_database(tmp_path) as engine:
        with Session(engine) as session:
            demo.seed(session, history=False)
            session.commit()
        with Session(engine) as session:
            assert not demo.is_empty(session)
            assert count(session, TrackedLink) and not count(session, Click)  # no history

    calls = seeded.progress
    phases = list(dict.fromkeys(phase for phase, _, _ in calls))
    assert {"organizations", "influencers", "campaigns", "partnerships", "content"} <= set(phases)
    assert phases[-2:] == ["history", "risk"]  # the creator-risk scores everything last
    for phase in phases:
        mine = [(done, total) for p, done, total in calls if p == phase]
        assert mine[-1][0] == mine[-1][1]  # every phase finishes
        assert [done for done, _ in mine] == sorted(done for done, _ in mine)


def test_sizes(s: Session, result: demo.DemoResult) -> None:
    assert count(s, Organization) == 2
    assert sorted(result.organization_ids) == sorted(s.scalars(select(Organization.id)))
    assert count(s, Brand) == 3
    assert count(s, Influencer) == 300
    # The ambassador program's evergreen campaign and its members' partnerships come on top.
    assert count(s, Campaign) == 12 + 1
    assert count(s, Partnership) == 150 + 4
    assert count(s, Program) == 1 and count(s, ProgramMember) == 5
    assert count(s, Shipment) == 2
    assert count(s, TrackedLink) >= 15
    assert count(s, DiscountCode) >= 15
    assert result.counts["influencers"] == 300
    assert result.counts["partnerships"] == 150
    hooks = s.scalars(select(WebhookEndpoint)).all()  # one per organization, waiting for a URL
    assert len(hooks) == 2 and not any(h.enabled for h in hooks)
    assert all("updateWebhookEndpoint" in (h.disabled_reason or "") for h in hooks)
    assert count(s, WebhookEvent) == 0  # made after the history: the seeding owes no event
    by_influencer = accounts_by_influencer(s)
    assert len(by_influencer) == 300
    assert {len(accounts) for accounts in by_influencer.values()} <= {1, 2, 3}
    platforms = {a.platform.value for accounts in by_influencer.values() for a in accounts}
    assert {"INSTAGRAM", "TIKTOK", "YOUTUBE", "X", "BLOG", "PODCAST"} <= platforms


def _program_campaigns() -> Any:
    return select(Program.campaign_id)


def test_a_program_with_levels_retainers_a_bonus_in_progress_and_shipments(s: Session) -> None:
    program = s.scalars(select(Program)).one()
    levels = s.scalars(select(ProgramLevel).where(ProgramLevel.program_id == program.id)).all()
    assert sorted(lv.name for lv in levels) == ["Bronze", "Gold", "Silver"]
    moves = s.scalars(select(ProgramLevelChange).where(ProgramLevelChange.reason == "RULE")).all()
    assert len(moves) == 1 and moves[0].from_level_id != moves[0].to_level_id
    retainers = s.scalars(select(LedgerEntry).where(LedgerEntry.kind == "RETAINER")).all()
    assert len(retainers) >= 6 and all(e.amount > 0 for e in retainers)
    member = s.get(ProgramMember, moves[0].member_id)
    assert member is not None
    states = program_jobs.bonus_states(s, member, utcnow().date().replace(day=1))
    assert [(st.progress.achieved, st.progress.target, st.credited) for st in states] == [
        (6, 10, False)
    ]
    costs = s.scalars(
        select(CampaignCost).where(CampaignCost.idempotency_key.startswith("shipment:"))
    ).all()
    assert [c.amount for c in costs] == [9_000, 9_000]


def test_brands_and_campaigns(s: Session) -> None:
    brands = {b.id: b for b in s.scalars(select(Brand))}
    assert {b.default_currency for b in brands.values()} == {"EUR", "GBP", "USD"}
    assert any(b.website == "https://www.glowly.example" for b in brands.values())
    campaigns = s.scalars(select(Campaign).where(Campaign.id.not_in(_program_campaigns()))).all()
    statuses = Counter(c.status for c in campaigns)
    assert len(statuses) >= 4
    assert statuses["ACTIVE"] == 5
    assert {c.attribution_window_days for c in campaigns} == {7, 30}
    assert sum(c.hold_days == 0 for c in campaigns) == 2
    for c in campaigns:
        brand = brands[c.brand_id]
        assert c.organization_id == brand.organization_id
        assert c.currency == brand.default_currency
        assert brand.website and c.landing_url.startswith(brand.website + "/")
        assert c.jurisdictions and c.required_hashtags and c.required_mentions
        assert {str(j) for j in Jurisdiction} >= set(c.jurisdictions)
        # Stored as the API stores them: hashtags without "#", mentions as bare handles.
        assert not any(t.startswith("#") for t in c.required_hashtags)
        assert all(validation.handle_key(m) == m for m in c.required_mentions)
        assert c.budget_amount and isinstance(c.budget_amount, int)
        assert c.starts_at and c.ends_at and c.starts_at < c.ends_at
        assert c.compensation is not None
        plan = CompensationPlan.from_dict(c.compensation)
        assert plan.validate() == []
        assert plan.currency == c.currency


def test_partnerships_are_consistent(s: Session) -> None:
    campaigns = {c.id: c for c in s.scalars(select(Campaign))}
    influencers = {i.id: i for i in s.scalars(select(Influencer))}
    partnerships = s.scalars(
        select(Partnership).where(Partnership.campaign_id.not_in(_program_campaigns()))
    ).all()
    pairs = [(p.campaign_id, p.influencer_id) for p in partnerships]
    assert len(set(pairs)) == len(pairs) == 150
    allowed = {
        "DRAFT": {"INVITED"},
        "ACTIVE": {"INVITED", "ACCEPTED", "ACTIVE", "DECLINED"},
        "PAUSED": {"INVITED", "ACCEPTED", "ACTIVE"},
        "COMPLETED": {"COMPLETED"},
        "CANCELLED": {"TERMINATED", "DECLINED", "WITHDRAWN"},
    }
    contracts = {c.partnership_id: c for c in s.scalars(select(Contract))}
    for p in partnerships:
        campaign = campaigns[p.campaign_id]
        assert influencers[p.influencer_id].organization_id == campaign.organization_id
        assert p.organization_id == campaign.organization_id
        assert p.status in allowed[campaign.status], (campaign.status, p.status)
        accepted = p.status in ("ACCEPTED", "ACTIVE", "COMPLETED", "TERMINATED")
        assert (p.id in contracts) == accepted
        if accepted:
            contract = contracts[p.id]
            assert contract.version == 1 and contract.payment_terms_days == 30
            assert contract.accepted_at is not None and contract.accepted_by
        if p.compensation_override is not None:
            assert campaign.compensation is not None
            plan = effective_plan(
                CompensationPlan.from_dict(campaign.compensation),
                PlanOverride.from_dict(p.compensation_override),
            )
            assert plan.validate() == []
    assert any(p.compensation_override for p in partnerships)
    # the cancelled campaign's open invitations were withdrawn, never answered
    withdrawn = [p for p in partnerships if p.status == "WITHDRAWN"]
    assert withdrawn and all(p.responded_at is None for p in withdrawn)


def test_deliverables_match_accounts_and_submissions(s: Session) -> None:
    partnerships = {p.id: p for p in s.scalars(select(Partnership))}
    by_influencer = accounts_by_influencer(s)
    deliverables = s.scalars(select(Deliverable)).all()
    assert deliverables
    submissions: dict[int, list[ContentSubmission]] = defaultdict(list)
    for sub in s.scalars(select(ContentSubmission).order_by(ContentSubmission.version)):
        submissions[sub.deliverable_id].append(sub)
    for d in deliverables:
        p = partnerships[d.partnership_id]
        assert p.status in ("ACCEPTED", "ACTIVE", "COMPLETED", "TERMINATED")
        assert d.platform in {a.platform for a in by_influencer[p.influencer_id]}
        versions = [sub.version for sub in submissions[d.id]]
        assert versions == list(range(1, len(versions) + 1))
        assert bool(versions) == (d.status != "DRAFT")
        if d.status == "PUBLISHED":
            assert d.published_url and d.published_at
        assert review.format_fits(d.platform, d.format)
        for sub in submissions[d.id]:
            # Checked like a real submission: the stored report is the checker's.
            assert sub.disclosure_report is not None
            assert sub.disclosure_verdict == review.worst_verdict(sub.disclosure_report)
            if sub.platform_label is not None:
                assert review.label_fits(sub.platform_label, d.platform)
        if d.status in ("APPROVED", "PUBLISHED"):
            final = submissions[d.id][-1]
            assert final.reviewed_at is not None
            overridden = d.disclosure_override_reason is not None
            assert (final.disclosure_verdict == review.FAIL) == overridden
    assert Counter(d.status for d in deliverables).keys() >= {"DRAFT", "SUBMITTED", "PUBLISHED"}
    assert any(d.disclosure_override_reason for d in deliverables)
    # Reviewed and overridden with the demo keys, named as the mutations name them.
    reviewers = {sub.reviewed_by for subs in submissions.values() for sub in subs} - {None}
    assert reviewers == set(key_labels(s, Role.MANAGER).values())
    overriders = {d.disclosure_override_by for d in deliverables} - {None}
    assert overriders <= set(key_labels(s, Role.ADMIN).values()) and overriders
    latest = [subs[-1] for subs in submissions.values() if subs]
    verdicts = Counter(sub.disclosure_verdict for sub in latest)
    assert verdicts.keys() == {"PASS", "NEEDS_REVIEW", "FAIL"}  # something for each badge
    captions = [sub.caption for subs in submissions.values() for sub in subs]
    assert any("#ad" in c for c in captions)
    assert any("Werbung" in c or "Anzeige" in c for c in captions)
    assert any("Publicité" in c for c in captions)


def test_influencer_columns_and_tiers(s: Session) -> None:
    by_influencer = accounts_by_influencer(s)
    for org_id in s.scalars(select(Organization.id)):
        tiers = set()
        for influencer in s.scalars(select(Influencer).where(Influencer.organization_id == org_id)):
            accounts = by_influencer[influencer.id]
            total, largest, rate = demo.influencer_stats(accounts)
            assert (influencer.total_followers, influencer.max_followers) == (total, largest)
            assert influencer.engagement_rate == rate
            assert influencer.country and influencer.languages and influencer.niches
            tiers.add(influencer_tier(a.followers for a in accounts))
        assert {Tier.NANO, Tier.MICRO, Tier.MID, Tier.MACRO, Tier.MEGA} <= tiers
    snapshots = Counter(s.scalars(select(MetricSnapshot.social_account_id)))
    assert set(snapshots.values()) <= {3, 4, 5, 6}
    assert len(snapshots) == count(s, SocialAccount)


def test_every_account_has_an_audience_and_every_influencer_facets(s: Session) -> None:
    snapshots = Counter(s.scalars(select(AudienceSnapshot.social_account_id)))
    assert len(snapshots) == count(s, SocialAccount) and set(snapshots.values()) == {2}
    countries = set(
        s.scalars(select(InfluencerFacet.influencer_id).where(InfluencerFacet.kind == "COUNTRY"))
    )
    assert len(countries) == count(s, Influencer)  # discovery by audience finds them all
    assert s.scalar(select(func.count()).select_from(PeerMedian)) > 0


def test_keys_authenticate_with_their_roles(s: Session, result: demo.DemoResult) -> None:
    names = {org_id: name for org_id, name in result.organization_names.items()}
    assert set(result.keys) == set(names.values())
    for org_id, name in names.items():
        assert set(result.keys[name]) == set(Role)
        for role, key in result.keys[name].items():
            viewer = authenticate(s, f"Bearer {key}")
            assert viewer is not None
            assert (viewer.organization_id, viewer.role) == (org_id, role)
            if role is Role.INFLUENCER:
                assert viewer.influencer_id == result.key_influencer_ids[org_id]
                partnerships = s.scalars(
                    select(Partnership).where(Partnership.influencer_id == viewer.influencer_id)
                ).all()
                assert any(p.status == "ACTIVE" for p in partnerships)
                assert viewer.influencer_id not in result.planted_fakes
            else:
                assert viewer.influencer_id is None


def test_users_have_a_password_and_the_roles_of_the_keys(
    s: Session, result: demo.DemoResult
) -> None:
    from api.accounts import passwords, users

    for org_id, name in result.organization_names.items():
        assert set(result.users[name]) == set(Role)
        for role, (email, password) in result.users[name].items():
            user = users.find_by_email(s, email.upper())
            assert user is not None and passwords.verify(user.password_hash, password)
            member = users.membership(s, user.id, org_id)
            assert member is not None and member.role is role
            bound = result.key_influencer_ids[org_id] if role is Role.INFLUENCER else None
            assert member.influencer_id == bound


def test_links_and_codes(s: Session, result: demo.DemoResult) -> None:
    settings = get_settings()
    campaigns = {c.id: c for c in s.scalars(select(Campaign))}
    partnerships = {p.id: p for p in s.scalars(select(Partnership))}
    links = s.scalars(select(TrackedLink)).all()
    assert result.demo_link_code in {link.code for link in links}
    for link in links:
        campaign = campaigns[link.campaign_id]
        assert link.code == link_code(link.id, settings.hashids_salt, settings.hashids_min_length)
        assert partnerships[link.partnership_id].status == "ACTIVE" and campaign.status == "ACTIVE"
        assert link.destination_url.startswith(campaign.landing_url + "/")
        assert link.utm_medium == "influencer"
        assert link.utm_source and link.utm_source == link.utm_source.lower()
        assert link.brand_id == campaign.brand_id
    codes = s.scalars(select(DiscountCode)).all()
    assert len({(c.brand_id, c.code) for c in codes}) == len(codes)
    for code in codes:
        assert re.fullmatch(r"[A-Z0-9]{4,24}", code.code), code.code
        assert code.percent_off_bps == 1_500
        assert code.brand_id == campaigns[code.campaign_id].brand_id


def test_planted_fakes_rank_last(s: Session, result: demo.DemoResult) -> None:
    assert len(result.planted_fakes) >= 5
    snapshots: dict[int, list[aq.Snapshot]] = defaultdict(list)
    for snap in s.scalars(select(MetricSnapshot)):
        snapshots[snap.social_account_id].append(
            aq.Snapshot(snap.captured_at, snap.followers, snap.avg_likes, snap.avg_comments)
        )
    org_of = {i: o for i, o in s.execute(select(Influencer.id, Influencer.organization_id))}
    assert {org_of[i] for i in result.planted_fakes} == {result.organization_ids[0]}
    metrics: dict[int, list[aq.AccountMetrics]] = defaultdict(list)
    for influencer_id, accounts in accounts_by_influencer(s).items():
        for a in accounts:
            metrics[influencer_id].append(
                aq.AccountMetrics(
                    a.platform.value,
                    a.followers,
                    a.following,
                    a.posts,
                    a.avg_likes,
                    a.avg_comments,
                    tuple(snapshots[a.id]),
                    a.suspicious_audience_pct,
                    a.handle,
                )
            )
    org = result.organization_ids[0]
    roster = {i: m for i, m in metrics.items() if org_of[i] == org}
    medians = aq.peer_medians(a for accounts in roster.values() for a in accounts)
    scores = {}
    for i, account_metrics in roster.items():
        quality = aq.influencer_quality(account_metrics, medians)
        assert quality is not None
        scores[i] = quality.score
    ranked = sorted(scores, key=lambda i: scores[i])
    fakes = set(result.planted_fakes)
    assert set(ranked[: len(fakes)]) == fakes, [(i, scores[i], i in fakes) for i in ranked[:10]]
    assert max(scores[i] for i in fakes) < min(scores[i] for i in scores if i not in fakes)


def test_timestamps_are_utc_and_not_in_the_future(s: Session) -> None:
    now = utcnow()
    columns = [
        Influencer.created_at,
        Campaign.created_at,
        Partnership.created_at,
        Partnership.responded_at,
        Contract.accepted_at,
        ContentSubmission.created_at,
        ContentSubmission.reviewed_at,
        Deliverable.published_at,
        MetricSnapshot.captured_at,
        TrackedLink.created_at,
        Click.occurred_at,
        Conversion.occurred_at,
        Conversion.received_at,
        Conversion.reviewed_at,
        Refund.occurred_at,
        LedgerEntry.created_at,
        PayoutBatch.paid_at,
    ]
    for column in columns:
        values = [v for v in s.scalars(select(column)) if v is not None]
        assert values, column
        assert all(v.utcoffset() == timedelta(0) for v in values), column
        assert max(values) <= now, column


def fingerprint(session: Session) -> list[tuple[str, str, str, int]]:
    rows = session.execute(
        select(
            Influencer.name, SocialAccount.platform, SocialAccount.handle, SocialAccount.followers
        )
        .join(Influencer, Influencer.id == SocialAccount.influencer_id)
        .order_by(SocialAccount.id)
    ).all()
    return [(name, platform.value, handle, followers) for name, platform, handle, followers in rows]


# What the history wrote, row by row, without the columns stamped by the wall clock (when the
# worker ran: `created_at`, and the `available_at` it derives; random API keys).
HISTORY_ROWS: dict[str, Any] = {
    "clicks": select(
        Click.click_id, Click.link_id, Click.occurred_at, Click.ip_trunc, Click.ip_hash,
        Click.user_agent, Click.referer, Click.bot, Click.is_unique,
    ).order_by(Click.id),
    "orphans": select(OrphanVisit.event_id, OrphanVisit.code, OrphanVisit.hour).order_by(
        OrphanVisit.event_id
    ),
    "conversions": select(
        Conversion.order_id, Conversion.brand_id, Conversion.amount, Conversion.currency,
        Conversion.occurred_at, Conversion.received_at, Conversion.click_id,
        Conversion.discount_code, Conversion.customer_id, Conversion.partnership_id,
        Conversion.link_id, Conversion.status, Conversion.hold_reasons,
        Conversion.unattributed_reason, Conversion.reviewed_at, Conversion.reviewed_by,
        Conversion.review_reason, Conversion.event_id,
    ).order_by(Conversion.id),
    "refunds": select(
        Refund.refund_id, Refund.order_id, Refund.amount, Refund.currency, Refund.status,
        Refund.occurred_at, Refund.received_at, Refund.event_id,
    ).order_by(Refund.id),
    "ledger": select(
        LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.currency, LedgerEntry.influencer_id,
        LedgerEntry.partnership_id, LedgerEntry.source_type, LedgerEntry.source_id,
        LedgerEntry.idempotency_key, LedgerEntry.memo, LedgerEntry.basis_points,
    ).order_by(LedgerEntry.id),
    "batches": select(
        PayoutBatch.organization_id, PayoutBatch.currency, PayoutBatch.as_of, PayoutBatch.status,
        PayoutBatch.paid_at, PayoutBatch.reference,
    ).order_by(PayoutBatch.id),
    "lines": select(
        PayoutLine.batch_id, PayoutLine.influencer_id, PayoutLine.amount, PayoutLine.currency
    ).order_by(PayoutLine.id),
    "costs": select(
        CampaignCost.partnership_id, CampaignCost.amount, CampaignCost.currency,
        CampaignCost.created_at,
    ).order_by(CampaignCost.id),
}  # fmt: skip


# API keys are random: who reviewed is named by the key's prefix (`Viewer.label`).
KEY_LABEL = re.compile(r"\((\w+) key [0-9a-f]{8}\)")


def history_rows(session: Session) -> dict[str, list[Any]]:
    def plain(value: Any) -> Any:
        return KEY_LABEL.sub(r"(\1 key)", value) if isinstance(value, str) else value

    return {
        name: [tuple(plain(v) for v in row) for row in session.execute(query)]
        for name, query in HISTORY_ROWS.items()
    }


def test_same_seed_same_data_and_one_transaction(s: Session, tmp_path: Path) -> None:
    first = history_rows(s)
    assert all(first.values()), {name: len(rows) for name, rows in first.items()}
    client = redis_client()
    with demo_database(tmp_path / "again") as engine, Session(engine) as again:
        demo.seed(again, now=NOW, redis=client)  # the module's seed, rng_seed 7
        assert fingerprint(again) == fingerprint(s)
        second = history_rows(again)
        for name, rows in first.items():
            assert rows == second[name], name
        # The worker wrote inside the caller's transaction: a rollback leaves nothing behind.
        again.rollback()
        assert demo.is_empty(again)
        assert count(again, Click) == count(again, Conversion) == count(again, LedgerEntry) == 0
    client.close()
    with demo_database(tmp_path / "other") as engine, Session(engine) as other:
        demo.seed(other, rng_seed=8, now=NOW, history=False)
        assert fingerprint(other) != fingerprint(s)


def test_progress_line(capsys: pytest.CaptureFixture[str]) -> None:
    from api.cli import progress

    progress.show("influencers", 120, 300)
    progress.show("influencers", 300, 300)
    err = capsys.readouterr().err
    assert "\r[############..................]  40% influencers 120/300" in err
    assert err.endswith("\n")


def test_stored_scores_sort_planted_fakes_last(s: Session, result: demo.DemoResult) -> None:
    from api.models import Influencer

    org = result.organization_ids[0]
    rows = s.scalars(
        select(Influencer)
        .where(Influencer.organization_id == org)
        .order_by(Influencer.audience_quality_score.desc(), Influencer.id)
    ).all()
    assert all(r.audience_quality_score is not None for r in rows)
    tail = {r.id for r in rows[-len(result.planted_fakes) :]}
    assert tail == set(result.planted_fakes)


# --- the history -------------------------------------------------------------------------------


def local_hours_and_days(session: Session) -> tuple[Counter[int], Counter[int]]:
    """Human clicks by hour of the day and by weekday, in the shoppers' time (the brand's)."""
    offsets = {spec.name: spec.utc_offset for spec in catalog.BRANDS}
    rows = session.execute(
        select(Click.occurred_at, Brand.name)
        .join(TrackedLink, TrackedLink.id == Click.link_id)
        .join(Brand, Brand.id == TrackedLink.brand_id)
        .where(Click.bot.is_(False))
    )
    hours: Counter[int] = Counter()
    days: Counter[int] = Counter()
    for occurred, brand in rows:
        local = occurred + timedelta(hours=offsets[brand])
        hours[local.hour] += 1
        days[local.weekday()] += 1
    return hours, days


def test_history_spans_months_of_days_and_hours(s: Session, result: demo.DemoResult) -> None:
    for org_id in result.organization_ids:
        first, last = s.execute(
            select(func.min(Click.occurred_at), func.max(Click.occurred_at)).where(
                Click.organization_id == org_id
            )
        ).one()
        assert last - first > timedelta(days=75), org_id
        assert last <= NOW
        days = s.scalar(
            select(func.count(func.distinct(func.date(Click.occurred_at)))).where(
                Click.organization_id == org_id
            )
        )
        assert days and days > 70
    hours, weekdays = local_hours_and_days(s)
    evening = sum(hours[h] for h in (18, 19, 20, 21))
    night = sum(hours[h] for h in (1, 2, 3, 4))
    assert evening > 5 * night
    assert weekdays[5] + weekdays[6] > (weekdays[0] + weekdays[1]) * 1.1  # weekends busier
    flags = Counter(s.execute(select(Click.bot, Click.is_unique)).all())
    assert flags[(False, True)] > flags[(False, False)] > 0 and flags[(True, False)] > 0
    assert count(s, OrphanVisit) > 0
    assert result.counts["clicks"] == count(s, Click)


def test_history_has_countries_devices_and_referrers(s: Session) -> None:
    """Breakdowns by country, device and referrer show data on first run: the worker decided
    them for the demo's clicks, and approved orders through a click inherited them."""
    from api.models import ClickDimensionRollup, PerformanceDimensionRollup

    def values(model: Any, dimension: str) -> set[str]:
        return set(s.scalars(select(model.value).where(model.dimension == dimension).distinct()))

    assert {"DE", "GB", "FR", "US"} <= values(ClickDimensionRollup, "COUNTRY")
    assert {"MOBILE", "DESKTOP"} <= values(ClickDimensionRollup, "DEVICE")
    assert "l.instagram.com" in values(ClickDimensionRollup, "REFERRER")
    assert {"DE", "GB"} <= values(PerformanceDimensionRollup, "COUNTRY")
    assert values(PerformanceDimensionRollup, "DISCOUNT_CODE")


def test_history_has_every_kind_of_order(s: Session) -> None:
    statuses = Counter(s.scalars(select(Conversion.status)))
    assert set(statuses) == {"APPROVED", "HELD", "REJECTED", "UNATTRIBUTED"}, statuses
    assert statuses["APPROVED"] > 300
    via = Counter(
        s.scalars(select(Conversion.attributed_via).where(Conversion.status == "APPROVED"))
    )
    assert via.keys() == {"CLICK", "DISCOUNT_CODE", "CUSTOMER"}  # CUSTOMER: repeat orders
    repeats = s.scalars(select(Conversion.repeat).where(Conversion.attributed_via == "CUSTOMER"))
    assert all(repeats)
    reasons = Counter(s.scalars(select(Conversion.unattributed_reason)))
    assert reasons["NO_MATCH"] and reasons["EXPIRED_CLICK"]
    reviewed = s.execute(
        select(Conversion.status, Conversion.hold_reasons, Conversion.reviewed_by).where(
            Conversion.reviewed_at.is_not(None)
        )
    ).all()
    assert {status for status, _, _ in reviewed} == {"APPROVED", "REJECTED"}
    finance = key_labels(s, Role.FINANCE)
    reviewers = set(
        s.scalars(select(Conversion.reviewed_by).where(Conversion.reviewed_at.is_not(None)))
    )
    assert reviewers and reviewers <= set(finance.values())
    assert any("FAST_CONVERSION" in reasons for _, reasons, _ in reviewed)
    # Held orders of the last days wait for a person; older ones were reviewed.
    held = s.scalars(select(Conversion.occurred_at).where(Conversion.status == "HELD")).all()
    assert held and all(NOW - at < timedelta(days=10) for at in held)
    refunds = Counter(s.scalars(select(Refund.status)))
    assert refunds["APPLIED"] > 20 and set(refunds) == {"APPLIED"}


def test_orders_are_attributed_to_the_clicks_they_name(s: Session) -> None:
    """An order naming a recorded click within its window is attributed: the worker had the
    click when it read the order (else it gives up on months-old orders: NO_MATCH)."""
    clicks = {
        click_id: (occurred, timedelta(days=window))
        for click_id, occurred, window in s.execute(
            select(Click.click_id, Click.occurred_at, Campaign.attribution_window_days).join(
                Campaign, Campaign.id == Click.campaign_id
            )
        )
    }
    checked = 0
    for order in s.scalars(select(Conversion).where(Conversion.click_id.is_not(None))):
        assert order.click_id in clicks, order.order_id  # every click it names is recorded
        clicked, window = clicks[order.click_id]
        if order.occurred_at - clicked <= window:
            assert order.unattributed_reason is None, order.order_id
            assert order.attributed_via == "CLICK" or order.discount_code, order.order_id
            checked += 1
        else:  # too late for the click; the creator's code, or a customer it brought, may count
            assert order.unattributed_reason == "EXPIRED_CLICK" or order.attributed_via in (
                "DISCOUNT_CODE",
                "CUSTOMER",
            ), order.order_id
    assert checked > 100


def applied_refunds(session: Session) -> dict[int, int]:
    """Per conversion, the sum of its applied refunds (minor units)."""
    rows = session.execute(
        select(Refund.conversion_id, func.sum(Refund.amount))
        .where(Refund.status == "APPLIED")
        .group_by(Refund.conversion_id)
    )
    return {int(conversion): int(total) for conversion, total in rows}


def test_refunds_are_reversed(s: Session) -> None:
    applied = s.execute(
        select(Refund.id, Refund.conversion_id, Refund.amount)
        .join(Conversion, Conversion.id == Refund.conversion_id)
        .where(Refund.status == "APPLIED", Conversion.status == "APPROVED")
    ).all()
    entries = {e.idempotency_key: e for e in s.scalars(select(LedgerEntry))}
    commissions = {e.conversion_id: e for e in entries.values() if e.kind == "COMMISSION"}
    reversed_ = 0
    for refund_id, conversion_id, _amount in applied:
        commission = commissions.get(conversion_id)
        if commission is None:  # a plan without commission (flat fee only)
            continue
        reversal = entries[posting.reversal_key(refund_id)]
        assert reversal.kind in ("REVERSAL", "CLAWBACK") and reversal.amount <= 0
        assert reversal.reverses_entry_id == commission.id
        reversed_ += 1
    assert reversed_ > 5
    # An order refunded in full earns nothing in the end.
    refunded = applied_refunds(s)
    full = [
        c.id
        for c in s.scalars(select(Conversion).where(Conversion.status == "APPROVED"))
        if refunded.get(c.id) == c.amount and c.id in commissions
    ]
    assert full
    for conversion_id in full:
        assert sum(e.amount for e in entries.values() if e.conversion_id == conversion_id) == 0


def test_every_live_campaign_performs(s: Session) -> None:
    live = s.scalars(
        select(Campaign)
        .where(Campaign.id.in_(select(TrackedLink.campaign_id)))
        .order_by(Campaign.id)
    ).all()
    assert len(live) >= 4
    for campaign in live:
        assert campaign.compensation is not None
        plan = CompensationPlan.from_dict(campaign.compensation)
        figures = performance(
            s,
            Scope(campaign.organization_id, campaign_id=campaign.id),
            campaign.currency,
            NOW - timedelta(days=400),
            utcnow() + timedelta(hours=2),
        )
        assert figures.clicks > figures.unique_clicks > 100, campaign.name
        assert figures.conversions > 5 and figures.revenue > 0, campaign.name
        if plan.commission.kind is not CommissionKind.NONE:
            assert figures.commission > 0, campaign.name
        if plan.flat_fee_per_deliverable_minor:
            assert figures.fees > 0, campaign.name


def test_rollups_equal_a_recount(s: Session) -> None:
    clicks = {
        link: (clicks, unique, bots)
        for link, clicks, unique, bots in s.execute(
            select(
                ClickRollup.link_id,
                func.sum(ClickRollup.clicks),
                func.sum(ClickRollup.unique_clicks),
                func.sum(ClickRollup.bot_hits),
            ).group_by(ClickRollup.link_id)
        )
    }
    raw = Counter()
    for link, bot, unique in s.execute(select(Click.link_id, Click.bot, Click.is_unique)):
        raw[(link, "bots" if bot else "clicks")] += 1
        raw[(link, "unique")] += int(unique and not bot)
    assert clicks == {
        link: (raw[(link, "clicks")], raw[(link, "unique")], raw[(link, "bots")])
        for link in {link for link, _ in raw}
    }

    rolled = {
        p: (n, revenue, commission, fees)
        for p, n, revenue, commission, fees in s.execute(
            select(
                PerformanceRollup.partnership_id,
                func.sum(PerformanceRollup.conversions),
                func.sum(PerformanceRollup.revenue),
                func.sum(PerformanceRollup.commission),
                func.sum(PerformanceRollup.fees),
            ).group_by(PerformanceRollup.partnership_id)
        )
    }
    recount: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    refunded = applied_refunds(s)
    for c in s.scalars(select(Conversion).where(Conversion.status == "APPROVED")):
        assert c.partnership_id is not None
        recount[c.partnership_id][0] += 1
        recount[c.partnership_id][1] += c.amount - (refunded.get(c.id) or 0)
    for e in s.scalars(select(LedgerEntry).where(LedgerEntry.partnership_id.is_not(None))):
        assert e.partnership_id is not None
        # Fees: flat fees, bonuses, retainers, and a program bonus's reversal.
        if e.kind in ("FLAT_FEE", "BONUS", "RETAINER") or e.source_type == "PROGRAM_BONUS":
            recount[e.partnership_id][3] += e.amount
        elif e.kind in ("COMMISSION", "REVERSAL", "CLAWBACK"):
            recount[e.partnership_id][2] += e.amount
    expected = {p: tuple(v) for p, v in recount.items() if any(v)}
    assert {p: v for p, v in rolled.items() if any(v)} == expected


def test_daily_rollups_equal_the_hourly_ones_summed_per_day(s: Session) -> None:
    """The daily (UTC) rollups that reports read for whole days: every hourly rollup's rows
    summed per UTC day, the demo's months of history included."""
    from api.finance.analytics import DAILY
    from api.models import ClickDimensionRollup, PerformanceDimensionRollup
    from tests.rollups import recount, recount_by_campaign

    for hourly in DAILY:
        summed, stored = recount(s, hourly)
        days = {v for key in summed for v in key if isinstance(v, datetime)}
        assert len(days) > 30, hourly.__tablename__  # months of days
        assert stored == summed, hourly.__tablename__
    # and the per-campaign ones by dimension: the dimension rows summed per campaign and day
    for hourly in (ClickDimensionRollup, PerformanceDimensionRollup):
        summed, stored = recount_by_campaign(s, hourly)
        assert summed and stored == summed, hourly.__tablename__


def test_the_campaign_report_shows_months_of_data_on_first_run(s: Session) -> None:
    """Issue 14: a campaign's report page, at its default period (the last 90 days by DAY in
    the brand's zone), charts months of the demo's data: its own query over the demo database
    answers non-zero buckets in more than one month, for the first campaign the page lists."""
    import asyncio

    from api.accounts.keys import Viewer
    from api.graphql.context import Context
    from api.graphql.schema import schema
    from api.models.enums import Role
    from api.pages import formatting, report

    def run(viewer: Viewer, query: str, **variables: Any) -> dict[str, Any]:
        context = Context(viewer=viewer, _session=s)
        answer = asyncio.run(
            schema.execute(query, variable_values=variables, context_value=context)
        )
        assert not answer.errors, answer.errors
        return answer.data or {}

    organization = s.scalars(select(Campaign.organization_id).order_by(Campaign.id)).first()
    assert organization is not None
    viewer = Viewer(key_id=0, organization_id=organization, role=Role.MANAGER)
    listed = run(viewer, report.CAMPAIGNS)["campaigns"]["edges"]
    live = [e["node"] for e in listed if e["node"]["status"] == "ACTIVE"]
    assert live
    campaign = live[0]["id"]
    head = run(viewer, report.HEAD, id=campaign)["node"]
    zone = formatting.time_zone(head["brand"])
    period, error = report.period_of({}, datetime.now(zone).date())
    assert error is None and period.granularity == "DAY"
    node = run(
        viewer,
        report.REPORT,
        id=campaign,
        granularity=period.granularity,
        metric=period.ranking,
        **period.variables(zone),
    )["node"]
    series = node["performanceSeries"]
    assert len(series) == report.DEFAULT_DAYS
    active = [b for b in series if b["clicks"] or b["conversions"]]
    months = {datetime.fromisoformat(b["start"]).astimezone(zone).strftime("%Y-%m") for b in active}
    assert len(months) > 1, (node["name"], months)
    assert len(active) > 31, (node["name"], len(active))
    assert node["leaderboard"] and node["byCountry"]


def test_balances_are_sums_of_entries_and_batches_pay_them(
    s: Session, result: demo.DemoResult
) -> None:
    pairs = s.execute(
        select(
            LedgerEntry.organization_id, LedgerEntry.influencer_id, LedgerEntry.currency
        ).distinct()
    ).all()
    assert len(pairs) > 20
    payouts = Counter()
    for influencer, currency, amount in s.execute(
        select(LedgerEntry.influencer_id, LedgerEntry.currency, LedgerEntry.amount).where(
            LedgerEntry.kind == "PAYOUT"
        )
    ):
        payouts[(influencer, currency)] -= amount
    for org_id, influencer_id, currency in pairs:
        b = balances.balance(s, org_id, influencer_id, currency, as_of=utcnow())
        assert b.net == balances.net_total(s, org_id, influencer_id, currency)
        # What PAID batches cover is exactly what they paid out.
        assert b.paid == payouts[(influencer_id, currency)]
    for org_id in result.organization_ids:
        batches = s.scalars(select(PayoutBatch).where(PayoutBatch.organization_id == org_id)).all()
        assert {b.status for b in batches} == {"PAID", "DRAFT"}, org_id
        for batch in batches:
            lines = s.scalars(select(PayoutLine).where(PayoutLine.batch_id == batch.id)).all()
            # the monthly runs pay the minimum and more; today's drafts whatever is owed
            least = actions.PAYOUT_MINIMUM if batch.status == "PAID" else 1
            assert lines and all(line.amount >= least for line in lines)
            paid = s.scalars(
                select(LedgerEntry).where(LedgerEntry.payout_batch_id == batch.id)
            ).all()
            if batch.status == "PAID":
                assert batch.paid_at and batch.paid_at > batch.created_at and batch.reference
                assert sorted((e.influencer_id, -e.amount) for e in paid) == sorted(
                    (line.influencer_id, line.amount) for line in lines
                )
            else:
                assert not paid
        drafts = [b for b in batches if b.status == "DRAFT"]
        assert max(b.as_of for b in batches) in {b.as_of for b in drafts}  # the latest waits
        # a draft in every currency of the organization's brands, whatever the day of the month
        # (the walkthrough pays one in GBP at an FX rate)
        currencies = s.scalars(
            select(Brand.default_currency).where(Brand.organization_id == org_id)
        )
        assert {b.currency for b in drafts} == set(currencies), org_id


def test_statements_have_lines(s: Session, result: demo.DemoResult) -> None:
    months = sorted({m.strftime("%Y-%m") for m in s.scalars(select(LedgerEntry.created_at))})
    assert len(months) >= 4
    for org_id in result.organization_ids:
        lines = list(export.entry_rows(s, NOW.strftime("%Y-%m"), org_id=org_id))
        assert len(lines) > 10, org_id
        assert lines[0].startswith("statement_period,")
        paid_month = [
            line
            for month in months
            for line in export.entry_rows(s, month, org_id=org_id, header=False)
            if ",PAID," in line
        ]
        assert paid_month


def test_history_leaves_no_redis_keys(s: Session) -> None:
    client = redis_client()
    prefix = get_settings().redis.prefix
    assert not list(client.scan_iter(match=f"{prefix}:demo-*", count=1000))
    client.close()


def test_published_posts_have_rising_results(s: Session) -> None:
    from itertools import pairwise

    from api.content.post_metrics import counts_of
    from api.domain import post_metrics
    from api.models import PostMetricSnapshot

    published = {
        d.id: d for d in s.scalars(select(Deliverable).where(Deliverable.status == "PUBLISHED"))
    }
    history: dict[int, list[PostMetricSnapshot]] = defaultdict(list)
    for row in s.scalars(select(PostMetricSnapshot).order_by(PostMetricSnapshot.captured_at)):
        history[row.deliverable_id].append(row)
    assert history and set(history) <= set(published)
    assert sum(len(rows) >= 2 for rows in history.values()) >= len(published) // 2
    for deliverable_id, rows in history.items():
        published_at = published[deliverable_id].published_at
        assert published_at is not None and all(r.captured_at > published_at for r in rows)
        for earlier, later in pairwise(rows):
            assert post_metrics.regressions(counts_of(earlier), counts_of(later)) == []
        assert all(post_metrics.validate(counts_of(r)) == [] for r in rows)
        assert rows[-1].impressions and rows[-1].likes


def test_payout_rails_show_on_first_run(s: Session) -> None:
    """Payout details, paying accounts, GBP batches paid at a rate to EUR payees, self-billing
    invoices numbered from 1 without gaps, signed contracts."""
    from api.models import (
        ContractSignature,
        DebtorAccount,
        PayoutDetails,
        PayoutLine,
        SelfBillingInvoice,
    )

    assert s.scalar(select(func.count()).select_from(DebtorAccount)) == 2
    assert s.scalar(select(func.count()).select_from(PayoutDetails)) > 50
    converted = s.scalars(select(PayoutLine).where(PayoutLine.fx_rate.is_not(None))).all()
    assert converted and {(line.currency, line.paid_currency) for line in converted} == {
        ("GBP", "EUR")
    }
    for org_id in s.scalars(select(SelfBillingInvoice.organization_id).distinct()):
        numbers = s.scalars(
            select(SelfBillingInvoice.number)
            .where(SelfBillingInvoice.organization_id == org_id)
            .order_by(SelfBillingInvoice.number)
        ).all()
        assert numbers == list(range(1, len(numbers) + 1))
    assert s.scalar(select(func.count()).select_from(SelfBillingInvoice)) > 0
    assert s.scalar(select(func.count()).select_from(ContractSignature)) == 24


def test_a_live_post_lost_its_label_and_a_usage_right_ends_soon(
    s: Session, result: demo.DemoResult
) -> None:
    from api.domain.usage_rights import RightsState, state
    from api.models import ContentEvent, ContentFinding, DeliverableUsageRights
    from api.models.live_posts import FindingKind

    for organization_id in result.organization_ids:
        removed = s.scalars(
            select(ContentFinding).where(
                ContentFinding.organization_id == organization_id,
                ContentFinding.kind == FindingKind.DISCLOSURE_REMOVED,
            )
        ).all()
        assert len(removed) == 1
        assert "#ad" not in (removed[0].evidence["caption"] or "").lower().split()
        rights = s.scalars(
            select(DeliverableUsageRights).where(
                DeliverableUsageRights.organization_id == organization_id
            )
        ).all()
        now = utcnow()
        expiring = [r for r in rights if state(r.expires_at, now, 14) is RightsState.EXPIRING]
        assert expiring
        events = s.scalars(
            select(ContentEvent.type).where(ContentEvent.organization_id == organization_id)
        ).all()
        assert "content.disclosure_removed" in events and "usage_rights.expiring" in events


def test_a_planted_risky_creator_and_a_leaked_code_show_on_first_run(
    s: Session, result: demo.DemoResult
) -> None:
    from api.domain.risk import RiskCode, RiskLevel, at_least
    from api.models import Brand, ContentEvent, DiscountCode, InfluencerRisk, PartnershipRisk

    assert result.risky_partnership_id is not None and result.leaked_code_id is not None
    risky = s.get_one(PartnershipRisk, result.risky_partnership_id)
    assert at_least(risky.level, RiskLevel.HIGH)
    codes = {r["code"] for r in risky.reasons}
    assert {
        RiskCode.COUPON_SITE_ORDERS,
        RiskCode.CODE_VOLUME_SPIKE,
        RiskCode.SELF_REFERRAL,
    } <= codes
    weights = [r["weight"] for r in risky.reasons]
    assert weights == sorted(weights, reverse=True)
    assert s.get_one(InfluencerRisk, risky.influencer_id).score >= risky.score - 10
    leaked = s.get_one(DiscountCode, result.leaked_code_id)
    assert leaked.leak_suspected_at is not None
    events = s.scalars(
        select(ContentEvent).where(ContentEvent.type == "discount_code.leak_suspected")
    ).all()
    assert [e.payload["code"] for e in events] == [leaked.code]
    # The rest of the roster: only the planted creator and the planted fake audiences are HIGH
    # or above.
    elevated = s.scalars(
        select(PartnershipRisk).where(
            PartnershipRisk.level.in_([RiskLevel.HIGH.value, RiskLevel.CRITICAL.value])
        )
    ).all()
    assert result.risky_partnership_id in {r.partnership_id for r in elevated}
    for row in elevated:
        if row.partnership_id != result.risky_partnership_id:
            assert row.influencer_id in result.planted_fakes
            assert {r["code"] for r in row.reasons} & {"FAKE_AUDIENCE", "FOLLOWER_SPIKE"}
    brand = s.scalars(select(Brand).order_by(Brand.id)).first()
    assert brand is not None and brand.risk_hold_level == RiskLevel.HIGH.value
    # Its coupon-site orders are leaked sales, said so on the order.
    reasons = s.scalars(
        select(Conversion.leak_reason).where(
            Conversion.partnership_id == result.risky_partnership_id,
            Conversion.leak_reason.is_not(None),
        )
    ).all()
    assert len(reasons) == 14 and all("coupon site" in r for r in reasons)
