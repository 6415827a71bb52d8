"""After a post goes live, through the API: live captions rechecked against the approved
version (recordPostMetrics, the CSV import, recheckPublishedContent), each finding kind, the
brand's consequence (HOLD_COMMISSION held through the ingest path, MARK_BREACHED), resolving,
exclusivity at invitation and in captions, usage rights and their notices, tenancy."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.content import usage_rights as rights_store
from api.db import utcnow
from api.ingest.conversions import Context, ingest_conversion
from api.models import (
    Brand,
    ContentEvent,
    ContentFinding,
    ContentSubmission,
    Conversion,
    Deliverable,
    DeliverableUsageRights,
    DiscountCode,
    PostMetricSnapshot,
)
from api.models.events import ConversionStatus
from tests import refusals
from tests.factories import gid
from tracker.conversions import ConversionEvent

NOW = datetime.now(UTC).replace(microsecond=0)
APPROVED = "#ad Loving my new Lumen serum, thanks @lumen #lumenglow"
NO_AD = "Loving my new Lumen serum, thanks @lumen #lumenglow"
NO_TAG = "#ad Loving my new Lumen serum, thanks @lumen"
FINDING = (
    "id kind status consequence source caption sha256 seenAt reasons evidence resolvedBy "
    "resolutionNote deliverable { id breachedAt } partnership { id }"
)
FINDINGS = (
    "query($id: ID!) { node(id: $id) { ... on Deliverable { breachedAt findings { "
    + FINDING
    + " } } } }"
)
LIST = (
    "query($f: ContentFindingFilter) { contentFindings(filter: $f) { totalCount edges { node { "
    + FINDING
    + " } } } }"
)


@pytest.fixture
def w(factory: Any, db: Any) -> dict[str, Any]:
    world = factory.world()
    campaign = world["campaign"]
    campaign.required_hashtags = ["lumenglow"]
    db.commit()
    world["post"] = published(factory, db, world["partnership"])
    return world


def published(factory: Any, db: Any, partnership: Any, caption: str = APPROVED) -> Any:
    """A PUBLISHED deliverable whose approved (latest) version has `caption`."""
    d = factory.deliverable(
        partnership,
        status="PUBLISHED",
        published_at=NOW - timedelta(days=5),
        published_url=f"https://ig.example/p/{partnership.id}-{caption[:3]}",
    )
    submission = ContentSubmission(
        organization_id=d.organization_id,
        deliverable_id=d.id,
        version=1,
        caption=caption,
        reviewed_at=NOW - timedelta(days=6),
        reviewed_by="key:manager",
    )
    db.add(submission)
    db.commit()
    return d


def snapshot(gql: Any, key: str, d: Any, caption: str, days_ago: float = 1) -> Any:
    at = NOW - timedelta(days=days_ago)
    return gql.mutate(
        key,
        "recordPostMetrics",
        {"deliverableId": gid(d), "capturedAt": at.isoformat(), "likes": 10, "caption": caption},
        "created",
    )


def findings_of(gql: Any, key: str, d: Any) -> list[dict[str, Any]]:
    node: dict[str, Any] = gql(key, FINDINGS, id=gid(d))["node"]
    return list(node["findings"])


def events(db: Any, w: dict[str, Any], type: str) -> list[ContentEvent]:
    db.expire_all()
    e = ContentEvent
    rows = db.scalars(select(e).where(e.organization_id == w["org"].id, e.type == type))
    return list(rows.all())


def test_a_live_caption_that_lost_its_ad_is_a_disclosure_removed_finding(gql, db, w):
    manager = w["keys"]["MANAGER"]
    assert snapshot(gql, manager, w["post"], APPROVED)["created"]
    assert findings_of(gql, manager, w["post"]) == []  # the approved caption, live: nothing
    assert snapshot(gql, manager, w["post"], NO_AD, days_ago=0.5)["created"]
    (finding,) = findings_of(gql, manager, w["post"])
    assert finding["kind"] == "DISCLOSURE_REMOVED" and finding["status"] == "OPEN"
    assert finding["source"] == "MANUAL" and finding["consequence"] == "NOTIFY"
    assert finding["caption"] == NO_AD
    assert finding["sha256"] == hashlib.sha256(NO_AD.encode()).hexdigest()
    assert finding["seenAt"].startswith((NOW - timedelta(days=0.5)).date().isoformat())
    assert "PASS when approved and is FAIL now" in finding["reasons"][0]
    rules = finding["evidence"]["rules"]
    assert rules["approved"]["worstVerdict"] == "PASS" and rules["live"]["worstVerdict"] == "FAIL"
    assert finding["deliverable"]["id"] == gid(w["post"])
    (event,) = events(db, w, "content.disclosure_removed")
    assert event.payload["findingId"] == finding["id"]
    # The same caption seen again, later: the same finding, no second one and no second event.
    assert snapshot(gql, manager, w["post"], NO_AD, days_ago=0.1)["created"]
    assert len(findings_of(gql, manager, w["post"])) == 1
    assert len(events(db, w, "content.disclosure_removed")) == 1


def test_a_required_hashtag_removed_is_a_caption_changed_finding(gql, db, w):
    manager = w["keys"]["MANAGER"]
    snapshot(gql, manager, w["post"], NO_TAG)
    (finding,) = findings_of(gql, manager, w["post"])
    assert finding["kind"] == "CAPTION_CHANGED"
    assert finding["evidence"]["details"] == {"removedHashtags": ["lumenglow"]}
    assert len(events(db, w, "content.caption_changed")) == 1


def test_a_self_report_and_the_csv_import_are_watched_too(gql, db, w, factory):
    snapshot(gql, w["keys"]["INFLUENCER"], w["post"], NO_AD)
    (finding,) = findings_of(gql, w["keys"]["MANAGER"], w["post"])
    assert finding["source"] == "SELF_REPORTED"
    other = published(factory, db, w["partnership"])
    csv = (
        "deliverable_id,captured_at,likes,caption\n"
        f'{gid(other)},{(NOW - timedelta(days=1)).isoformat()},5,"{NO_TAG}"\n'
    )
    result = gql.mutate(
        w["keys"]["MANAGER"], "importPostMetrics", {"csv": csv}, "result { created }"
    )
    assert result["result"]["created"] == 1
    (imported,) = findings_of(gql, w["keys"]["MANAGER"], other)
    assert imported["source"] == "IMPORT" and imported["kind"] == "CAPTION_CHANGED"


def _comment_codes(finding: dict[str, Any]) -> set[str]:
    """The live caption's finding codes, as the rules gave them."""
    live = finding["evidence"]["rules"]["live"]["results"]
    return {f["code"] for r in live for f in r["findings"]}


