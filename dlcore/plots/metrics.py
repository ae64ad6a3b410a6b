"""ROC, PR, confusion matrix and regression figures from evaluation reports."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcore.evaluate.metrics import BinaryReport, MulticlassReport, RegressionReport
from dlcore.plots.style import TRAIN_COLOR, VALIDATION_COLOR, _chance_diagonal, _figure, _layout


def plot_roc(report: BinaryReport) -> Any:
    """The ROC curve, with the chance diagonal and the Youden operating point."""
    import plotly.graph_objects as go

    fig = _figure()
    fig.add_trace(_chance_diagonal())
    fig.add_trace(
        go.Scatter(
            x=report.roc.x,
            y=report.roc.y,
            mode="lines",
            name=f"model (AUC {report.roc_auc:.3f})",
            line={"color": TRAIN_COLOR, "width": 3},
            customdata=report.roc.thresholds,
            hovertemplate="1 − specificity %{x:.2f}<br>sensitivity %{y:.2f}<br>threshold %{customdata:.3f}",
        )
    )
    point = report.at_youden
    fig.add_trace(
        go.Scatter(
            x=[1 - point.specificity],
            y=[point.sensitivity],
            mode="markers",
            name=f"Youden threshold {point.threshold:.2f}",
            marker={"size": 11, "color": VALIDATION_COLOR, "symbol": "diamond"},
        )
    )
    return _layout(fig, "ROC curve (test split)", "1 − specificity", "Sensitivity", height=380)


def plot_pr(report: BinaryReport) -> Any:
    """The precision–recall curve with the prevalence as the chance level."""
    import plotly.graph_objects as go

    fig = _figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[report.prevalence] * 2,
            mode="lines",
            name=f"chance (prevalence {report.prevalence:.2f})",
            line={"dash": "dash", "color": "#aab7b8"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=report.pr.x,
            y=report.pr.y,
            mode="lines",
            name=f"model (PR AUC {report.pr_auc:.3f})",
            line={"color": TRAIN_COLOR, "width": 3},
        )
    )
    return _layout(
        fig,
        "Precision–recall curve (test split)",
        "Sensitivity (recall)",
        "PPV (precision)",
        height=380,
    )


def plot_confusion(
    matrix: list[list[int]], labels: list[str], title: str = "Confusion matrix"
) -> Any:
    """A confusion matrix heatmap: rows are the actual class, columns the predicted one."""
    import plotly.graph_objects as go

    z = np.asarray(matrix)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"predicted {label}" for label in labels],
            y=[f"actual {label}" for label in labels],
            colorscale="Blues",
            showscale=False,
            text=z,
            texttemplate="%{text}",
            hovertemplate="%{y}<br>%{x}<br>%{z} record(s)<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, "", "", height=340)


def binary_confusion(report: BinaryReport, at: str = "half") -> tuple[list[list[int]], list[str]]:
    """The 2×2 matrix (negative, positive) at 0.5 ('half') or at the Youden threshold ('youden')."""
    m = report.at_half if at == "half" else report.at_youden
    return [[m.tn, m.fp], [m.fn, m.tp]], ["other", report.positive_class]


def plot_report(report: BinaryReport | MulticlassReport | RegressionReport) -> list[Any]:
    """The figures that describe a report: ROC, PR and confusion; per-class ROC; Kaplan–Meier
    curves by risk tertile (survival); or predicted against actual."""
    if getattr(report, "task", None) == "survival":
        from dlcore.plots.survival import plot_kaplan_meier

        return [plot_kaplan_meier(report)]
    if isinstance(report, BinaryReport):
        matrix, labels = binary_confusion(report)
        return [
            plot_roc(report),
            plot_pr(report),
            plot_confusion(matrix, labels, "Confusion matrix at 0.5"),
        ]
    if isinstance(report, MulticlassReport):
        return [plot_multiclass_roc(report), plot_confusion(report.confusion, report.classes)]
    return [plot_regression(report)]


def plot_multiclass_roc(report: MulticlassReport) -> Any:
    """One-vs-rest ROC curves, one per class."""
    import plotly.graph_objects as go

    fig = _figure()
    fig.add_trace(_chance_diagonal())
    aucs = {row["class"]: row["auc"] for row in report.per_class}
    for name, curve in report.roc.items():
        fig.add_trace(
            go.Scatter(x=curve.x, y=curve.y, mode="lines", name=f"{name} (AUC {aucs[name]:.3f})")
        )
    return _layout(
        fig,
        "ROC curves, one class against the rest (test split)",
        "1 − specificity",
        "Sensitivity",
        height=380,
    )


def plot_regression(report: RegressionReport) -> Any:
    """Predicted against actual values with the identity line."""
    import plotly.graph_objects as go

    fig = _figure()
    lo = float(min(min(report.actual, default=0), min(report.predicted, default=0)))
    hi = float(max(max(report.actual, default=1), max(report.predicted, default=1)))
    fig.add_trace(
        go.Scatter(
            x=[lo, hi],
            y=[lo, hi],
            mode="lines",
            name="perfect",
            line={"dash": "dash", "color": "#aab7b8"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=report.actual,
            y=report.predicted,
            mode="markers",
            name=f"records (MAE {report.mae:.3g}, R² {report.r2:.2f})",
            marker={"color": TRAIN_COLOR, "opacity": 0.6},
        )
    )
    return _layout(fig, "Predicted against actual (test split)", "Actual", "Predicted", height=380)
