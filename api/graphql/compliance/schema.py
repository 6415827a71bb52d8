from __future__ import annotations

import strawberry
from graphql import GraphQLError

from api.content.review import _checker_label
from api.domain import disclosure
from api.graphql.compliance.types import DisclosureReport, Jurisdiction
from api.graphql.content.types import ContentFormat, PlatformLabel
from api.graphql.context import Info
from api.graphql.influencers.types import Platform
from api.graphql.partnerships.types import MaterialConnection
from api.models.enums import Platform as PlatformEnum

MAX_CAPTION = 5000


@strawberry.input
class CheckDisclosureInput:
    caption: str
    platform: Platform
    format: ContentFormat
    platform_label: PlatformLabel | None = None
    connection: MaterialConnection | None = None
    retouched: bool = False
    ai_generated: bool = False
    jurisdictions: list[Jurisdiction] | None = strawberry.field(
        default=None, description="Defaults to every jurisdiction Vouch knows."
    )
    comments: list[str] | None = strawberry.field(
        default=None,
        description="The creator's own first comment and replies under the post: a label only "
        "there does not count, and is reported as LABEL_ONLY_IN_COMMENT.",
    )


@strawberry.type
class ComplianceQuery:
    @strawberry.field(
        description="Checks a caption against advertising-disclosure rules, e.g. while it is "
        "typed. Nothing is stored."
    )
    def check_disclosure(self, info: Info, input: CheckDisclosureInput) -> DisclosureReport:
        if len(input.caption) > MAX_CAPTION:
            raise GraphQLError(f"caption must be at most {MAX_CAPTION} characters")
        if any(len(c) > MAX_CAPTION for c in input.comments or ()):
            raise GraphQLError(f"a comment must be at most {MAX_CAPTION} characters")
        platform = PlatformEnum(input.platform.value)
        try:
            report = disclosure.check(
                disclosure.DisclosureInput(
                    caption=input.caption,
                    platform=disclosure.Platform(platform.value),
                    format=disclosure.ContentFormat(input.format.value),
                    platform_label=_checker_label(
                        input.platform_label.value if input.platform_label else None, platform
                    ),
                    connection=disclosure.Connection(
                        input.connection.value if input.connection else "PAID"
                    ),
                    retouched=input.retouched,
                    ai_generated=input.ai_generated,
                    jurisdictions=tuple(
                        disclosure.Jurisdiction(j.value)
                        for j in (input.jurisdictions or list(disclosure.Jurisdiction))
                    ),
                    comments=tuple(input.comments or ()),
                )
            )
        except disclosure.DisclosureInputError as exc:
            raise GraphQLError(str(exc)) from None
        return DisclosureReport.of(report)