def test_a_label_moved_into_a_reply_is_found_on_every_live_path(gql, db, w, factory):
    """The creator's own comments seen with the live caption go to the checker: "#ad" moved
    from the caption into a reply is LABEL_ONLY_IN_COMMENT, from recordPostMetrics, the CSV
    import, recheckPublishedContent and `vouch content recheck` (stored snapshots)."""
    manager = w["keys"]["MANAGER"]
    at = (NOW - timedelta(days=1)).isoformat()
    recorded = gql.mutate(
        manager,
        "recordPostMetrics",
        {
            "deliverableId": gid(w["post"]),
            "capturedAt": at,
            "likes": 10,
            "caption": NO_AD,
            "creatorComments": ["#ad", " thanks for the love "],
        },
        "created metrics { creatorComments }",
    )
    assert recorded["userErrors"] == []
    assert recorded["metrics"]["creatorComments"] == ["#ad", "thanks for the love"]
    (finding,) = gql(
        manager, FINDINGS.replace("reasons", "reasons creatorComments"), id=gid(w["post"])
    )["node"]["findings"]
    assert finding["kind"] == "DISCLOSURE_REMOVED"
    assert finding["creatorComments"] == ["#ad", "thanks for the love"]
    assert "LABEL_ONLY_IN_COMMENT" in _comment_codes(finding)
    assert "MISSING_LABEL" not in _comment_codes(finding)

    imported = published(factory, db, w["partnership"])
    csv = (
        "deliverable_id,captured_at,likes,caption,creator_comments\n"
        f'{gid(imported)},{at},5,"{NO_AD}","first!\n#ad"\n'
    )
    result = gql.mutate(manager, "importPostMetrics", {"csv": csv}, "result { created }")
    assert result["result"]["created"] == 1
    (from_csv,) = findings_of(gql, manager, imported)
    assert from_csv["source"] == "IMPORT" and "LABEL_ONLY_IN_COMMENT" in _comment_codes(from_csv)
    assert from_csv["evidence"]["comments"] == ["first!", "#ad"]

    stored = [published(factory, db, w["partnership"]) for _ in range(2)]
    for post in stored:
        db.add(
            PostMetricSnapshot(
                organization_id=w["org"].id,
                deliverable_id=post.id,
                captured_at=NOW - timedelta(hours=3),
                source="PLATFORM_API",
                caption=NO_AD,
                creator_comments=["#ad"],
            )
        )
    db.commit()
    rechecked = gql.mutate(
        manager,
        "recheckPublishedContent",
        {"deliverableId": gid(stored[0])},
        "findings { kind source creatorComments evidence }",
    )
    (again,) = rechecked["findings"]
    assert again["source"] == "RECHECK" and again["creatorComments"] == ["#ad"]
    assert "LABEL_ONLY_IN_COMMENT" in _comment_codes(again)
    assert _vouch("content", "recheck", "--org", str(w["org"].id)) == 0
    db.expire_all()
    (cli,) = db.scalars(
        select(ContentFinding).where(ContentFinding.deliverable_id == stored[1].id)
    ).all()
    assert cli.evidence["comments"] == ["#ad"]
    live = cli.evidence["rules"]["live"]["results"]
    assert "LABEL_ONLY_IN_COMMENT" in {f["code"] for r in live for f in r["findings"]}


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"caption": None}, "REQUIRED"),  # comments are checked with the caption
        ({"creatorComments": ["#ad"] * 21}, "TOO_LONG"),
        ({"creatorComments": ["x" * 5001]}, "TOO_LONG"),
        ({"creatorComments": ["#ad\x00"]}, "INVALID"),
    ],
)
def test_bad_creator_comments_are_refused(gql, db, w, extra, code):
    input = {
        "deliverableId": gid(w["post"]),
        "capturedAt": (NOW - timedelta(days=1)).isoformat(),
        "likes": 3,
        "caption": NO_AD,
        "creatorComments": ["#ad"],
        **extra,
    }
    payload = gql.mutate(w["keys"]["MANAGER"], "recordPostMetrics", input, "created")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("creatorComments", code)]
    db.expire_all()
    post = w["post"].id
    assert (
        db.scalars(
            select(PostMetricSnapshot).where(PostMetricSnapshot.deliverable_id == post)
        ).all()
        == []
    )
    assert (
        db.scalars(select(ContentFinding).where(ContentFinding.deliverable_id == post)).all() == []
    )


