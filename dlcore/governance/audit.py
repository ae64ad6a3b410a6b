"""The audit trail: an append-only record of who did what, when, to which object and model version.

It stores identifiers and hashes, never patient values (the database refuses updates and deletes
of this table). Admins filter it and export it as CSV.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dlcore.governance.roles import ROLES, Account, acting
from dlcore.store import AuditRow, get_store, utcnow

logger = logging.getLogger(__name__)

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "session_ended",
    "upload",
    "dataset_save",
    "dataset_delete",
    "train",
    "model_upload",
    "model_rename",
    "model_delete",
    "predict",
    "explain",
    "evaluate",
    "recalibrate",
    "operating_point",
    "review_create",
    "review_decision",
    "export",
    "user_create",
    "user_change",
    "doctor",
)
_ALLOWED_DETAIL = (int, float, bool, type(None))
# Known short codes that never carry patient values, each with the shape its value must have;
# file names are not among them (they can name a patient): a file is identified by its SHA-256.
_CODE = re.compile(r"^[a-z][a-z0-9_.:-]{0,39}$")
_ID = re.compile(r"^[a-z]{1,4}-[0-9a-f]{6,32}$")
_CODE_KEYS: dict[str, re.Pattern[str] | frozenset[str]] = {
    "sha256": re.compile(r"^[0-9a-f]{64}$"),
    "method": _CODE,
    "preset": _CODE,
    "format": _CODE,
    "role": frozenset(ROLES),
    "previous_role": frozenset(ROLES),
    "task": frozenset({"binary", "multiclass", "regression", "survival"}),
    "kind": _CODE,
    "page": _CODE,
    "via": frozenset({"local", "oidc", "demo", "cli"}),
    "dataset_id": _ID,
    "job_id": _ID,
    "session_id": _ID,
    # A column name, not a value: printable, short, never starting like a spreadsheet formula.
    "target": re.compile(r"^[^=+\-@\t\r\n\x00-\x1f][^\x00-\x1f]{0,79}$"),
}


def _safe_value(key: str, value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int | float):
        return math.isfinite(value) and abs(value) < 1e15
    rule = _CODE_KEYS.get(key)
    if not isinstance(value, str) or rule is None:
        return False
    return value in rule if isinstance(rule, frozenset) else bool(rule.fullmatch(value))


def _safe_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    """Only finite numbers, flags and known short codes whose value has the code's shape: no free
    text that could carry patient values (a name typed into a code field is dropped too)."""
    return {
        str(key)[:40]: value
        for key, value in (detail or {}).items()
        if isinstance(key, str) and _safe_value(key, value)
    }


GENESIS = "0" * 64
_APPEND_ATTEMPTS = 50


def _key() -> bytes:
    """The chain's key: DLCORE_AUDIT_KEY when set (kept outside the database, so that someone
    with the database file alone cannot recompute the chain after an edit), else none."""
    return (os.environ.get("DLCORE_AUDIT_KEY") or "").encode()


def row_hash(row: AuditRow | dict[str, Any], prev_hash: str) -> str:
    """The hash of one audit row's content and its predecessor's hash (HMAC when keyed)."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    at = get("at")
    payload = json.dumps(
        [
            prev_hash,
            at.isoformat(timespec="microseconds") if isinstance(at, dt.datetime) else str(at),
            get("username"),
            get("role"),
            get("action"),
            get("object_type"),
            get("object_id"),
            get("model_id"),
            get("model_version"),
            get("detail") or {},
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    ).encode()
    key = _key()
    if key:
        return hmac.new(key, payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


def record(
    username: str,
    action: str,
    *,
    role: str = "",
    object_type: str = "",
    object_id: str = "",
    model_id: str | None = None,
    model_version: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row, chained to the last one by its hash.

    Free text in ``detail`` is dropped unless it is a known short code of the right shape. Two
    writers racing for the same predecessor collide on the unique ``prev_hash``; the loser
    re-reads the chain's end and appends after the winner.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    fields = {
        "username": (username or "unknown")[:64],
        "role": (role or "")[:20],
        "action": action,
        "object_type": (object_type or "")[:40],
        "object_id": str(object_id or "")[:120],
        "model_id": model_id,
        "model_version": int(model_version) if model_version is not None else None,
        "detail": _safe_detail(detail),
    }
    store = get_store()
    for attempt in range(_APPEND_ATTEMPTS):
        with store.session() as session:
            last = session.scalar(
                select(AuditRow.row_hash)
                .where(AuditRow.row_hash.is_not(None))
                .order_by(AuditRow.id.desc())
                .limit(1)
            )
            prev = last or GENESIS
            at = utcnow()
            row = AuditRow(at=at, prev_hash=prev, **fields)
            row.row_hash = row_hash({**fields, "at": at}, prev)
            session.add(row)
            try:
                session.commit()
                return
            except IntegrityError:
                session.rollback()
        import random
        import time

        time.sleep(random.uniform(0.001, 0.02) * (1 + attempt))
    raise RuntimeError("the audit row could not be appended (the chain kept moving)")


@dataclass
class ChainReport:
    """The audit hash chain as verified: rows checked, rows before the chain, problems found."""

    rows: int = 0
    unchained: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain() -> ChainReport:
    """Walk the audit trail in id order and check every row's hash and link to its predecessor.

    Rows written before the chain existed (no hash) are counted, not judged, as long as they all
    come before the first chained row.
    """
    report = ChainReport()
    prev: str | None = None
    with get_store().session() as session:
        for row in session.scalars(select(AuditRow).order_by(AuditRow.id)).yield_per(1000):
            report.rows += 1
            if row.row_hash is None:
                if prev is None:
                    report.unchained += 1
                else:
                    report.problems.append(f"row {row.id} has no hash inside the chain")
                continue
            expected_prev = prev or GENESIS
            if row.prev_hash != expected_prev:
                report.problems.append(
                    f"row {row.id} does not link to the row before it (a row was removed, "
                    "inserted or reordered)"
                )
            if row_hash(row, row.prev_hash or "") != row.row_hash:
                report.problems.append(f"row {row.id}'s content does not match its hash (edited)")
            prev = row.row_hash
    return report


def audit_frame(
    *,
    username: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 5000,
    actor: Account | None = None,
) -> pd.DataFrame:
    """The audit rows matching the filters, newest first, for ``actor`` (an admin).

    Raises PermissionDeniedError for another role (or no account while DLCORE_AUTH is on).
    """
    acting(actor, "admin")
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if username:
        query = query.where(AuditRow.username == username)
    if action:
        query = query.where(AuditRow.action == action)
    if since:
        query = query.where(AuditRow.at >= since)
    if until:
        query = query.where(AuditRow.at <= until)
    with get_store().session() as session:
        rows = session.scalars(query).all()
    frame = pd.DataFrame(
        [
            {
                "when (UTC)": r.at,
                "who": r.username,
                "role": r.role,
                "action": r.action,
                "object": r.object_type,
                "object id": r.object_id,
                "model": r.model_id or "",
                "model version": r.model_version,
                "detail": ", ".join(f"{k}={v}" for k, v in (r.detail or {}).items()),
            }
            for r in rows
        ],
        columns=[
            "when (UTC)",
            "who",
            "role",
            "action",
            "object",
            "object id",
            "model",
            "model version",
            "detail",
        ],
    )
    frame["model version"] = frame["model version"].astype("Int64")
    return frame


def audit_csv(**filters: Any) -> bytes:
    """The filtered audit trail as CSV bytes (spreadsheet formulas neutralised), for an admin."""
    from dlcore.fsutil import write_csv

    return write_csv(audit_frame(**filters)) or b""
