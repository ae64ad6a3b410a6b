"""Metrics and curves on held-out records; returns report objects that plots turn into figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

MAX_CURVE_POINTS = 400


@dataclass
class Curve:
    """A curve as data: x, y and the thresholds that produced each point."""

    x: list[float]
    y: list[float]
    thresholds: list[float]


@dataclass
class ThresholdMetrics:
    """Classification metrics at one probability threshold."""

    threshold: float
    accuracy: float
    sensitivity: float
    specificity: float
    ppv: float
    npv: float
    f1: float
    tp: int
    fp: int
    tn: int
    fn: int


@dataclass
class BinaryReport:
    """Discrimination of a binary model: AUCs, Brier, metrics at 0.5 and at the Youden threshold."""

    n: int
    prevalence: float
    positive_class: str
    roc_auc: float
    pr_auc: float
    brier: float
    at_half: ThresholdMetrics
    at_youden: ThresholdMetrics
    youden_source: str
    roc: Curve
    pr: Curve
    task: str = "binary"

    def headline(self) -> dict[str, float]:
        return {
            "roc_auc": self.roc_auc,
            "pr_auc": self.pr_auc,
            "accuracy": self.at_half.accuracy,
            "sensitivity": self.at_half.sensitivity,
            "specificity": self.at_half.specificity,
            "ppv": self.at_half.ppv,
            "npv": self.at_half.npv,
            "f1": self.at_half.f1,
            "brier": self.brier,
            "youden_threshold": self.at_youden.threshold,
        }


@dataclass
class MulticlassReport:
    """Discrimination of a multiclass model: accuracy, macro AUC, per-class report, confusion."""

    n: int
    classes: list[str]
    accuracy: float
    macro_auc: float
    macro_f1: float
    per_class: list[dict[str, float]]
    confusion: list[list[int]]
    roc: dict[str, Curve] = field(default_factory=dict)
    task: str = "multiclass"

    def headline(self) -> dict[str, float]:
        return {"accuracy": self.accuracy, "macro_auc": self.macro_auc, "macro_f1": self.macro_f1}


@dataclass
class RegressionReport:
    """Errors of a regression model, and a sample of (actual, predicted) pairs for plots."""

    n: int
    mae: float
    rmse: float
    r2: float
    actual: list[float]
    predicted: list[float]
    task: str = "regression"

    def headline(self) -> dict[str, float]:
        return {"mae": self.mae, "rmse": self.rmse, "r2": self.r2}


Report = BinaryReport | MulticlassReport | RegressionReport
KEY_METRIC = {
    "binary": "roc_auc",
    "multiclass": "macro_auc",
    "regression": "mae",
    "survival": "c_index",
}


MIN_CASES = 10
TOO_FEW = "too few cases to judge"


@dataclass
class Reportability:
    """Whether held-out records can support the metrics reported on them, and the counts.

    ``events``/``non_events``: records with and without the outcome (binary, survival); for a
    multiclass model the smallest class and the records outside it; None for regression.
    """

    judgeable: bool
    label: str
    records: int
    events: int | None
    non_events: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def reportability(task: str, y: np.ndarray) -> Reportability:
    """The one rule, shared by training and evaluation, for what may be reported: at least
    10 events and 10 non-events (survival: 10 events; multiclass: 10 records in and 10 outside
    every class; regression: 10 records). Otherwise the result is labelled 'too few cases to
    judge' (the metrics are still computed, and must be shown with that label)."""
    y = np.asarray(y)
    n = len(y)
    events = non_events = None
    if task == "binary":
        events = int(np.asarray(y, dtype=np.float64).ravel().sum())
        non_events = n - events
        short = events < MIN_CASES or non_events < MIN_CASES
    elif task == "survival":
        events = int(np.asarray(y, dtype=np.float64)[:, 1].sum()) if n else 0
        non_events = n - events
        short = events < MIN_CASES or n < MIN_CASES
    elif task == "multiclass":
        counts = np.bincount(y.astype(int).ravel()) if n else np.zeros(1, dtype=int)
        events = int(counts.min())
        non_events = int(n - counts.max())
        short = events < MIN_CASES or non_events < MIN_CASES
    else:
        short = n < MIN_CASES
    counted = (
        f"{n} records"
        if events is None
        else f"{n} records, {events} {'in the smallest class' if task == 'multiclass' else 'with the outcome'}"
        f" and {non_events} {'outside the largest' if task == 'multiclass' else 'without'}"
    )
    reason = (
        f"{counted}: fewer than {MIN_CASES} on one side, so the metrics cannot be judged"
        if short
        else counted
    )
    return Reportability(not short, TOO_FEW if short else "", n, events, non_events, reason)


