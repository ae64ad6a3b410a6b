"""The plots' shared style: colours, labels, layout helpers."""

from __future__ import annotations

from typing import Any

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


def _chance_diagonal() -> Any:
    import plotly.graph_objects as go

    return go.Scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": "#aab7b8"}
    )
