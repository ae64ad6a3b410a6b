"""What a training run may honestly claim: recalibration only when it helps, every headline
metric with its interval and the counts behind it, and baselines fitted on the same split."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dlcore.models.tabular import run_model
from dlcore.training.fit import TrainResult, rows

# A reference's interval needs less precision than the model's own: 500 resamples halve its cost.
BASELINE_RESAMPLES = 500


# Records whose inputs are built at once when a split is run through the model (a multiple of
# run_model's batch: the same batches, the same outputs). 150,000 test records at once held a
# float64 copy of their features and a float32 one of the inputs: 36 MB above the training's
# level at 1,000,000 rows (issue 15).
OUTPUT_CHUNK = 32_768
# Records per call of the network on a split (run_model's default is 8,192): TensorFlow keeps
# what its first eager call at a batch size allocated, ~15 MB at 8,192 records and ~5 MB at
# 2,048 — held through the evaluation, where the run's memory peaks (issue 15). The same outputs
# (bit for bit on the 1,000,000-row bench's network; tested to 1e-6).
OUTPUT_BATCH = 2_048


def split_output(result: TrainResult, part: np.ndarray) -> np.ndarray:
    """The model's raw output (n, outputs) on some labelled records (positions), their inputs
    built OUTPUT_CHUNK records at a time."""
    model, layout, features = result.model, result.layout, result.data.features
    if len(part) <= OUTPUT_CHUNK:
        return run_model(model, layout.inputs(rows(features, part)), OUTPUT_BATCH)
    return np.concatenate(
        [
            run_model(
                model,
                layout.inputs(rows(features, part[start : start + OUTPUT_CHUNK])),
                OUTPUT_BATCH,
            )
            for start in range(0, len(part), OUTPUT_CHUNK)
        ],
        axis=0,
    )


def split_outputs(result: TrainResult) -> dict[str, np.ndarray]:
    """The model's raw output on the test split and, for the tasks that use it (binary and
    multiclass: recalibration, the binary operating threshold), the validation split, each run
    through the network once: the recalibration, the test metrics and the bootstrap intervals
    share them (the test split went through it three times, the validation split twice: issue
    15)."""
    outputs = {"test": split_output(result, result.split.test)}
    if result.layout.task in ("binary", "multiclass"):
        outputs["validation"] = split_output(result, result.split.validation)
    return outputs


def calibrate_on_validation(
    result: TrainResult, outputs: dict[str, np.ndarray] | None = None
) -> tuple[Any, Any]:
    """Temperature scaling fitted on the validation split when it lowers the cross-fitted
    validation log-loss — decided on the validation split alone. The test split's Brier score
    before and after is then reported (and a recalibration worse there is said to be worse),
    never used to change the decision. ``outputs``: ``split_outputs(result)`` when computed
    already.

    Returns (Recalibrator, RecalibrationDecision); the identity for regression and survival.
    """
    from dlcore.evaluate.calibration import (
        RecalibrationDecision,
        Recalibrator,
        choose_recalibration,
        report_on_held_out,
    )

    task, split, y = result.layout.task, result.split, result.data.y
    if task not in ("binary", "multiclass"):
        return Recalibrator(), RecalibrationDecision("none", False, f"not applicable to {task}")
    outputs = outputs or {}
    validation = outputs.get("validation")
    recalibrator, decision = choose_recalibration(
        y[split.validation],
        split_output(result, split.validation) if validation is None else validation,
        "temperature",
    )
    if len(split.test):
        test = outputs.get("test")
        recalibrator, decision = report_on_held_out(
            recalibrator,
            decision,
            y[split.test],
            split_output(result, split.test) if test is None else test,
        )
    return recalibrator, decision


def split_baselines(result: TrainResult, *, resamples: int = 1000) -> tuple[list[Any], float]:
    """The simple baselines fitted on the run's development records and judged on its test
    split (``dlcore.evaluate.baselines.fit_baselines``), with the seconds it took; none for
    records that are not a table."""
    import time

    from dlcore.evaluate.baselines import fit_baselines

    layout, split, y = result.layout, result.split, result.data.y
    if not isinstance(result.data.features, pd.DataFrame):
        return [], 0.0
    start = time.perf_counter()
    development = np.sort(np.concatenate([split.train, split.validation]))
    features, kinds = result.data.features, result.data.kinds
    if getattr(layout, "molecule_features", None):
        from dlcore.data.molecules import expand_molecules

        features, kinds = expand_molecules(layout, features, kinds, development)
    fitted = fit_baselines(
        layout.task,
        features,
        y,
        kinds,
        development,
        split.test,
        seed=result.spec.seed,
        resamples=min(resamples, BASELINE_RESAMPLES),
    )
    return fitted, time.perf_counter() - start


def honest_summary(
    result: TrainResult,
    recalibrator: Any = None,
    *,
    resamples: int = 1000,
    baselines: bool = True,
    fitted: tuple[list[Any], float] | None = None,
    test_output: np.ndarray | None = None,
) -> dict[str, Any]:
    """What a training run may claim about its test split: every headline metric with its 95%
    bootstrap interval, the counts it rests on and whether they suffice ('too few cases to
    judge', the rule ``dlcore.evaluate.metrics.reportability`` that evaluation shares), and the
    simple baselines fitted on the same split with the one-sentence comparison. ``fitted`` is
    ``split_baselines(result)`` when the baselines were fitted already (the pipeline fits them
    right after training, at its lowest memory, issue 15); ``test_output`` the network's raw
    output on the test split when computed already (``split_outputs``).
    """
    import time

    from dlcore.evaluate.baselines import compare
    from dlcore.evaluate.intervals import headline_intervals
    from dlcore.evaluate.metrics import reportability

    layout, split, y = result.layout, result.split, result.data.y
    task = layout.task
    test = split.test
    output = split_output(result, test) if test_output is None else test_output
    if recalibrator is not None and task in ("binary", "multiclass"):
        output = np.asarray(recalibrator.apply(output)).reshape(output.shape)
    verdict = reportability(task, y[test])
    intervals = {
        k: v.to_dict()
        for k, v in headline_intervals(task, y[test], output, resamples=resamples).items()
    }
    summary: dict[str, Any] = {
        "metrics_ci": intervals,
        "test_counts": verdict.to_dict(),
        "baselines": [],
        "baseline_comparison": None,
    }
    if baselines and isinstance(result.data.features, pd.DataFrame):
        start = time.perf_counter()
        models, seconds = (
            fitted if fitted is not None else split_baselines(result, resamples=resamples)
        )
        summary["baselines"] = [b.to_dict() for b in models]
        summary["baseline_comparison"] = compare(
            task,
            y[test],
            output,
            intervals,
            models,
            resamples=min(resamples, BASELINE_RESAMPLES),
        )
        summary["baselines_s"] = (time.perf_counter() - start) + (
            seconds if fitted is not None else 0.0
        )
    return summary
