"""Evaluate: is the model fit for clinical use? Discrimination with 95% confidence intervals,
calibration and recalibration, an operating threshold, the decision curve, subgroups and the
model card — on the held-out test split or on an external cohort."""

from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np
import pandas as pd
import streamlit as st

from dlcore.errors import UserError
from dlcore.evaluate.baselines import baseline_sentence
from dlcore.evaluate.calibration import calibration_report
from dlcore.evaluate.clinical import choose_threshold, decision_curve, metrics_at_threshold
from dlcore.evaluate.metrics import evaluate, reportability
from dlcore.evaluate.model_report import fit_model_recalibration, set_operating_point
from dlcore.plots.clinical import (
    plot_decision_curve,
    plot_multiclass_with_bands,
    plot_pr_with_band,
    plot_reliability,
    plot_residuals,
    plot_roc_with_band,
    plot_subgroups,
    plot_threshold_confusion,
)
from dlcore.plots.metrics import plot_regression
from dlcore.plots.survival import plot_kaplan_meier
from dlcore.registry import update_card
from dlcore.report.card import model_card_html, model_card_markdown
from ui import cache
from ui.auth import log, log_once, require_page
from ui.common import (
    PRESET_NAMES,
    event_text,
    fmt_time,
    guard,
    model_picker,
    operating_point_text,
    plain,
    preset_text,
    require,
)
from ui.images import IMAGE_SUFFIXES, shape_text

TEST, EXTERNAL = "Its held-out test split", "An external cohort (upload)"
RESAMPLES = [1000, 2000, 5000]
THRESHOLD_RESAMPLES = 1000  # the threshold metrics follow the slider: kept quick
RECALIBRATIONS = {
    "none": "None (the network's own output)",
    "temperature": "Temperature scaling",
    "isotonic": "Isotonic regression",
}
FLASH = "evaluate_flash"
TASKS = ("binary", "multiclass", "regression", "survival")
SURVIVAL_RESAMPLES = 500  # each C-index resample compares every pair of records: kept moderate
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet")

require_page("evaluate")
st.title("Evaluate")
model_id = model_picker(key="evaluate_model")
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon=":material/check_circle:")


# -- small pieces ----------------------------------------------------------------------------


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


# -- which data --------------------------------------------------------------------------------


def choose_data(loaded) -> tuple[object, str, int]:
    """The evaluation data (cached), its key and the number of bootstrap resamples."""
    layout = loaded.layout
    c1, c2 = st.columns([2, 1])
    where = c1.radio(
        "Judge it on",
        [TEST, EXTERNAL],
        horizontal=True,
        key="evaluate_source",
        help="The test split was held out from training. An external cohort — other patients, "
        "another hospital or period, with the same columns and outcome — is external validation.",
    )
    if loaded.task == "survival":
        resamples = SURVIVAL_RESAMPLES
        c2.caption(
            f"The C-index's 95% interval comes from {resamples} bootstrap resamples (seeded: "
            "the same data gives the same interval)."
        )
    else:
        resamples = c2.selectbox(
            "Bootstrap resamples",
            RESAMPLES,
            key="evaluate_resamples",
            format_func=lambda n: f"{n:,}",
            help="The 95% confidence intervals come from this many stratified bootstrap resamples "
            "(seeded: the same data gives the same intervals). More is steadier but slower.",
        )
    records, source = None, None
    data_key = cache.held_out_key(loaded)
    if where == EXTERNAL:
        if loaded.kind == "image":
            label = (
                f"A ZIP with one folder per class ({', '.join(layout.classes)}); images are "
                f"read at the model's {shape_text(layout.shape)}"
            )
        elif loaded.task == "survival":
            label = (
                f"Records with the model's columns, the follow-up time '{plain(layout.time_column)}' "
                f"and the event '{plain(layout.target)}' (CSV, TSV, XLSX or Parquet)"
            )
        else:
            label = (
                f"Records with the model's columns and the outcome "
                f"'{plain(layout.target)}' (CSV, TSV, XLSX or Parquet)"
            )
        upload = st.file_uploader(label, key=f"evaluate_upload_{loaded.id}")
        require(
            upload is not None,
            "Upload the external cohort to evaluate the model on it.",
        )
        content = upload.getvalue()
        digest = hashlib.sha256(content).hexdigest()
        data_key = f"external|{digest}"
        with guard("Reading the cohort"):
            if loaded.kind == "image":
                if not upload.name.lower().endswith(IMAGE_SUFFIXES):
                    raise UserError(
                        f"'{upload.name}' is not image data.",
                        expected="a ZIP with one folder per class",
                        fix="upload a ZIP of class folders",
                    )
                records = cache.read_image_upload(
                    content, upload.name, (layout.height, layout.width), layout.channels
                )
                if records.skipped:
                    st.warning(
                        f"{len(records.skipped)} file(s) skipped: "
                        + "; ".join(f"{s.name} ({s.reason})" for s in records.skipped[:5])
                        + ("…" if len(records.skipped) > 5 else ""),
                        icon=":material/warning:",
                    )
                count = len(records.images)
            else:
                records, warnings = cache.read_upload(content, upload.name)
                for warning in warnings:
                    st.warning(warning, icon=":material/warning:")
                count = len(records)
            # Not the file name: it travels into the model card and can name a patient.
            source = f"external validation cohort (upload {digest[:8]}, {count} records)"
        if records is None:
            st.stop()
    data = None
    with guard("Preparing the evaluation"):
        key = cache.evaluation_key(loaded, data_key)
        data = cache.evaluation_data(key, source, loaded, records)
    if data is None:
        st.stop()
    return data, key, int(resamples)


