"""The audit trail: an append-only record of who did what, when, to which object and model version.

It stores identifiers and hashes, never patient values (the database refuses updates and deletes
of this table). Admins filter it and export it as CSV.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pandas as pd
from sqlalchemy import select

from dlcore.store import AuditRow, get_store

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
)
_ALLOWED_DETAIL = (int, float, bool, type(None))
# Short codes that never carry patient values; file names are not among them (they can name a
# patient): a file is identified by its SHA-256.
_CODE_KEYS = frozenset(
    {
        "sha256",
        "method",
        "preset",
        "format",
        "role",
        "task",
        "kind",
        "page",
        "via",
        "dataset_id",
        "job_id",
        "session_id",
        "target",
    }
)


def _safe_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    """Only numbers, flags and known short codes: no free text that could carry patient values."""
    return {
        key: value
        for key, value in (detail or {}).items()
        if isinstance(value, _ALLOWED_DETAIL)
        or (isinstance(value, str) and len(value) <= 80 and key in _CODE_KEYS)
    }


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
    """Append one audit row. Free text in ``detail`` is dropped unless it is a known short code."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    with get_store().session() as session:
        session.add(
            AuditRow(
                username=(username or "unknown")[:64],
                role=role[:20],
                action=action,
                object_type=object_type[:40],
                object_id=str(object_id)[:120],
                model_id=model_id,
                model_version=model_version,
                detail=_safe_detail(detail),
            )
        )
        session.commit()


def audit_frame(
    *,
    username: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 5000,
) -> pd.DataFrame:
    """The audit rows matching the filters, newest first."""
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
    return pd.DataFrame(
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


def audit_csv(**filters: Any) -> bytes:
    """The filtered audit trail as CSV bytes."""
    return audit_frame(**filters).to_csv(index=False).encode()
