"""`vouch webhooks`: the webhook dispatcher (`api.webhooks.dispatcher`) until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any


def cmd_webhooks(_args: argparse.Namespace) -> int:
    from sqlalchemy.orm import sessionmaker

    from api.ingest.worker import worker_engine
    from api.settings import get_settings
    from api.webhooks import dispatcher

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    # SQLite: BEGIN IMMEDIATE, as the worker's (a claim reads, then writes).
    engine = worker_engine(get_settings().database_url)
    try:
        dispatcher.run(stop, sessionmaker(bind=engine, expire_on_commit=False))
    finally:
        engine.dispose()
    return 0


def register(_sub: Any, add: Any) -> None:
    add("webhooks", cmd_webhooks, "send the webhook deliveries owed to brands' endpoints")