def describe_data(loaded, data) -> None:
    layout = loaded.layout
    badge = (
        ":green-badge[:material/verified: External validation] "
        if data.external
        else ":gray-badge[Internal: held-out test split] "
    )
    n = len(data.y)
    text = f"{badge} On the **{plain(data.source)}**"
    if f"{n} records" not in data.source:
        text += f": {n:,} records"
    if layout.task == "survival":
        events = int(np.sum(data.y[:, 1]))
        text += f", {events:,} with **{plain(event_text(layout))}** during follow-up"
    elif layout.task == "binary":
        positives = int(np.sum(data.y))
        text += (
            f", {positives:,} with **{plain(layout.positive_class)}** ({positives / max(1, n):.0%})"
        )
    st.markdown(text + ".")
    shift = getattr(data, "cohort_shift", None)
    if shift is not None:  # an external table against the training data
        say = st.success if shift.verdict == "similar" else st.warning
        say(f"Against the training data: {shift.sentence}", icon=":material/compare_arrows:")
        if shift.flagged:
            with st.expander(f"{len(shift.flagged)} column(s) differ from the training data"):
                st.dataframe(
                    pd.DataFrame(
                        {
                            "column": c.column,
                            "missing %": round(100 * c.missing_external, 1),
                            "SMD": None if c.smd is None else round(c.smd, 2),
                            "PSI": None if c.psi is None else round(c.psi, 2),
                            "what differs": "; ".join(c.flags),
                        }
                        for c in shift.flagged
                    ),
                    hide_index=True,
                )
    verdict = reportability(layout.task, data.y)  # the rule training uses too
    if verdict.label:
        st.warning(f"{verdict.label.capitalize()}: {verdict.reason}.", icon=":material/warning:")
    if not data.external and baseline_sentence(loaded.card):
        st.info(baseline_sentence(loaded.card), icon=":material/balance:")


# -- binary ------------------------------------------------------------------------------------


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
            say_and_rerun(
                f"Recalibration saved: probabilities are now {recalibrator.describe()}. "
                "Predict shows these calibrated probabilities from now on."
                if method != "none"
                else "Recalibration removed: Predict shows the network's own output."
            )


def subgroup_columns(loaded, records: pd.DataFrame) -> list[str]:
    """Columns worth comparing groups of: not the outcome, no identifiers or free text."""
    schema = {c["name"]: c for c in loaded.card.get("schema", {}).get("columns", [])}
    target = loaded.layout.target
    chosen = []
    for name in records.columns:
        info = schema.get(str(name), {})
        if name == target or info.get("kind") in ("identifier", "text", "empty", "datetime"):
            continue
        values = records[name]
        if not pd.api.types.is_numeric_dtype(values) and values.nunique() > 20:
            continue  # many distinct texts: names, numbers, notes
        chosen.append(str(name))
    return chosen


