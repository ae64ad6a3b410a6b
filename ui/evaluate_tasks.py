"""The Evaluate page's sections for multiclass, regression and survival models: tiles, tables and
figures of the cached clinical report; each returns how to build its model card parts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from dlcore.evaluate.metrics import evaluate
from dlcore.plots.clinical import plot_multiclass_with_bands, plot_residuals
from dlcore.plots.metrics import plot_regression
from dlcore.plots.survival import plot_kaplan_meier
from dlcore.report.card_parts import (
    CardParts,
    multiclass_card_parts,
    regression_card_parts,
    survival_card_parts,
)
from ui import cache
from ui.common import event_text, fmt_time, plain
from ui.evaluate_parts import finite, interval_tile, number_tile, recalibration_control


def multiclass_page(loaded, data, key: str, resamples: int) -> Callable[[], CardParts]:
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

    return lambda: multiclass_card_parts(report)


def regression_page(loaded, data, key: str, resamples: int) -> Callable[[], CardParts]:
    report = cache.clinical_report(key, resamples, loaded, data)
    fit = evaluate("regression", data.y, data.output)
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
    number_tile(c[3], "R²", fit.r2, ".2f", help="The share of the variance the model explains.")
    st.caption(f"95% intervals from {resamples:,} bootstrap resamples (seed 0).")
    scatter = plot_regression(fit)
    scatter.update_layout(title=f"Predicted against actual — {data.source}")
    g1, g2 = st.columns(2)
    g1.plotly_chart(scatter, key="evaluate_regression")
    g2.plotly_chart(plot_residuals(report), key="evaluate_residuals")

    return lambda: regression_card_parts(report, fit, data.source)


def survival_page(loaded, data, key: str, resamples: int) -> Callable[[], CardParts]:
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

    return lambda: survival_card_parts(report, time_label)
