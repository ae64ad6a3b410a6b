"""A one-patient form generated from a model's inputs (used by Predict and Explain).

No ``st.form``: every change reaches the page at once, so a page can tell that a result shown
belongs to earlier inputs. Numbers are not bounded in the browser (a bounded input refuses a
value silently, its reason only on hover); a value outside what training saw is reported under
the field instead, in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from dlcore.data.schema import NUMERIC
from dlcore.models.layouts import TabularLayout
from dlcore.report.wording import input_label, is_binary_range, number_text, split_unit

CODED = ("sex", "gender")  # 0/1 columns whose 1 is not "yes"


@dataclass
class PatientForm:
    """The form's current inputs, the reasons any of them cannot be used, and the button."""

    values: dict[str, Any]
    problems: dict[str, str] = field(default_factory=dict)
    submitted: bool = False

    @property
    def record(self) -> pd.DataFrame:
        """The inputs as a one-row frame (the model's column names)."""
        return pd.DataFrame([self.values])


def _is_whole(*values: float | None) -> bool:
    return all(v is None or float(v).is_integer() for v in values)


def _range_text(info: Any, unit: str | None) -> str:
    suffix = f" {unit}" if unit else ""
    return f"{number_text(info.min)} to {number_text(info.max)}{suffix}"


def _yes_no(info: Any) -> tuple[list[float], Any]:
    """The options of a 0/1 input and how they read."""
    if info.name.strip().lower() in CODED:
        return [0.0, 1.0], lambda v: f"{v:.0f} (as coded in the training data)"
    return [0.0, 1.0], lambda v: "yes" if v else "no"


def patient_form(
    layout: TabularLayout, key: str, initial: dict[str, Any] | None = None, button: str = "Predict"
) -> PatientForm:
    """Draw one input per model feature and a button; returns the current inputs.

    Yes/no (0/1) columns are radio buttons; categorical inputs are select boxes of the categories
    training saw; numbers carry their unit in the label (from the header, or a known clinical
    column) and a value outside the training range is named under the field (``problems``).
    """
    initial = initial or {}
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    with st.container(border=True):
        columns = st.columns(3)
        for i, info in enumerate(layout.features):
            box = columns[i % 3]
            widget_key = f"{key}_{info.input}"
            label = input_label(info.name)
            if info.kind == NUMERIC:
                low, high = info.min, info.max
                default = initial.get(
                    info.name, info.median if info.median is not None else (low or 0.0)
                )
                try:
                    default = float(default)
                except (TypeError, ValueError):
                    default = float(info.median or 0.0)
                if is_binary_range(low, high, info.median):
                    options, shown = _yes_no(info)
                    values[info.name] = box.radio(
                        label,
                        options,
                        index=1 if default >= 0.5 else 0,
                        format_func=shown,
                        horizontal=True,
                        key=widget_key,
                    )
                    continue
                whole = _is_whole(low, high, default)
                step = (
                    1.0
                    if whole
                    else (
                        float(high - low) / 100
                        if low is not None and high is not None and high > low
                        else 0.01
                    )
                )
                unit = split_unit(info.name)[1]
                value = box.number_input(
                    label,
                    value=float(default),
                    step=step,
                    format="%.0f" if whole else "%.4g",
                    help=f"Training saw {_range_text(info, unit)}; median "
                    f"{number_text(info.median)}."
                    if low is not None and high is not None and info.median is not None
                    else None,
                    key=widget_key,
                )
                values[info.name] = value
                if low is not None and high is not None and not low <= value <= high:
                    problems[info.name] = (
                        f"{label}: {number_text(value)} is outside what training saw "
                        f"({_range_text(info, unit)}); the model has not learned what happens "
                        "there. Enter a value in that range."
                    )
                    box.error(problems[info.name], icon=":material/error:")
            else:
                options = list(info.categories) or ["(missing)"]
                default = str(initial.get(info.name, options[0]))
                values[info.name] = box.selectbox(
                    label,
                    options,
                    index=options.index(default) if default in options else 0,
                    key=widget_key,
                )
        submitted = st.button(
            button,
            type="primary",
            icon=":material/stethoscope:",
            disabled=bool(problems),
            key=f"{key}_submit",
        )
    return PatientForm(values, problems, bool(submitted) and not problems)
