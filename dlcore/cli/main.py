"""Entry point of ``python -m dlcore``: parse, dispatch, turn errors into exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from pathlib import Path

from dlcore.cli.commands import logger
from dlcore.cli.parser import build_parser
from dlcore.cli.session import (
    PERMISSION,
    RedactingFilter,
    cli_account,
    record_command,
    redact,
    remember_columns,
)
from dlcore.errors import ConfigError, DlcoreError, UserError
from dlcore.governance.accounts import Account, acting, acting_as


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input or refused, 1 internal
    error; doctor: 3 when it found problems a person must look at)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    show_values = getattr(args, "show_values", False)
    if not show_values:
        handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        return _run(args, argv, show_values)
    finally:  # main() can run many times in one process (tests): leave logging as it was
        root.removeHandler(handler)
        root.setLevel(saved_level)


def _run(args: argparse.Namespace, argv: list[str] | None, show_values: bool) -> int:
    safe = (lambda text: text) if show_values else redact
    # What the person typed may be echoed (a model id, a column name), except paths of files,
    # whose names can name a patient.
    remember_columns(
        token
        for token in (sys.argv[1:] if argv is None else argv)
        if not token.startswith("-") and not Path(token).exists()
    )
    try:
        account = _sign_in(args)
        acting(account, PERMISSION.get(args.command, "admin"))
        with acting_as(account):
            status = int(args.func(args))
            record_command(account, args.command, getattr(args, "emitted", None))
        return status
    except UserError as exc:
        if getattr(args, "json", False):
            sys.stdout.write(json.dumps({"error": exc.message}) + "\n")
        sys.stderr.write(f"error: {safe(exc.message)}\n")
        return 2
    except (DlcoreError, Exception) as exc:  # anything else: a short message, details in the log
        logger.debug("internal error", exc_info=True)
        log_path = _write_crash_log(exc)
        # The exception's message can quote a value: its kind only, unless asked for.
        message = f"internal error ({type(exc).__name__})" + (
            f": {str(exc)[:300]}" if show_values else ""
        )
        if getattr(args, "json", False):
            sys.stdout.write(json.dumps({"error": message, "details": str(log_path)}) + "\n")
        sys.stderr.write(f"{message}\nwhere it happened is in {log_path}\n")
        return 1


def _sign_in(args: argparse.Namespace) -> Account:
    """The account of this run; a workspace that cannot be opened is the person's to fix."""
    from sqlalchemy.exc import OperationalError

    from dlcore.doctor import clean_workspace

    try:
        account = cli_account(getattr(args, "user", None))
        if args.command != "doctor":  # doctor cleans and says what it removed
            clean_workspace()
    except (OperationalError, PermissionError) as exc:
        from dlcore.config import get_settings

        raise ConfigError(
            f"The workspace {get_settings().home} cannot be opened or written "
            f"({type(exc).__name__}).",
            expected="a folder this account can write (the database, models and datasets live there)",
            fix="set DLCORE_HOME to a writable folder, or fix the folder's permissions",
        ) from None
    return account


def _write_crash_log(exc: BaseException) -> Path:
    """Where the error happened (the traceback's frames and the error's kind, not its message,
    which can quote a patient's value) in the workspace's CLI error log."""
    from dlcore.config import get_settings

    folder = get_settings().home / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "cli-errors.log"
        with path.open("a") as handle:
            handle.write(
                "".join(traceback.format_tb(exc.__traceback__)) + type(exc).__name__ + "\n\n"
            )
    except OSError:  # an unwritable workspace: nowhere to keep the details
        return Path(os.devnull)
    return path
