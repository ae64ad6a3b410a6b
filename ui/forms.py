"""A one-patient form generated from a model's inputs (used by Predict and Explain)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dlcore.data.schema import NUMERIC
from dlcore.models.layouts import TabularLayout


def _is_whole(*values: float | None) -> bool:
    return all(v is None or float(v).is_integer() for v in values)


def patient_form(
    layout: TabularLayout, key: str, initial: dict[str, Any] | None = None
) -> pd.DataFrame | None:
    """Draw a form with one input per model feature; returns a one-row frame when submitted.

    Number inputs are bounded by the range training saw; categorical inputs are select boxes of
    the categories training saw.
    """
    initial = initial or {}
    values: dict[str, Any] = {}
    with st.form(key, border=True):
        columns = st.columns(3)
        for i, info in enumerate(layout.features):
            box = columns[i % 3]
            if info.kind == NUMERIC:
                low, high = info.min, info.max
                default = initial.get(
                    info.name, info.median if info.median is not None else (low or 0.0)
                )
                try:
                    default = float(default)
                except (TypeError, ValueError):
                    default = float(info.median or 0.0)
                if low is not None and high is not None:
                    default = min(max(default, low), high)
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
                values[info.name] = box.number_input(
                    info.name,
                    min_value=float(low) if low is not None else None,
                    max_value=float(high) if high is not None else None,
                    value=float(default),
                    step=step,
                    format="%.0f" if whole else "%.4g",
                    help=f"Training saw {low:g} to {high:g}; median {info.median:g}."
                    if low is not None and high is not None and info.median is not None
                    else None,
                    key=f"{key}_{info.input}",
                )
            else:
                options = list(info.categories) or ["(missing)"]
                default = str(initial.get(info.name, options[0]))
                values[info.name] = box.selectbox(
                    info.name,
                    options,
                    index=options.index(default) if default in options else 0,
                    key=f"{key}_{info.input}",
                )
        submitted = st.form_submit_button("Predict", type="primary", icon=":material/stethoscope:")
    return pd.DataFrame([values]) if submitted else None
