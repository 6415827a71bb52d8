"""Demo deliverables and the content submitted for them, each version checked for disclosure
by the same checker as the submit mutation (`api.content.review`)."""

from __future__ import annotations

from datetime import timedelta

from api.content import review
from api.demo.catalog import BRANDS, LANGUAGES, CampaignSpec, slug
from api.demo.influencers import InfluencerPlan
from api.demo.state import Seeding
from api.models import Campaign, ContentSubmission, Deliverable, Partnership, SocialAccount
from api.models.enums import ContentFormat, MaterialConnection, Platform, PlatformLabel, Role

FORMATS = {
    Platform.INSTAGRAM: [ContentFormat.REEL, ContentFormat.POST, ContentFormat.STORY],
    # Repeats weigh the usual formats: most TikTok deals are videos, not lives.
    Platform.TIKTOK: [
        ContentFormat.VIDEO,
        ContentFormat.VIDEO,
        ContentFormat.VIDEO,
        ContentFormat.LIVE,
    ],
    Platform.YOUTUBE: [
        ContentFormat.VIDEO,
        ContentFormat.VIDEO,
        ContentFormat.SHORT,
        ContentFormat.REVIEW,
    ],
    Platform.X: [ContentFormat.POST],
    Platform.TWITCH: [ContentFormat.LIVE],
    Platform.FACEBOOK: [ContentFormat.POST, ContentFormat.VIDEO],
    Platform.BLOG: [ContentFormat.BLOG, ContentFormat.REVIEW],
    Platform.PODCAST: [ContentFormat.PODCAST],
}
PLATFORM_LABELS = {
    Platform.INSTAGRAM: PlatformLabel.INSTAGRAM_PAID_PARTNERSHIP,
    Platform.TIKTOK: PlatformLabel.TIKTOK_BRANDED_CONTENT,
    Platform.YOUTUBE: PlatformLabel.YOUTUBE_PAID_PROMOTION,
    Platform.X: PlatformLabel.X_PAID_PARTNERSHIP,
}
DISCLOSURE_LABELS = {
    "US": ["#ad", "Sponsored"],
    "UK": ["Ad", "#ad"],
    "IE": ["#ad"],
    "DE": ["Werbung", "Anzeige"],
    "FR": ["Publicité", "Collaboration commerciale"],
    "EU": ["#ad"],
    "ES": ["Publicidad", "#publi"],
    "IT": ["#adv", "Pubblicità"],
    "NL": ["#ad", "#advertentie"],
    "CA": ["#ad", "#sponsored"],
    "AU": ["#ad", "Advertising"],
    "BR": ["#publi", "Publicidade"],
}
# What creators write instead: vague, buried or no disclosure at all, in their own language.
WEAK_CAPTIONS = {
    "en": [
        "{body} #collab",
        "{body} thanks {mention} for the goodies! #gifted",
        "{body} #sp",
        "{body}",
    ],
    "de": ["{body} #ad", "{body} sponsored by {mention}", "{body}"],
    "fr": ["{body} #collab", "{body} merci {mention} !", "{body}"],
    "es": ["{body} #colaboración", "{body}"],
    "it": ["{body} #collab", "{body}"],
    "nl": ["{body} #samenwerking", "{body}"],
}
BODIES = {
    "en": "My {routine} with the {product} {emoji} Honest thoughts after two weeks.",
    "de": "Meine {routine} mit dem {product} {emoji} Ehrliche Meinung nach zwei Wochen.",
    "fr": "Ma {routine} avec le {product} {emoji} Mon avis honnête après deux semaines.",
    "es": "Mi {routine} con el {product} {emoji} Mi opinión sincera tras dos semanas.",
    "it": "La mia {routine} con il {product} {emoji} Opinione sincera dopo due settimane.",
    "nl": "Mijn {routine} met de {product} {emoji} Eerlijke mening na twee weken.",
}
ROUTINES = {
    "en": ["morning routine", "wash day", "weekend trip", "evening routine"],
    "de": ["Morgenroutine", "Abendroutine", "Wochenendtour"],
    "fr": ["routine du matin", "routine du soir", "sortie du week-end"],
    "es": ["rutina de mañana", "rutina de noche", "escapada de fin de semana"],
    "it": ["routine mattutina", "routine serale", "gita del weekend"],
    "nl": ["ochtendroutine", "avondroutine", "weekendtrip"],
}
DISCLOSURE_FEEDBACK = [
    "Please open the caption with the ad labels from the brief, before the 'more' cut",
    "The disclosure is missing or too vague for these markets: use the labels from the brief",
]
BRAND_FEEDBACK = "Please add the campaign hashtag and tag the brand account."
CONTENT_FEEDBACK = [
    "Lovely edit! Can you show the product label in the first three seconds?",
    "Could you mention the discount code out loud as well as in the caption?",
    "Great shot, but please crop out the competitor's bottle on the shelf.",
]
EMOJIS = {
    "skincare": ["✨", "💛", "🌿"],
    "haircare": ["💇", "✨", "🌸"],
    "outdoor": ["🏔️", "🌲", "⛺"],
}