def test_recheck_published_content_finds_what_is_new_once(gql, db, w):
    db.add(  # a caption stored without the live check (e.g. before this feature)
        PostMetricSnapshot(
            organization_id=w["org"].id,
            deliverable_id=w["post"].id,
            captured_at=NOW - timedelta(days=1),
            source="PLATFORM_API",
            caption=NO_AD,
        )
    )
    db.commit()
    select_ = "checked complete findings { kind source }"
    manager = w["keys"]["MANAGER"]
    first = gql.mutate(manager, "recheckPublishedContent", {}, select_)
    assert first["userErrors"] == [] and first["checked"] == 1 and first["complete"]
    assert first["findings"] == [{"kind": "DISCLOSURE_REMOVED", "source": "RECHECK"}]
    again = gql.mutate(
        manager, "recheckPublishedContent", {"deliverableId": gid(w["post"])}, select_
    )
    assert again["checked"] == 1 and again["findings"] == []
    refused = gql.mutate(w["keys"]["INFLUENCER"], "recheckPublishedContent", {}, select_)
    assert [e["code"] for e in refused["userErrors"]] == ["FORBIDDEN"]
    missing = gql.mutate(
        manager, "recheckPublishedContent", {"campaignId": gid(w["post"])}, select_
    )
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [("campaignId", "NOT_FOUND")]


def _order(w: dict[str, Any], code: str, order_id: str) -> ConversionEvent:
    ms = int(utcnow().timestamp() * 1000)
    return ConversionEvent(
        event_id=f"ev-{order_id}",
        brand_id=w["brand"].id,
        order_id=order_id,
        amount=10_000,
        currency=w["campaign"].currency,
        occurred_at_ms=ms,
        received_at_ms=ms,
        discount_code=code,
    )


def test_hold_commission_holds_new_commissions_until_resolved(gql, db, w):
    w["campaign"].live_breach_action = "HOLD_COMMISSION"
    code = DiscountCode(
        organization_id=w["org"].id,
        brand_id=w["brand"].id,
        campaign_id=w["campaign"].id,
        partnership_id=w["partnership"].id,
        code="LUMEN10",
        percent_off_bps=1000,
    )
    db.add(code)
    db.commit()
    ingest_conversion(db, _order(w, "LUMEN10", "before"), Context(utcnow()))
    db.commit()
    manager = w["keys"]["MANAGER"]
    snapshot(gql, manager, w["post"], NO_AD)
    (finding,) = findings_of(gql, manager, w["post"])
    assert finding["consequence"] == "HOLD_COMMISSION"
    ingest_conversion(db, _order(w, "LUMEN10", "during"), Context(utcnow()))
    db.commit()
    resolved = gql.mutate(
        manager,
        "resolveContentFinding",
        {"findingId": finding["id"], "note": "Creator restored #ad on the post"},
        "finding { status resolvedBy resolutionNote }",
    )
    assert resolved["userErrors"] == []
    assert resolved["finding"]["status"] == "RESOLVED"
    assert resolved["finding"]["resolutionNote"] == "Creator restored #ad on the post"
    ingest_conversion(db, _order(w, "LUMEN10", "after"), Context(utcnow()))
    db.commit()
    db.expire_all()
    by_order = {
        c.order_id: (c.status, c.hold_reasons)
        for c in db.scalars(select(Conversion).where(Conversion.organization_id == w["org"].id))
    }
    assert by_order["before"] == (ConversionStatus.APPROVED, [])
    assert by_order["during"] == (ConversionStatus.HELD, ["LIVE_POST_BREACH"])
    assert by_order["after"] == (ConversionStatus.APPROVED, [])


