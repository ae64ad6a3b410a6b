"""Error display, session-state keys and small formatting helpers used by every page."""

from __future__ import annotations

import logging
import math
import re
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from dlcore.errors import UserError
from dlcore.report.wording import NUMBERS_HELP, NUMBERS_HELP_TITLE, metric_name

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
    except Exception as exc:
        reference = uuid.uuid4().hex[:8]
        # Where it failed, without the exception's message: messages can quote a patient's value.
        logger.error(
            "unexpected error (reference %s): %s\n%s",
            reference,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        st.error(
            f"Sorry — {action.lower() if action != 'That' else 'that'} failed because of a problem on "
            f"our side. It has been logged (reference {reference}); please try again or tell the team.",
            icon=":material/report:",
        )


def shared_selectbox(
    label: str,
    options: Any,
    state_key: str,
    *,
    key: str,
    format_func: Any = str,
    **kwargs: Any,
) -> Any:
    """A select box whose choice is kept in ``st.session_state[state_key]`` (shared by pages).

    It has a key so that its identity does not depend on the choice: an unkeyed select box whose
    ``index`` comes from session state becomes a new widget whenever that index changes, and the
    person's next pick is silently dropped.
    """
    options = list(options)
    current = st.session_state.get(state_key)
    if current in options:
        if st.session_state.get(key) != current:
            st.session_state[key] = current
    elif options and st.session_state.get(key) not in options:
        st.session_state[key] = options[0]

    def copy_choice() -> None:
        st.session_state[state_key] = st.session_state[key]

    value = st.selectbox(
        label, options, key=key, format_func=format_func, on_change=copy_choice, **kwargs
    )
    st.session_state[state_key] = value
    return value


NO_MODEL_MESSAGE = "There is no model yet. Train one on the Train page (the demo model trains by itself on first start)."


def model_picker(key: str) -> str:
    """The page's model choice (shared across pages); stops the page when there is no model."""
    from dlcore.registry import list_models

    models = list_models()
    require(models, NO_MODEL_MESSAGE)
    labels = {m.id: f"{m.name} (v{m.version}, {m.task})" for m in models}
    return shared_selectbox("Model", labels, MODEL_KEY, key=key, format_func=labels.__getitem__)


def require(condition: Any, message: str) -> None:
    """Show ``message`` as information and stop the page unless ``condition`` holds."""
    if not condition:
        st.info(message, icon=":material/info:")
        st.stop()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&])")


def plain(text: Any) -> str:
    """``text`` for st.markdown or a caption, shown as typed: Markdown, HTML and LaTeX characters
    are escaped (names, notes and instructions come from people and are never markup)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


_CODED_EVENT = {"1", "1.0", "true", "yes", "y"}


def event_text(layout: Any) -> str:
    """What a survival model's event is, for people: its value when it names something
    ('recurrence or death'), else the column and its code ('the event (cens = 1)')."""
    value = getattr(layout, "positive_class", None)
    if value is None:
        return "the event"
    if str(value).strip().lower() in _CODED_EVENT:
        return f"the event ({layout.target} = {value})"
    return str(value)


def fmt(value: Any, digits: int = 3) -> str:
    """A number for people: 3 significant digits, '—' for missing."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def fmt_time(value: float) -> str:
    """A follow-up time for people: whole numbers from 10 on ('1,234'), else 3 significant digits."""
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.3g}"


def fmt_duration(seconds: float | None) -> str:
    """'1 min 05 s', '12 s', or '—'."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    seconds = max(0, round(seconds))
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def show_metrics(metrics: dict[str, float], columns: int = 5) -> None:
    """A row (or rows) of st.metric tiles."""
    items = list(metrics.items())
    for start in range(0, len(items), columns):
        cols = st.columns(columns)
        for col, (key, value) in zip(cols, items[start : start + columns], strict=False):
            col.metric(metric_name(key), fmt(value))


PRESET_NAMES = {
    "fixed": "Set by hand",
    "sensitivity": "Sensitivity ≥ X",
    "specificity": "Specificity ≥ X",
    "youden": "Youden's J (largest sensitivity + specificity − 1)",
    "cost": "Cost ratio FN:FP",
}


def preset_text(preset: str | None, value: float | None) -> str:
    """How a threshold was chosen, for people: 'sensitivity ≥ 0.90', "Youden's J", …"""
    if preset == "sensitivity" and value is not None:
        return f"sensitivity ≥ {value:.2f}"
    if preset == "specificity" and value is not None:
        return f"specificity ≥ {value:.2f}"
    if preset == "youden":
        return "Youden's J"
    if preset == "cost" and value is not None:
        return f"cost ratio FN:FP {value:g}:1"
    return "set by hand"


def operating_point_text(card: dict[str, Any], hint: bool = True) -> str:
    """The saved operating point of a model's card in one sentence (or the default 0.5)."""
    point = card.get("operating_point")
    if not point:
        return "Default threshold 0.5: no operating point has been saved" + (
            " (choose one on the Evaluate page)." if hint else "."
        )
    text = (
        f"Operating point {float(point['threshold']):.3f}, chosen by "
        f"{preset_text(point.get('preset'), point.get('value'))} on the {point.get('set_on', '—')}"
    )
    if point.get("set_at"):
        text += f" ({str(point['set_at']).replace('T', ' ').rstrip('Z')} UTC)"
    return text + "."


def numbers_help() -> None:
    """The plain-words help on probabilities, thresholds, CIs, calibration and SHAP points."""
    with st.expander(NUMBERS_HELP_TITLE, icon=":material/help:"):
        st.markdown(NUMBERS_HELP)
