"""Clinical evaluation figures: bands, reliability, decision curves, subgroups."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcore.plots.style import (
    LOWER_COLOR,
    NEUTRAL_COLOR,
    RAISE_COLOR,
    TRAIN_COLOR,
    VALIDATION_COLOR,
    _chance_diagonal,
    _layout,
)

BAND_FILL = "rgba(31, 95, 153, 0.18)"


def _band(go: Any, x: list[float], low: list[float], high: list[float], name: str) -> list[Any]:
    return [
        go.Scatter(
            x=x, y=high, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"
        ),
        go.Scatter(
            x=x,
            y=low,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=BAND_FILL,
            name=name,
            hoverinfo="skip",
        ),
    ]


def plot_roc_with_band(report: Any) -> Any:
    """ROC curve with its 95% bootstrap band and the operating point."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(_chance_diagonal())
    for trace in _band(
        go, report.roc_band["fpr"], report.roc_band["low"], report.roc_band["high"], "95% band"
    ):
        fig.add_trace(trace)
    fig.add_trace(
        go.Scatter(
            x=report.roc.x,
            y=report.roc.y,
            mode="lines",
            name=f"model (AUC {report.auc})",
            line={"color": TRAIN_COLOR, "width": 3},
            customdata=report.roc.thresholds,
            hovertemplate="1 − specificity %{x:.2f}<br>sensitivity %{y:.2f}<br>threshold %{customdata:.3f}<extra></extra>",
        )
    )
    sens, spec = report.at_threshold["sensitivity"].value, report.at_threshold["specificity"].value
    fig.add_trace(
        go.Scatter(
            x=[1 - spec],
            y=[sens],
            mode="markers",
            name=f"threshold {report.threshold:.2f}",
            marker={"size": 12, "color": VALIDATION_COLOR, "symbol": "diamond"},
        )
    )
    return _layout(
        fig, f"ROC curve — {report.source}", "1 − specificity", "Sensitivity", height=420
    )


def plot_pr_with_band(report: Any) -> Any:
    """Precision–recall curve with its 95% bootstrap band and the prevalence as chance."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[report.prevalence] * 2,
            mode="lines",
            name=f"chance ({report.prevalence:.0%})",
            line={"dash": "dash", "color": "#aab7b8"},
        )
    )
    for trace in _band(
        go, report.pr_band["recall"], report.pr_band["low"], report.pr_band["high"], "95% band"
    ):
        fig.add_trace(trace)
    fig.add_trace(
        go.Scatter(
            x=report.pr.x,
            y=report.pr.y,
            mode="lines",
            name=f"model (PR AUC {report.pr_auc})",
            line={"color": TRAIN_COLOR, "width": 3},
        )
    )
    return _layout(
        fig, "Precision–recall curve", "Sensitivity (recall)", "PPV (precision)", height=420
    )


def plot_reliability(
    calibration: Any, title: str = "Calibration: predicted against observed"
) -> Any:
    """Reliability diagram: observed rate per bin (with 95% Wilson intervals) against the mean
    predicted probability, the diagonal of perfect calibration, and each bin's size."""
    import plotly.graph_objects as go

    bins = calibration.bins
    x = [b.mean_predicted for b in bins]
    y = [b.observed for b in bins]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfect calibration",
            line={"dash": "dash", "color": "#aab7b8"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines+markers",
            name=f"model (ECE {calibration.ece:.3f}, slope {calibration.slope:.2f})",
            line={"color": TRAIN_COLOR, "width": 2},
            marker={"size": [6 + 14 * np.sqrt(b.n / max(1, max(c.n for c in bins))) for b in bins]},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [b.high - b.observed for b in bins],
                "arrayminus": [b.observed - b.low for b in bins],
            },
            customdata=[b.n for b in bins],
            hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>%{customdata} records<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1])
    return _layout(fig, title, "Mean predicted probability", "Observed proportion", height=420)


def plot_decision_curve(curve: Any, threshold: float | None = None) -> Any:
    """Net benefit of the model against treating everyone and treating no one."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=curve.thresholds,
            y=curve.model,
            mode="lines",
            name="model",
            line={"color": TRAIN_COLOR, "width": 3},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=curve.thresholds,
            y=curve.treat_all,
            mode="lines",
            name="treat all",
            line={"color": RAISE_COLOR, "dash": "dot"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=curve.thresholds,
            y=curve.treat_none,
            mode="lines",
            name="treat none",
            line={"color": NEUTRAL_COLOR, "dash": "dash"},
        )
    )
    top = max(max(curve.model), max(curve.treat_all), 0.01)
    fig.update_yaxes(range=[-0.05 * top, 1.1 * top])
    if threshold is not None and curve.thresholds[0] <= threshold <= curve.thresholds[-1]:
        fig.add_vline(
            x=threshold,
            line_dash="dot",
            line_color=VALIDATION_COLOR,
            annotation_text="operating threshold",
        )
    return _layout(
        fig,
        "Decision curve (Vickers & Elkin 2006)",
        "Threshold probability",
        "Net benefit",
        height=400,
    )


def plot_threshold_confusion(
    confusion: dict[str, int], positive: str, negative: str, threshold: float
) -> Any:
    """The 2×2 table at the chosen threshold."""
    from dlcore.plots.metrics import plot_confusion

    matrix = [[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]]
    return plot_confusion(matrix, [negative, positive], f"At threshold {threshold:.3f}")


def plot_subgroups(report: Any) -> Any:
    """Forest plot of AUC per subgroup with 95% intervals, flagged groups in red."""
    import plotly.graph_objects as go

    rows = [r for r in [report.overall, *report.rows] if r.auc is not None]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[r.auc.value for r in rows],
            y=[f"{r.group} (n={r.n})" for r in rows],
            mode="markers",
            marker={"size": 11, "color": [RAISE_COLOR if r.flags else TRAIN_COLOR for r in rows]},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [r.auc.high - r.auc.value for r in rows],
                "arrayminus": [r.auc.value - r.auc.low for r in rows],
            },
            hovertemplate="%{y}<br>AUC %{x:.3f}<extra></extra>",
            showlegend=False,
        )
    )
    if report.overall.auc is not None:
        fig.add_vline(x=report.overall.auc.value, line_dash="dot", line_color=NEUTRAL_COLOR)
    fig.update_yaxes(autorange="reversed")
    return _layout(
        fig,
        f"ROC AUC by {report.column}",
        "ROC AUC (95% CI)",
        "",
        height=max(260, 40 * len(rows) + 120),
    )


def plot_multiclass_with_bands(report: Any) -> Any:
    """One-vs-rest ROC curves per class (AUC with 95% CI in the legend)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(_chance_diagonal())
    for name, curve in report.roc.items():
        fig.add_trace(
            go.Scatter(x=curve.x, y=curve.y, mode="lines", name=f"{name}: AUC {report.auc[name]}")
        )
    return _layout(
        fig, "ROC curves, each class against the rest", "1 − specificity", "Sensitivity", height=420
    )


def plot_residuals(report: Any) -> Any:
    """Residuals (predicted − actual) against the actual value, with the zero line."""
    import plotly.graph_objects as go

    actual = np.asarray(report.actual)
    residual = np.asarray(report.predicted) - actual
    fig = go.Figure(
        go.Scatter(
            x=actual,
            y=residual,
            mode="markers",
            marker={"color": LOWER_COLOR, "opacity": 0.6},
            name="records",
        )
    )
    fig.add_hline(y=0, line_color="#aab7b8")
    return _layout(
        fig,
        f"Residuals (MAE {report.mae}, bias {report.bias})",
        "Actual",
        "Predicted − actual",
        height=380,
    )
