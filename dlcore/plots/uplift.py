"""Figures for the evaluation of predicted benefit: Qini curve, calibration for benefit, and the
treat-if-benefit policy curve (from dlcore.evaluate.uplift.UpliftReport)."""

from __future__ import annotations

from typing import Any

from dlcore.plots.style import NEUTRAL_COLOR, TRAIN_COLOR, _layout


def plot_qini(report: Any, baseline: Any = None) -> Any:
    """Qini curve (events prevented per 100 patients when the top fraction is treated) against
    random ranking; ``baseline`` (another UpliftReport, e.g. the T-learner's) drawn beside."""
    import plotly.graph_objects as go

    x = [100 * f for f in report.fractions]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[100 * v for v in report.qini],
            mode="lines+markers",
            name=f"network (area {report.qini_area:.4f})",
            line={"color": TRAIN_COLOR},
        )
    )
    if baseline is not None:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[100 * v for v in baseline.qini],
                mode="lines",
                name=f"T-learner (area {baseline.qini_area:.4f})",
                line={"color": NEUTRAL_COLOR},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[100 * v for v in report.random_qini],
            mode="lines",
            name="random order",
            line={"dash": "dash", "color": "#aab7b8"},
        )
    )
    return _layout(
        fig,
        f"Qini curve — area {report.qini_area:.4f} (95% CI {report.qini_low:.4f} to "
        f"{report.qini_high:.4f})",
        "patients treated, in order of predicted benefit (%)",
        "events prevented per 100 patients",
    )


def plot_benefit_calibration(report: Any) -> Any:
    """Observed against predicted risk difference (percentage points) by quintile of predicted
    benefit, with 95% CIs and the line of perfect agreement."""
    import plotly.graph_objects as go

    groups = report.groups
    pred = [100 * g.predicted for g in groups]
    obs = [100 * g.observed for g in groups]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=pred,
            y=obs,
            mode="markers",
            name="quintile",
            marker={"color": TRAIN_COLOR, "size": 9},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [100 * g.high - o for g, o in zip(groups, obs, strict=True)],
                "arrayminus": [o - 100 * g.low for g, o in zip(groups, obs, strict=True)],
            },
        )
    )
    span = [min([*pred, *obs, 0]), max([*pred, *obs, 0])]
    fig.add_trace(
        go.Scatter(
            x=span,
            y=span,
            mode="lines",
            name="agreement",
            line={"dash": "dash", "color": "#aab7b8"},
        )
    )
    return _layout(
        fig,
        "Calibration for benefit",
        "predicted risk reduction (percentage points)",
        "observed risk reduction (percentage points)",
    )


def plot_policy(report: Any) -> Any:
    """Estimated event rate if only patients with predicted benefit > t were treated, over t,
    beside treating all and treating none."""
    import plotly.graph_objects as go

    x = [100 * t for t in report.thresholds]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[100 * r for r in report.policy_rate],
            mode="lines+markers",
            name="treat if benefit > t",
            line={"color": TRAIN_COLOR},
            customdata=[100 * s for s in report.policy_treated],
            hovertemplate="t %{x:.1f} pp: event rate %{y:.1f}% (%{customdata:.0f}% treated)",
        )
    )
    for rate, name in (
        (report.treat_all_rate, "treat all"),
        (report.treat_none_rate, "treat none"),
    ):
        fig.add_trace(
            go.Scatter(
                x=[x[0], x[-1]],
                y=[100 * rate, 100 * rate],
                mode="lines",
                name=name,
                line={"dash": "dot"},
            )
        )
    return _layout(
        fig,
        "Event rate under 'treat only if predicted benefit > t'",
        "threshold t: predicted risk reduction (percentage points)",
        "estimated event rate (%)",
    )
