"""Entry point of a training worker process: ``python -m dlcore.training.worker JOB_ID``."""

from __future__ import annotations

import logging
import sys


def main(argv: list[str] | None = None) -> int:
    """Run one job; logs go to the job's log file (the process's standard error)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m dlcore.training.worker JOB_ID\n")
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from dlcore.training.jobs import run_worker

    return run_worker(args[0])


if __name__ == "__main__":
    sys.exit(main())
