"""Derived tables kept in step with their inputs, in the transaction that changes them.

- `audience_peer_medians`: the roster statistic audience quality compares with, so reading a
  score costs the page's own accounts, not the whole organization (issue 19).
- `influencer_facets`: what discovery filters on, in one narrow indexed table.

Every ORM write path (mutations, imports, the demo, test factories) is covered by two session
hooks: `after_flush` notes which influencers and organizations had inputs change, and
`before_commit` rebuilds their rows. Bulk Core inserts bypass the hooks and call `refresh_*`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, event, func, insert, inspect, select, tuple_
from sqlalchemy.orm import Session

from api.domain import audience_quality as aq
from api.domain import demographics as dm
from api.domain.metrics import Tier, TierThresholds, tier_for
from api.models import (
    AudienceSnapshot,
    Influencer,
    InfluencerFacet,
    PeerMedian,
    SocialAccount,
)

TAG = dm.FULL  # the share of a NICHE, LANGUAGE or PLATFORM facet: the influencer has it
_CHUNK = 500
# Account fields the peer medians and the audience blend depend on.
_ACCOUNT_INPUTS = ("platform", "followers", "posts", "avg_likes", "avg_comments", "influencer_id")
_PROFILE_INPUTS = ("niches", "languages")


# --- peer medians -----------------------------------------------------------------------------


def peer_median_rows(
    organization_id: int, accounts: Iterable[Any], thresholds: TierThresholds
) -> list[dict[str, Any]]:
    """The `audience_peer_medians` rows of an organization from its accounts' (platform,
    followers, posts, avg_likes, avg_comments): the only fields `aq.peer_medians` reads."""
    accounts = list(accounts)
    medians = aq.peer_medians(
        (
            aq.AccountMetrics(str(p), f, 0, n, likes, comments)
            for p, f, n, likes, comments in accounts
        ),
        thresholds,
    )
    peers: dict[tuple[str, Tier], int] = defaultdict(int)
    for platform, followers, posts, _likes, _comments in accounts:
        if posts and followers:  # the accounts with a rate (aq._rate)
            peers[(str(platform), tier_for(followers, thresholds))] += 1
    out = []
    for (platform, tier), median in sorted(medians.items()):
        hundredths = median * 100
        if hundredths != hundredths.to_integral_value():  # rates have 2 places: never happens
            raise ValueError(f"median {median} has more than two decimals")
        out.append(
            {
                "organization_id": organization_id,
                "platform": platform,
                "tier": tier.value,
                "median": int(hundredths),
                "peers": peers[(platform, tier)],
            }
        )
    return out


def refresh_peer_medians(session: Session, organization_id: int) -> None:
    """Rebuilds the organization's peer medians from its accounts (one narrow read)."""
    from api.influencers.audience import thresholds_of  # api.models imports this module

    thresholds = thresholds_of(session, organization_id)
    rows = session.execute(
        select(
            SocialAccount.platform,
            SocialAccount.followers,
            SocialAccount.posts,
            SocialAccount.avg_likes,
            SocialAccount.avg_comments,
        ).where(SocialAccount.organization_id == organization_id)
    ).all()
    session.execute(delete(PeerMedian).where(PeerMedian.organization_id == organization_id))
    values = peer_median_rows(organization_id, rows, thresholds)
    if values:
        session.execute(insert(PeerMedian), values)


def stored_peer_medians(session: Session, organization_id: int) -> dict[tuple[str, Tier], Decimal]:
    """The organization's peer medians as `aq.peer_medians` returns them (a row per group)."""
    return {
        (platform, Tier(tier)): Decimal(median).scaleb(-2)
        for platform, tier, median in session.execute(
            select(PeerMedian.platform, PeerMedian.tier, PeerMedian.median).where(
                PeerMedian.organization_id == organization_id
            )
        )
    }


# --- facets -----------------------------------------------------------------------------------


def snapshot_audience(snapshot: AudienceSnapshot) -> dm.Audience:
    def dist(pairs: list[list[object]]) -> dm.Distribution:
        return {str(k): int(str(v)) for k, v in pairs}

    return dm.Audience(
        countries=dist(snapshot.countries),
        age_bands=dist(snapshot.age_bands),
        genders=dist(snapshot.genders),
        fake_share=snapshot.fake_share,
    )


