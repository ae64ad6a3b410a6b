"""Survival figures: predicted curves and Kaplan-Meier by risk group."""

from __future__ import annotations

from typing import Any

from dlcore.plots.style import (
    LOWER_COLOR,
    NEUTRAL_COLOR,
    RAISE_COLOR,
    TRAIN_COLOR,
    VALIDATION_COLOR,
    _layout,
)

SURVIVAL_COLORS = (LOWER_COLOR, VALIDATION_COLOR, RAISE_COLOR, NEUTRAL_COLOR, TRAIN_COLOR)


def plot_survival_curves(
    times: Any,
    curves: dict[str, Any],
    *,
    marks: list[float] | None = None,
    time_label: str = "Time",
    title: str = "Predicted survival",
) -> Any:
    """Step curves of survival probability over time, one per label (the first drawn boldest),
    with dotted vertical lines at the ``marks`` (the reported horizons)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    x = [float(t) for t in times]
    for i, (label, survival) in enumerate(curves.items()):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[float(v) for v in survival],
                mode="lines",
                line_shape="hv",
                name=label,
                line={
                    "color": SURVIVAL_COLORS[i % len(SURVIVAL_COLORS)],
                    "width": 3 if i == 0 else 2,
                    "dash": "solid" if i == 0 else "dash",
                },
                hovertemplate=f"{label}<br>{time_label} %{{x:.4g}}<br>survival %{{y:.1%}}<extra></extra>",
            )
        )
    for mark in marks or []:
        fig.add_vline(x=float(mark), line_dash="dot", line_color="#aab7b8")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return _layout(fig, title, time_label, "Survival probability", height=380)


def plot_kaplan_meier(report: Any, time_label: str = "Time") -> Any:
    """Observed Kaplan–Meier curves of the predicted-risk groups of a SurvivalReport (solid steps)
    beside each group's mean predicted survival (dashed): calibration over time."""
    import plotly.graph_objects as go

    fig = go.Figure()
    predicted = {g["group"]: g for g in report.predicted_groups}
    for i, group in enumerate(report.risk_groups):
        color = SURVIVAL_COLORS[i % len(SURVIVAL_COLORS)]
        fig.add_trace(
            go.Scatter(
                x=group.times,
                y=group.survival,
                mode="lines",
                line_shape="hv",
                name=f"{group.group}: observed ({group.n} patients, {group.events} events)",
                line={"color": color, "width": 3},
                legendgroup=group.group,
                hovertemplate=f"{group.group}, observed<br>{time_label} %{{x:.4g}}<br>"
                "survival %{y:.1%}<extra></extra>",
            )
        )
        mean = predicted.get(group.group)
        if mean and mean["survival"]:
            fig.add_trace(
                go.Scatter(
                    x=[0.0, *mean["times"]],
                    y=[1.0, *mean["survival"]],
                    mode="lines",
                    line_shape="hv",
                    name=f"{group.group}: predicted (mean)",
                    line={"color": color, "width": 2, "dash": "dash"},
                    legendgroup=group.group,
                    hovertemplate=f"{group.group}, predicted<br>{time_label} %{{x:.4g}}<br>"
                    "survival %{y:.1%}<extra></extra>",
                )
            )
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return _layout(
        fig,
        "Observed (Kaplan–Meier) and predicted survival by risk tertile",
        time_label,
        "Survival probability",
        height=440,
    )
