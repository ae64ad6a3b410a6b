"""Plotly figures built from report objects; layout only, no computation beyond it."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcore.evaluation import BinaryReport, MulticlassReport, RegressionReport

# A calm palette with good contrast; the first two are train/validation throughout.
TRAIN_COLOR = "#1f5f99"
VALIDATION_COLOR = "#d9730d"
RAISE_COLOR = "#c0392b"
LOWER_COLOR = "#2471a3"
NEUTRAL_COLOR = "#5d6d7e"
METRIC_LABELS = {
    "loss": "Loss",
    "auc": "ROC AUC",
    "accuracy": "Accuracy",
    "mae": "Mean absolute error",
}


def _figure() -> Any:
    import plotly.graph_objects as go

    return go.Figure()


def _layout(fig: Any, title: str, x: str, y: str, **extra: Any) -> Any:
    fig.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.2},
        **extra,
    )
    return fig


def plot_history(
    history: dict[str, list[float]], metric: str = "loss", best_epoch: int | None = None
) -> Any:
    """Training and validation curves of one metric per epoch ('loss', 'auc', 'accuracy', 'mae')."""
    import plotly.graph_objects as go

    fig = _figure()
    for key, name, color in (
        (metric, "training", TRAIN_COLOR),
        (f"val_{metric}", "validation", VALIDATION_COLOR),
    ):
        values = history.get(key, [])
        if values:
            fig.add_trace(
                go.Scatter(
                    x=list(range(1, len(values) + 1)),
                    y=values,
                    mode="lines+markers",
                    name=name,
                    line={"color": color, "width": 2},
                    marker={"size": 4},
                )
            )
    if best_epoch:
        fig.add_vline(
            x=best_epoch, line_dash="dot", line_color=NEUTRAL_COLOR, annotation_text="best"
        )
    label = METRIC_LABELS.get(metric, metric)
    return _layout(fig, label, "Epoch", label, height=320)


def _chance_diagonal() -> Any:
    import plotly.graph_objects as go

    return go.Scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": "#aab7b8"}
    )


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
        from dlcore.clinical_plots import plot_kaplan_meier

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


def plot_missingness(missing_share: dict[str, float]) -> Any:
    """Share of missing values per column (columns without missing values are left out)."""
    import plotly.graph_objects as go

    items = sorted(((k, v) for k, v in missing_share.items() if v > 0), key=lambda kv: kv[1])
    fig = go.Figure(
        go.Bar(
            x=[v for _, v in items],
            y=[k for k, _ in items],
            orientation="h",
            marker_color=VALIDATION_COLOR,
            hovertemplate="%{y}: %{x:.1%} missing<extra></extra>",
        )
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    title = "Missing values per column" if items else "No missing values"
    return _layout(fig, title, "Share missing", "", height=max(200, 28 * len(items) + 100))


def plot_class_balance(
    class_counts: dict[str, int],
    positive_class: str | None = None,
    *,
    title: str = "Records per outcome class",
    unit: str = "Records",
) -> Any:
    """Records (or images: ``unit``) per outcome class."""
    import plotly.graph_objects as go

    labels = list(class_counts)
    colors = [RAISE_COLOR if label == positive_class else TRAIN_COLOR for label in labels]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=[class_counts[k] for k in labels],
            marker_color=colors,
            text=[class_counts[k] for k in labels],
        )
    )
    return _layout(fig, title, "Class", unit, height=300)


def plot_histogram(histogram: dict[str, list[float]], column: str) -> Any:
    """A precomputed histogram (counts and bin edges) of one numeric column."""
    import plotly.graph_objects as go

    edges = np.asarray(histogram["edges"])
    centers = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(
        go.Bar(x=centers, y=histogram["counts"], width=np.diff(edges), marker_color=TRAIN_COLOR)
    )
    return _layout(fig, column, column, "Records", height=260, bargap=0.02)


def plot_category_counts(counts: dict[str, int], column: str) -> Any:
    """Records per category of one categorical column."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values()), marker_color=TRAIN_COLOR))
    return _layout(fig, column, column, "Records", height=260)


