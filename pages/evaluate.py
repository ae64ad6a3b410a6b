"""Evaluate: is the model fit for clinical use? Discrimination with 95% confidence intervals,
calibration and recalibration, an operating threshold, the decision curve, subgroups and the
model card — on the held-out test split or on an external cohort."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from dlcore.errors import UserError
from dlcore.evaluate.baselines import baseline_sentence
from dlcore.evaluate.calibration import calibration_report
from dlcore.evaluate.clinical import decision_curve
from dlcore.evaluate.metrics import reportability
from dlcore.evaluate.model_report import set_operating_point
from dlcore.plots.clinical import (
    plot_decision_curve,
    plot_pr_with_band,
    plot_reliability,
    plot_roc_with_band,
    plot_threshold_confusion,
)
from dlcore.report.card_parts import binary_card_parts
from ui import cache
from ui.auth import log, log_once, require_page
from ui.common import (
    event_text,
    guard,
    model_picker,
    numbers_help,
    operating_point_text,
    plain,
    preset_text,
    require,
)
from ui.evaluate_parts import (
    FLASH,
    audit_fields,
    interval_tile,
    model_card_section,
    natural_frequencies,
    number_tile,
    recalibration_control,
    say_and_rerun,
    subgroups_section,
    threshold_controls,
)
from ui.evaluate_tasks import multiclass_page, regression_page, survival_page
from ui.images import IMAGE_SUFFIXES, shape_text

TEST, EXTERNAL = "Its held-out test split", "An external cohort (upload)"
RESAMPLES = [1000, 2000, 5000]
THRESHOLD_RESAMPLES = 1000  # the threshold metrics follow the slider: kept quick
TASKS = ("binary", "multiclass", "regression", "survival")
SURVIVAL_RESAMPLES = 500  # each C-index resample compares every pair of records: kept moderate
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet")
SECTION_KEY = "evaluate_section"  # the open tab, kept in st.session_state across reruns

require_page("evaluate")
st.title("Evaluate")
numbers_help()
model_id = model_picker(key="evaluate_model")
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon=":material/check_circle:")


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
    # Keyed and tracked: the chosen tab survives every rerun (fitting a recalibration, choosing a
    # preset, changing the subgroup variable). Every tab still runs, so the widgets in the hidden
    # ones keep their values (the threshold drives the tiles; the card needs every section).
    if st.session_state.get(SECTION_KEY) not in names:
        st.session_state.pop(SECTION_KEY, None)
    tabs = dict(zip(names, st.tabs(names, key=SECTION_KEY, on_change="rerun"), strict=True))

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

    choice = subgroup_settings
    values = data.records[choice.column] if choice is not None else None
    # Built only when a card is downloaded: the model card reports the saved operating point.
    return lambda: binary_card_parts(
        report, data.y, p, loaded.threshold, decision=curve, subgroup=choice, values=values
    )


# -- the page ----------------------------------------------------------------------------------

loaded = None
with guard("Loading the model"):
    loaded = cache.loaded_model(model_id)
require(loaded is not None, "The model could not be loaded.")
if loaded.task == "treatment":  # a trial's benefit model: Qini, calibration for benefit, policy
    from ui.treatment import treatment_evaluate

    treatment_evaluate(loaded)
    st.stop()
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
