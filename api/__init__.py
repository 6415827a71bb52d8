"""Vouch: the GraphQL API, the domain rules and the ingest worker."""
