"""Vectorised, stratified, seeded bootstrap for binary classification metrics.

Resampling positives and negatives separately keeps the prevalence fixed (stratified). Instead of
looping over resamples, each resample is a row of counts (how often each record was drawn), and
every metric is a weighted sum over records: 1,000 resamples of 10,000 patients take well under
a second (bench/bootstrap_speed.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass
class Interval:
    """A point estimate with its 95% (by default) percentile bootstrap interval."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} ({self.low:.3f}–{self.high:.3f})"

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def _counts(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples, n) draw counts: each row sums to n (sampling n of n with replacement)."""
    if n == 0:
        return np.zeros((resamples, 0), dtype=np.int32)
    picks = rng.integers(0, n, size=(resamples, n))
    flat = picks + (np.arange(resamples) * n)[:, None]
    return np.bincount(flat.ravel(), minlength=resamples * n).reshape(resamples, n).astype(np.int32)


@dataclass
class BinaryBootstrap:
    """Draw counts for the positives and the negatives of one (y, score) sample."""

    scores_pos: np.ndarray
    scores_neg: np.ndarray
    w_pos: np.ndarray  # (B, n_pos)
    w_neg: np.ndarray  # (B, n_neg)
    confidence: float = CONFIDENCE

    @classmethod
    def draw(
        cls,
        y: np.ndarray,
        scores: np.ndarray,
        *,
        resamples: int = DEFAULT_RESAMPLES,
        seed: int = 0,
        confidence: float = CONFIDENCE,
    ) -> BinaryBootstrap:
        """Stratified resamples of (y, scores); ``y`` is 0/1."""
        y = np.asarray(y).astype(bool).ravel()
        scores = np.asarray(scores, dtype=np.float64).ravel()
        rng = np.random.default_rng(seed)
        pos, neg = scores[y], scores[~y]
        return cls(
            pos,
            neg,
            _counts(len(pos), resamples, rng),
            _counts(len(neg), resamples, rng),
            confidence,
        )

    @property
    def resamples(self) -> int:
        return self.w_pos.shape[0]

    def interval(self, estimate: float, samples: np.ndarray) -> Interval:
        """The percentile interval of ``samples`` around ``estimate``."""
        alpha = (1 - self.confidence) / 2
        finite = samples[np.isfinite(samples)]
        if len(finite) == 0:
            return Interval(estimate, float("nan"), float("nan"))
        low, high = np.quantile(finite, [alpha, 1 - alpha])
        return Interval(float(estimate), float(low), float(high))

    # -- discrimination -------------------------------------------------------------------------

    def auc_samples(self) -> np.ndarray:
        """ROC AUC of every resample: P(score of a positive > score of a negative), ties half."""
        n_pos, n_neg = self.scores_pos.size, self.scores_neg.size
        if n_pos == 0 or n_neg == 0:
            return np.full(self.resamples, np.nan)
        order = np.argsort(self.scores_neg, kind="stable")
        sorted_neg = self.scores_neg[order]
        cumulative = np.concatenate(
            [
                np.zeros((self.resamples, 1)),
                np.cumsum(self.w_neg[:, order], axis=1, dtype=np.float64),
            ],
            axis=1,
        )
        below = np.searchsorted(sorted_neg, self.scores_pos, side="left")
        at_or_below = np.searchsorted(sorted_neg, self.scores_pos, side="right")
        less = cumulative[:, below]
        ties = cumulative[:, at_or_below] - less
        wins = (self.w_pos * (less + 0.5 * ties)).sum(axis=1)
        return wins / (n_pos * n_neg)

    def auc(self) -> Interval:
        """ROC AUC with its interval."""
        estimate = _auc(self.scores_pos, self.scores_neg)
        return self.interval(estimate, self.auc_samples())

    def threshold_samples(self, threshold: float) -> dict[str, np.ndarray]:
        """Sensitivity, specificity, PPV and NPV of every resample at ``threshold`` (p ≥ t positive)."""
        n_pos, n_neg = self.scores_pos.size, self.scores_neg.size
        tp = (self.w_pos * (self.scores_pos >= threshold)).sum(axis=1).astype(np.float64)
        fp = (self.w_neg * (self.scores_neg >= threshold)).sum(axis=1).astype(np.float64)
        fn, tn = n_pos - tp, n_neg - fp
        with np.errstate(divide="ignore", invalid="ignore"):
            return {
                "sensitivity": tp / n_pos if n_pos else np.full(self.resamples, np.nan),
                "specificity": tn / n_neg if n_neg else np.full(self.resamples, np.nan),
                "ppv": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
                "npv": np.where(tn + fn > 0, tn / (tn + fn), np.nan),
            }

    def at_threshold(self, threshold: float) -> dict[str, Interval]:
        """Sensitivity, specificity, PPV and NPV at ``threshold`` with intervals."""
        pos, neg = self.scores_pos, self.scores_neg
        tp, fp = float((pos >= threshold).sum()), float((neg >= threshold).sum())
        fn, tn = pos.size - tp, neg.size - fp
        point = {
            "sensitivity": tp / pos.size if pos.size else float("nan"),
            "specificity": tn / neg.size if neg.size else float("nan"),
            "ppv": tp / (tp + fp) if tp + fp else float("nan"),
            "npv": tn / (tn + fn) if tn + fn else float("nan"),
        }
        samples = self.threshold_samples(threshold)
        return {k: self.interval(point[k], samples[k]) for k in point}

    def pr_auc_samples(self) -> np.ndarray:
        """Average precision of every resample (step-wise, as scikit-learn's average_precision_score)."""
        n_pos = self.scores_pos.size
        if n_pos == 0 or self.scores_neg.size == 0:
            return np.full(self.resamples, np.nan)
        tp, fp = self._cumulative()
        recall_step = (
            np.diff(np.concatenate([np.zeros((self.resamples, 1)), tp], axis=1), axis=1) / n_pos
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        return (recall_step * precision).sum(axis=1)

    def pr_auc(self) -> Interval:
        from sklearn.metrics import average_precision_score

        y = np.r_[np.ones(self.scores_pos.size), np.zeros(self.scores_neg.size)]
        estimate = (
            float(average_precision_score(y, np.r_[self.scores_pos, self.scores_neg]))
            if self.scores_pos.size and self.scores_neg.size
            else float("nan")
        )
        return self.interval(estimate, self.pr_auc_samples())

    def _cumulative(self) -> tuple[np.ndarray, np.ndarray]:
        """Weighted true- and false-positive counts at each distinct threshold, highest first."""
        n_pos = self.scores_pos.size
        scores = np.concatenate([self.scores_pos, self.scores_neg])
        is_pos = np.concatenate([np.ones(n_pos, bool), np.zeros(self.scores_neg.size, bool)])
        weights = np.concatenate([self.w_pos, self.w_neg], axis=1).astype(np.float32)
        order = np.argsort(-scores, kind="stable")
        scores, is_pos, weights = scores[order], is_pos[order], weights[:, order]
        last_of_group = np.r_[scores[1:] != scores[:-1], True]
        tp = np.cumsum(weights * is_pos, axis=1)[:, last_of_group]
        fp = np.cumsum(weights * ~is_pos, axis=1)[:, last_of_group]
        return tp, fp

    def roc_band(self, grid: np.ndarray | None = None) -> dict[str, list[float]]:
        """Pointwise interval of the ROC curve: sensitivity at fixed 1 − specificity values."""
        grid = np.linspace(0, 1, 101) if grid is None else grid
        tp, fp = self._cumulative()
        tpr = np.concatenate(
            [np.zeros((self.resamples, 1)), tp / max(self.scores_pos.size, 1)], axis=1
        )
        fpr = np.concatenate(
            [np.zeros((self.resamples, 1)), fp / max(self.scores_neg.size, 1)], axis=1
        )
        curves = np.stack([np.interp(grid, fpr[b], tpr[b]) for b in range(self.resamples)])
        alpha = (1 - self.confidence) / 2
        low, high = np.quantile(curves, [alpha, 1 - alpha], axis=0)
        return {"fpr": grid.tolist(), "low": low.tolist(), "high": high.tolist()}

    def pr_band(self, grid: np.ndarray | None = None) -> dict[str, list[float]]:
        """Pointwise interval of the precision–recall curve: PPV at fixed sensitivity values."""
        grid = np.linspace(0, 1, 101) if grid is None else grid
        tp, fp = self._cumulative()
        recall = tp / max(self.scores_pos.size, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(tp + fp > 0, tp / (tp + fp), 1.0)
        curves = np.stack([np.interp(grid, recall[b], precision[b]) for b in range(self.resamples)])
        alpha = (1 - self.confidence) / 2
        low, high = np.quantile(curves, [alpha, 1 - alpha], axis=0)
        return {"recall": grid.tolist(), "low": low.tolist(), "high": high.tolist()}


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(pos.size), np.zeros(neg.size)], np.r_[pos, neg]))


def bootstrap_mean(
    values: np.ndarray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> Interval:
    """The mean of ``values`` with a percentile bootstrap interval (for MAE, squared errors, …)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    counts = _counts(len(values), resamples, np.random.default_rng(seed))
    samples = (counts * values).sum(axis=1) / max(len(values), 1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(samples, [alpha, 1 - alpha]) if len(values) else (np.nan, np.nan)
    return Interval(float(values.mean()) if len(values) else float("nan"), float(low), float(high))
