"""Figures for the Learn page's concepts."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcore.plots.style import RAISE_COLOR, TRAIN_COLOR, _layout


def plot_activations(curves: dict[str, Any], names: list[str], derivative: bool = False) -> Any:
    """Activation functions (or their derivatives) over x, from dlcore.teach.concepts.activation_curves."""
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
    # The axes keep the surface's own extent: with a square aspect ('scaleanchor') the plot area
    # shrinks to fit ('constrain=domain') instead of the range growing past the surface (white bands).
    fig.update_xaxes(range=[grid["w1"][0], grid["w1"][-1]], constrain="domain")
    fig.update_yaxes(
        range=[grid["w2"][0], grid["w2"][-1]], scaleanchor="x", scaleratio=1, constrain="domain"
    )
    return _layout(
        fig, "Optimizers on a loss surface (darker = higher loss)", "w₁", "w₂", height=520
    )
