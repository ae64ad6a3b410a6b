"""Repeated stratified k-fold cross-validation: an honest estimate for small tables.

With few records a single 20% test split holds too few events to judge a model (a 300-record
table at 30% prevalence leaves about 18 events in its test part: an AUC interval about ±0.1
wide). Cross-validation lets every record be a test record once per repeat; the estimate is the
pooled out-of-fold metric, its interval a stratified bootstrap of those pooled predictions (it
ignores the variation between retrainings, so it is slightly too narrow).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from dlcore.errors import UserError
from dlcore.models.spec import ModelSpec

logger = logging.getLogger(__name__)

SMALL_TABLE = 500  # records: below this, training cross-validates by default
DEFAULT_FOLDS = 5
DEFAULT_REPEATS = 2
MAX_FOLDS = 20


def default_cv_folds(task: str | None, n_records: int) -> int:
    """Folds to cross-validate with by default: 5 for a table under 500 records, else 0 (off)."""
    if task not in ("binary", "multiclass", "regression", "survival"):
        return 0
    return DEFAULT_FOLDS if n_records < SMALL_TABLE else 0


def _strata(task: str, y: np.ndarray) -> np.ndarray | None:
    if task == "survival":
        return np.asarray(y)[:, 1].astype(int)
    if task in ("binary", "multiclass"):
        return np.asarray(y).astype(int).ravel()
    return None


def check_folds(task: str, y: np.ndarray, folds: int) -> None:
    """Refuse a fold count the records cannot support; raises UserError naming the count."""
    n = len(y)
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise UserError(
            f"--cv {folds} was asked for.",
            expected="2 or more folds (5 is usual), or 0 to turn cross-validation off",
            fix="pass --cv 5, or --cv 0",
        )
    if folds > MAX_FOLDS:
        raise UserError(
            f"--cv {folds} was asked for.",
            expected=f"at most {MAX_FOLDS} folds",
            fix="pass --cv 5 or --cv 10",
        )
    strata = _strata(task, y)
    if strata is not None:
        values, counts = np.unique(strata, return_counts=True)
        smallest = int(counts.min())
        if folds > smallest:
            which = (
                "records with the event"
                if task == "survival" and values[counts.argmin()] == 1
                else "records without the event"
                if task == "survival"
                else "records of the smallest class"
            )
            raise UserError(
                f"--cv {folds} folds were asked for, but there are only {smallest} {which}: "
                "some folds would have none of them.",
                expected=f"at most {smallest} folds for these records",
                fix=f"pass --cv {max(2, min(smallest, DEFAULT_FOLDS))} or fewer"
                if smallest >= 2
                else "collect more records of the rare class",
            )
    elif folds > n // 2:
        raise UserError(
            f"--cv {folds} folds were asked for with {n} records.",
            expected=f"at most {n // 2} folds (2 records per fold)",
            fix=f"pass --cv {min(DEFAULT_FOLDS, n // 2)}",
        )


@dataclass
class CrossValidation:
    """The cross-validated estimate: pooled out-of-fold metrics with intervals (median over
    repeats), and the key metric of each fold."""

    folds: int
    repeats: int
    records: int
    metrics: dict[str, dict[str, float]]
    fold_values: list[float]
    key_metric: str
    epochs: list[int] = field(default_factory=list)
    cancelled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sentence(self) -> str:
        """One line: 'Cross-validated AUC 0.84 (95% CI 0.80–0.88), 5 folds × 2 repeats.'"""
        m = self.metrics.get(self.key_metric, {})
        value, low, high = (m.get(k) for k in ("value", "low", "high"))
        if value is None:
            return f"Cross-validation ({self.folds} folds × {self.repeats}) gave no estimate."
        interval = f" (95% CI {low:.3f}–{high:.3f})" if low is not None and high is not None else ""
        return (
            f"Cross-validated {self.key_metric} {value:.3f}{interval}, {self.folds} folds × "
            f"{self.repeats} repeats on all {self.records} records."
        )


def _repeating(groups: np.ndarray | None) -> np.ndarray | None:
    """The records' patient groups when some patient has several records, else None."""
    if groups is None or len(np.unique(groups.astype(str))) == len(groups):
        return None
    return groups.astype(str)


