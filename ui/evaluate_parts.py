"""The Evaluate page's widgets: metric tiles, the threshold and recalibration controls, the
subgroup comparison and the model card downloads (layout only; the numbers come from dlcore)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import streamlit as st

from dlcore.evaluate.clinical import choose_threshold
from dlcore.evaluate.model_report import fit_model_recalibration
from dlcore.evaluate.subgroups import (
    SubgroupChoice,
    is_banded,
    parse_cut_points,
    subgroup_columns,
)
from dlcore.plots.clinical import plot_subgroups
from dlcore.registry import update_card
from dlcore.report.card_parts import CardParts
from ui import cache
from ui.auth import log
from ui.common import PRESET_NAMES, guard, plain

FLASH = "evaluate_flash"
RECALIBRATIONS = {
    "none": "None (the network's own output)",
    "temperature": "Temperature scaling",
    "isotonic": "Isotonic regression",
}


def finite(value: float | None) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def interval_tile(column, label: str, interval, help: str | None = None) -> None:
    """A metric tile: the estimate, and its 95% interval beneath it."""
    if interval is None or not finite(interval.value):
        column.metric(label, "—", help=help)
        return
    ci = (
        f"95% CI {interval.low:.3f}–{interval.high:.3f}"
        if finite(interval.low) and finite(interval.high)
        else None
    )
    column.metric(
        label,
        f"{interval.value:.3f}",
        ci,
        delta_color="off",
        delta_arrow="off",
        help=help,
    )


def number_tile(column, label: str, value: float, digits: str = ".3f", help: str | None = None):
    column.metric(label, f"{value:{digits}}" if finite(value) else "—", help=help)


def audit_fields(loaded) -> dict:
    return {
        "object_type": "model",
        "object_id": loaded.id,
        "model_id": loaded.id,
        "model_version": loaded.version,
    }


def say_and_rerun(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


def threshold_controls(loaded, data, p: np.ndarray) -> tuple[float, str, float | None]:
    """The preset, its value and the threshold it gives (or the slider's)."""
    slider_key = f"evaluate_threshold_{loaded.id}"
    if slider_key not in st.session_state:
        st.session_state[slider_key] = min(max(loaded.threshold, 0.0), 1.0)
    c1, c2 = st.columns(2)
    preset = c1.selectbox(
        "Choose the threshold by",
        list(PRESET_NAMES),
        format_func=PRESET_NAMES.__getitem__,
        key=f"evaluate_preset_{loaded.id}",
        help="A preset computes the threshold on the evaluation records; 'Set by hand' uses the slider.",
    )
    value = None
    if preset in ("sensitivity", "specificity"):
        value = c2.number_input(
            f"{preset.capitalize()} at least",
            0.5,
            1.0,
            0.9,
            0.01,
            key=f"evaluate_target_{loaded.id}_{preset}",
        )
    elif preset == "cost":
        value = c2.number_input(
            "A missed case costs as much as this many false alarms",
            0.1,
            1000.0,
            5.0,
            0.5,
            key=f"evaluate_cost_{loaded.id}",
            help="The cost ratio FN:FP: how much worse it is to miss a patient with the "
            "outcome than to flag one without it.",
        )
    threshold = None
    if preset != "fixed":
        threshold = choose_threshold(data.y, p, preset, value)
        st.session_state[slider_key] = min(max(threshold, 0.0), 1.0)
    shown = st.slider(
        "Operating threshold (probability at or above which the model says "
        f"'{loaded.layout.positive_class}')",
        0.0,
        1.0,
        step=0.001,
        format="%.3f",
        key=slider_key,
        disabled=preset != "fixed",
        help="Move it by hand with 'Set by hand'; a preset sets it for you.",
    )
    if preset == "fixed":
        threshold, value = float(shown), float(shown)
    return float(threshold), preset, value


def natural_frequencies(confusion: dict, positive: str) -> str:
    tp, fp, tn, fn = confusion["tp"], confusion["fp"], confusion["tn"], confusion["fn"]
    positive = plain(positive)
    flagged, cleared = tp + fp, tn + fn
    return (
        f"Of **{tp + fn}** patients with {positive}, the model flags **{tp}** and misses **{fn}**; "
        f"of **{tn + fp}** without, it clears **{tn}** and falsely alarms on **{fp}**. "
        f"Of the {flagged} it flags, {tp} have {positive}"
        + (f" ({tp / flagged:.0%})" if flagged else "")
        + f"; of the {cleared} it clears, {tn} are free of it"
        + (f" ({tn / cleared:.0%})." if cleared else ".")
    )


def recalibration_control(loaded, methods: list[str]) -> None:
    """Pick a recalibration, fit it on the validation split and save it with the model."""
    current = loaded.recalibrator.method
    method = st.radio(
        "Recalibration",
        methods,
        index=methods.index(current) if current in methods else 0,
        format_func=RECALIBRATIONS.__getitem__,
        horizontal=True,
        key=f"evaluate_recalibration_{loaded.id}",
        help="Temperature scaling softens or sharpens every probability by one factor; isotonic "
        "regression maps them through a fitted increasing curve. Both are fitted on the "
        "validation split, never on the records judged here.",
    )
    st.caption(
        "Saved with the model: Predict and Explain then show the recalibrated probabilities, and "
        "a saved operating threshold applies to them."
    )
    if st.button(
        "Fit on the validation split and save with the model",
        icon=":material/tune:",
        key=f"evaluate_fit_{loaded.id}",
    ):
        with guard("Fitting the recalibration"):
            recalibrator = fit_model_recalibration(loaded, method)
            log("recalibrate", **audit_fields(loaded), detail={"method": method})
            worse = (recalibrator.held_out_brier_after or 0) > (
                recalibrator.held_out_brier_before or 0
            )
            say_and_rerun(
                f"Recalibration saved: probabilities are now {recalibrator.describe()}. "
                + (
                    "It makes them worse on the held-out split: they are not better calibrated."
                    if worse
                    else "Predict shows these recalibrated probabilities from now on."
                )
                if method != "none"
                else "Recalibration removed: Predict shows the network's own output."
            )


def subgroups_section(loaded, data, key: str, p: np.ndarray, threshold: float):
    """Per-group performance of one column; returns the SubgroupChoice (for the model card) or None."""
    records = data.records
    columns = subgroup_columns(loaded.card, records)
    if not columns:
        st.caption("The evaluation records have no column to form groups by.")
        return None
    c1, c2 = st.columns(2)
    column = c1.selectbox("Compare the groups of", columns, key=f"evaluate_group_{loaded.id}")
    values = records[column]
    banded = is_banded(values)
    edges = None
    if banded:
        how = c2.radio(
            "Bands",
            ["Equal-count thirds (tertiles)", "My cut points"],
            horizontal=True,
            key="evaluate_bands",
        )
        if how == "My cut points":
            text = c2.text_input(
                "Cut points",
                placeholder="50, 65",
                key=f"evaluate_cuts_{loaded.id}_{column}",
                help=f"Band limits of {column}, e.g. '50, 65' gives < 50, 50–65 and ≥ 65.",
            )
            if not text.strip():
                st.caption("Type the cut points, such as 50, 65.")
                return None
            edges = parse_cut_points(text)
    else:
        c2.caption(f"{column}: {values.nunique()} groups, as they are.")
    tolerance = st.slider(
        "Flag a group when it falls short of the overall value by more than",
        0.0,
        0.3,
        0.1,
        0.01,
        key="evaluate_tolerance",
        help="Applies to AUC, sensitivity and specificity; calibration-in-the-large is flagged "
        "beyond twice this (in log-odds).",
    )
    choice = SubgroupChoice(column, banded, edges, float(tolerance))
    report = cache.subgroup_report(key, choice, float(threshold), data.y, p, values)
    frame = report.to_frame()
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            name: st.column_config.NumberColumn(format="%.3f")
            for name in (
                "prevalence",
                "sensitivity",
                "specificity",
                "mean predicted",
                "calibration-in-the-large",
            )
        },
    )
    st.plotly_chart(plot_subgroups(report), key="evaluate_subgroups")
    flagged = [row for row in report.rows if row.flags]
    for row in flagged:
        st.warning(
            f"**{plain(column)} = {plain(row.group)}** ({row.n} records): "
            + plain("; ".join(row.flags))
            + ".",
            icon=":material/warning:",
        )
    if not flagged:
        st.success(
            f"No group of {plain(column)} falls short by more than {tolerance:.2f}.",
            icon=":material/check_circle:",
        )
    st.caption(
        f"Sensitivity and specificity at the threshold {threshold:.3f}. Small groups have wide "
        "intervals: a gap there may be chance; a flagged gap is a question for the data, not a verdict."
    )
    return choice


