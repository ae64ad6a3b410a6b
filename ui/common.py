"""Error display, session-state keys and small formatting helpers used by every page."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from dlcore.errors import UserError

logger = logging.getLogger("dashboard")

DATASET_KEY = "current_dataset_id"
MODEL_KEY = "current_model_id"
JOB_KEY = "watched_job_id"
RECORD_KEY = "patient_record"


@contextmanager
def guard(action: str = "That") -> Iterator[None]:
    """Show a dlcore user error as its message; log anything else and show a short apology.

    Streamlit's own control flow (st.stop, st.rerun) passes through untouched.
    """
    try:
        yield
    except UserError as exc:
        st.error(exc.message, icon=":material/error:")
    except Exception:
        reference = uuid.uuid4().hex[:8]
        logger.exception("unexpected error (reference %s)", reference)
        st.error(
            f"Sorry — {action.lower() if action != 'That' else 'that'} failed because of a problem on "
            f"our side. It has been logged (reference {reference}); please try again or tell the team.",
            icon=":material/report:",
        )


def require(condition: Any, message: str) -> None:
    """Show ``message`` as information and stop the page unless ``condition`` holds."""
    if not condition:
        st.info(message, icon=":material/info:")
        st.stop()


def fmt(value: Any, digits: int = 3) -> str:
    """A number for people: 3 significant digits, '—' for missing."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def fmt_duration(seconds: float | None) -> str:
    """'1 min 05 s', '12 s', or '—'."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    seconds = max(0, round(seconds))
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "accuracy": "Accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "PPV",
    "npv": "NPV",
    "f1": "F1",
    "brier": "Brier score",
    "youden_threshold": "Youden threshold",
    "macro_auc": "Macro ROC AUC",
    "macro_f1": "Macro F1",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
}


def metric_name(key: str) -> str:
    """A metric's display name."""
    return METRIC_NAMES.get(key, key.replace("_", " "))


def show_metrics(metrics: dict[str, float], columns: int = 5) -> None:
    """A row (or rows) of st.metric tiles."""
    items = list(metrics.items())
    for start in range(0, len(items), columns):
        cols = st.columns(columns)
        for col, (key, value) in zip(cols, items[start : start + columns], strict=False):
            col.metric(metric_name(key), fmt(value))