def test_mark_breached_flags_the_deliverable_and_resolving_unflags_it(gql, db, w):
    w["campaign"].live_breach_action = "MARK_BREACHED"
    db.commit()
    manager = w["keys"]["MANAGER"]
    snapshot(gql, manager, w["post"], NO_AD)
    node = gql(manager, FINDINGS, id=gid(w["post"]))["node"]
    assert node["breachedAt"] is not None
    finding_id = node["findings"][0]["id"]
    select_ = "finding { status }"
    for key, input, field, code in [
        (w["keys"]["FINANCE"], {"note": "x"}, None, "FORBIDDEN"),
        (manager, {"note": "   "}, "note", "REQUIRED"),
        (manager, {"note": "x" * 2001}, "note", "TOO_LONG"),
    ]:
        bad = gql.mutate(key, "resolveContentFinding", {"findingId": finding_id, **input}, select_)
        assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [(field, code)]
    ok = gql.mutate(
        manager, "resolveContentFinding", {"findingId": finding_id, "note": "ok"}, select_
    )
    assert ok["finding"]["status"] == "RESOLVED"
    assert gql(manager, FINDINGS, id=gid(w["post"]))["node"]["breachedAt"] is None
    twice = gql.mutate(
        manager, "resolveContentFinding", {"findingId": finding_id, "note": "ok"}, select_
    )
    assert [e["code"] for e in twice["userErrors"]] == ["INVALID_TRANSITION"]
    assert len(events(db, w, "content.finding_resolved")) == 1


def test_the_breach_action_is_a_campaign_setting(gql, w):
    payload = gql.mutate(
        w["keys"]["MANAGER"],
        "updateCampaign",
        {"campaignId": gid(w["campaign"]), "liveBreachAction": "HOLD_COMMISSION"},
        "campaign { liveBreachAction }",
    )
    assert payload["campaign"] == {"liveBreachAction": "HOLD_COMMISSION"}


def exclusive_world(factory: Any, db: Any, w: dict[str, Any], **terms: Any) -> Any:
    """The world's influencer is exclusive to the world's brand (skincare, @rivalco) for 60
    days from yesterday; another brand of the organization, in skincare, has a campaign."""
    values: dict[str, Any] = {
        "exclusivity_days": 60,
        "exclusivity_categories": ["skincare"],
        "exclusivity_competitors": ["@rivalco", "Aura Beauty"],
        "accepted_at": NOW - timedelta(days=1),
    }
    values.update(terms)
    factory.contract(w["partnership"], **values)
    other = factory.brand(w["org"], name="Aura Beauty", categories=["Skincare"])
    return factory.campaign(other)


def test_an_invitation_against_an_exclusivity_is_a_conflict_unless_an_admin_overrides(
    gql, db, w, factory
):
    campaign = exclusive_world(factory, db, w)
    input = {"campaignId": gid(campaign), "influencerId": gid(w["influencer"])}
    select_ = "partnership { id }"
    refused = gql.mutate(w["keys"]["MANAGER"], "createPartnership", input, select_)
    (error,) = refused["userErrors"]
    assert error["code"] == "CONFLICT" and error["field"] == "influencerId"
    assert "exclusive to" in error["message"]
    forbidden = gql.mutate(
        w["keys"]["MANAGER"], "createPartnership", {**input, "overrideExclusivity": True}, select_
    )
    assert [e["code"] for e in forbidden["userErrors"]] == ["FORBIDDEN"]
    made = gql.mutate(
        w["keys"]["ADMIN"], "createPartnership", {**input, "overrideExclusivity": True}, select_
    )
    assert made["userErrors"] == []
    found = gql(w["keys"]["MANAGER"], LIST, f={"kind": "EXCLUSIVITY_CONFLICT"})["contentFindings"]
    assert found["totalCount"] == 1
    node = found["edges"][0]["node"]
    assert node["source"] == "INVITATION" and node["deliverable"] is None
    assert node["partnership"]["id"] == made["partnership"]["id"]
    assert node["evidence"]["exclusivities"][0]["categories"] == ["skincare"]
    assert len(events(db, w, "exclusivity.conflict")) == 1


