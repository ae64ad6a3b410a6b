"""Who the command line acts as, the audit rows it writes, and what it may print to stderr.

The CLI acts as a named local account: ``--user`` or ``DLCORE_USER``. When ``DLCORE_AUTH`` is not
``none`` it signs in first (``DLCORE_PASSWORD`` for scripts, else a password prompt) and each
command is checked against the account's role, as the pages are. Standard error is a log once a
scheduler captures it: quoted values (cells, file names) are hidden there unless
``--show-values`` asks for them on the person's own terminal; column names stay.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import sys
from typing import Any

from dlcore.errors import PermissionDeniedError, UserError
from dlcore.governance.accounts import Account, auth_mode, authenticate

# The permission each command needs (see dlcore.governance.accounts.PERMISSIONS).
PERMISSION = {
    "train": "train",
    "seed-example": "train",
    "demo": "train",
    "prepare-demo": "train",
    "predict": "predict",
    "explain": "explain",
    "evaluate": "evaluate",
    "models": "predict",
    "datasets": "data",
    "doctor": "admin",
    "audit": "admin",
}
# The audit action each command writes when it succeeds (listing writes none).
AUDIT_ACTION = {
    "train": "train",
    "seed-example": "train",
    "demo": "train",
    "prepare-demo": "train",
    "predict": "predict",
    "explain": "explain",
    "evaluate": "evaluate",
    "doctor": "doctor",
    "audit": "export",
}


def cli_account(username: str | None) -> Account:
    """The account this command acts as; signs in when accounts are on.

    Raises UserError when no username is given (accounts on), or the password is missing or
    wrong (the failed attempt is audited).
    """
    from dlcore.governance import audit

    username = (username or os.environ.get("DLCORE_USER") or "").strip()
    if auth_mode() == "none":
        # Open demo mode: everyone is an admin; the name says who ran it in the audit trail.
        return Account(username or _login_name(), "admin", via="cli")
    if not username:
        raise UserError(
            f"DLCORE_AUTH is {auth_mode()} and no account was named.",
            expected="--user NAME or DLCORE_USER naming a local account",
            fix="pass --user with your account (and DLCORE_PASSWORD, or type the password)",
        )
    password = os.environ.get("DLCORE_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise UserError(
                "No password was given and there is no terminal to ask for one.",
                expected="DLCORE_PASSWORD set for scripts, or an interactive terminal",
                fix="set DLCORE_PASSWORD in the script's environment",
            )
        password = getpass.getpass(f"password for {username}: ")
    account = authenticate(username, password)
    if account is None:
        audit.record(username, "login_failed", detail={"via": "cli"})
        raise PermissionDeniedError(
            "The account name or password is wrong, or the account is disabled.",
            expected="an active local account and its password",
            fix="check the name and password, or ask an admin",
        )
    account.via = "cli"
    audit.record(account.username, "login", role=account.role, detail={"via": "cli"})
    return account


def _login_name() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "cli"
    return re.sub(r"[^A-Za-z0-9._@-]", "", name)[:64] or "cli"


def record_command(account: Account, command: str, payload: dict[str, Any] | None) -> None:
    """The audit row of a command that succeeded (ids, versions and counts only)."""
    from dlcore.governance import audit

    action = AUDIT_ACTION.get(command)
    if action is None:
        return
    payload = payload or {}
    model_id = payload.get("model_id")
    detail: dict[str, Any] = {"via": "cli", "kind": command}
    for key in ("rows", "n", "resamples", "version"):
        if isinstance(payload.get(key), int | float):
            detail[key] = payload[key]
    audit.record(
        account.username,
        action,
        role=account.role,
        object_type="model" if model_id else "workspace",
        object_id=str(model_id or ""),
        model_id=model_id,
        model_version=payload.get("version") if isinstance(payload.get("version"), int) else None,
        detail=detail,
    )


# -- what may be printed --------------------------------------------------------------------------

_QUOTED = re.compile(r"'([^'\n]{1,300})'|\"([^\"\n]{1,300})\"")
HIDDEN = "'…'"
# Lists of a model's known categories ("(known: F, M)") are values too.
_KNOWN = re.compile(r"(\bknown: )[^)\n]*")
# A training range's ends ("training range 18–97", "its smallest was 0.4") are single patients'
# values (the youngest, the oldest): hidden like cells.
_EXTREME = re.compile(r"(\btraining range |\bits smallest was )[-+0-9.eE]+(?:–[-+0-9.eE]+)?")
_columns: set[str] = set()


def remember_columns(names: Any) -> None:
    """Column names of the data read: they may be printed (they name fields, not patients)."""
    _columns.update(str(n) for n in names)


def redact(text: str) -> str:
    """``text`` with quoted values hidden (cells, file names, member names); column names kept."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        return match.group(0) if inner in _columns else HIDDEN

    return _EXTREME.sub(r"\1…", _KNOWN.sub(r"\1…", _QUOTED.sub(replace, text)))


class RedactingFilter(logging.Filter):
    """Hides quoted values in every log record written to stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_info = None  # a traceback's message can quote a value
            record.exc_text = None
        return True