def _deliverable_statuses(state: Seeding, partnership_status: str, n: int) -> list[str]:
    rng = state.rng
    if partnership_status == "COMPLETED":
        return ["PUBLISHED"] * n
    if partnership_status in ("ACCEPTED", "TERMINATED"):
        return ["DRAFT"] * n
    return rng.choices(
        ["DRAFT", "SUBMITTED", "CHANGES_REQUESTED", "APPROVED", "PUBLISHED"],
        weights=[25, 20, 10, 15, 30],
        k=n,
    )


def seed_content(state: Seeding) -> None:
    rng = state.rng
    owed = [
        row
        for row in state.partnerships
        if row.partnership.status in ("ACCEPTED", "ACTIVE", "COMPLETED", "TERMINATED")
    ]
    state.progress("content", 0, len(owed))
    deliverables: list[tuple[Deliverable, list[ContentSubmission]]] = []
    published_without_disclosure = False
    for row in owed:
        spec, campaign, partnership, plan = row.spec, row.campaign, row.partnership, row.influencer
        accounts = state.accounts[partnership.influencer_id]
        n = 1 if partnership.status == "TERMINATED" else rng.randint(1, 3)
        for status in _deliverable_statuses(state, partnership.status, n):
            account = rng.choice(accounts[:2])
            fmt = rng.choice(FORMATS[account.platform])
            assert campaign.starts_at is not None and partnership.responded_at is not None
            due = max(campaign.starts_at, partnership.responded_at) + timedelta(
                days=rng.randint(10, 40)
            )
            deliverable = Deliverable(
                organization_id=partnership.organization_id,
                platform=account.platform,
                format=fmt,
                title=f"{fmt.value.title()}: {spec.product}",
                brief=spec.brief,
                due_at=due,
                status=status,
                created_at=partnership.responded_at,
            )
            submissions = _submissions(state, spec, campaign, partnership, plan, deliverable)
            if status == "PUBLISHED":
                reviewed = submissions[-1].reviewed_at or due
                deliverable.published_at = min(
                    reviewed + timedelta(hours=rng.randint(6, 72)),
                    state.now - timedelta(hours=1),
                )
                deliverable.published_url = _post_url(state, account)
            if (
                status == "PUBLISHED"
                and not published_without_disclosure
                and partnership.connection is MaterialConnection.PAID
                and submissions
            ):
                # One post went live with a failing caption, approved by an ADMIN anyway.
                published_without_disclosure = True
                last = submissions[-1]
                last.platform_label = None
                for _ in range(5):
                    last.caption = _caption(state, spec, plan, disclosed=False)
                    _check(campaign, deliverable, partnership, last)
                    if last.disclosure_verdict == review.FAIL:
                        break
            final = submissions[-1] if submissions else None
            if (
                status in ("APPROVED", "PUBLISHED")
                and final is not None
                and final.disclosure_verdict == review.FAIL
            ):
                deliverable.disclosure_override_reason = (
                    "Approved despite the disclosure check: the creator adds the labels to "
                    "the live post and switches on the platform's paid-partnership tool."
                )
                deliverable.disclosure_override_by = state.labels[partnership.organization_id][
                    Role.ADMIN
                ]
            deliverables.append((deliverable, submissions))
            deliverable.partnership_id = partnership.id
    state.session.add_all([d for d, _ in deliverables])
    state.session.flush()
    submissions_all = []
    for deliverable, submissions in deliverables:
        for s in submissions:
            s.organization_id = deliverable.organization_id
            s.deliverable_id = deliverable.id
            submissions_all.append(s)
    state.session.add_all(submissions_all)
    state.session.flush()
    state.count("deliverables", len(deliverables))
    state.count("content_submissions", len(submissions_all))
    state.progress("content", len(owed), len(owed))


def _post_url(state: Seeding, account: SocialAccount) -> str:
    rng = state.rng
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    token = "".join(rng.choice(alphabet) for _ in range(11))
    if account.platform is Platform.INSTAGRAM:
        return f"https://instagram.com/p/{token}"
    if account.platform is Platform.TIKTOK:
        return f"https://www.tiktok.com/@{account.handle}/video/{rng.randint(10**18, 10**19)}"
    if account.platform is Platform.YOUTUBE:
        return f"https://www.youtube.com/watch?v={token}"
    if account.platform is Platform.X:
        return f"https://x.com/{account.handle}/status/{rng.randint(10**18, 10**19)}"
    return f"{account.url}/posts/{slug(token)}"