def test_an_ambassador_program_of_a_competitor_checks_the_exclusivity_too(gql, db, w, factory):
    """Joining a program makes a partnership on its campaign: inviting and approving check the
    creator's exclusivities as createPartnership does."""
    rival = db.get(Brand, exclusive_world(factory, db, w).brand_id)
    admin, manager = w["keys"]["ADMIN"], w["keys"]["MANAGER"]
    program = gql.mutate(
        manager,
        "createProgram",
        {
            "brandId": gid(rival),
            "name": "Aura ambassadors",
            "currency": "EUR",
            "landingUrl": "https://aura.example.com/",
        },
        "program { id }",
    )["program"]
    plan = {"currency": "EUR", "commission": {"kind": "PERCENT", "rateBps": 1000}}
    level = gql.mutate(
        manager,
        "addProgramLevel",
        {"programId": program["id"], "name": "BRONZE", "threshold": "0", "compensation": plan},
        "level { id }",
    )
    assert level["userErrors"] == []
    invite = {"programId": program["id"], "influencerId": gid(w["influencer"])}
    select_ = "member { id status partnershipId }"

    def errors(payload: dict[str, Any]) -> list[tuple[str, str]]:
        return [(e["field"], e["code"]) for e in payload["userErrors"]]

    refused = gql.mutate(manager, "inviteToProgram", invite, select_)
    assert errors(refused) == [("influencerId", "CONFLICT")]
    assert "exclusive to" in refused["userErrors"][0]["message"]
    forbidden = gql.mutate(
        manager, "inviteToProgram", {**invite, "overrideExclusivity": True}, select_
    )
    assert errors(forbidden) == [("overrideExclusivity", "FORBIDDEN")]
    invited = gql.mutate(admin, "inviteToProgram", {**invite, "overrideExclusivity": True}, select_)
    assert invited["userErrors"] == [] and invited["member"]["status"] == "INVITED"
    member = invited["member"]["id"]
    review = {"memberId": member, "approve": True}
    assert errors(gql.mutate(manager, "reviewProgramApplication", review, select_)) == [
        ("memberId", "CONFLICT")
    ]
    declined_override = {"memberId": member, "approve": False, "overrideExclusivity": True}
    assert errors(gql.mutate(admin, "reviewProgramApplication", declined_override, select_)) == [
        ("overrideExclusivity", "NOT_ALLOWED")
    ]
    assert events(db, w, "exclusivity.conflict") == []
    approved = gql.mutate(
        admin, "reviewProgramApplication", {**review, "overrideExclusivity": True}, select_
    )
    assert approved["userErrors"] == [] and approved["member"]["status"] == "ACTIVE"
    found = gql(admin, LIST, f={"kind": "EXCLUSIVITY_CONFLICT"})["contentFindings"]
    assert found["totalCount"] == 1
    node = found["edges"][0]["node"]
    assert node["source"] == "INVITATION"
    assert node["partnership"]["id"] == approved["member"]["partnershipId"]
    assert len(events(db, w, "exclusivity.conflict")) == 1


def test_no_conflict_once_the_exclusivity_ended(gql, db, w, factory):
    campaign = exclusive_world(factory, db, w, accepted_at=NOW - timedelta(days=61))
    made = gql.mutate(
        w["keys"]["MANAGER"],
        "createPartnership",
        {"campaignId": gid(campaign), "influencerId": gid(w["influencer"])},
        "partnership { id }",
    )
    assert made["userErrors"] == []


def test_a_caption_naming_a_competitor_during_the_exclusivity_is_a_finding(gql, db, w, factory):
    exclusive_world(factory, db, w)
    caption = APPROVED + " also loving @RivalCo lately"
    snapshot(gql, w["keys"]["MANAGER"], w["post"], caption)
    (finding,) = findings_of(gql, w["keys"]["MANAGER"], w["post"])
    assert finding["kind"] == "EXCLUSIVITY_CONFLICT"
    (broken,) = finding["evidence"]["exclusivities"]
    assert [m["text"] for m in broken["mentions"]] == ["@RivalCo"]


