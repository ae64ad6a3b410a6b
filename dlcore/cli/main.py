"""Entry point of ``python -m dlcore``: parse, dispatch, turn errors into exit codes."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path

from dlcore.cli.commands import logger
from dlcore.cli.parser import build_parser
from dlcore.errors import DlcoreError, UserError


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 1 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except UserError as exc:
        if getattr(args, "json", False):
            sys.stdout.write(json.dumps({"error": exc.message}) + "\n")
        sys.stderr.write(f"error: {exc.message}\n")
        return 2
    except (DlcoreError, Exception) as exc:  # anything else: a short message, details in the log
        logger.debug("internal error", exc_info=True)
        log_path = _write_crash_log()
        message = f"internal error ({type(exc).__name__}): {str(exc)[:300]}"
        if getattr(args, "json", False):
            sys.stdout.write(json.dumps({"error": message, "details": str(log_path)}) + "\n")
        sys.stderr.write(f"{message}\nthe details are in {log_path}\n")
        return 1


def _write_crash_log() -> Path:
    from dlcore.config import get_settings

    folder = get_settings().home / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cli-errors.log"
    with path.open("a") as handle:
        handle.write(traceback.format_exc() + "\n")
    return path
