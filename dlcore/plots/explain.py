"""Explanation figures: waterfall, importance, beeswarm, dependence, heatmap overlays."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcore.plots.style import LOWER_COLOR, NEUTRAL_COLOR, RAISE_COLOR, TRAIN_COLOR, _layout
from dlcore.report.wording import number_text, percent_text

POINTS = "percentage points"


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

    def level(value: float) -> str:
        return percent_text(value) if percent else f"{value:.3g}"

    def step(value: float) -> str:
        shown = value * scale
        return f"{shown:+.1f}" if percent and abs(shown) < 9.5 else f"{shown:+.3g}"

    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            base=base_value * scale,
            x=[v * scale for v in values] + [0],
            y=[*labels, f"prediction: {level(output)}"],
            measure=["relative"] * len(values) + ["total"],
            increasing={"marker": {"color": RAISE_COLOR}},
            decreasing={"marker": {"color": LOWER_COLOR}},
            totals={"marker": {"color": NEUTRAL_COLOR}},
            text=[step(v) for v in values] + [level(output)],
            textposition="outside",
        )
    )
    unit = f" ({POINTS}; the bars add up to the probability)" if percent else ""
    return _layout(
        fig,
        title or f"Why this prediction: from the average {level(base_value)} to {level(output)}",
        f"{output_label}{unit}",
        "",
        height=max(320, 34 * (len(values) + 1) + 120),
        showlegend=False,
    )


def _shown(value: Any) -> str:
    """A feature value for a label as a clinician reads it ('265,000', '1.9', never '2.65e+05')."""
    return number_text(value)


def plot_importance(importance: Any, max_features: int = 15, *, percent: bool = False) -> Any:
    """Global importance: mean |SHAP| per feature, largest at the top (in percentage points of
    the probability with ``percent``)."""
    import plotly.graph_objects as go

    top = importance.head(max_features).iloc[::-1]
    scale = 100.0 if percent else 1.0
    fig = go.Figure(
        go.Bar(
            x=top["mean_abs_shap"] * scale,
            y=top["feature"],
            orientation="h",
            marker_color=TRAIN_COLOR,
        )
    )
    return _layout(
        fig,
        "Global importance (mean |SHAP|)",
        f"Mean |SHAP value| ({POINTS})" if percent else "Mean |SHAP value|",
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


def plot_beeswarm(
    explanation: Any,
    output: int = 0,
    max_features: int = 15,
    seed: int = 0,
    *,
    percent: bool = False,
) -> Any:
    """A beeswarm-style summary: one dot per record and feature, coloured by the feature's value
    (contributions in percentage points of the probability with ``percent``)."""
    import pandas as pd
    import plotly.graph_objects as go

    values = explanation.values[:, :, output] * (100.0 if percent else 1.0)
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
                hovertemplate=f"{explanation.features[j]} = %{{text}}<br>SHAP %{{x:.3g}}"
                + (" points" if percent else "")
                + "<extra></extra>",
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
        f"SHAP value ({POINTS} of the probability)" if percent else "SHAP value",
        "",
        height=max(320, 30 * len(order) + 140),
    )


def plot_dependence(
    explanation: Any, feature: str, output: int = 0, *, percent: bool = False
) -> Any:
    """SHAP dependence: a feature's value against its contribution, over the explained records
    (in percentage points of the probability with ``percent``)."""
    import pandas as pd
    import plotly.graph_objects as go

    j = explanation.features.index(feature)
    column = explanation.data.iloc[:, j]
    numbers = pd.to_numeric(column, errors="coerce")
    x = column.astype(str) if numbers.notna().sum() == 0 else numbers
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=explanation.values[:, j, output] * (100.0 if percent else 1.0),
            mode="markers",
            marker={"color": TRAIN_COLOR, "opacity": 0.7},
            hovertemplate=f"{feature} = %{{x}}<br>SHAP %{{y:.3g}}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line_color="#aab7b8")
    return _layout(
        fig,
        f"How {feature} drives the prediction",
        feature,
        f"SHAP value ({POINTS})" if percent else "SHAP value",
        height=360,
    )


def _ramp(heat: np.ndarray) -> np.ndarray:
    """A perceptually ordered ramp from blue through yellow to red, for heat in 0–1."""
    return np.stack(
        [
            np.clip(1.5 * heat, 0, 1),
            np.clip(1.5 - np.abs(2 * heat - 1.2) * 1.5, 0, 1),
            np.clip(1 - 2 * heat, 0, 1),
        ],
        axis=-1,
    )


def _blend(image: np.ndarray, heatmap: np.ndarray, opacity: float) -> np.ndarray:
    base = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
    rgb = np.stack([base] * 3, axis=-1) if base.ndim == 2 else base
    heat = np.clip(heatmap, 0, 1)
    alpha = opacity * heat[..., None]
    blended = (1 - alpha) * rgb.astype(np.float64) + alpha * 255 * _ramp(heat)
    return np.clip(blended, 0, 255).astype(np.uint8)


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.45) -> Any:
    """A PIL image: the (H, W, C) uint8 image in gray or colour with a heatmap (0–1) blended on top."""
    from PIL import Image

    return Image.fromarray(_blend(image, heatmap, opacity))


def heatmap_colorscale(steps: int = 11) -> list[list[Any]]:
    """The overlays' colour ramp as a plotly colour scale (0 = no evidence, 1 = the strongest)."""
    heat = np.linspace(0.0, 1.0, steps)
    colours = (_ramp(heat) * 255).round().astype(int)
    return [[float(h), f"rgb({r},{g},{b})"] for h, (r, g, b) in zip(heat, colours, strict=True)]


def plot_overlay(
    image: np.ndarray,
    heatmap: np.ndarray,
    opacity: float = 0.45,
    *,
    title: str = "",
    scale_title: str = "evidence for the class",
    low: str = "none",
    high: str = "strongest",
) -> Any:
    """The image with its heatmap blended on top and a colour scale beside it saying what the
    colours mean (``low`` at 0, ``high`` at the heatmap's maximum)."""
    import plotly.graph_objects as go

    blended = _blend(np.asarray(image), np.asarray(heatmap, dtype=float), opacity)
    height, width = blended.shape[:2]
    fig = go.Figure(go.Image(z=blended, hoverinfo="skip"))
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            showlegend=False,
            hoverinfo="skip",
            marker={
                "colorscale": heatmap_colorscale(),
                "cmin": 0.0,
                "cmax": 1.0,
                "color": [0.0],
                "showscale": True,
                "colorbar": {
                    "title": {"text": scale_title, "side": "right"},
                    "tickvals": [0.0, 1.0],
                    "ticktext": [low, high],
                    "thickness": 12,
                    "len": 0.9,
                },
            },
        )
    )
    fig.update_xaxes(visible=False, range=[-0.5, width - 0.5])
    fig.update_yaxes(visible=False, range=[height - 0.5, -0.5], scaleanchor="x")
    fig.update_layout(
        title=title,
        template="plotly_white",
        margin={"l": 0, "r": 0, "t": 36 if title else 0, "b": 0},
        height=300,
    )
    return fig


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
            text=[percent_text(v) for v in values],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    fig.update_xaxes(type="category")
    return _layout(
        fig, title, "Class", "Probability", height=300, yaxis_tickformat=".0%", yaxis_range=[0, 1.1]
    )