def test_a_competitor_named_in_the_creators_reply_is_a_conflict(gql, db, w, factory):
    exclusive_world(factory, db, w)
    manager = w["keys"]["MANAGER"]

    def seen(comments: list[str], days_ago: float) -> None:
        at = (NOW - timedelta(days=days_ago)).isoformat()
        recorded = gql.mutate(
            manager,
            "recordPostMetrics",
            {
                "deliverableId": gid(w["post"]),
                "capturedAt": at,
                "likes": 10,
                "caption": APPROVED,
                "creatorComments": comments,
            },
            "created",
        )
        assert recorded["userErrors"] == []

    seen(["thanks all!"], 0.9)
    assert findings_of(gql, manager, w["post"]) == []  # the approved caption, a plain reply
    seen(["thanks all!", "also try @RivalCo"], 0.8)
    (finding,) = findings_of(gql, manager, w["post"])
    assert finding["kind"] == "EXCLUSIVITY_CONFLICT" and finding["caption"] == APPROVED
    (broken,) = finding["evidence"]["exclusivities"]
    assert broken["mentions"] == [
        {"competitor": "@rivalco", "text": "@RivalCo", "start": 9, "end": 17, "in": "comment 2"}
    ]
    assert "@RivalCo (in comment 2)" in finding["reasons"][0]
    seen(["thanks all!", "also try @RivalCo"], 0.7)  # the same again: nothing new
    seen(["thanks all!", "also try @RivalCo", "and Aura Beauty"], 0.6)  # a new competitor
    kinds = [f["kind"] for f in findings_of(gql, manager, w["post"])]
    assert kinds == ["EXCLUSIVITY_CONFLICT", "EXCLUSIVITY_CONFLICT"]
    assert len(events(db, w, "exclusivity.conflict")) == 2


def test_a_submitted_caption_naming_a_competitor_is_a_finding(gql, db, w, factory):
    exclusive_world(factory, db, w)
    d = factory.deliverable(w["partnership"])
    payload = gql.mutate(
        w["keys"]["INFLUENCER"],
        "submitContent",
        {"deliverableId": gid(d), "caption": "#ad my Aura Beauty haul"},
        "submission { version }",
    )
    assert payload["userErrors"] == []
    (finding,) = findings_of(gql, w["keys"]["MANAGER"], d)
    assert finding["kind"] == "EXCLUSIVITY_CONFLICT" and finding["source"] == "SUBMISSION"
    # A clean caption whose planned first comment names the competitor is one as well.
    replied = factory.deliverable(w["partnership"])
    payload = gql.mutate(
        w["keys"]["INFLUENCER"],
        "submitContent",
        {
            "deliverableId": gid(replied),
            "caption": "#ad my Lumen haul",
            "creatorComments": ["dupe of my Aura Beauty fave"],
        },
        "submission { version }",
    )
    assert payload["userErrors"] == []
    (finding,) = findings_of(gql, w["keys"]["MANAGER"], replied)
    assert finding["kind"] == "EXCLUSIVITY_CONFLICT" and finding["source"] == "SUBMISSION"
    assert finding["evidence"]["comments"] == ["dupe of my Aura Beauty fave"]
    assert finding["evidence"]["exclusivities"][0]["mentions"][0]["in"] == "comment 1"


def test_contract_terms_take_competitors_and_refuse_bad_ones(gql, w):
    select_ = "contract { exclusivityCompetitors }"
    base = {"partnershipId": gid(w["partnership"]), "usageRights": "ORGANIC"}
    ok = gql.mutate(
        w["keys"]["MANAGER"],
        "setContractTerms",
        {**base, "exclusivityCompetitors": [" Glow  Labs ", "@rivalco", "@rivalco"]},
        select_,
    )
    assert ok["contract"] == {"exclusivityCompetitors": ["Glow Labs", "@rivalco"]}
    for value, code in [([" "], "REQUIRED"), (["x" * 101], "TOO_LONG"), (["!!"], "INVALID")]:
        bad = gql.mutate(
            w["keys"]["MANAGER"],
            "setContractTerms",
            {**base, "exclusivityCompetitors": value},
            select_,
        )
        assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [
            ("exclusivityCompetitors[0]", code)
        ]


RIGHTS = "usageRights { channels paidUse allowlisting territories expiresAt state basis }"