def _caption(
    state: Seeding,
    spec: CampaignSpec,
    plan: InfluencerPlan,
    *,
    disclosed: bool,
    retouched: bool = False,
) -> str:
    """A caption in the creator's language. Disclosed: the labels of every jurisdiction of
    the campaign up front (and France's retouched-image notice); else a weak variant."""
    rng = state.rng
    lang = LANGUAGES[plan.country][0]
    if lang not in WEAK_CAPTIONS:
        lang = "en"
    mention = BRANDS[spec.brand].mention
    emoji = rng.choice([*EMOJIS[BRANDS[spec.brand].category], ""])
    body = (
        BODIES[lang]
        .format(routine=rng.choice(ROUTINES[lang]), product=spec.product, emoji=emoji)
        .replace("  ", " ")
    )
    if disclosed:
        labels: list[str] = []
        for jurisdiction in spec.jurisdictions:
            label = rng.choice(DISCLOSURE_LABELS[jurisdiction])
            if label.lstrip("#").casefold() not in {x.lstrip("#").casefold() for x in labels}:
                labels.append(label)
        if retouched and "FR" in spec.jurisdictions:
            labels.append("Images retouchées")
        caption = " | ".join([*labels, body])
    else:
        caption = rng.choice(WEAK_CAPTIONS[lang]).format(body=body, mention=mention)
    if rng.random() < 0.85:  # some forget the campaign hashtag: a brand-requirement warning
        tags = " ".join(f"#{t}" for t in spec.hashtags)
        caption += f" {tags} {mention}"
    return caption


def _check(
    campaign: Campaign,
    deliverable: Deliverable,
    partnership: Partnership,
    submission: ContentSubmission,
) -> None:
    """Stores the disclosure checker's report, as the submit mutation does."""
    report = review.disclosure_report(campaign, deliverable, partnership, submission)
    submission.disclosure_report = report
    submission.disclosure_verdict = review.worst_verdict(report)


def _submissions(
    state: Seeding,
    spec: CampaignSpec,
    campaign: Campaign,
    partnership: Partnership,
    plan: InfluencerPlan,
    deliverable: Deliverable,
) -> list[ContentSubmission]:
    """Versions of the content, each checked for disclosure like a real submission. A
    first round sent back for a weak disclosure is common; approved content passes the
    check or carries an ADMIN override (set by the caller)."""
    rng = state.rng
    status = deliverable.status
    if status == "DRAFT":
        return []
    reviewer = state.labels[partnership.organization_id][Role.MANAGER]
    start = deliverable.created_at + timedelta(days=rng.randint(2, 9))
    start = min(start, state.now - timedelta(days=2))
    rounds = 1 if status == "CHANGES_REQUESTED" else rng.choice([1, 1, 2])
    approved = status in ("APPROVED", "PUBLISHED")
    versions = []
    for v in range(1, rounds + 1):
        final = v == rounds
        created = start + timedelta(hours=20 * (v - 1))
        # Pending content is a mix, so the disclosure checker has both kinds to show.
        if status == "CHANGES_REQUESTED" or not final:
            disclosed = rng.random() < 0.3
        elif status == "SUBMITTED":
            disclosed = rng.random() < 0.6
        else:
            disclosed = True
        retouched = "FR" in spec.jurisdictions and rng.random() < 0.2
        offered = PLATFORM_LABELS.get(deliverable.platform)
        submission = ContentSubmission(
            version=v,
            caption="",
            media_url=f"https://media.vouch.example/demo/{slug(spec.product)}/{v}.jpg",
            platform_label=offered if offered and rng.random() < 0.5 else None,
            retouched=retouched,
            ai_generated=False,
            submitted_by=f"influencer:{plan.accounts[0].handle}",
            created_at=created,
        )
        for _ in range(3 if final and approved else 1):
            submission.caption = _caption(
                state, spec, plan, disclosed=disclosed, retouched=retouched
            )
            _check(campaign, deliverable, partnership, submission)
            if submission.disclosure_verdict != review.FAIL:
                break
        if not final or status in ("CHANGES_REQUESTED", "APPROVED", "PUBLISHED"):
            submission.reviewed_at = created + timedelta(hours=rng.randint(2, 18))
            submission.reviewed_by = reviewer
            if not final or status == "CHANGES_REQUESTED":
                report = submission.disclosure_report or {}
                failures = review.failures(report)
                if failures:
                    feedback = f"{rng.choice(DISCLOSURE_FEEDBACK)} ({', '.join(failures[:3])})."
                elif not report.get("brandRequirements", {}).get("satisfied", True):
                    feedback = BRAND_FEEDBACK
                else:
                    feedback = rng.choice(CONTENT_FEEDBACK)
                submission.feedback = feedback
        versions.append(submission)
    return versions
