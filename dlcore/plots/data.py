"""Data-quality and data-description figures."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcore.plots.style import (
    NEUTRAL_COLOR,
    RAISE_COLOR,
    TRAIN_COLOR,
    VALIDATION_COLOR,
    _figure,
    _layout,
)


def plot_missingness(missing_share: dict[str, float]) -> Any:
    """Share of missing values per column (columns without missing values are left out)."""
    import plotly.graph_objects as go

    items = sorted(((k, v) for k, v in missing_share.items() if v > 0), key=lambda kv: kv[1])
    if not items:  # a sentence, not an empty set of axes
        fig = go.Figure()
        fig.add_annotation(
            text=f"No missing values: all {len(missing_share)} columns are complete.",
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            showarrow=False,
            font={"size": 15},
        )
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        fig.update_layout(
            template="plotly_white", height=120, margin={"l": 10, "r": 10, "t": 10, "b": 10}
        )
        return fig
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
    return _layout(
        fig,
        "Missing values per column",
        "Share missing",
        "",
        height=max(200, 28 * len(items) + 100),
    )


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
