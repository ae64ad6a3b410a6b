"""The Cox partial-likelihood loss (DeepSurv-style) and Breslow's baseline hazard."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dlcore.models.keras_runtime import import_keras

keras = import_keras()
ops = keras.ops


@keras.saving.register_keras_serializable(package="dlcore")
def cox_partial_likelihood(y_true: Any, y_pred: Any) -> Any:
    """Negative Cox partial log-likelihood (Breslow ties) of a batch, per event.

    ``y_true`` is (n, 2): follow-up time and event (1/0); ``y_pred`` is (n, 1) the log-risk η.
    loss = −(1/d) Σ_{i: event} [η_i − log Σ_{j: t_j ≥ t_i} exp(η_j)], d = number of events.
    """
    time = ops.cast(y_true[:, 0], "float32")
    event = ops.cast(y_true[:, 1], "float32")
    eta = ops.cast(ops.reshape(y_pred, (-1,)), "float32")
    at_risk = ops.cast(
        ops.greater_equal(time[None, :], time[:, None]), "float32"
    )  # [i, j]: t_j ≥ t_i
    shift = ops.max(eta)
    log_risk_set = ops.log(ops.sum(at_risk * ops.exp(eta - shift)[None, :], axis=1) + 1e-12) + shift
    events = ops.maximum(ops.sum(event), 1.0)
    return -ops.sum(event * (eta - log_risk_set)) / events


def partial_likelihood_numpy(time: np.ndarray, event: np.ndarray, eta: np.ndarray) -> float:
    """The same loss in NumPy (for checks and reports)."""
    time, event, eta = (np.asarray(a, dtype=np.float64).ravel() for a in (time, event, eta))
    total = 0.0
    for i in np.flatnonzero(event > 0):
        total += eta[i] - np.log(np.exp(eta[time >= time[i]]).sum())
    return -total / max(event.sum(), 1.0)


@dataclass
class BaselineHazard:
    """Breslow's cumulative baseline hazard at the distinct event times of the training data."""

    times: list[float]
    cumulative_hazard: list[float]

    def survival(
        self, eta: np.ndarray, at: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Survival curves S(t | x) = exp(−H0(t)·e^η) for log-risks ``eta``: (times, (n, len(times)))."""
        times = np.asarray(self.times if at is None else at, dtype=np.float64)
        # Breslow's H0 is a right-continuous step function: it jumps at each event time and is
        # flat between them (0 before the first one, its last value after the last one).
        steps = np.asarray(self.cumulative_hazard, dtype=np.float64)
        position = np.searchsorted(np.asarray(self.times, dtype=np.float64), times, side="right")
        hazard = np.where(
            position > 0, steps[np.maximum(position - 1, 0)] if len(steps) else 0, 0.0
        )
        risk = np.exp(np.asarray(eta, dtype=np.float64).reshape(-1, 1))
        return times, np.exp(-hazard[None, :] * risk)

    def median_survival(self, eta: np.ndarray) -> np.ndarray:
        """Predicted median survival time per patient (NaN when S(t) stays above 0.5)."""
        times, curves = self.survival(eta)
        below = curves <= 0.5
        first = np.where(below.any(axis=1), below.argmax(axis=1), -1)
        return np.where(first >= 0, times[np.maximum(first, 0)], np.nan)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaselineHazard:
        return cls(list(data["times"]), list(data["cumulative_hazard"]))


def breslow_baseline(
    time: np.ndarray, event: np.ndarray, eta: np.ndarray, max_points: int = 400
) -> BaselineHazard:
    """Breslow's estimator: H0(t) = Σ_{t_i ≤ t, event} d_i / Σ_{j: t_j ≥ t_i} exp(η_j)."""
    time, event, eta = (np.asarray(a, dtype=np.float64).ravel() for a in (time, event, eta))
    risk = np.exp(eta - eta.max())
    scale = np.exp(eta.max())
    event_times = np.unique(time[event > 0])
    increments = []
    for t in event_times:
        deaths = float(np.sum((time == t) & (event > 0)))
        increments.append(deaths / (risk[time >= t].sum() * scale))
    cumulative = np.cumsum(increments)
    if len(event_times) > max_points:
        keep = np.unique(np.linspace(0, len(event_times) - 1, max_points).astype(int))
        event_times, cumulative = event_times[keep], cumulative[keep]
    return BaselineHazard([float(t) for t in event_times], [float(h) for h in cumulative])