def plot_waterfall(
    contributions: Any,
    base_value: float,
    output: float,
    *,
    output_label: str,
    max_features: int = 12,
    percent: bool = False,
    title: str | None = None,
) -> Any:
    """A SHAP waterfall: from the reference average, each feature's push, to this prediction.

    ``contributions`` is Explanation.contributions(row): feature, value, contribution (largest first);
    ``percent`` shows probabilities in percentage points; ``title`` replaces the default title.
    """
    import plotly.graph_objects as go

    top = contributions.head(max_features)
    rest = (
        float(contributions["contribution"].iloc[max_features:].sum())
        if len(contributions) > max_features
        else 0.0
    )
    labels = [f"{r.feature} = {_shown(r.value)}" for r in top.itertuples()]
    values = [float(v) for v in top["contribution"]]
    if len(contributions) > max_features:
        labels.append(f"{len(contributions) - max_features} other features")
        values.append(rest)
    labels, values = labels[::-1], values[::-1]
    scale = 100.0 if percent else 1.0
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            base=base_value * scale,
            x=[v * scale for v in values] + [0],
            y=[*labels, f"prediction: {output * scale:.3g}{'%' if percent else ''}"],
            measure=["relative"] * len(values) + ["total"],
            increasing={"marker": {"color": RAISE_COLOR}},
            decreasing={"marker": {"color": LOWER_COLOR}},
            totals={"marker": {"color": NEUTRAL_COLOR}},
            text=[f"{v * scale:+.3g}" for v in values] + [f"{output * scale:.3g}"],
            textposition="outside",
        )
    )
    unit = " (percentage points)" if percent else ""
    return _layout(
        fig,
        title
        or f"Why this prediction: from the average {base_value * scale:.3g} to {output * scale:.3g}",
        f"{output_label}{unit}",
        "",
        height=max(320, 34 * (len(values) + 1) + 120),
        showlegend=False,
    )


def _shown(value: Any) -> str:
    """A feature value for a label: floats to 4 significant digits (no float noise)."""
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    return str(value)


def plot_importance(importance: Any, max_features: int = 15) -> Any:
    """Global importance: mean |SHAP| per feature, largest at the top."""
    import plotly.graph_objects as go

    top = importance.head(max_features).iloc[::-1]
    fig = go.Figure(
        go.Bar(x=top["mean_abs_shap"], y=top["feature"], orientation="h", marker_color=TRAIN_COLOR)
    )
    return _layout(
        fig,
        "Global importance (mean |SHAP|)",
        "Mean |SHAP value|",
        "",
        height=max(300, 26 * len(top) + 120),
    )