def model_card_section(loaded, card_parts: Callable[[], CardParts]) -> None:
    """The intended use (saved in the card) and the card's downloads, built on click."""
    card = dict(loaded.card)
    intended = st.text_area(
        "Intended use",
        card.get("intended_use", ""),
        key=f"evaluate_intended_{loaded.id}",
        height=110,
        placeholder="Who the model is for, in which setting, for which decision, and who must not rely on it.",
    )
    if st.button("Save intended use", icon=":material/save:", key=f"evaluate_save_use_{loaded.id}"):
        with guard("Saving the intended use"):
            update_card(loaded.id, {"intended_use": intended.strip()})
            say_and_rerun("Intended use saved in the model card.")

    def markdown() -> bytes:
        return card_parts().markdown(card).encode()

    def html() -> bytes:
        return card_parts().html(card).encode()

    def exported(kind: str) -> None:
        log("export", **audit_fields(loaded), detail={"format": kind})

    slug = "".join(ch if ch.isalnum() else "-" for ch in loaded.name.lower()).strip("-")[:60]
    c1, c2 = st.columns(2)
    c1.download_button(
        "Model card (Markdown)",
        markdown,
        file_name=f"model-card-{slug}.md",
        mime="text/markdown",
        icon=":material/description:",
        key="evaluate_card_markdown",
        on_click=exported,
        args=("markdown",),
    )
    c2.download_button(
        "Model card (HTML with figures)",
        html,
        file_name=f"model-card-{slug}.html",
        mime="text/html",
        icon=":material/download:",
        key="evaluate_card_html",
        on_click=exported,
        args=("html",),
    )
    st.caption(
        "The card reports the evaluation above"
        + (
            f" at the saved operating threshold {loaded.threshold:.3f}"
            if loaded.task == "binary"
            else ""
        )
        + ". The HTML file holds its figures and works offline"
        + (" (the subgroups are those on the Subgroups tab)." if loaded.task == "binary" else ".")
    )