def test_usage_rights_from_the_contract_at_publication(gql, db, w, factory):
    factory.contract(w["partnership"], usage_rights="PAID_WHITELISTING", usage_rights_days=30)
    d = factory.deliverable(w["partnership"], status="APPROVED")
    payload = gql.mutate(
        w["keys"]["MANAGER"],
        "markDeliverablePublished",
        {"deliverableId": gid(d), "url": "https://ig.example/p/rights"},
        f"deliverable {{ publishedAt {RIGHTS} }}",
    )
    rights = payload["deliverable"]["usageRights"]
    assert rights["channels"] == ["ORGANIC", "PAID_SOCIAL"]
    assert rights["paidUse"] and rights["allowlisting"] and rights["territories"] == ["WORLDWIDE"]
    assert rights["state"] == "ACTIVE" and rights["basis"] == "CONTRACT"
    published_at = datetime.fromisoformat(payload["deliverable"]["publishedAt"])
    assert datetime.fromisoformat(rights["expiresAt"]) == published_at + timedelta(days=30)
    # New terms: the rights that come from the contract follow; those a manager set stay.
    manager = w["keys"]["MANAGER"]
    terms = {"partnershipId": gid(w["partnership"]), "usageRights": "FULL_COMMERCIAL"}
    gql.mutate(manager, "setContractTerms", {**terms, "usageRightsDays": 90}, "contract { id }")
    query = "query($id: ID!) { node(id: $id) { ... on Deliverable { " + RIGHTS + " } } }"
    followed = gql(manager, query, id=gid(d))["node"]["usageRights"]
    assert followed["basis"] == "CONTRACT" and "TV" in followed["channels"]
    assert datetime.fromisoformat(followed["expiresAt"]) == published_at + timedelta(days=90)
    explicit = {"deliverableId": gid(w["post"]), "channels": ["EMAIL"], "territories": ["FR"]}
    assert gql.mutate(manager, "setUsageRights", explicit, RIGHTS)["userErrors"] == []
    none = {**terms, "usageRights": "NONE"}
    assert gql.mutate(manager, "setContractTerms", none, "contract { id }")["userErrors"] == []
    assert gql(manager, query, id=gid(d))["node"]["usageRights"] is None
    kept = gql(manager, query, id=gid(w["post"]))["node"]["usageRights"]
    assert kept["channels"] == ["EMAIL"] and kept["basis"] == "EXPLICIT"


def test_set_usage_rights_expiring_and_the_notices(gql, db, w):
    manager = w["keys"]["MANAGER"]
    soon = NOW + timedelta(days=5)
    payload = gql.mutate(
        manager,
        "setUsageRights",
        {
            "deliverableId": gid(w["post"]),
            "channels": ["ORGANIC", "WEBSITE"],
            "territories": ["fr", "DE"],
            "expiresAt": soon.isoformat(),
        },
        RIGHTS,
    )
    assert payload["userErrors"] == []
    assert payload["usageRights"]["state"] == "EXPIRING"
    assert payload["usageRights"]["territories"] == ["FR", "DE"]
    listing = gql(
        manager,
        "{ usageRightsExpiring(within: 14) { totalCount edges { node { id } } } }",
    )["usageRightsExpiring"]
    assert [e["node"]["id"] for e in listing["edges"]] == [gid(w["post"])]
    assert (
        gql(manager, "{ usageRightsExpiring(within: 2) { totalCount } }")["usageRightsExpiring"][
            "totalCount"
        ]
        == 0
    )
    assert gql.errors(manager, "{ usageRightsExpiring(within: 0) { totalCount } }")
    where = [Deliverable.organization_id == w["org"].id]
    first = rights_store.notify(db, where, 14)
    again = rights_store.notify(db, where, 14)
    db.commit()
    assert (first.expiring, again.expiring) == (1, 0)
    assert len(events(db, w, "usage_rights.expiring")) == 1
    after = rights_store.notify(db, where, 14, now=soon + timedelta(seconds=1))
    twice = rights_store.notify(db, where, 14, now=soon + timedelta(days=1))
    db.commit()
    assert (after.expired, twice.expired) == (1, 0)
    assert len(events(db, w, "usage_rights.expired")) == 1
    (finding,) = findings_of(gql, manager, w["post"])
    assert finding["kind"] == "USAGE_RIGHTS_EXPIRED" and finding["source"] == "SCHEDULE"


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"channels": ["ORGANIC"], "allowlisting": True}, "allowlisting", "NOT_ALLOWED"),
        ({"channels": ["PAID_SOCIAL"]}, "paidUse", "NOT_ALLOWED"),
        ({"channels": []}, "channels", "REQUIRED"),
        ({"territories": ["France"]}, "territories[0]", "INVALID"),
        ({"territories": ["WORLDWIDE", "FR"]}, "territories", "NOT_ALLOWED"),
        ({"expiresAt": "2026-01-01T00:00:00"}, "expiresAt", "INVALID"),
    ],
)
def test_bad_usage_rights_are_refused(gql, db, w, change, field, code):
    input = {
        "deliverableId": gid(w["post"]),
        "channels": ["ORGANIC"],
        "territories": ["WORLDWIDE"],
        **change,
    }
    refusals.refused(
        gql,
        db,
        w,
        [DeliverableUsageRights],
        "MANAGER",
        "setUsageRights",
        input,
        field,
        code,
        RIGHTS,
    )


