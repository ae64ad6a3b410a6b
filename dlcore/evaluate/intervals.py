"""Every headline metric of a model with its 95% bootstrap interval, for each task, and the
paired difference of two models' key metric on the same records."""

from __future__ import annotations

import numpy as np

from dlcore.evaluate.bootstrap import (
    CONFIDENCE,
    DEFAULT_RESAMPLES,
    BinaryBootstrap,
    Interval,
    _auc,
    count_blocks,
)
from dlcore.evaluate.survival import affordable_resamples, concordance_index


def _percentile(estimate: float, samples: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    finite = np.asarray(samples, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0 or not np.isfinite(estimate):
        return Interval(float(estimate), float("nan"), float("nan"))
    alpha = (1 - confidence) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return Interval(float(estimate), float(low), float(high))


def rank_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of ``scores`` for the boolean ``positive`` (ties count a half), as scikit-learn's
    roc_auc_score gives it, from the ranks (Mann-Whitney): the multiclass bootstraps call it a few
    thousand times, where roc_auc_score's checks cost ~4 ms a call. NaN without both classes."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_f1(y: np.ndarray, predicted: np.ndarray, k: int) -> float:
    """Macro F1 over the classes 0..k-1, 0 for a class with no true or predicted record (as
    scikit-learn's f1_score(average="macro", labels=range(k), zero_division=0))."""
    tp = np.bincount(y[predicted == y], minlength=k)[:k].astype(np.float64)
    true = np.bincount(y, minlength=k)[:k]
    called = np.bincount(predicted, minlength=k)[:k]
    denominator = (true + called).astype(np.float64)
    f1 = np.divide(2 * tp, denominator, out=np.zeros(k), where=denominator > 0)
    return float(f1.mean()) if k else float("nan")


def _binary_samples(
    y: np.ndarray, p: np.ndarray, threshold: float, resamples: int, seed: int
) -> tuple[BinaryBootstrap, dict[str, np.ndarray], dict[str, float]]:
    boot = BinaryBootstrap.draw(y, p, resamples=resamples, seed=seed)
    n = boot.scores_pos.size + boot.scores_neg.size
    yb = np.asarray(y).astype(bool).ravel()
    pr = np.asarray(p, dtype=np.float64).ravel()
    estimates = {
        "roc_auc": _auc(boot.scores_pos, boot.scores_neg),
        "accuracy": float(np.mean((pr >= threshold) == yb)) if n else float("nan"),
        "brier": float(np.mean((pr - yb) ** 2)) if n else float("nan"),
    }
    if boot.scores_pos.size and boot.scores_neg.size:
        from sklearn.metrics import average_precision_score

        estimates["pr_auc"] = float(average_precision_score(yb, pr))
    else:
        estimates["pr_auc"] = float("nan")
    # The resamples after the point estimates: scikit-learn's curves then run without the
    # resamples' ranking and what their pass left (200,000 records: peak +26 -> +21 MB, issue 15)
    samples = boot.samples(threshold)  # one pass over blocks of resamples: bounded memory
    estimates.update({k: v.value for k, v in boot.at_threshold(threshold).items()})
    return boot, samples, estimates


def headline_intervals(
    task: str,
    y: np.ndarray,
    output: np.ndarray,
    *,
    threshold: float = 0.5,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, Interval]:
    """Every headline metric of a model's output on held-out records with its 95% bootstrap
    interval: binary (stratified: ROC and PR AUC, accuracy, sensitivity, specificity, PPV, NPV at
    ``threshold``, Brier), multiclass (accuracy, macro AUC, macro F1), regression (MAE, RMSE, R²)
    or survival (``output`` the log-risk: Harrell's C-index). ``y`` as ``dlcore.evaluate`` takes it."""
    output = np.asarray(output, dtype=np.float64)
    if task == "binary":
        _, samples, estimates = _binary_samples(y, output.ravel(), threshold, resamples, seed)
        order = (
            "roc_auc",
            "pr_auc",
            "accuracy",
            "sensitivity",
            "specificity",
            "ppv",
            "npv",
            "brier",
        )
        return {k: _percentile(estimates[k], samples[k]) for k in order}
    rng = np.random.default_rng(seed)
    if task == "regression":
        y = np.asarray(y, dtype=np.float64).ravel()
        error = output.ravel() - y
        n = len(y)
        # weighted sums per resample, block by block of resamples (bounded memory)
        terms = np.column_stack([np.abs(error), error**2, y**2, y])
        sums = np.concatenate(
            [counts @ terms for counts in count_blocks(n, resamples, seed)]
        ).reshape(-1, 4)
        mae = sums[:, 0] / max(n, 1)
        mse = sums[:, 1] / max(n, 1)
        total = sums[:, 2] - sums[:, 3] ** 2 / max(n, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1 - sums[:, 1] / total
        ss_total = float(np.sum((y - y.mean()) ** 2)) if n else float("nan")
        return {
            "mae": _percentile(float(np.mean(np.abs(error))) if n else float("nan"), mae),
            "rmse": _percentile(
                float(np.sqrt(np.mean(error**2))) if n else float("nan"), np.sqrt(mse)
            ),
            "r2": _percentile(
                1 - float(np.sum(error**2)) / ss_total if n > 1 and ss_total > 0 else float("nan"),
                r2,
            ),
        }
    if task == "survival":
        y = np.asarray(y, dtype=np.float64)
        time, event, risk = y[:, 0], y[:, 1], output.ravel()
        wanted = min(resamples, 200)
        draws = affordable_resamples(len(time), int(event.sum()), wanted)
        samples = []
        for _ in range(draws):
            idx = rng.integers(0, len(time), len(time))
            samples.append(concordance_index(time[idx], event[idx], risk[idx]))
        return {"c_index": _percentile(concordance_index(time, event, risk), np.asarray(samples))}
    # multiclass: resample records (a loop: per-class AUCs need sorting)
    y = np.asarray(y).astype(int).ravel()
    k = output.shape[1]

    def scores(idx: np.ndarray) -> tuple[float, float, float]:
        yy, pp = y[idx], output[idx]
        predicted = pp.argmax(axis=1)
        aucs = [rank_auc(yy == c, pp[:, c]) for c in range(k) if 0 < (yy == c).sum() < len(yy)]
        return (
            float(np.mean(predicted == yy)) if len(yy) else float("nan"),
            float(np.mean(aucs)) if aucs else float("nan"),
            macro_f1(yy, predicted, k),
        )

    point = scores(np.arange(len(y)))
    draws = np.array(
        [scores(rng.integers(0, len(y), len(y))) for _ in range(min(resamples, 300))]
    ).reshape(-1, 3)
    return {
        name: _percentile(point[i], draws[:, i])
        for i, name in enumerate(("accuracy", "macro_auc", "macro_f1"))
    }


def paired_difference(
    task: str,
    y: np.ndarray,
    ours: np.ndarray,
    other: np.ndarray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """The key metric of ``ours`` minus that of ``other`` on the same records, with a paired
    bootstrap interval (the same resamples for both): ROC AUC (binary), macro AUC (multiclass),
    MAE (regression: positive means ours errs more) or C-index (survival)."""
    ours = np.asarray(ours, dtype=np.float64)
    other = np.asarray(other, dtype=np.float64)
    if task == "binary":
        a = BinaryBootstrap.draw(y, ours.ravel(), resamples=resamples, seed=seed)
        b = BinaryBootstrap.draw(y, other.ravel(), resamples=resamples, seed=seed)
        estimate = _auc(a.scores_pos, a.scores_neg) - _auc(b.scores_pos, b.scores_neg)
        return _percentile(estimate, a.auc_samples() - b.auc_samples())
    rng = np.random.default_rng(seed)
    if task == "regression":
        y = np.asarray(y, dtype=np.float64).ravel()
        delta = np.abs(ours.ravel() - y) - np.abs(other.ravel() - y)
        sums = np.concatenate([c @ delta for c in count_blocks(len(y), resamples, seed)])
        return _percentile(float(delta.mean()) if len(y) else float("nan"), sums / max(len(y), 1))
    if task == "survival":
        y = np.asarray(y, dtype=np.float64)
        time, event = y[:, 0], y[:, 1]

        def diff(idx: np.ndarray) -> float:
            return concordance_index(time[idx], event[idx], ours.ravel()[idx]) - concordance_index(
                time[idx], event[idx], other.ravel()[idx]
            )

        draws = affordable_resamples(len(time), int(event.sum()), min(resamples, 200))
        samples = [diff(rng.integers(0, len(time), len(time))) for _ in range(draws)]
        return _percentile(diff(np.arange(len(time))), np.asarray(samples))
    y = np.asarray(y).astype(int).ravel()

    def macro(idx: np.ndarray, p: np.ndarray) -> float:
        yy = y[idx]
        aucs = [
            rank_auc(yy == c, p[idx, c]) for c in range(p.shape[1]) if 0 < (yy == c).sum() < len(yy)
        ]
        return float(np.mean(aucs)) if aucs else float("nan")

    everyone = np.arange(len(y))
    samples = []
    for _ in range(min(resamples, 300)):
        idx = rng.integers(0, len(y), len(y))
        samples.append(macro(idx, ours) - macro(idx, other))
    return _percentile(macro(everyone, ours) - macro(everyone, other), np.asarray(samples))