def _scaled(values: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    out = np.full(values.shape, 0.5)
    if finite.sum() > 1:
        lo, hi = np.nanpercentile(values[finite], [5, 95])
        if hi > lo:
            out[finite] = np.clip((values[finite] - lo) / (hi - lo), 0, 1)
    return out


def plot_beeswarm(explanation: Any, output: int = 0, max_features: int = 15, seed: int = 0) -> Any:
    """A beeswarm-style summary: one dot per record and feature, coloured by the feature's value."""
    import pandas as pd
    import plotly.graph_objects as go

    values = explanation.values[:, :, output]
    order = np.argsort(np.abs(values).mean(axis=0))[::-1][:max_features][::-1]
    rng = np.random.default_rng(seed)
    fig = go.Figure()
    for rank, j in enumerate(order):
        column = explanation.data.iloc[:, j]
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        if np.isfinite(numbers).sum() == 0:  # categorical: colour by category code
            numbers = (
                pd.Series(column.astype(str)).astype("category").cat.codes.to_numpy(dtype=float)
            )
        colour = _scaled(numbers)
        jitter = rng.uniform(-0.3, 0.3, size=len(values))
        fig.add_trace(
            go.Scatter(
                x=values[:, j],
                y=rank + jitter,
                mode="markers",
                marker={
                    "color": colour,
                    "colorscale": [[0, LOWER_COLOR], [1, RAISE_COLOR]],
                    "size": 6,
                    "opacity": 0.75,
                    "showscale": rank == 0,
                    "colorbar": {
                        "title": "feature value",
                        "tickvals": [0, 1],
                        "ticktext": ["low", "high"],
                    },
                },
                text=[str(v) for v in column],
                hovertemplate=f"{explanation.features[j]} = %{{text}}<br>SHAP %{{x:.3g}}<extra></extra>",
                showlegend=False,
            )
        )
    fig.update_yaxes(
        tickvals=list(range(len(order))), ticktext=[explanation.features[j] for j in order]
    )
    fig.add_vline(x=0, line_color="#aab7b8")
    return _layout(
        fig,
        f"Each record's contributions ({explanation.output_names[output]})",
        "SHAP value (impact on the prediction)",
        "",
        height=max(320, 30 * len(order) + 140),
    )


def plot_dependence(explanation: Any, feature: str, output: int = 0) -> Any:
    """SHAP dependence: a feature's value against its contribution, over the explained records."""
    import pandas as pd
    import plotly.graph_objects as go

    j = explanation.features.index(feature)
    column = explanation.data.iloc[:, j]
    numbers = pd.to_numeric(column, errors="coerce")
    x = column.astype(str) if numbers.notna().sum() == 0 else numbers
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=explanation.values[:, j, output],
            mode="markers",
            marker={"color": TRAIN_COLOR, "opacity": 0.7},
            hovertemplate=f"{feature} = %{{x}}<br>SHAP %{{y:.3g}}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line_color="#aab7b8")
    return _layout(fig, f"How {feature} drives the prediction", feature, "SHAP value", height=360)


def plot_compare_histories(histories: dict[str, dict[str, list[float]]], metric: str) -> Any:
    """Validation curves of several models on one metric."""
    import plotly.graph_objects as go

    fig = _figure()
    for name, history in histories.items():
        values = history.get(f"val_{metric}") or history.get(metric, [])
        fig.add_trace(
            go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines", name=name)
        )
    label = METRIC_LABELS.get(metric, metric)
    return _layout(fig, f"Validation {label.lower()} by epoch", "Epoch", label, height=340)


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.45) -> Any:
    """A PIL image: the (H, W, C) uint8 image in gray or colour with a heatmap (0–1) blended on top."""
    from PIL import Image

    base = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
    rgb = np.stack([base] * 3, axis=-1) if base.ndim == 2 else base
    heat = np.clip(heatmap, 0, 1)
    # A perceptually ordered ramp from transparent blue through yellow to red.
    colour = np.stack(
        [
            np.clip(1.5 * heat, 0, 1),
            np.clip(1.5 - np.abs(2 * heat - 1.2) * 1.5, 0, 1),
            np.clip(1 - 2 * heat, 0, 1),
        ],
        axis=-1,
    )
    alpha = opacity * heat[..., None]
    blended = (1 - alpha) * rgb.astype(np.float64) + alpha * 255 * colour
    return Image.fromarray(np.clip(blended, 0, 255).astype(np.uint8))


CHANNEL_COLORS = {"gray": NEUTRAL_COLOR, "red": "#c0392b", "green": "#1e8449", "blue": "#2471a3"}


