"""A demo webhook endpoint per organization, made after the history (so the seeding writes no
events), disabled with the reason saying what to do: point it at a receiver
(`updateWebhookEndpoint`), then `enableWebhookEndpoint`."""

from __future__ import annotations

from api.demo.state import Seeding
from api.webhooks import endpoints

URL = "https://hooks.example.com/vouch"
EVENTS = ("conversion.created", "conversion.reversed", "payout_batch.paid")
REASON = (
    "a demo endpoint: set its url to your receiver (updateWebhookEndpoint), then "
    "enableWebhookEndpoint; its secret comes from rotateWebhookEndpointSecret"
)


def seed_webhooks(state: Seeding) -> None:
    for org in state.orgs:
        row, _secret = endpoints.create(state.session, org.id, URL, EVENTS, "Demo: the brand's ERP")
        endpoints.disable(state.session, row, REASON, now=state.now)
    state.count("webhook_endpoints", len(state.orgs))
