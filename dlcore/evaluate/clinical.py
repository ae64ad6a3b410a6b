"""Clinical evaluation: discrimination with confidence intervals, calibration, operating
thresholds, decision curves and subgroups — report objects that ``dlcore.plots`` draws.

A clinician asks not "what is the accuracy" but "how sure are we, is the probability honest,
what happens at the threshold we would use, does it help more than treating everyone, and does it
work for patients like mine". Each question has a function here.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dlcore.errors import UserError
from dlcore.evaluate.bootstrap import DEFAULT_RESAMPLES, BinaryBootstrap, Interval, bootstrap_mean
from dlcore.evaluate.calibration import CalibrationReport, _logit, calibration_report, logistic_fit
from dlcore.evaluate.metrics import Curve, _thin

PRESETS = ("fixed", "sensitivity", "specificity", "youden", "cost")


# -- operating thresholds ---------------------------------------------------------------------


def choose_threshold(
    y: np.ndarray, p: np.ndarray, preset: str, value: float | None = None
) -> float:
    """The probability threshold a preset asks for, on (y, p).

    'sensitivity' (value = the minimum, e.g. 0.9): the highest threshold whose sensitivity is at
    least the value; 'specificity': the lowest threshold whose specificity is at least the value;
    'youden': maximal sensitivity + specificity − 1; 'cost' (value = cost of a false negative
    relative to a false positive): minimal expected cost; 'fixed': the value itself.
    Raises UserError for an unknown preset or a value out of range.
    """
    y = np.asarray(y).astype(bool).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if preset not in PRESETS:
        raise UserError(
            f"Threshold preset '{preset}' is unknown.",
            expected=", ".join(PRESETS),
            fix="pick one of those",
        )
    if preset == "fixed":
        if value is None or not 0 <= value <= 1:
            raise UserError(
                f"Threshold {value!r}.",
                expected="a probability between 0 and 1",
                fix="set a threshold between 0 and 1",
            )
        return float(value)
    if y.all() or not y.any():
        raise UserError(
            "The data has only one outcome class.",
            expected="records with and without the outcome to set a threshold",
            fix="evaluate on data that includes both outcomes",
        )
    candidates = np.unique(np.concatenate([p, [0.0, 1.0 + 1e-9]]))
    n_pos, n_neg = y.sum(), (~y).sum()
    order = np.argsort(p)
    sorted_p, sorted_y = p[order], y[order]
    # For threshold t (p >= t positive): positives below t are misses, negatives below t are correct.
    below = np.searchsorted(sorted_p, candidates, side="left")
    cum_pos = np.concatenate([[0], np.cumsum(sorted_y)])
    fn = cum_pos[below]
    tn = below - fn
    sensitivity = (n_pos - fn) / n_pos
    specificity = tn / n_neg
    if preset in ("sensitivity", "specificity"):
        if value is None or not 0 < value <= 1:
            raise UserError(
                f"Target {value!r}.",
                expected="a proportion such as 0.9",
                fix="set the target between 0 and 1",
            )
        if preset == "sensitivity":
            ok = sensitivity >= value - 1e-12
            return float(candidates[ok].max())
        ok = specificity >= value - 1e-12
        return float(candidates[ok].min())
    if preset == "youden":
        return float(candidates[np.argmax(sensitivity + specificity - 1)])
    if value is None or value <= 0:
        raise UserError(
            f"Cost ratio {value!r}.",
            expected="a positive number (cost of a missed case ÷ cost of a false alarm)",
            fix="enter a cost ratio such as 5",
        )
    cost = value * fn + (n_neg - tn)
    return float(candidates[np.argmin(cost)])


# -- decision curves ----------------------------------------------------------------------------


@dataclass
class DecisionCurve:
    """Net benefit of the model, of treating everyone and of treating no one (Vickers & Elkin 2006)."""

    thresholds: list[float]
    model: list[float]
    treat_all: list[float]
    treat_none: list[float]


def net_benefit(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    """Net benefit at threshold probability pt: TP/n − FP/n · pt / (1 − pt)."""
    y = np.asarray(y).astype(bool).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    n = len(y)
    positive = p >= threshold
    tp, fp = float(np.sum(positive & y)), float(np.sum(positive & ~y))
    return tp / n - fp / n * threshold / (1 - threshold)


def decision_curve(
    y: np.ndarray, p: np.ndarray, low: float = 0.01, high: float = 0.6, points: int = 60
) -> DecisionCurve:
    """Net benefit over threshold probabilities from ``low`` to ``high``."""
    if not 0 < low < high < 1:
        raise UserError(
            f"The threshold range {low}–{high}.",
            expected="0 < lowest < highest < 1",
            fix="choose a range such as 0.05 to 0.5",
        )
    y = np.asarray(y).astype(bool).ravel()
    grid = np.linspace(low, high, points)
    prevalence = float(y.mean())
    return DecisionCurve(
        thresholds=grid.tolist(),
        model=[net_benefit(y, p, t) for t in grid],
        treat_all=[prevalence - (1 - prevalence) * t / (1 - t) for t in grid],
        treat_none=[0.0] * len(grid),
    )


# -- the binary report ---------------------------------------------------------------------------


@dataclass
class ClinicalReport:
    """Everything the Evaluate page shows for a binary model on one set of records."""

    source: str
    n: int
    prevalence: float
    positive_class: str
    negative_class: str
    calibrated: str
    auc: Interval
    pr_auc: Interval
    roc: Curve
    roc_band: dict[str, list[float]]
    pr: Curve
    pr_band: dict[str, list[float]]
    threshold: float
    at_threshold: dict[str, Interval]
    confusion: dict[str, int]
    calibration: CalibrationReport
    decision: DecisionCurve
    resamples: int
    task: str = "binary"

    def headline(self) -> dict[str, Any]:
        """Metrics with their intervals, for tables and JSON."""
        out = {"roc_auc": self.auc.to_dict(), "pr_auc": self.pr_auc.to_dict()}
        out.update({k: v.to_dict() for k, v in self.at_threshold.items()})
        out["brier"] = self.calibration.brier
        out["ece"] = self.calibration.ece
        out["calibration_slope"] = self.calibration.slope
        out["calibration_in_the_large"] = self.calibration.calibration_in_the_large
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def confusion_at(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, int]:
    """True/false positives/negatives when p ≥ threshold means positive."""
    y = np.asarray(y).astype(bool).ravel()
    positive = np.asarray(p).ravel() >= threshold
    return {
        "tp": int(np.sum(positive & y)),
        "fp": int(np.sum(positive & ~y)),
        "tn": int(np.sum(~positive & ~y)),
        "fn": int(np.sum(~positive & y)),
    }


def evaluate_binary_clinical(
    y: np.ndarray,
    p: np.ndarray,
    *,
    threshold: float = 0.5,
    source: str = "test split",
    positive_class: str = "1",
    negative_class: str = "0",
    calibrated: str = "not recalibrated",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    decision_range: tuple[float, float] = (0.01, 0.6),
    n_bins: int = 10,
) -> ClinicalReport:
    """Discrimination with stratified bootstrap CIs, metrics at ``threshold`` with CIs, ROC and PR
    bands, calibration and the decision curve, for 0/1 outcomes ``y`` and probabilities ``p``."""
    import warnings

    from sklearn.metrics import precision_recall_curve, roc_curve

    y = np.asarray(y).astype(int).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if len(y) == 0:
        raise UserError(
            "There are no labelled records to evaluate on.",
            expected="records with a known outcome",
            fix="evaluate on records whose outcome is filled in",
        )
    # Few records (or one outcome class) are reported, as training reports them: labelled 'too
    # few cases to judge' by dlcore.evaluate.metrics.reportability (the one rule), with the
    # metrics that cannot be computed (an AUC without both outcomes) left undefined (NaN).
    boot = BinaryBootstrap.draw(y, p, resamples=resamples, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn: no positive (or negative) record
        fpr, tpr, roc_t = roc_curve(y, p)
        precision, recall, pr_t = precision_recall_curve(y, p)
    return ClinicalReport(
        source=source,
        n=len(y),
        prevalence=float(y.mean()),
        positive_class=positive_class,
        negative_class=negative_class,
        calibrated=calibrated,
        auc=boot.auc(),
        pr_auc=boot.pr_auc(),
        roc=_thin(fpr, tpr, roc_t),
        roc_band=boot.roc_band(),
        pr=_thin(recall[::-1], precision[::-1], np.append(pr_t, 1.0)[::-1]),
        pr_band=boot.pr_band(),
        threshold=float(threshold),
        at_threshold=boot.at_threshold(threshold),
        confusion=confusion_at(y, p, threshold),
        calibration=calibration_report(y, p, n_bins=n_bins),
        decision=decision_curve(y, p, *decision_range),
        resamples=resamples,
    )


def metrics_at_threshold(
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[dict[str, Interval], dict[str, int]]:
    """Sensitivity, specificity, PPV, NPV with CIs and the confusion counts at one threshold
    (what the threshold slider recomputes, without redoing the whole report)."""
    boot = BinaryBootstrap.draw(y, p, resamples=resamples, seed=seed)
    return boot.at_threshold(threshold), confusion_at(y, p, threshold)


# -- subgroups ---------------------------------------------------------------------------------


@dataclass
class SubgroupRow:
    """One subgroup: size, prevalence, AUC with CI, metrics at the threshold, calibration."""

    group: str
    n: int
    prevalence: float
    auc: Interval | None
    sensitivity: float
    specificity: float
    mean_predicted: float
    calibration_in_the_large: float
    flags: list[str] = field(default_factory=list)


@dataclass
class SubgroupReport:
    """Performance per group of one column, with gaps beyond the tolerance flagged."""

    column: str
    threshold: float
    tolerance: float
    overall: SubgroupRow
    rows: list[SubgroupRow]

    def to_frame(self) -> pd.DataFrame:
        def fmt(interval: Interval | None) -> str:
            return "—" if interval is None or not np.isfinite(interval.value) else str(interval)

        return pd.DataFrame(
            [
                {
                    "group": r.group,
                    "n": r.n,
                    "prevalence": r.prevalence,
                    "AUC (95% CI)": fmt(r.auc),
                    "sensitivity": r.sensitivity,
                    "specificity": r.specificity,
                    "mean predicted": r.mean_predicted,
                    "calibration-in-the-large": r.calibration_in_the_large,
                    "flags": "; ".join(r.flags),
                }
                for r in [self.overall, *self.rows]
            ]
        )


def band_numeric(values: pd.Series, edges: list[float] | None = None, bands: int = 3) -> pd.Series:
    """Bands of a numeric column: given cut points (e.g. ages 50, 65) or equal-count bands."""
    numbers = pd.to_numeric(values, errors="coerce")
    if edges:
        cuts = [-np.inf, *sorted(edges), np.inf]
    else:
        cuts = np.unique(np.nanquantile(numbers, np.linspace(0, 1, bands + 1)))
        cuts[0], cuts[-1] = -np.inf, np.inf
    labels = []
    for lo, hi in itertools.pairwise(cuts):
        if np.isinf(lo):
            labels.append(f"< {hi:g}")
        elif np.isinf(hi):
            labels.append(f"≥ {lo:g}")
        else:
            labels.append(f"{lo:g}–{hi:g}")
    banded = pd.cut(numbers, bins=cuts, labels=labels, right=False)
    return banded.astype("object").where(numbers.notna(), "missing")


def _row(
    name: str, y: np.ndarray, p: np.ndarray, threshold: float, resamples: int, seed: int
) -> SubgroupRow:
    both = 0 < y.sum() < len(y)
    auc = (
        BinaryBootstrap.draw(y, p, resamples=resamples, seed=seed).auc()
        if both and len(y) >= 10
        else None
    )
    confusion = confusion_at(y, p, threshold)
    positives, negatives = confusion["tp"] + confusion["fn"], confusion["tn"] + confusion["fp"]
    citl = (
        logistic_fit(y, np.zeros(len(y)), offset=_logit(p), fit_slope=False)[0]
        if both
        else float("nan")
    )
    return SubgroupRow(
        group=name,
        n=len(y),
        prevalence=float(y.mean()) if len(y) else float("nan"),
        auc=auc,
        sensitivity=confusion["tp"] / positives if positives else float("nan"),
        specificity=confusion["tn"] / negatives if negatives else float("nan"),
        mean_predicted=float(p.mean()) if len(p) else float("nan"),
        calibration_in_the_large=citl,
    )


def subgroup_report(
    y: np.ndarray,
    p: np.ndarray,
    groups: pd.Series,
    *,
    threshold: float,
    tolerance: float = 0.1,
    column: str = "group",
    resamples: int = 500,
    seed: int = 0,
    min_size: int = 5,
) -> SubgroupReport:
    """Per-group n, prevalence, AUC (with CI), sensitivity and specificity at ``threshold`` and
    calibration-in-the-large; a group whose AUC, sensitivity or specificity falls more than
    ``tolerance`` below the overall value, or whose calibration-in-the-large exceeds it in
    magnitude (log-odds), is flagged. Groups under ``min_size`` records are flagged as too small."""
    y = np.asarray(y).astype(int).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    labels = (
        pd.Series(groups)
        .astype("object")
        .where(pd.Series(groups).notna(), "missing")
        .astype(str)
        .to_numpy()
    )
    overall = _row("all records", y, p, threshold, resamples, seed)
    rows = []
    for name in sorted(set(labels), key=str):
        mask = labels == name
        row = _row(name, y[mask], p[mask], threshold, resamples, seed)
        if row.n < min_size:
            row.flags.append(f"only {row.n} records")
        for metric in ("sensitivity", "specificity"):
            value, reference = getattr(row, metric), getattr(overall, metric)
            if np.isfinite(value) and np.isfinite(reference) and reference - value > tolerance:
                row.flags.append(f"{metric} {value:.2f} vs {reference:.2f} overall")
        if (
            row.auc is not None
            and overall.auc is not None
            and overall.auc.value - row.auc.value > tolerance
        ):
            row.flags.append(f"AUC {row.auc.value:.2f} vs {overall.auc.value:.2f} overall")
        if (
            np.isfinite(row.calibration_in_the_large)
            and abs(row.calibration_in_the_large) > max(tolerance, 0.0) * 2
        ):
            direction = "under" if row.calibration_in_the_large > 0 else "over"
            row.flags.append(
                f"risk {direction}estimated (calibration-in-the-large {row.calibration_in_the_large:+.2f})"
            )
        rows.append(row)
    return SubgroupReport(column, threshold, tolerance, overall, rows)


# -- other tasks ---------------------------------------------------------------------------------


@dataclass
class MulticlassClinicalReport:
    """One-vs-rest ROC AUC per class with CIs, and each class's curve."""

    source: str
    n: int
    classes: list[str]
    auc: dict[str, Interval]
    roc: dict[str, Curve]
    roc_band: dict[str, dict[str, list[float]]]
    accuracy: Interval
    resamples: int
    task: str = "multiclass"

    def headline(self) -> dict[str, Any]:
        out = {f"auc_{k}": v.to_dict() for k, v in self.auc.items()}
        out["accuracy"] = self.accuracy.to_dict()
        return out