def plot_intensity_histogram(histogram: dict[str, Any]) -> Any:
    """Pixel intensities of an image set (from ``dlcore.data.images.intensity_histogram``), one
    trace per channel, as shares of the pixels."""
    import plotly.graph_objects as go

    edges = np.asarray(histogram["edges"])
    centers = (edges[:-1] + edges[1:]) / 2
    fig = _figure()
    for name, counts in histogram["counts"].items():
        counts = np.asarray(counts, dtype=float)
        fig.add_trace(
            go.Scatter(
                x=centers.tolist(),
                y=(counts / max(counts.sum(), 1.0)).tolist(),
                mode="lines",
                line={"shape": "hvh", "color": CHANNEL_COLORS.get(name, TRAIN_COLOR), "width": 2},
                name=name,
                hovertemplate="intensity %{x:.0f}: %{y:.1%} of pixels<extra>" + name + "</extra>",
            )
        )
    fig.update_xaxes(range=[0, 256])
    fig.update_yaxes(tickformat=".0%")
    return _layout(
        fig,
        "Pixel intensities",
        "Intensity (0 = black, 255 = white)",
        "Share of pixels",
        height=300,
        showlegend=len(histogram["counts"]) > 1,
    )


def plot_class_probabilities(
    classes: list[str], probabilities: Any, title: str = "Class probabilities"
) -> Any:
    """One bar per class with the model's probability, the most probable highlighted."""
    import plotly.graph_objects as go

    values = [float(p) for p in np.asarray(probabilities).ravel()]
    top = int(np.argmax(values)) if values else -1
    fig = go.Figure(
        go.Bar(
            x=[str(c) for c in classes],
            y=values,
            marker_color=[RAISE_COLOR if i == top else TRAIN_COLOR for i in range(len(values))],
            text=[f"{v:.0%}" for v in values],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    fig.update_xaxes(type="category")
    return _layout(
        fig, title, "Class", "Probability", height=300, yaxis_tickformat=".0%", yaxis_range=[0, 1.1]
    )


# -- Learn page ------------------------------------------------------------------------------------


def plot_activations(curves: dict[str, Any], names: list[str], derivative: bool = False) -> Any:
    """Activation functions (or their derivatives) over x, from dlcore.learn.activation_curves."""
    import plotly.graph_objects as go

    fig = go.Figure()
    key = "derivative" if derivative else "value"
    for name in names:
        fig.add_trace(go.Scatter(x=curves["x"], y=curves[name][key], mode="lines", name=name))
    title = (
        "Derivatives f′(x): how much a neuron passes the error back"
        if derivative
        else "Activation functions f(x)"
    )
    return _layout(
        fig, title, "x (the neuron's input W·x + b)", "f′(x)" if derivative else "f(x)", height=360
    )


def plot_losses(curves: dict[str, list[float]], label: int) -> Any:
    """Mean squared error and cross-entropy of one prediction p against the true label."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=curves["p"],
            y=curves["mse"],
            mode="lines",
            name="mean squared error",
            line={"color": TRAIN_COLOR},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=curves["p"],
            y=curves["cross_entropy"],
            mode="lines",
            name="cross-entropy",
            line={"color": RAISE_COLOR},
        )
    )
    return _layout(
        fig,
        f"Loss of one prediction when the truth is {label}",
        "Predicted probability p",
        "Loss",
        height=360,
    )


def plot_optimizer_paths(grid: dict[str, Any], paths: dict[str, dict[str, list[float]]]) -> Any:
    """A loss surface's contours with the paths the optimizers took across it."""
    import plotly.graph_objects as go

    loss = np.log1p(np.asarray(grid["loss"]))
    fig = go.Figure(
        go.Contour(
            x=grid["w1"],
            y=grid["w2"],
            z=loss,
            colorscale="Blues",
            showscale=False,
            contours={"coloring": "heatmap"},
            hoverinfo="skip",
        )
    )
    for name, path in paths.items():
        fig.add_trace(
            go.Scatter(
                x=path["w1"],
                y=path["w2"],
                mode="lines+markers",
                name=f"{name} (final loss {path['loss'][-1]:.3g})",
                marker={"size": 4},
            )
        )
    fig.update_xaxes(range=[grid["w1"][0], grid["w1"][-1]])
    fig.update_yaxes(range=[grid["w2"][0], grid["w2"][-1]], scaleanchor="x")
    return _layout(
        fig, "Optimizers on a loss surface (darker = higher loss)", "w₁", "w₂", height=520
    )
