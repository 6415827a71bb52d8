"""The ingest worker: Redis streams (clicks, conversions, refunds) into the database, once.

`run_worker()` is the entry point (`vouch worker`, `python -m api.ingest`); `Worker` is the
loop itself, usable directly in tests and benchmarks.
"""

from api.ingest.worker import GROUP, Worker, WorkerOptions, run_worker

__all__ = ["GROUP", "Worker", "WorkerOptions", "run_worker"]
