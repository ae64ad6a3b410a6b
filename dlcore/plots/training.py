"""Training curves."""

from __future__ import annotations

from typing import Any

from dlcore.plots.style import (
    METRIC_LABELS,
    NEUTRAL_COLOR,
    TRAIN_COLOR,
    VALIDATION_COLOR,
    _figure,
    _layout,
)


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