def evaluate_multiclass_clinical(
    y: np.ndarray,
    probabilities: np.ndarray,
    classes: list[str],
    *,
    source: str = "test split",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> MulticlassClinicalReport:
    """One-vs-rest ROC AUC per class with stratified bootstrap CIs, and accuracy with its CI."""
    from sklearn.metrics import roc_curve

    y = np.asarray(y).astype(int).ravel()
    probabilities = np.asarray(probabilities, dtype=np.float64)
    auc, roc, bands = {}, {}, {}
    for k, name in enumerate(classes):
        target = (y == k).astype(int)
        if 0 < target.sum() < len(target):
            boot = BinaryBootstrap.draw(
                target, probabilities[:, k], resamples=resamples, seed=seed + k
            )
            auc[name] = boot.auc()
            fpr, tpr, t = roc_curve(target, probabilities[:, k])
            roc[name] = _thin(fpr, tpr, t)
            bands[name] = boot.roc_band()
    correct = (probabilities.argmax(axis=1) == y).astype(np.float64)
    return MulticlassClinicalReport(
        source,
        len(y),
        list(classes),
        auc,
        roc,
        bands,
        bootstrap_mean(correct, resamples=resamples, seed=seed),
        resamples,
    )


@dataclass
class RegressionClinicalReport:
    """Errors with CIs, and (actual, predicted) pairs for the plots."""

    source: str
    n: int
    mae: Interval
    rmse: Interval
    bias: Interval
    actual: list[float]
    predicted: list[float]
    task: str = "regression"

    def headline(self) -> dict[str, Any]:
        return {"mae": self.mae.to_dict(), "rmse": self.rmse.to_dict(), "bias": self.bias.to_dict()}


def evaluate_regression_clinical(
    y: np.ndarray,
    predicted: np.ndarray,
    *,
    source: str = "test split",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    max_points: int = 2000,
) -> RegressionClinicalReport:
    """MAE, RMSE and mean bias (predicted − actual) with bootstrap CIs."""
    y = np.asarray(y, dtype=np.float64).ravel()
    predicted = np.asarray(predicted, dtype=np.float64).ravel()
    errors = predicted - y
    squared = bootstrap_mean(errors**2, resamples=resamples, seed=seed)
    keep = (
        np.arange(len(y))
        if len(y) <= max_points
        else np.random.default_rng(seed).choice(len(y), max_points, replace=False)
    )
    return RegressionClinicalReport(
        source=source,
        n=len(y),
        mae=bootstrap_mean(np.abs(errors), resamples=resamples, seed=seed),
        rmse=Interval(
            float(np.sqrt(squared.value)), float(np.sqrt(squared.low)), float(np.sqrt(squared.high))
        ),
        bias=bootstrap_mean(errors, resamples=resamples, seed=seed),
        actual=y[keep].tolist(),
        predicted=predicted[keep].tolist(),
    )
