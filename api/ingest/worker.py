"""The ingest worker (moved to `api.ingest.batches` first, so `git log --follow` keeps its
history while it is split by concern)."""

from api.ingest.batches import GROUP, Stats, Worker, WorkerOptions, run_worker, worker_engine

__all__ = ["GROUP", "Stats", "Worker", "WorkerOptions", "run_worker", "worker_engine"]
