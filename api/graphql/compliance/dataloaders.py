from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from api.graphql.compliance.types import DisclosureCompliance
from api.graphql.context import Context
from api.graphql.permissions import visible
from api.models import ContentSubmission, Deliverable, Partnership


def compliance_by_campaign(ctx: Context) -> DataLoader[int, DisclosureCompliance]:
    """Each campaign's deliverables counted by the verdict of their latest submission: one
    statement for any number of campaigns."""

    async def load(campaign_ids: list[int]) -> list[DisclosureCompliance]:
        rows = ctx.session.execute(
            select(
                Partnership.campaign_id,
                Deliverable.id,
                Deliverable.disclosure_override_reason,
                ContentSubmission.version,
                ContentSubmission.disclosure_verdict,
            )
            .join(Partnership, Partnership.id == Deliverable.partnership_id)
            .outerjoin(ContentSubmission, ContentSubmission.deliverable_id == Deliverable.id)
            .where(Partnership.campaign_id.in_(campaign_ids), *visible(Deliverable, ctx.viewer))
            .order_by(Deliverable.id, ContentSubmission.version)
        ).all()
        latest: dict[int, tuple[int, str | None, str | None, bool]] = {}
        for campaign_id, deliverable_id, override, version, verdict in rows:
            latest[deliverable_id] = (
                campaign_id,
                verdict if version else "NONE",
                override,
                bool(version),
            )
        counts: dict[int, Counter[str]] = {c: Counter() for c in campaign_ids}
        for campaign_id, verdict, override, submitted in latest.values():
            if not submitted:
                counts[campaign_id]["awaiting"] += 1
            elif verdict is None:
                counts[campaign_id]["unchecked"] += 1
            else:
                counts[campaign_id][verdict] += 1
                if verdict == "FAIL" and override:
                    counts[campaign_id]["overridden"] += 1
        return [
            DisclosureCompliance(
                passed=c["PASS"],
                needs_review=c["NEEDS_REVIEW"],
                failed=c["FAIL"],
                unchecked=c["unchecked"],
                awaiting_content=c["awaiting"],
                overridden=c["overridden"],
            )
            for c in (counts[i] for i in campaign_ids)
        ]

    return ctx.loader("disclosure-compliance", lambda: DataLoader(load))