def _safe_div(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def threshold_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> ThresholdMetrics:
    """Accuracy, sensitivity, specificity, PPV, NPV and F1 when p ≥ threshold means positive."""
    predicted = p >= threshold
    actual = y.astype(bool)
    tp = int(np.sum(predicted & actual))
    fp = int(np.sum(predicted & ~actual))
    tn = int(np.sum(~predicted & ~actual))
    fn = int(np.sum(~predicted & actual))
    sensitivity = _safe_div(tp, tp + fn)
    ppv = _safe_div(tp, tp + fp)
    return ThresholdMetrics(
        threshold=float(threshold),
        accuracy=_safe_div(tp + tn, len(y)),
        sensitivity=sensitivity,
        specificity=_safe_div(tn, tn + fp),
        ppv=ppv,
        npv=_safe_div(tn, tn + fn),
        f1=_safe_div(2 * tp, 2 * tp + fp + fn),
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
    )


def youden_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold that maximises sensitivity + specificity − 1 (Youden's J) on (y, p)."""
    from sklearn.metrics import roc_curve

    if len(np.unique(y)) < 2:
        return 0.5
    fpr, tpr, thresholds = roc_curve(y, p)
    best = int(np.argmax(tpr - fpr))
    return float(min(max(thresholds[best], 0.0), 1.0))


def _thin(x: np.ndarray, y: np.ndarray, t: np.ndarray) -> Curve:
    if len(x) > MAX_CURVE_POINTS:
        keep = np.unique(np.linspace(0, len(x) - 1, MAX_CURVE_POINTS).astype(int))
        x, y, t = x[keep], y[keep], t[keep]
    t = np.where(np.isfinite(t), t, 1.0)
    return Curve([float(v) for v in x], [float(v) for v in y], [float(v) for v in t])


def evaluate_binary(
    y: np.ndarray,
    p: np.ndarray,
    *,
    positive_class: str = "1",
    youden_from: tuple[np.ndarray, np.ndarray] | None = None,
) -> BinaryReport:
    """Evaluate probabilities ``p`` of the positive class against 0/1 labels ``y``.

    The Youden threshold is chosen on ``youden_from`` (validation labels and probabilities) when
    given, so that the reported metrics at it are honest; otherwise on (y, p) itself.
    """
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    y = np.asarray(y).astype(int).ravel()
    p = np.asarray(p, dtype=float).ravel()
    both = len(np.unique(y)) == 2
    # each curve thinned before the next is computed: one of a record's thresholds at a time
    roc = _thin(
        *(
            roc_curve(y, p)
            if both
            else (np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([1.0, 0.0]))
        )
    )
    precision, recall, pr_t = (
        precision_recall_curve(y, p) if both else (np.array([1.0]), np.array([0.0]), np.array([]))
    )
    pr = _thin(recall[::-1], precision[::-1], np.append(pr_t, 1.0)[::-1])
    del precision, recall, pr_t
    if youden_from is not None:
        threshold, source = youden_threshold(*youden_from), "validation"
    else:
        threshold, source = youden_threshold(y, p), "evaluation data"
    return BinaryReport(
        n=len(y),
        prevalence=float(y.mean()) if len(y) else float("nan"),
        positive_class=positive_class,
        roc_auc=float(roc_auc_score(y, p)) if both else float("nan"),
        pr_auc=float(average_precision_score(y, p)) if both else float("nan"),
        brier=float(brier_score_loss(y, p)),
        at_half=threshold_metrics(y, p, 0.5),
        at_youden=threshold_metrics(y, p, threshold),
        youden_source=source,
        roc=roc,
        pr=pr,
    )


def evaluate_multiclass(
    y: np.ndarray, probabilities: np.ndarray, classes: list[str]
) -> MulticlassReport:
    """Evaluate class probabilities (n, k) against class indices ``y``."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
        roc_auc_score,
        roc_curve,
    )

    y = np.asarray(y).astype(int).ravel()
    probabilities = np.asarray(probabilities, dtype=float)
    predicted = probabilities.argmax(axis=1)
    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=0
    )
    per_class, roc, aucs = [], {}, []
    for i, name in enumerate(classes):
        target = (y == i).astype(int)
        auc = float("nan")
        if 0 < target.sum() < len(target):
            auc = float(roc_auc_score(target, probabilities[:, i]))
            aucs.append(auc)
            fpr, tpr, t = roc_curve(target, probabilities[:, i])
            roc[name] = _thin(fpr, tpr, t)
        per_class.append(
            {
                "class": name,
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
                "auc": auc,
            }
        )
    return MulticlassReport(
        n=len(y),
        classes=list(classes),
        accuracy=float(accuracy_score(y, predicted)),
        macro_auc=float(np.mean(aucs)) if aucs else float("nan"),
        macro_f1=float(f1_score(y, predicted, labels=labels, average="macro", zero_division=0)),
        per_class=per_class,
        confusion=confusion_matrix(y, predicted, labels=labels).tolist(),
        roc=roc,
    )


def evaluate_regression(
    y: np.ndarray, predicted: np.ndarray, *, max_points: int = 2000
) -> RegressionReport:
    """Evaluate predicted values against actual ones: MAE, RMSE and R²."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y = np.asarray(y, dtype=float).ravel()
    predicted = np.asarray(predicted, dtype=float).ravel()
    keep = np.arange(len(y))
    if len(y) > max_points:
        keep = np.random.default_rng(0).choice(len(y), max_points, replace=False)
    return RegressionReport(
        n=len(y),
        mae=float(mean_absolute_error(y, predicted)),
        rmse=float(np.sqrt(mean_squared_error(y, predicted))),
        r2=float(r2_score(y, predicted)) if len(y) > 1 else float("nan"),
        actual=y[keep].tolist(),
        predicted=predicted[keep].tolist(),
    )


def evaluate(
    task: str,
    y: np.ndarray,
    output: np.ndarray,
    *,
    classes: list[str] | None = None,
    positive_class: str | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> Report:
    """Evaluate a model's raw output (n, outputs) for ``task``; ``validation`` is (y, output)."""
    output = np.asarray(output, dtype=float)
    if task == "binary":
        youden = None if validation is None else (validation[0], np.asarray(validation[1]).ravel())
        return evaluate_binary(
            y, output.ravel(), positive_class=positive_class or "1", youden_from=youden
        )
    if task == "multiclass":
        return evaluate_multiclass(y, output, classes or [str(i) for i in range(output.shape[1])])
    return evaluate_regression(y, output.ravel())


def key_metric(report: Report) -> tuple[str, float]:
    """The metric a model list shows first: ROC AUC, macro AUC or MAE."""
    name = KEY_METRIC[report.task]
    return name, float(report.headline()[name])


def report_to_dict(report: Report) -> dict[str, Any]:
    """A JSON-ready dict of a report (stored as the model's evaluation.json)."""
    return asdict(report)


def report_from_dict(data: dict[str, Any]) -> Report:
    """Rebuild a report saved with ``report_to_dict``."""
    task = data.get("task")
    if task == "binary":
        values = dict(data)
        values["at_half"] = ThresholdMetrics(**data["at_half"])
        values["at_youden"] = ThresholdMetrics(**data["at_youden"])
        values["roc"] = Curve(**data["roc"])
        values["pr"] = Curve(**data["pr"])
        return BinaryReport(**values)
    if task == "multiclass":
        values = dict(data)
        values["roc"] = {k: Curve(**v) for k, v in data.get("roc", {}).items()}
        return MulticlassReport(**values)
    if task == "survival":
        from dlcore.evaluate.bootstrap import Interval
        from dlcore.evaluate.survival import KaplanMeier, SurvivalReport

        values = dict(data)
        values["c_index"] = Interval(**data["c_index"])
        values["risk_groups"] = [KaplanMeier(**g) for g in data["risk_groups"]]
        return SurvivalReport(**values)
    return RegressionReport(**data)