def latest_snapshots(session: Session, account_ids: list[int]) -> dict[int, AudienceSnapshot]:
    """The newest audience snapshot of each account that has one."""
    if not account_ids:
        return {}
    newest = (
        select(AudienceSnapshot.social_account_id, func.max(AudienceSnapshot.captured_at))
        .where(AudienceSnapshot.social_account_id.in_(account_ids))
        .group_by(AudienceSnapshot.social_account_id)
    )
    rows = session.scalars(
        select(AudienceSnapshot).where(
            tuple_(AudienceSnapshot.social_account_id, AudienceSnapshot.captured_at).in_(newest)
        )
    )
    return {s.social_account_id: s for s in rows}


def facet_rows(
    organization_id: int,
    influencer_id: int,
    niches: Iterable[str],
    languages: Iterable[str],
    platforms: Iterable[str],
    blended: dm.Audience,
) -> list[dict[str, Any]]:
    base = {"organization_id": organization_id, "influencer_id": influencer_id}
    rows = [
        {**base, "kind": kind, "key": str(key)[:64], "share": TAG}
        for kind, keys in (("NICHE", niches), ("LANGUAGE", languages), ("PLATFORM", platforms))
        for key in dict.fromkeys(keys)
    ]
    for kind in dm.Kind:
        rows += [
            {**base, "kind": kind.value, "key": key, "share": share}
            for key, share in blended.distribution(kind).items()
        ]
    if blended.fake_share is not None:
        rows.append({**base, "kind": "FAKE", "key": "", "share": blended.fake_share})
    return rows


def refresh_facets(session: Session, influencer_ids: Iterable[int]) -> None:
    """Rebuilds the facets of these influencers from their profile, accounts and each account's
    latest audience snapshot (blended by followers)."""
    ids = sorted(set(influencer_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        people = session.execute(
            select(
                Influencer.id, Influencer.organization_id, Influencer.niches, Influencer.languages
            ).where(Influencer.id.in_(chunk))
        ).all()
        accounts: dict[int, list[Any]] = defaultdict(list)
        for row in session.execute(
            select(
                SocialAccount.id,
                SocialAccount.influencer_id,
                SocialAccount.platform,
                SocialAccount.followers,
            ).where(SocialAccount.influencer_id.in_(chunk))
        ):
            accounts[row.influencer_id].append(row)
        latest = latest_snapshots(session, [a.id for accs in accounts.values() for a in accs])
        values: list[dict[str, Any]] = []
        for person in people:
            own = accounts.get(person.id, [])
            blended = dm.blend(
                (a.followers, snapshot_audience(latest[a.id])) for a in own if a.id in latest
            )
            values += facet_rows(
                person.organization_id,
                person.id,
                person.niches or [],
                person.languages or [],
                sorted({str(a.platform) for a in own}),
                blended,
            )
        session.execute(delete(InfluencerFacet).where(InfluencerFacet.influencer_id.in_(chunk)))
        if values:
            session.execute(insert(InfluencerFacet), values)


# --- the hooks --------------------------------------------------------------------------------

_STALE = "vouch.derived.stale"


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[n].history.has_changes() for n in names)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: Any) -> None:
    influencers: set[int] = set()
    organizations: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Influencer):
            influencers.add(obj.id)
        elif isinstance(obj, SocialAccount):
            influencers.add(obj.influencer_id)
            organizations.add(obj.organization_id)
        elif isinstance(obj, AudienceSnapshot):
            influencers.add(obj.influencer_id)
    for obj in session.dirty:
        if isinstance(obj, Influencer) and _changed(obj, _PROFILE_INPUTS):
            influencers.add(obj.id)
        elif isinstance(obj, SocialAccount) and _changed(obj, _ACCOUNT_INPUTS):
            influencers.add(obj.influencer_id)
            influencers.update(inspect(obj).attrs.influencer_id.history.deleted or ())
            organizations.add(obj.organization_id)
    for obj in session.deleted:
        if isinstance(obj, SocialAccount):
            influencers.add(obj.influencer_id)
            organizations.add(obj.organization_id)
    if influencers or organizations:  # sessions that touch none of these pay nothing more
        stale_influencers, stale_organizations = session.info.setdefault(_STALE, (set(), set()))
        stale_influencers.update(influencers)
        stale_organizations.update(organizations)


@event.listens_for(Session, "before_commit")
def _rebuild(session: Session) -> None:
    if _STALE not in session.info:
        return
    session.flush()
    influencers, organizations = session.info.pop(_STALE)
    if influencers:
        refresh_facets(session, influencers)
    for organization_id in sorted(organizations):
        refresh_peer_medians(session, organization_id)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_STALE, None)
