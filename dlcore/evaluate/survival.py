"""Survival evaluation: C-index, Kaplan-Meier, time-dependent AUC and Brier score."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlcore.evaluate.bootstrap import Interval
from dlcore.models.survival import BaselineHazard

logger = logging.getLogger(__name__)


def concordance_index(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C-index: among comparable pairs (the earlier time had the event; a record censored
    at that same time counts as later), the share where the earlier one has the higher risk (ties in
    risk count a half) — the convention of scikit-survival's concordance_index_censored."""
    time, event, risk = (np.asarray(a, dtype=np.float64).ravel() for a in (time, event, risk))
    censored = event == 0
    events = np.flatnonzero(event > 0)
    concordant = ties = comparable = 0
    # All pairs (event i, record j) at once, in blocks of about a million.
    for block in np.array_split(events, len(events) * len(time) // 1_000_000 + 1):
        if not len(block):
            continue
        t_i, r_i = time[block, None], risk[block, None]
        # comparable: followed longer, or censored at the same time (still at risk at t_i)
        later = (time > t_i) | ((time == t_i) & censored)
        comparable += int(later.sum())
        concordant += int((later & (r_i > risk)).sum())
        ties += int((later & (r_i == risk)).sum())
    return float((concordant + 0.5 * ties) / comparable) if comparable else float("nan")


def affordable_resamples(n: int, events: int, wanted: int, budget: float = 2e9) -> int:
    """How many bootstrap resamples of the C-index fit a budget of pair comparisons (each
    resample compares events × records pairs): ``wanted`` for usual cohorts, fewer (never under
    100) for very large ones, so that an evaluation stays within seconds."""
    per_resample = max(1, n * max(events, 1))
    return int(min(wanted, max(100, budget // per_resample)))


@dataclass
class KaplanMeier:
    """A Kaplan–Meier curve of one group."""

    group: str
    n: int
    events: int
    times: list[float]
    survival: list[float]


def kaplan_meier(time: np.ndarray, event: np.ndarray, group: str = "all") -> KaplanMeier:
    """The Kaplan–Meier estimate of survival for one group (scikit-survival's estimator)."""
    from sksurv.nonparametric import kaplan_meier_estimator

    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event).astype(bool)
    if len(time) == 0:
        return KaplanMeier(group, 0, 0, [], [])
    t, s = kaplan_meier_estimator(event, time)
    return KaplanMeier(
        group, len(time), int(event.sum()), [0.0, *map(float, t)], [1.0, *map(float, s)]
    )


@dataclass
class SurvivalReport:
    """Discrimination and calibration over time of a survival model on held-out records."""

    source: str
    n: int
    events: int
    c_index: Interval
    auc_times: list[float]
    auc: list[float]
    mean_auc: float
    integrated_brier: float | None
    risk_groups: list[KaplanMeier]
    predicted_groups: list[dict[str, list[float]]] = field(default_factory=list)
    task: str = "survival"
    resamples: int = 0  # bootstrap resamples behind the C-index interval (0: not recorded)

    def headline(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "c_index": self.c_index.value if isinstance(self.c_index, Interval) else self.c_index,
            "mean_auc": self.mean_auc,
        }
        if self.integrated_brier is not None:
            out["integrated_brier"] = self.integrated_brier
        return out


def evaluate_survival(
    time: np.ndarray,
    event: np.ndarray,
    eta: np.ndarray,
    *,
    baseline: BaselineHazard,
    train_time: np.ndarray,
    train_event: np.ndarray,
    source: str = "test split",
    resamples: int = 200,
    seed: int = 0,
    groups: int = 3,
    horizons: Sequence[float] | None = None,
) -> SurvivalReport:
    """C-index with a bootstrap interval, time-dependent AUC and integrated Brier score at
    ``horizons`` (default: the quartiles of these event times; scikit-survival, with the training
    data for censoring weights), and Kaplan–Meier curves of low/medium/high predicted-risk
    tertiles beside their predicted mean survival. Horizons outside this data's follow-up are
    left out."""
    from sksurv.metrics import cumulative_dynamic_auc, integrated_brier_score
    from sksurv.util import Surv

    time = np.asarray(time, dtype=np.float64).ravel()
    event = np.asarray(event).astype(bool).ravel()
    eta = np.asarray(eta, dtype=np.float64).ravel()
    estimate = concordance_index(time, event, eta)
    wanted, resamples = resamples, affordable_resamples(len(time), int(event.sum()), resamples)
    if resamples < wanted:
        logger.info("C-index interval from %d resamples (%d records)", resamples, len(time))
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(resamples):
        idx = rng.integers(0, len(time), len(time))
        samples.append(concordance_index(time[idx], event[idx], eta[idx]))
    samples = np.asarray(samples)
    low, high = np.nanquantile(samples, [0.025, 0.975])
    train = Surv.from_arrays(
        np.asarray(train_event).astype(bool), np.asarray(train_time, dtype=np.float64)
    )
    test = Surv.from_arrays(event, time)
    upper = (
        min(time[event].max() if event.any() else time.max(), np.asarray(train_time).max())
        if len(time)
        else 0
    )
    if horizons is not None and event.sum() >= 4:
        candidates = np.asarray(horizons, dtype=np.float64)
    elif event.sum() >= 4:
        candidates = np.quantile(time[event], [0.25, 0.5, 0.75])
    else:
        candidates = np.array([])
    times = np.unique(candidates[(candidates > time.min()) & (candidates < upper)])
    auc_values, mean_auc, ibs, auc_times = [], float("nan"), None, times
    # Each metric on its own: censoring can make one undefined on a sample and not the other.
    if len(times):
        try:
            auc_values, mean_auc = cumulative_dynamic_auc(train, test, eta, times)
        except ValueError:
            auc_values, mean_auc, auc_times = [], float("nan"), np.array([])
            logger.info("time-dependent AUC undefined on this sample", exc_info=True)
    if len(times) >= 2:
        try:
            _, curves = baseline.survival(eta, times)
            ibs = float(integrated_brier_score(train, test, curves, times))
        except ValueError:
            logger.info("integrated Brier score undefined on this sample", exc_info=True)
    cut = np.quantile(eta, np.linspace(0, 1, groups + 1))
    names = (
        ["low risk", "medium risk", "high risk"]
        if groups == 3
        else [f"group {i + 1}" for i in range(groups)]
    )
    which = np.clip(np.searchsorted(cut[1:-1], eta, side="right"), 0, groups - 1)
    curves_km, predicted = [], []
    for g in range(groups):
        mask = which == g
        curves_km.append(kaplan_meier(time[mask], event[mask], names[g]))
        grid, survival = baseline.survival(eta[mask])
        predicted.append(
            {
                "group": names[g],
                "times": [float(t) for t in grid],
                "survival": [float(v) for v in survival.mean(axis=0)] if mask.any() else [],
            }
        )
    return SurvivalReport(
        source=source,
        n=len(time),
        events=int(event.sum()),
        c_index=Interval(estimate, float(low), float(high)),
        auc_times=[float(t) for t in auc_times],
        auc=[float(a) for a in auc_values],
        mean_auc=float(mean_auc),
        integrated_brier=ibs,
        risk_groups=curves_km,
        predicted_groups=predicted,
        resamples=resamples,
    )
