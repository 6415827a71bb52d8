"""The schema: every domain's queries and mutations merged, with the API's limits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal

import strawberry
from graphql import ASTValidationRule, GraphQLError, OperationDefinitionNode
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from api.graphql.accounts.mutations import AccountMutation
from api.graphql.accounts.schema import AccountQuery
from api.graphql.audience.mutations import AudienceMutation
from api.graphql.brands.mutations import BrandMutation
from api.graphql.brands.schema import BrandQuery
from api.graphql.campaigns.mutations import CampaignMutation
from api.graphql.campaigns.schema import CampaignQuery
from api.graphql.compliance.schema import ComplianceQuery
from api.graphql.content.mutations import ContentMutation
from api.graphql.context import Context
from api.graphql.core.types import CoreQuery
from api.graphql.finance.mutations import FinanceMutation
from api.graphql.finance.schema import FinanceQuery
from api.graphql.influencers.imports import ImportMutation
from api.graphql.influencers.mutations import InfluencerMutation
from api.graphql.influencers.schema import InfluencerQuery
from api.graphql.live_posts.mutations import LivePostMutation
from api.graphql.live_posts.schema import LivePostQuery
from api.graphql.money import DECIMAL_SCALAR
from api.graphql.partnerships.mutations import PartnershipMutation
from api.graphql.partnerships.schema import PartnershipQuery
from api.graphql.payouts.mutations import PayoutMutation
from api.graphql.payouts.schema import PayoutQuery
from api.graphql.post_metrics.mutations import PostMetricsMutation
from api.graphql.programs.mutations import ProgramMutation
from api.graphql.programs.schema import ProgramQuery
from api.graphql.risk.mutations import RiskMutation
from api.graphql.shops.mutations import ShopMutation
from api.graphql.tracking.mutations import TrackingMutation
from api.graphql.webhooks.mutations import WebhookMutation
from api.graphql.webhooks.schema import WebhookQuery
from api.settings import get_settings

Query = merge_types(
    "Query",
    (
        CoreQuery,
        BrandQuery,
        InfluencerQuery,
        CampaignQuery,
        PartnershipQuery,
        ComplianceQuery,
        FinanceQuery,
        PayoutQuery,
        LivePostQuery,
        ProgramQuery,
        AccountQuery,
        WebhookQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        BrandMutation,
        InfluencerMutation,
        AudienceMutation,
        ImportMutation,
        CampaignMutation,
        PartnershipMutation,
        ContentMutation,
        PostMetricsMutation,
        LivePostMutation,
        TrackingMutation,
        RiskMutation,
        ShopMutation,
        FinanceMutation,
        PayoutMutation,
        ProgramMutation,
        AccountMutation,
        WebhookMutation,
    ),
)

_settings = get_settings()


# The depth and alias limits as validation rules made once: QueryDepthLimiter and
# MaxAliasesLimiter make a new rule class per instance, so with an instance per request the
# validation cache (keyed by the rules) never hit and every request validated its document
# again (about 20 ms for a page of a frontend). Extensions are made per request (strawberry sets
# each one's `execution_context`, so sharing an instance between concurrent requests would mix
# them up); the parser and validation caches live in strawberry's module, shared by all.
_LIMITS: list[type[ASTValidationRule]] = [
    query_depth_limiter.create_validator(_settings.max_query_depth, None),
    max_aliases.create_validator(_settings.max_aliases),
]
_CACHE_SIZE = 256


def is_unexpected(error: GraphQLError) -> bool:
    """Mask errors raised by bugs; keep the messages of validation and of deliberate errors."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


log = logging.getLogger("vouch.api")


class OperationNameRequired(SchemaExtension):
    """A document of several operations with no `operationName` is a request error, as the
    GraphQL spec's GetOperation says; strawberry would run the first one. Checked right after
    parsing, so the client gets a parse-time error (400 with graphql-response+json, a 200 with
    `errors` for application/json) and nothing is validated or run."""

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        # strawberry keeps the name the client gave only here: `operation_name` falls back to
        # the first operation's
        if document is None or getattr(context, "_provided_operation_name", None) is not None:
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) > 1:
            raise GraphQLError(
                "Must provide operationName if the document contains multiple operations.",
                extensions={"code": "BAD_REQUEST"},
            )


class ReadOnlyQueries(SchemaExtension):
    """A query's context gets a session that only reads (`Context.read_only`); a mutation's, a
    transaction. Decided once the document is parsed and validated, before any resolver."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.operation_type is OperationType.QUERY and isinstance(context.context, Context):
            context.context.read_only = True
        yield


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """A bug at ERROR with its traceback; a client's mistake (a document that does not parse
        or validate, variables that do not coerce, a deliberate error) at INFO in one line: it
        was answered, nothing failed here. (strawberry logs every error at ERROR.)"""
        for error in errors:
            path = ".".join(map(str, error.path)) if error.path else None
            if is_unexpected(error):
                log.error("GraphQL field %s failed", path, exc_info=error.original_error)
            else:
                where = f" (at {path})" if path else ""
                log.info("GraphQL request refused%s: %s", where, error.message)


schema = Schema(
    query=Query,
    mutation=Mutation,
    config=StrawberryConfig(relay_max_results=_settings.max_page_size),
    # Decimal inputs keep the client's text, checked against the money grammar where used.
    scalar_overrides={Decimal: DECIMAL_SCALAR},
    extensions=[
        lambda: AddValidationRules(_LIMITS),
        lambda: MaxTokensLimiter(max_token_count=_settings.max_tokens),
        lambda: ParserCache(maxsize=_CACHE_SIZE),
        OperationNameRequired,
        lambda: ValidationCache(maxsize=_CACHE_SIZE),
        ReadOnlyQueries,
        # Unexpected exceptions reach the client as "Unexpected error.", never a stack trace.
        lambda: MaskErrors(should_mask_error=is_unexpected),
    ],
)
