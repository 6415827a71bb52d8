"""Webhooks out: what Vouch tells brands' own systems, as Standard Webhooks.

`events` (the types and their payloads), `outbox` (`emit`, in the caller's transaction),
`endpoints` (create, rotate, disable, replay), `signing`, `backoff` (the schedule), `egress`
(the safe sender) and `dispatcher` (`vouch webhooks`).
"""