def parse_cut_points(text: str) -> tuple[float, ...]:
    """'50, 65' → (50.0, 65.0); raises UserError naming what is not a number."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    numbers = []
    for part in parts:
        try:
            numbers.append(float(part))
        except ValueError:
            raise UserError(
                f"Cut point '{part}' is not a number.",
                expected="numbers separated by commas, such as 50, 65",
                fix="type the band limits as numbers",
            ) from None
    if not numbers:
        raise UserError(
            "No cut points.",
            expected="numbers separated by commas, such as 50, 65",
            fix="type at least one cut point, or choose equal-count thirds",
        )
    return tuple(sorted(set(numbers)))


def subgroups_section(loaded, data, key: str, p: np.ndarray, threshold: float):
    """Per-group performance of one column; returns its settings (for the model card) or None."""
    records = data.records
    columns = subgroup_columns(loaded, records)
    if not columns:
        st.caption("The evaluation records have no column to form groups by.")
        return None
    c1, c2 = st.columns(2)
    column = c1.selectbox("Compare the groups of", columns, key=f"evaluate_group_{loaded.id}")
    values = records[column]
    banded = pd.api.types.is_numeric_dtype(values) and values.nunique() > 5
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
    report = cache.subgroup_report(
        key, column, edges, banded, float(threshold), tolerance, data.y, p, values
    )
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
    return column, values, banded, edges, tolerance


def binary_page(loaded, data, key: str, resamples: int):
    """Every binary section; returns what the model card needs."""
    layout = loaded.layout
    positive = str(layout.positive_class)
    negative = str(next((c for c in layout.classes if c != layout.positive_class), "other"))
    p = data.probabilities[:, 0]
    report = cache.clinical_report(key, resamples, loaded, data)

    tiles = st.container()
    names = ["Discrimination", "Calibration", "Operating threshold", "Decision curve"]
    if data.records is not None:
        names.append("Subgroups")
    tabs = dict(zip(names, st.tabs(names), strict=True))

    with tabs["Operating threshold"]:
        left, right = st.columns([1, 1])
        with left:
            threshold, preset, value = threshold_controls(loaded, data, p)
            at, confusion = cache.metrics_at_threshold(
                key, float(threshold), THRESHOLD_RESAMPLES, data.y, p
            )
            st.markdown(natural_frequencies(confusion, positive))
            if not data.external:
                st.caption(
                    "A preset picks the threshold on the same records its metrics are measured "
                    "on, so they flatter it a little: confirm on an external cohort."
                )
            st.caption(operating_point_text(loaded.card, hint=False))
            point = loaded.card.get("operating_point")
            if point and bool(point.get("calibrated")) != (loaded.recalibrator.method != "none"):
                st.warning(
                    "The saved operating point was chosen on "
                    + ("recalibrated" if point.get("calibrated") else "uncalibrated")
                    + " probabilities, and the recalibration has changed since: choose it again.",
                    icon=":material/warning:",
                )
            if st.button(
                "Save as the model's operating point",
                type="primary",
                icon=":material/save:",
                key=f"evaluate_save_threshold_{loaded.id}",
            ):
                with guard("Saving the operating point"):
                    set_operating_point(
                        loaded,
                        threshold,
                        preset=preset,
                        value=None if preset == "youden" else value,
                        source=data.source,
                        metrics={k: v.to_dict() for k, v in at.items()},
                    )
                    log("operating_point", **audit_fields(loaded), detail={"preset": preset})
                    say_and_rerun(
                        f"Operating point saved: Predict now decides '{positive}' at a probability of "
                        f"{threshold:.3f} or more ({preset_text(preset, value)})."
                    )
        with right:
            st.plotly_chart(
                plot_threshold_confusion(confusion, positive, negative, threshold),
                key="evaluate_confusion",
            )

    with tiles:
        c = st.columns(6)
        interval_tile(
            c[0],
            "ROC AUC",
            report.auc,
            "Discrimination: the chance that a random "
            f"patient with {positive} gets a higher probability than one without.",
        )
        interval_tile(
            c[1],
            "PR AUC",
            report.pr_auc,
            f"Average PPV over sensitivities; chance is the prevalence ({report.prevalence:.2f}).",
        )
        interval_tile(c[2], "Sensitivity", at["sensitivity"])
        interval_tile(c[3], "Specificity", at["specificity"])
        interval_tile(
            c[4],
            "PPV",
            at["ppv"],
            "Positive predictive value: of those flagged, the share with the outcome.",
        )
        interval_tile(
            c[5],
            "NPV",
            at["npv"],
            "Negative predictive value: of those cleared, the share without it.",
        )
        st.caption(
            f"Sensitivity, specificity, PPV and NPV at the threshold **{threshold:.3f}** "
            f"({preset_text(preset, value)}; {THRESHOLD_RESAMPLES:,} resamples). AUCs from "
            f"{resamples:,} stratified bootstrap resamples (seed 0). Probabilities: {report.calibrated}."
        )

    shown = dataclasses.replace(report, threshold=threshold, at_threshold=at, confusion=confusion)
    with tabs["Discrimination"]:
        g1, g2 = st.columns(2)
        roc = plot_roc_with_band(shown)
        roc.update_layout(title="ROC curve")  # the data it is on is said above
        g1.plotly_chart(roc, key="evaluate_roc")
        g2.plotly_chart(plot_pr_with_band(shown), key="evaluate_pr")
        st.caption(
            "Shaded: the 95% bootstrap band. The diamond on the ROC curve is the operating threshold."
        )

    with tabs["Calibration"]:
        g1, g2 = st.columns([3, 2])
        g1.plotly_chart(plot_reliability(report.calibration), key="evaluate_reliability")
        with g2:
            cal = report.calibration
            m1, m2 = st.columns(2)
            number_tile(
                m1,
                "Brier score",
                cal.brier,
                help="Mean squared error of the probabilities (0 is perfect).",
            )
            number_tile(
                m2,
                "ECE",
                cal.ece,
                help="Expected calibration error: the average gap between predicted and observed.",
            )
            number_tile(
                m1,
                "Calibration slope",
                cal.slope,
                ".2f",
                help="1 is ideal; below 1 the probabilities are too extreme, above 1 too timid.",
            )
            number_tile(
                m2,
                "Calibration-in-the-large",
                cal.calibration_in_the_large,
                "+.2f",
                help="0 is ideal; above 0 risk is underestimated on average, below 0 overestimated (log-odds).",
            )
            st.info(
                f"Probabilities shown: **{loaded.recalibrator.describe()}**.",
                icon=":material/info:",
            )
            if loaded.recalibrator.method != "none":
                raw = calibration_report(data.y, data.output[:, 0])
                st.caption(
                    f"The network's own output on these records: Brier {raw.brier:.3f}, ECE "
                    f"{raw.ece:.3f}, slope {raw.slope:.2f}, calibration-in-the-large "
                    f"{raw.calibration_in_the_large:+.2f}."
                )
        recalibration_control(loaded, ["none", "temperature", "isotonic"])

    with tabs["Decision curve"]:
        low, high = st.slider(
            "Threshold probabilities to show",
            0.01,
            0.99,
            (0.01, 0.6),
            0.01,
            key="evaluate_decision_range",
            help="The range of risks at which a clinician would act: below it nobody would treat, above it everybody would.",
        )
        curve = None
        with guard("Drawing the decision curve"):
            curve = decision_curve(data.y, p, low, high)
            st.plotly_chart(plot_decision_curve(curve, threshold), key="evaluate_decision")
            if not low <= threshold <= high:
                st.caption(
                    f"The operating threshold {threshold:.3f} lies outside the range shown, so "
                    "it is not marked."
                )
            st.caption(
                "Net benefit: true positives per patient, minus false positives weighted by the odds "
                "of the threshold probability. Where the model's curve is above both 'treat all' and "
                "'treat none', using it does more good than either."
            )

    subgroup_settings = None
    if "Subgroups" in tabs:
        with tabs["Subgroups"], guard("Comparing the subgroups"):
            subgroup_settings = subgroups_section(loaded, data, key, p, threshold)

    saved = loaded.threshold

    def card_parts() -> tuple[object, object, list]:
        """The report at the saved operating point, the subgroups at it, and the figures."""
        from dlcore.evaluate.clinical import band_numeric, subgroup_report

        metrics, counts = metrics_at_threshold(data.y, p, saved, resamples=report.resamples)
        chosen_curve = curve or report.decision
        at_saved = dataclasses.replace(
            report, threshold=saved, at_threshold=metrics, confusion=counts, decision=chosen_curve
        )
        groups_report = None
        if subgroup_settings is not None:
            column, values, banded, edges, tolerance = subgroup_settings
            groups = band_numeric(values, list(edges) if edges else None) if banded else values
            groups_report = subgroup_report(
                data.y, p, groups, threshold=saved, tolerance=tolerance, column=column
            )
        figures = [
            plot_roc_with_band(at_saved),
            plot_reliability(report.calibration),
            plot_decision_curve(chosen_curve, saved),
        ]
        if groups_report is not None:
            figures.append(plot_subgroups(groups_report))
        return at_saved, groups_report, figures

    return card_parts


# -- multiclass and regression -------------------------------------------------------------------


def multiclass_page(loaded, data, key: str, resamples: int):
    report = cache.clinical_report(key, resamples, loaded, data)
    c = st.columns(4)
    interval_tile(
        c[0], "Accuracy", report.accuracy, "The share of records whose most likely class is right."
    )
    values = [v.value for v in report.auc.values() if finite(v.value)]
    number_tile(c[1], "Mean one-vs-rest AUC", float(np.mean(values)) if values else float("nan"))
    st.caption(f"95% intervals from {resamples:,} stratified bootstrap resamples (seed 0).")
    counts = np.bincount(np.asarray(data.y, dtype=int), minlength=len(report.classes))
    table = pd.DataFrame(
        [
            {
                "class": name,
                "records": int(counts[k]),
                "ROC AUC (95% CI)": str(report.auc[name])
                if name in report.auc
                else "— (no records)",
            }
            for k, name in enumerate(report.classes)
        ]
    )
    g1, g2 = st.columns([2, 3])
    g1.dataframe(table, hide_index=True)
    g2.plotly_chart(plot_multiclass_with_bands(report), key="evaluate_multiclass")
    st.subheader("Calibration")
    st.info(f"Probabilities shown: **{loaded.recalibrator.describe()}**.", icon=":material/info:")
    recalibration_control(loaded, ["none", "temperature"])

    def card_parts() -> tuple[object, object, list]:
        return report, None, [plot_multiclass_with_bands(report)]

    return card_parts


def regression_page(loaded, data, key: str, resamples: int):
    report = cache.clinical_report(key, resamples, loaded, data)
    plain = evaluate("regression", data.y, data.output)
    target = loaded.layout.target or "value"
    c = st.columns(4)
    interval_tile(c[0], "MAE", report.mae, f"Mean absolute error, in the units of {target}.")
    interval_tile(c[1], "RMSE", report.rmse, "Root mean squared error: large errors weigh more.")
    interval_tile(
        c[2],
        "Bias",
        report.bias,
        "Mean of predicted − actual: above 0 the model overestimates on average.",
    )
    number_tile(c[3], "R²", plain.r2, ".2f", help="The share of the variance the model explains.")
    st.caption(f"95% intervals from {resamples:,} bootstrap resamples (seed 0).")
    scatter = plot_regression(plain)
    scatter.update_layout(title=f"Predicted against actual — {data.source}")
    g1, g2 = st.columns(2)
    g1.plotly_chart(scatter, key="evaluate_regression")
    g2.plotly_chart(plot_residuals(report), key="evaluate_residuals")

    def card_parts() -> tuple[object, object, list]:
        figure = plot_regression(plain)
        figure.update_layout(title=f"Predicted against actual — {data.source}")
        return report, None, [figure, plot_residuals(report)]

    return card_parts


def survival_page(loaded, data, key: str, resamples: int):
    """C-index with its interval, time-dependent AUC and Brier score, and Kaplan–Meier curves
    of the predicted-risk tertiles beside their mean predicted survival."""
    report = cache.clinical_report(key, resamples, loaded, data)
    layout = loaded.layout
    time_label = layout.time_column or "time"
    time, event = plain(time_label), plain(event_text(layout))
    tiles = st.columns(2 + len(report.auc_times))
    interval_tile(
        tiles[0],
        "C-index",
        report.c_index,
        "Harrell's concordance: of two patients whose order of events is known, the chance that "
        "the one with the event first had the higher predicted risk (0.5 is chance).",
    )
    for tile, at, auc in zip(tiles[1:], report.auc_times, report.auc, strict=False):
        number_tile(
            tile,
            f"AUC at {fmt_time(at)}",
            auc,
            help=f"Time-dependent AUC: how well the risk separates patients with {event} by "
            f"{time} {fmt_time(at)} from those still free of it then (censoring-weighted).",
        )
    number_tile(
        tiles[-1],
        "Integrated Brier score",
        report.integrated_brier if report.integrated_brier is not None else float("nan"),
        help="The squared error of the predicted survival probabilities averaged over time "
        "(censoring-weighted; 0 is perfect, 0.25 is no better than 50% for everybody).",
    )
    st.caption(
        f"{report.n:,} records, {report.events:,} events. C-index interval from "
        f"{report.resamples or resamples} bootstrap resamples (seed 0). The AUCs are at the "
        "quartiles of the training event times (the times Predict reports survival at), "
        "where this data's follow-up reaches them."
        if report.auc_times
        else f"{report.n:,} records, {report.events:,} events. Too few events or too short a "
        "follow-up for the time-dependent AUC and the Brier score."
    )
    st.plotly_chart(plot_kaplan_meier(report, time_label=time_label), key="evaluate_kaplan_meier")
    st.caption(
        "Calibration over time: the records are split into thirds by predicted risk. Solid steps "
        "are what happened to each third (Kaplan–Meier); dashed lines are the survival the model "
        "predicted for them on average. Close pairs mean well-calibrated survival probabilities; "
        "well-separated thirds mean good discrimination."
    )

    def card_parts() -> tuple[object, object, list]:
        return report, None, [plot_kaplan_meier(report, time_label=time_label)]

    return card_parts


# -- the model card ----------------------------------------------------------------------------


def model_card_section(loaded, card_parts) -> None:
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
        report, subgroups, _ = card_parts()
        return model_card_markdown(card, report, subgroups).encode()

    def html() -> bytes:
        report, subgroups, figures = card_parts()
        return model_card_html(card, report, subgroups, figures).encode()

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


# -- the page ----------------------------------------------------------------------------------

loaded = None
with guard("Loading the model"):
    loaded = cache.loaded_model(model_id)
require(loaded is not None, "The model could not be loaded.")
require(
    loaded.task in TASKS,
    f"Evaluate covers binary, multiclass, regression and survival models; this is a {loaded.task} model. "
    "Its test metrics are on the Models page.",
)
data, key, resamples = choose_data(loaded)
describe_data(loaded, data)
log_once(
    key,
    "evaluate",
    **audit_fields(loaded),
    detail={"external": bool(data.external), "n": len(data.y)},
)

card_parts = None
with guard("Evaluating the model"):
    if loaded.task == "binary":
        card_parts = binary_page(loaded, data, key, resamples)
    elif loaded.task == "multiclass":
        card_parts = multiclass_page(loaded, data, key, resamples)
    elif loaded.task == "survival":
        card_parts = survival_page(loaded, data, key, resamples)
    else:
        card_parts = regression_page(loaded, data, key, resamples)

if card_parts is not None:
    st.divider()
    st.subheader("Model card")
    with guard("Preparing the model card"):
        model_card_section(loaded, card_parts)
