"""`python -m api.ingest [--consumer NAME] [--batch-size N] [--conversion-batch-size N]
[--block-ms MS] [--claim-idle-ms MS]`"""

from __future__ import annotations

import argparse

from api.ingest.worker import WorkerOptions, run_worker
from tracker.log import configure_logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api.ingest", description=__doc__)
    parser.add_argument("--consumer", default=None, help="consumer name (default: host-pid-rnd)")
    parser.add_argument(
        "--batch-size", type=int, default=WorkerOptions.batch_size, help="clicks per batch"
    )
    parser.add_argument(
        "--conversion-batch-size",
        type=int,
        default=WorkerOptions.conversion_batch_size,
        help="conversions and refunds per batch",
    )
    parser.add_argument("--block-ms", type=int, default=1000)
    parser.add_argument("--claim-idle-ms", type=int, default=30_000)
    parser.add_argument("--claim-interval", type=float, default=5.0)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    run_worker(
        consumer_name=args.consumer,
        batch_size=args.batch_size,
        conversion_batch_size=args.conversion_batch_size,
        block_ms=args.block_ms,
        claim_idle_ms=args.claim_idle_ms,
        claim_interval_s=args.claim_interval,
    )


if __name__ == "__main__":
    main()
