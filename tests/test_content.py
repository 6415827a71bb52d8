"""Deliverables and content: creation, submissions with the disclosure check, review, publishing
and the ADMIN override of a failing check; plus the rules of api.content.review."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from api.content import review
from api.domain.commission import CompensationPlan
from api.models import ContentSubmission, Contract, Deliverable, LedgerEntry, Partnership
from api.models.enums import ContentFormat, Platform, PlatformLabel
from tests import refusals
from tests.factories import gid

D_FIELDS = (
    "deliverable { id status platform format title brief dueAt publishedUrl publishedAt "
    "disclosureOverrideReason }"
)
S_FIELDS = (
    "submission { id version caption mediaUrl platformLabel retouched aiGenerated submittedBy "
    "disclosureVerdict disclosureReportJson feedback reviewedAt reviewedBy } "
    "deliverable { status disclosureOverrideReason }"
)
PASSING = "#ad Loving the new serum #SpringGlow @brandhq"
FAILING = "Loving the new serum"  # a paid post without any ad label


MODELS = (Partnership, Contract, Deliverable, ContentSubmission, LedgerEntry)


def state(db: Any, org: Any) -> dict[str, list[dict[str, Any]]]:
    return refusals.org_rows(db, org, MODELS)


def refused(
    gql: Any,
    db: Any,
    w: dict[str, Any],
    role: str,
    name: str,
    input: dict[str, Any],
    field: str | None,
    code: str,
    select_: str = D_FIELDS,
) -> dict[str, Any]:
    return refusals.refused(gql, db, w, MODELS, role, name, input, field, code, select_)


@pytest.fixture
def w(factory: Any) -> dict[str, Any]:
    world = factory.world()
    campaign = world["campaign"]
    campaign.required_hashtags = ["SpringGlow"]
    campaign.required_mentions = ["brandhq"]
    factory.s.commit()
    world["deliverable"] = factory.deliverable(world["partnership"])
    world["other"] = factory.world()
    world["other"]["deliverable"] = factory.deliverable(world["other"]["partnership"])
    return world


def submit(
    gql: Any,
    w: dict[str, Any],
    caption: str = PASSING,
    role: str = "INFLUENCER",
    deliverable: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    payload = gql.mutate(
        w["keys"][role],
        "submitContent",
        {"deliverableId": gid(deliverable or w["deliverable"]), "caption": caption, **extra},
        S_FIELDS,
    )
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload  # type: ignore[no-any-return]


def review_content(
    gql: Any, w: dict[str, Any], decision: str = "APPROVE", role: str = "MANAGER", **extra: Any
) -> dict[str, Any]:
    return gql.mutate(  # type: ignore[no-any-return]
        w["keys"][role],
        "reviewDeliverable",
        {"deliverableId": gid(w["deliverable"]), "decision": decision, **extra},
        S_FIELDS,
    )


def publish(gql: Any, w: dict[str, Any], role: str = "MANAGER", **extra: Any) -> dict[str, Any]:
    return gql.mutate(  # type: ignore[no-any-return]
        w["keys"][role],
        "markDeliverablePublished",
        {"deliverableId": gid(w["deliverable"]), "url": "https://instagram.com/p/abc", **extra},
        D_FIELDS,
    )


# --- api.content.review --------------------------------------------------------------------


def test_format_table():
    fits = review.format_fits
    assert fits(Platform.INSTAGRAM, ContentFormat.REEL) and fits("FACEBOOK", "STORY")
    for fmt in ("SHORT", "VIDEO", "LIVE"):
        assert fits("YOUTUBE", fmt)
    assert not fits("YOUTUBE", "REEL") and not fits("TIKTOK", "REEL")
    assert not fits("INSTAGRAM", "SHORT") and not fits("X", "STORY")
    assert [f for f in ContentFormat if fits("BLOG", f)] == [
        ContentFormat.REVIEW,
        ContentFormat.BLOG,
    ]
    assert review.formats_for("PODCAST") == (ContentFormat.PODCAST,)
    assert review.formats_for("TIKTOK") == (
        ContentFormat.STORY,
        ContentFormat.VIDEO,
        ContentFormat.LIVE,
    )
    assert review.formats_for("X") == (ContentFormat.POST, ContentFormat.VIDEO)
    assert review.formats_for("TWITCH") == (ContentFormat.VIDEO, ContentFormat.LIVE)
    for platform in Platform:  # BLOG and PODCAST formats belong to their own platform only
        assert fits(platform, "BLOG") == (platform is Platform.BLOG)
        assert fits(platform, "PODCAST") == (platform is Platform.PODCAST)
    assert set(review.FORMATS) == set(Platform)


def test_labels_fit_their_platform():
    assert review.label_fits(PlatformLabel.TIKTOK_BRANDED_CONTENT, Platform.TIKTOK)
    assert not review.label_fits("INSTAGRAM_PAID_PARTNERSHIP", "FACEBOOK")
    assert set(review.LABEL_PLATFORM) == set(PlatformLabel)


def test_brand_requirements():
    campaign = SimpleNamespace(
        required_hashtags=["SpringGlow", "ad"],
        required_mentions=["brand.hq"],
        required_labels=["Partenariat"],
    )
    got = review.brand_requirements(campaign, "#springglow by @Brand.HQ. partenariat")
    assert got == {
        "missingHashtags": ["ad"],
        "missingMentions": [],
        "missingLabels": [],
        "satisfied": False,
    }
    got = review.brand_requirements(campaign, "#SpringGlowing @brand.hqx #ad")
    assert got["missingHashtags"] == ["SpringGlow"]
    assert got["missingMentions"] == ["brand.hq"]
    assert got["missingLabels"] == ["Partenariat"]


def _campaign(**kw: Any) -> SimpleNamespace:
    kw.setdefault("jurisdictions", ["US", "UK"])
    kw.setdefault("required_hashtags", [])
    kw.setdefault("required_mentions", [])
    kw.setdefault("required_labels", [])
    return SimpleNamespace(**kw)


def _fields(caption: str, **kw: Any) -> SimpleNamespace:
    kw.setdefault("platform_label", None)
    kw.setdefault("retouched", False)
    kw.setdefault("ai_generated", False)
    kw.setdefault("creator_comments", None)
    return SimpleNamespace(caption=caption, **kw)


POST = SimpleNamespace(platform=Platform.INSTAGRAM, format=ContentFormat.POST)


def test_disclosure_report_maps_to_the_checker():
    paid = SimpleNamespace(connection="PAID")
    report = review.disclosure_report(_campaign(), POST, paid, _fields("#ad So good"))
    assert report is not None
    assert report["worstVerdict"] == "PASS"
    assert [r["jurisdiction"] for r in report["results"]] == ["US", "UK"]
    assert report["rulesVersion"]
    assert report["brandRequirements"]["satisfied"] is True
    report = review.disclosure_report(_campaign(), POST, paid, _fields("So good"))
    assert report["worstVerdict"] == "FAIL"
    assert review.failures(report) == ["US: MISSING_LABEL", "UK: MISSING_LABEL"]
    # the creator's comments go with the caption: a label only there is named as such
    replied = _fields("So good", creator_comments=["#ad"])
    report = review.disclosure_report(_campaign(), POST, paid, replied)
    assert review.failures(report) == ["US: LABEL_ONLY_IN_COMMENT", "UK: LABEL_ONLY_IN_COMMENT"]
    assert review.clean_comments([" #ad ", "  ", ""]) == ["#ad"]
    assert review.clean_comments(["", " "]) is None and review.clean_comments(None) is None
    assert review.comment_problem(["#ad"] * 20) is None
    assert review.comment_problem(["#ad"] * 21) == "at most 20 comments"
    # the partnership's connection is what the checker judges: a gift wants a gift label in FR
    fr = _campaign(jurisdictions=["FR"])
    gifted = SimpleNamespace(connection="GIFTED")
    assert review.disclosure_report(fr, POST, gifted, _fields("Merci!"))["worstVerdict"] == "FAIL"
    # retouched images need "Images retouchées" in France
    retouched = review.disclosure_report(
        fr, POST, paid, _fields("Publicité : merci !", retouched=True)
    )
    codes = [f["code"] for f in retouched["results"][0]["findings"]]
    assert "MISSING_RETOUCHED_LABEL" in codes


def test_disclosure_report_platform_label():
    paid = SimpleNamespace(connection="PAID")
    reel = SimpleNamespace(platform=Platform.INSTAGRAM, format=ContentFormat.REEL)
    without = review.disclosure_report(_campaign(), reel, paid, _fields("#ad new drop"))
    with_label = review.disclosure_report(
        _campaign(),
        reel,
        paid,
        _fields("#ad new drop", platform_label=PlatformLabel.INSTAGRAM_PAID_PARTNERSHIP),
    )
    assert without != with_label  # the label is passed on (and covers the on-screen check)
    x = SimpleNamespace(platform=Platform.X, format=ContentFormat.POST)
    # the checker credits no X label: the caption must carry the disclosure on its own
    report = review.disclosure_report(
        _campaign(), x, paid, _fields("new drop", platform_label="X_PAID_PARTNERSHIP")
    )
    assert report["worstVerdict"] == "FAIL"


def test_disclosure_report_without_jurisdictions():
    paid = SimpleNamespace(connection="PAID")
    assert review.disclosure_report(_campaign(jurisdictions=[]), POST, paid, _fields("x")) is None
    report = review.disclosure_report(
        _campaign(jurisdictions=[], required_hashtags=["Glow"]), POST, paid, _fields("x")
    )
    assert report == {
        "rulesVersion": None,
        "worstVerdict": None,
        "results": [],
        "brandRequirements": {
            "missingHashtags": ["Glow"],
            "missingMentions": [],
            "missingLabels": [],
            "satisfied": False,
        },
    }


# --- createDeliverable ---------------------------------------------------------------------


def new_deliverable(w: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "partnershipId": gid(w["partnership"]),
        "platform": "INSTAGRAM",
        "format": "REEL",
        "title": " Spring reel ",
        **extra,
    }


@pytest.mark.parametrize("role", ["MANAGER", "ADMIN"])
def test_create_deliverable(gql, db, w, role):
    payload = gql.mutate(
        w["keys"][role],
        "createDeliverable",
        new_deliverable(w, brief="Show the texture", dueAt="2026-06-01T09:00:00+02:00"),
        D_FIELDS,
    )
    assert payload["userErrors"] == []
    d = payload["deliverable"]
    assert (d["status"], d["platform"], d["format"], d["title"], d["brief"]) == (
        "DRAFT",
        "INSTAGRAM",
        "REEL",
        "Spring reel",
        "Show the texture",
    )
    assert datetime.fromisoformat(d["dueAt"]) == datetime(2026, 6, 1, 7, tzinfo=UTC)
    db.expire_all()
    rows = db.scalars(
        select(Deliverable).where(Deliverable.partnership_id == w["partnership"].id)
    ).all()
    assert len(rows) == 2


def test_create_deliverable_on_accepted_partnership(gql, factory, w):
    p = factory.partnership(factory.campaign(w["brand"]), w["influencer"], status="ACCEPTED")
    payload = gql.mutate(
        w["keys"]["MANAGER"],
        "createDeliverable",
        new_deliverable(w, partnershipId=gid(p), platform="YOUTUBE", format="SHORT"),
        D_FIELDS,
    )
    assert payload["deliverable"]["format"] == "SHORT"


@pytest.mark.parametrize(
    ("platform", "fmt"),
    [
        ("INSTAGRAM", "SHORT"),
        ("YOUTUBE", "REEL"),
        ("BLOG", "PODCAST"),
        ("PODCAST", "BLOG"),
        ("TIKTOK", "POST"),
        ("X", "STORY"),
        ("TWITCH", "POST"),
        ("INSTAGRAM", "BLOG"),
    ],
)
def test_create_deliverable_incompatible_format(gql, db, w, platform, fmt):
    payload = refused(
        gql,
        db,
        w,
        "MANAGER",
        "createDeliverable",
        new_deliverable(w, platform=platform, format=fmt),
        "format",
        "NOT_ALLOWED",
    )
    assert platform in payload["userErrors"][0]["message"]


@pytest.mark.parametrize(
    ("extra", "field", "code"),
    [
        ({"title": "   "}, "title", "REQUIRED"),
        ({"title": "x" * 201}, "title", "TOO_LONG"),
        ({"brief": "x" * 10_001}, "brief", "TOO_LONG"),
        ({"dueAt": "2026-06-01T09:00:00"}, "dueAt", "INVALID"),
        ({"partnershipId": "nope"}, "partnershipId", "NOT_FOUND"),
        ({"partnershipId": "other"}, "partnershipId", "NOT_FOUND"),
    ],
)
def test_create_deliverable_bad_input(gql, db, w, extra, field, code):
    if extra.get("partnershipId") == "other":
        extra = {"partnershipId": gid(w["other"]["partnership"])}
    refused(gql, db, w, "MANAGER", "createDeliverable", new_deliverable(w, **extra), field, code)


@pytest.mark.parametrize("status", ["INVITED", "DECLINED", "COMPLETED", "TERMINATED"])
def test_create_deliverable_needs_live_partnership(gql, db, factory, w, status):
    p = factory.partnership(factory.campaign(w["brand"]), w["influencer"], status=status)
    refused(
        gql,
        db,
        w,
        "MANAGER",
        "createDeliverable",
        new_deliverable(w, partnershipId=gid(p)),
        "partnershipId",
        "INVALID_TRANSITION",
    )


@pytest.mark.parametrize("role", ["FINANCE", "INFLUENCER"])
def test_create_deliverable_forbidden(gql, db, w, role):
    refused(gql, db, w, role, "createDeliverable", new_deliverable(w), None, "FORBIDDEN")


# --- submitContent -------------------------------------------------------------------------


def test_influencer_submits_passing_content(gql, db, w):
    payload = submit(
        gql,
        w,
        "  " + PASSING + "\n",
        mediaUrl="https://cdn.example.com/a.jpg",
        platformLabel="INSTAGRAM_PAID_PARTNERSHIP",
        retouched=True,
    )
    s = payload["submission"]
    assert s["version"] == 1
    assert s["caption"] == PASSING
    assert s["mediaUrl"] == "https://cdn.example.com/a.jpg"
    assert s["platformLabel"] == "INSTAGRAM_PAID_PARTNERSHIP"
    assert (s["retouched"], s["aiGenerated"]) == (True, False)
    assert s["submittedBy"] == f"influencer:{w['influencer'].id}"
    assert s["disclosureVerdict"] == "PASS"
    report = s["disclosureReportJson"]
    assert [r["jurisdiction"] for r in report["results"]] == ["US", "UK"]
    assert report["brandRequirements"]["satisfied"] is True
    assert payload["deliverable"]["status"] == "SUBMITTED"
    db.expire_all()
    row = db.scalar(
        select(ContentSubmission).where(ContentSubmission.deliverable_id == w["deliverable"].id)
    )
    assert (row.disclosure_verdict, row.disclosure_report["worstVerdict"]) == ("PASS", "PASS")
    assert db.get(Deliverable, w["deliverable"].id).status == "SUBMITTED"


def test_failing_content_is_stored_not_blocked(gql, w):
    s = submit(gql, w, FAILING, role="MANAGER")["submission"]
    assert s["disclosureVerdict"] == "FAIL"
    assert re.fullmatch(r"MANAGER key [0-9a-f]{8}", s["submittedBy"])
    findings = s["disclosureReportJson"]["results"][0]["findings"]
    assert findings[0]["code"] == "MISSING_LABEL"
    brand = s["disclosureReportJson"]["brandRequirements"]
    assert brand == {
        "missingHashtags": ["SpringGlow"],
        "missingMentions": ["brandhq"],
        "missingLabels": [],
        "satisfied": False,
    }


def test_a_label_only_in_the_creators_comment_is_named_and_does_not_count(gql, db, w):
    """The creator's own first comment and replies go with the caption to the checker: "#ad"
    only there fails as LABEL_ONLY_IN_COMMENT (not MISSING_LABEL), in every jurisdiction."""
    caption = "Loving the new serum #SpringGlow @brandhq"
    payload = gql.mutate(
        w["keys"]["INFLUENCER"],
        "submitContent",
        {
            "deliverableId": gid(w["deliverable"]),
            "caption": caption,
            "creatorComments": ["  #ad  ", "", "thanks all!"],
        },
        S_FIELDS + " submission { creatorComments }",
    )
    assert payload["userErrors"] == []
    s = payload["submission"]
    assert s["creatorComments"] == ["#ad", "thanks all!"]  # stripped, blank ones left out
    assert s["disclosureVerdict"] == "FAIL"
    for result in s["disclosureReportJson"]["results"]:
        codes = [f["code"] for f in result["findings"]]
        assert "LABEL_ONLY_IN_COMMENT" in codes and "MISSING_LABEL" not in codes, result
    db.expire_all()
    row = db.scalar(
        select(ContentSubmission).where(ContentSubmission.deliverable_id == w["deliverable"].id)
    )
    assert row.creator_comments == ["#ad", "thanks all!"]
    # The same caption with the label in it passes, whatever the comments say.
    review_content(gql, w, "REQUEST_CHANGES", feedback="Put #ad in the caption itself")
    fixed = submit(gql, w, "#ad " + caption, creatorComments=["#ad"])["submission"]
    assert fixed["disclosureVerdict"] == "PASS"


def test_submission_without_jurisdictions_has_no_verdict(gql, db, w):
    w["campaign"].jurisdictions = []
    db.merge(w["campaign"])
    db.commit()
    s = submit(gql, w, FAILING)["submission"]
    assert s["disclosureVerdict"] is None
    assert s["disclosureReportJson"]["results"] == []


def test_new_versions_never_edit_old_ones(gql, db, w):
    submit(gql, w, FAILING)
    changes = review_content(gql, w, "REQUEST_CHANGES", feedback="Add #ad at the start")
    assert changes["userErrors"] == []
    assert changes["deliverable"]["status"] == "CHANGES_REQUESTED"
    assert changes["submission"]["feedback"] == "Add #ad at the start"
    assert re.fullmatch(r"[A-Z]+ key [0-9a-f]{8}", changes["submission"]["reviewedBy"])
    db.expire_all()
    v1 = db.scalar(
        select(ContentSubmission).where(ContentSubmission.deliverable_id == w["deliverable"].id)
    )
    v1_before = {c.key: getattr(v1, c.key) for c in ContentSubmission.__table__.columns}
    s2 = submit(gql, w, PASSING)["submission"]
    assert (s2["version"], s2["disclosureVerdict"], s2["feedback"]) == (2, "PASS", None)
    db.expire_all()
    v1 = db.get(ContentSubmission, v1.id)
    assert {c.key: getattr(v1, c.key) for c in ContentSubmission.__table__.columns} == v1_before
    query = (
        "query($id: ID!) { node(id: $id) { ... on Deliverable { submissions { version } "
        "latestSubmission { version } } } }"
    )
    data = gql(w["keys"]["INFLUENCER"], query, id=gid(w["deliverable"]))["node"]
    assert [s["version"] for s in data["submissions"]] == [1, 2]
    assert data["latestSubmission"]["version"] == 2


@pytest.mark.parametrize(
    ("extra", "field", "code"),
    [
        ({"caption": "   "}, "caption", "REQUIRED"),
        ({"caption": "x" * 5001}, "caption", "TOO_LONG"),
        ({"mediaUrl": "ftp://cdn.example.com/a.jpg"}, "mediaUrl", "INVALID_URL"),
        ({"mediaUrl": "javascript:alert(1)"}, "mediaUrl", "INVALID_URL"),
        ({"platformLabel": "TIKTOK_BRANDED_CONTENT"}, "platformLabel", "NOT_ALLOWED"),
        ({"creatorComments": ["#ad"] * 21}, "creatorComments", "TOO_LONG"),
        ({"creatorComments": ["x" * 5001]}, "creatorComments", "TOO_LONG"),
        ({"creatorComments": ["#ad\x00"]}, "creatorComments", "INVALID"),
        ({"deliverableId": "nope"}, "deliverableId", "NOT_FOUND"),
        ({"deliverableId": "other"}, "deliverableId", "NOT_FOUND"),
    ],
)
def test_submit_bad_input(gql, db, w, extra, field, code):
    if extra.get("deliverableId") == "other":
        extra = {"deliverableId": gid(w["other"]["deliverable"])}
    input = {"deliverableId": gid(w["deliverable"]), "caption": PASSING, **extra}
    payload = refused(gql, db, w, "INFLUENCER", "submitContent", input, field, code, S_FIELDS)
    assert payload["submission"] is None


def test_submit_refusals(gql, db, factory, w):
    def attempt(role: str, deliverable: Any, field: str | None, code: str) -> None:
        refused(
            gql,
            db,
            w,
            role,
            "submitContent",
            {"deliverableId": gid(deliverable), "caption": PASSING},
            field,
            code,
            S_FIELDS,
        )

    someone = factory.influencer(w["org"])
    theirs = factory.deliverable(factory.partnership(w["campaign"], someone))
    attempt("INFLUENCER", theirs, "deliverableId", "NOT_FOUND")  # another influencer's
    attempt("FINANCE", w["deliverable"], None, "FORBIDDEN")
    for status in ("SUBMITTED", "PUBLISHED"):
        attempt(
            "INFLUENCER",
            factory.deliverable(w["partnership"], status=status),
            "deliverableId",
            "INVALID_TRANSITION",
        )
    ended = factory.partnership(factory.campaign(w["brand"]), w["influencer"], status="TERMINATED")
    attempt("INFLUENCER", factory.deliverable(ended), "deliverableId", "INVALID_TRANSITION")


def test_resubmitting_after_approval_needs_a_new_approval(gql, w):
    # api.domain.deliverable_status allows APPROVED -> SUBMITTED: a fixed typo is a new version
    submit(gql, w)
    review_content(gql, w)
    again = submit(gql, w, PASSING + " (typo fixed)")
    assert (again["submission"]["version"], again["deliverable"]["status"]) == (2, "SUBMITTED")
    assert publish(gql, w)["userErrors"][0]["code"] == "INVALID_TRANSITION"


def test_manager_submits_for_other_influencer(gql, factory, w):
    someone = factory.influencer(w["org"])
    theirs = factory.deliverable(factory.partnership(w["campaign"], someone))
    assert submit(gql, w, role="MANAGER", deliverable=theirs)["submission"]["version"] == 1


# --- reviewDeliverable ---------------------------------------------------------------------


def test_approve_passing_content(gql, db, w):
    submit(gql, w)
    payload = review_content(gql, w, feedback="Great")
    assert payload["userErrors"] == []
    assert payload["deliverable"] == {"status": "APPROVED", "disclosureOverrideReason": None}
    s = payload["submission"]
    assert (s["version"], s["feedback"]) == (1, "Great")
    assert s["reviewedAt"] and re.fullmatch(r"[A-Z]+ key [0-9a-f]{8}", s["reviewedBy"])


def test_review_refusals(gql, db, w):
    draft_input = {"deliverableId": gid(w["deliverable"]), "decision": "APPROVE"}
    refused(
        gql,
        db,
        w,
        "MANAGER",
        "reviewDeliverable",
        draft_input,
        "decision",
        "INVALID_TRANSITION",
        S_FIELDS,
    )  # nothing submitted yet
    submit(gql, w)
    submitted = {"deliverableId": gid(w["deliverable"])}

    def attempt(role: str, extra: dict[str, Any], field: str | None, code: str) -> None:
        refused(
            gql, db, w, role, "reviewDeliverable", {**submitted, **extra}, field, code, S_FIELDS
        )

    attempt("MANAGER", {"decision": "REQUEST_CHANGES"}, "feedback", "REQUIRED")
    attempt("MANAGER", {"decision": "REQUEST_CHANGES", "feedback": "  "}, "feedback", "REQUIRED")
    attempt("MANAGER", {"decision": "APPROVE", "feedback": "x" * 10_001}, "feedback", "TOO_LONG")
    attempt(
        "ADMIN",
        {"decision": "REQUEST_CHANGES", "feedback": "more light", "overrideReason": "fine"},
        "overrideReason",
        "NOT_ALLOWED",
    )
    attempt(
        "ADMIN", {"decision": "APPROVE", "overrideReason": "fine"}, "overrideReason", "NOT_ALLOWED"
    )  # the check passes: nothing to override
    attempt("INFLUENCER", {"decision": "APPROVE"}, None, "FORBIDDEN")
    attempt("FINANCE", {"decision": "APPROVE"}, None, "FORBIDDEN")
    attempt(
        "MANAGER",
        {"decision": "APPROVE", "deliverableId": gid(w["other"]["deliverable"])},
        "deliverableId",
        "NOT_FOUND",
    )
    assert review_content(gql, w)["deliverable"]["status"] == "APPROVED"
    attempt("MANAGER", {"decision": "APPROVE"}, "decision", "INVALID_TRANSITION")  # reviewed once


# --- the disclosure gate -------------------------------------------------------------------


def test_failing_disclosure_blocks_approval_unless_admin_overrides(gql, db, w):
    submit(gql, w, FAILING)
    approve = {"deliverableId": gid(w["deliverable"]), "decision": "APPROVE"}
    payload = refused(
        gql,
        db,
        w,
        "MANAGER",
        "reviewDeliverable",
        approve,
        "deliverableId",
        "DISCLOSURE_FAILED",
        S_FIELDS,
    )
    assert "US: MISSING_LABEL" in payload["userErrors"][0]["message"]
    refused(
        gql,
        db,
        w,
        "MANAGER",
        "reviewDeliverable",
        {**approve, "overrideReason": "legal ok"},
        "overrideReason",
        "FORBIDDEN",
        S_FIELDS,
    )
    refused(
        gql,
        db,
        w,
        "ADMIN",
        "reviewDeliverable",
        approve,
        "deliverableId",
        "DISCLOSURE_FAILED",
        S_FIELDS,
    )
    refused(
        gql,
        db,
        w,
        "ADMIN",
        "reviewDeliverable",
        {**approve, "overrideReason": "  "},
        "deliverableId",
        "DISCLOSURE_FAILED",
        S_FIELDS,
    )
    ok = review_content(gql, w, role="ADMIN", overrideReason=" Label is burned into the video ")
    assert ok["userErrors"] == []
    assert ok["deliverable"] == {
        "status": "APPROVED",
        "disclosureOverrideReason": "Label is burned into the video",
    }
    db.expire_all()
    row = db.get(Deliverable, w["deliverable"].id)
    assert re.fullmatch(r"ADMIN key [0-9a-f]{8}", row.disclosure_override_by)
    assert row.disclosure_override_reason == "Label is burned into the video"

    # publishing is gated again: each step needs its own override
    refused(
        gql,
        db,
        w,
        "MANAGER",
        "markDeliverablePublished",
        {"deliverableId": gid(w["deliverable"]), "url": "https://instagram.com/p/x"},
        "deliverableId",
        "DISCLOSURE_FAILED",
    )
    refused(
        gql,
        db,
        w,
        "MANAGER",
        "markDeliverablePublished",
        {
            "deliverableId": gid(w["deliverable"]),
            "url": "https://instagram.com/p/x",
            "overrideReason": "as approved",
        },
        "overrideReason",
        "FORBIDDEN",
    )
    done = publish(gql, w, role="ADMIN", overrideReason="Checked the live post")
    assert done["userErrors"] == []
    assert done["deliverable"]["status"] == "PUBLISHED"
    assert done["deliverable"]["disclosureOverrideReason"] == "Checked the live post"


def test_request_changes_on_failing_content_needs_no_override(gql, w):
    submit(gql, w, FAILING)
    payload = review_content(gql, w, "REQUEST_CHANGES", feedback="Add #ad")
    assert payload["deliverable"]["status"] == "CHANGES_REQUESTED"


# --- markDeliverablePublished --------------------------------------------------------------


def test_publish(gql, db, w):
    submit(gql, w)
    review_content(gql, w)
    payload = publish(gql, w, publishedAt="2026-01-02T10:00:00Z")
    assert payload["userErrors"] == []
    d = payload["deliverable"]
    assert (d["status"], d["publishedUrl"]) == ("PUBLISHED", "https://instagram.com/p/abc")
    assert datetime.fromisoformat(d["publishedAt"]) == datetime(2026, 1, 2, 10, tzinfo=UTC)
    db.expire_all()
    assert db.get(Deliverable, w["deliverable"].id).status == "PUBLISHED"


def test_publish_credits_the_flat_fee_once(gql, db, w):
    plan = CompensationPlan.from_dict(w["campaign"].compensation)
    w["campaign"].compensation = replace(plan, flat_fee_per_deliverable_minor=15000).to_dict()
    db.merge(w["campaign"])
    db.commit()
    submit(gql, w)
    review_content(gql, w)
    assert publish(gql, w)["userErrors"] == []
    db.expire_all()
    entries = db.scalars(
        select(LedgerEntry).where(LedgerEntry.organization_id == w["org"].id)
    ).all()
    assert [(e.kind, e.amount, e.currency, e.deliverable_id, e.influencer_id) for e in entries] == [
        ("FLAT_FEE", 15000, "EUR", w["deliverable"].id, w["influencer"].id)
    ]


def test_publish_without_flat_fee_credits_nothing(gql, db, w):
    submit(gql, w)
    review_content(gql, w)
    publish(gql, w)
    db.expire_all()
    assert (
        db.scalars(select(LedgerEntry).where(LedgerEntry.organization_id == w["org"].id)).all()
        == []
    )


def test_publish_defaults_to_now(gql, w):
    submit(gql, w)
    review_content(gql, w)
    published = publish(gql, w)["deliverable"]["publishedAt"]
    assert abs(datetime.fromisoformat(published) - datetime.now(UTC)) < timedelta(minutes=1)


def test_publish_refusals(gql, db, factory, w):
    def attempt(role: str, extra: dict[str, Any], field: str | None, code: str) -> None:
        input = {"deliverableId": gid(w["deliverable"]), "url": "https://instagram.com/p/x"}
        refused(gql, db, w, role, "markDeliverablePublished", {**input, **extra}, field, code)

    attempt("MANAGER", {}, "deliverableId", "INVALID_TRANSITION")  # still a DRAFT
    submit(gql, w)
    review_content(gql, w)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    attempt("MANAGER", {"url": "instagram.com/p/x"}, "url", "INVALID_URL")
    attempt("MANAGER", {"url": "https://user:pw@instagram.com/p/x"}, "url", "INVALID_URL")
    attempt("MANAGER", {"url": ""}, "url", "INVALID_URL")
    attempt("MANAGER", {"publishedAt": "2026-01-02T10:00:00"}, "publishedAt", "INVALID")
    attempt("MANAGER", {"publishedAt": future}, "publishedAt", "INVALID")
    attempt("INFLUENCER", {}, None, "FORBIDDEN")
    attempt("FINANCE", {}, None, "FORBIDDEN")
    attempt(
        "MANAGER", {"deliverableId": gid(w["other"]["deliverable"])}, "deliverableId", "NOT_FOUND"
    )
    assert publish(gql, w)["deliverable"]["status"] == "PUBLISHED"
    attempt("MANAGER", {}, "deliverableId", "INVALID_TRANSITION")  # PUBLISHED is final
