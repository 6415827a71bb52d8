"""The shop webhook tests share the ingest tests' fixtures (own database, own Redis prefix)."""

from tests.ingest.conftest import db_url, engine, prefix, rds, redis_url, session, sessions

__all__ = ["db_url", "engine", "prefix", "rds", "redis_url", "session", "sessions"]