def test_another_organization_sees_no_finding(gql, db, w, factory):
    snapshot(gql, w["keys"]["MANAGER"], w["post"], NO_AD)
    (finding,) = findings_of(gql, w["keys"]["MANAGER"], w["post"])
    stranger = factory.key(factory.org("Other"), "ADMIN")
    assert gql(stranger, LIST)["contentFindings"]["totalCount"] == 0
    assert (
        gql(stranger, "query($id: ID!) { node(id: $id) { id } }", id=finding["id"])["node"] is None
    )
    refused = gql.mutate(
        stranger,
        "resolveContentFinding",
        {"findingId": finding["id"], "note": "x"},
        "finding { id }",
    )
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [("findingId", "NOT_FOUND")]
    rights = gql.mutate(
        stranger,
        "setUsageRights",
        {"deliverableId": gid(w["post"]), "channels": ["ORGANIC"], "territories": ["FR"]},
        "usageRights { state }",
    )
    assert [e["code"] for e in rights["userErrors"]] == ["NOT_FOUND"]


def test_an_influencer_sees_the_findings_of_its_own_posts_only(gql, db, w, factory):
    snapshot(gql, w["keys"]["MANAGER"], w["post"], NO_AD)
    other = factory.influencer(w["org"])
    theirs = published(factory, db, factory.partnership(w["campaign"], other))
    snapshot(gql, w["keys"]["MANAGER"], theirs, NO_AD)
    mine = gql(w["keys"]["INFLUENCER"], LIST)["contentFindings"]
    assert mine["totalCount"] == 1
    assert mine["edges"][0]["node"]["deliverable"]["id"] == gid(w["post"])
    assert gql(w["keys"]["MANAGER"], LIST)["contentFindings"]["totalCount"] == 2


def _captioned(db: Any, w: dict[str, Any], d: Any, caption: str) -> None:
    """A caption stored without the live check (as before this feature, or a raw load)."""
    db.add(
        PostMetricSnapshot(
            organization_id=w["org"].id,
            deliverable_id=d.id,
            captured_at=NOW - timedelta(hours=3),
            source="PLATFORM_API",
            caption=caption,
        )
    )
    db.commit()


def _vouch(*argv: str) -> int:
    from api.cli import build_parser

    args = build_parser().parse_args(list(argv))
    return int(args.fn(args))


def test_vouch_content_recheck_is_resumable_and_idempotent(db, w, factory, capsys, monkeypatch):
    from api.content import live_posts

    posts = [
        w["post"],
        published(factory, db, w["partnership"]),
        published(factory, db, w["partnership"]),
    ]
    for post in posts:
        _captioned(db, w, post, NO_AD)
    org = str(w["org"].id)
    real = live_posts.recheck_caption
    calls = []

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(live_posts, "recheck_caption", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _vouch("content", "recheck", "--org", org, "--batch", "1")
    monkeypatch.setattr(live_posts, "recheck_caption", real)
    assert _vouch("content", "recheck", "--org", org, "--batch", "1") == 0
    out, err = capsys.readouterr()
    assert f"resuming after deliverable {posts[0].id}" in err and "live posts" in err
    assert "2 live posts checked, 2 new findings" in out
    db.expire_all()
    found = db.scalars(
        select(ContentFinding.deliverable_id).where(ContentFinding.organization_id == w["org"].id)
    ).all()
    assert sorted(found) == sorted(p.id for p in posts)
    assert _vouch("content", "recheck", "--org", org) == 0  # starts over: nothing new
    assert "3 live posts checked, 0 new findings" in capsys.readouterr().out
    assert _vouch("content", "recheck", "--org", "no such org") == 2


def test_vouch_content_usage_rights(db, w, factory, capsys):
    factory.contract(w["partnership"], usage_rights="ORGANIC", usage_rights_days=10)
    org = str(w["org"].id)
    assert _vouch("content", "usage-rights", "--org", org) == 0
    assert "1 usage rights stored from contracts, 1 expiring notices, 0 expired" in (
        capsys.readouterr().out
    )
    assert _vouch("content", "usage-rights", "--org", org) == 0
    assert "0 usage rights stored from contracts, 0 expiring notices, 0 expired" in (
        capsys.readouterr().out
    )