def _group_holdout(
    rows: np.ndarray, groups: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``rows`` into fit and validation parts with each patient wholly in one."""
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(1, test_size=fraction, random_state=seed)
    fit, val = next(splitter.split(rows, groups=groups[rows]))
    return rows[fit], rows[val]


def cross_validate(
    dataset: Any,
    spec: ModelSpec,
    *,
    folds: int = DEFAULT_FOLDS,
    repeats: int = DEFAULT_REPEATS,
    should_stop: Any = None,
    resamples: int = 1000,
) -> CrossValidation:
    """Repeated stratified k-fold cross-validation of ``spec`` on a table, through the one
    training path (each fold: the network is trained on the other folds, with a stratified
    validation part of them for early stopping and recalibration, and scored on the fold).

    Raises UserError when the records cannot support ``folds`` (see ``check_folds``).
    """
    from sklearn.model_selection import (
        GroupKFold,
        KFold,
        StratifiedGroupKFold,
        StratifiedKFold,
        train_test_split,
    )

    from dlcore.evaluate.intervals import headline_intervals
    from dlcore.evaluate.metrics import KEY_METRIC
    from dlcore.models.keras_runtime import import_keras
    from dlcore.training.fit import Split, prepare_data, train
    from dlcore.training.honest import calibrate_on_validation, split_output

    task = dataset.task or ""
    data = prepare_data(dataset)
    y = data.y
    check_folds(task, y, folds)
    strata = _strata(task, y)
    keras = import_keras()
    key = KEY_METRIC[task]
    pooled: list[dict[str, dict[str, float]]] = []
    fold_values: list[float] = []
    epochs: list[int] = []
    cancelled = False
    for repeat in range(repeats):
        seed = spec.seed + 1000 * repeat
        splitter = (
            StratifiedKFold(folds, shuffle=True, random_state=seed)
            if strata is not None
            else KFold(folds, shuffle=True, random_state=seed)
        )
        groups = _repeating(data.groups)
        if data.group_name is not None and spec.molecule_split == "random":
            groups = None  # molecules the user chose to split at random: folds ignore scaffolds
        if groups is not None:  # each patient (or scaffold) wholly in one fold
            splitter = (
                StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
                if strata is not None
                else GroupKFold(folds)
            )
        out_of_fold: np.ndarray | None = None
        for i, (rest, held) in enumerate(
            splitter.split(np.zeros(len(y)), strata if strata is not None else None, groups)
        ):
            if should_stop is not None and should_stop():
                cancelled = True
                break
            if groups is not None:
                fit_part, val_part = _group_holdout(
                    rest, groups, spec.validation_fraction, seed + i
                )
            else:
                fit_part, val_part = train_test_split(
                    rest,
                    test_size=spec.validation_fraction,
                    random_state=seed + i,
                    stratify=None if strata is None else strata[rest],
                )
            fold_spec = copy.deepcopy(spec)
            fold_spec.seed = seed + i
            # One network per fold, not the ensemble: 10 trainings instead of 50 on a small
            # table; the estimate is then slightly conservative for an ensembled final model.
            fold_spec.ensemble = 1
            split = Split(np.sort(fit_part), np.sort(val_part), np.sort(held), fold_spec.seed, True)
            result = train(dataset, fold_spec, split=split, should_stop=should_stop)
            if result.cancelled:
                cancelled = True
                break
            recalibrator, _ = calibrate_on_validation(result)
            output = split_output(result, split.test)
            if task in ("binary", "multiclass"):
                output = np.asarray(recalibrator.apply(output)).reshape(output.shape)
            if out_of_fold is None:
                out_of_fold = np.full((len(y), output.shape[1]), np.nan)
            out_of_fold[split.test] = output
            fold = headline_intervals(task, y[split.test], output, resamples=50, seed=i)
            fold_values.append(fold[key].value)
            epochs.append(result.epochs_run)
            keras.backend.clear_session()
        if cancelled or out_of_fold is None:
            break
        intervals = headline_intervals(task, y, out_of_fold, resamples=resamples, seed=repeat)
        pooled.append({k: v.to_dict() for k, v in intervals.items()})
    metrics: dict[str, dict[str, float]] = {}
    for name in pooled[0] if pooled else []:
        metrics[name] = {
            part: float(np.nanmedian([p[name][part] for p in pooled]))
            for part in ("value", "low", "high")
        }
    logger.info("cross-validated %s: %d folds x %d repeats", task, folds, len(pooled))
    return CrossValidation(folds, len(pooled), len(y), metrics, fold_values, key, epochs, cancelled)
