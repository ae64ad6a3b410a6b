"""Issue 15, 3rd round: what training keeps through evaluation is narrower (int32 positions and
row labels, the float32 target not copied), each split runs through the network once and in
small batches, and the temperature's log-loss is summed in chunks — all with the same results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def test_row_labels_are_the_same_numbers_in_int32():
    from dlcore.training.fit import row_labels

    labels = row_labels(pd.RangeIndex(5, 15, 2))
    assert labels.dtype == np.int32 and labels.tolist() == [5, 7, 9, 11, 13]
    picked = row_labels(pd.Index([40, 3, 7]))
    assert picked.dtype == np.int32 and picked.tolist() == [40, 3, 7]
    big = row_labels(pd.Index([1, 2**40]))
    assert big.dtype == np.int64 and big.tolist() == [1, 2**40]
    assert row_labels(pd.Index(["a", "b"])).tolist() == ["a", "b"]
    assert len(row_labels(pd.RangeIndex(0))) == 0


def test_split_positions_are_int32_and_the_same_split():
    """The same records in each part as scikit-learn's split of int64 positions."""
    from sklearn.model_selection import train_test_split

    from dlcore.models.spec import ModelSpec
    from dlcore.training.fit import split_records

    rng = np.random.default_rng(3)
    y = (rng.random(1000) < 0.3).astype(np.float32)
    spec = ModelSpec(seed=7)
    split = split_records(y, "binary", spec)
    assert {split.train.dtype, split.validation.dtype, split.test.dtype} == {np.dtype(np.int32)}
    n_test, n_val = round(1000 * spec.test_fraction), round(1000 * spec.validation_fraction)
    rest, test = train_test_split(
        np.arange(1000, dtype=np.int64), test_size=n_test, random_state=7, stratify=y
    )
    train, val = train_test_split(rest, test_size=n_val, random_state=8, stratify=y[rest])
    assert split.test.tolist() == sorted(test.tolist())
    assert split.validation.tolist() == sorted(val.tolist())
    assert split.train.tolist() == sorted(train.tolist())


def test_a_float32_target_is_not_copied_for_training():
    from dlcore.models.layouts import TabularLayout
    from dlcore.training.fit import training_targets

    y = np.array([0, 1, 1, 0], dtype=np.float32)
    targets = training_targets(y, TabularLayout(features=[], task="binary"))
    assert targets.shape == (4, 1) and np.shares_memory(targets, y)
    assert targets.ravel().tolist() == [0.0, 1.0, 1.0, 0.0]
    ints = training_targets(np.array([0, 1]), TabularLayout(features=[], task="binary"))
    assert ints.dtype == np.float32 and ints.ravel().tolist() == [0.0, 1.0]


def test_small_network_batches_give_the_same_outputs(tiny_cohort, monkeypatch):
    from dlcore.models.tabular import run_model
    from dlcore.training import honest

    result = tiny_cohort
    part = result.split.test
    default = run_model(result.model, result.layout.inputs(result.data.features.iloc[part]))
    sizes = []

    def counted(model, inputs, batch_size=8192):
        sizes.append(batch_size)
        return run_model(model, inputs, batch_size)

    monkeypatch.setattr(honest, "run_model", counted)
    monkeypatch.setattr(honest, "OUTPUT_BATCH", 7)
    small = honest.split_output(result, part)
    assert sizes == [7]
    np.testing.assert_allclose(small, default, rtol=1e-6, atol=1e-7)


def test_outputs_computed_once_give_the_same_evaluation(tiny_cohort, monkeypatch):
    """Calibration, the test metrics and the intervals from outputs computed once equal those
    each step computes itself; the network runs once per split."""
    from dlcore.evaluate.metrics import report_to_dict
    from dlcore.training import honest, pipeline

    result = tiny_cohort
    own_recalibrator, own_decision = honest.calibrate_on_validation(result)
    own_report = pipeline.evaluate_split(result, own_recalibrator)
    own_summary = honest.honest_summary(result, own_recalibrator, resamples=50, baselines=False)

    runs = []
    original = honest.split_output

    def counted(result_, part):
        runs.append(len(part))
        return original(result_, part)

    monkeypatch.setattr(honest, "split_output", counted)
    monkeypatch.setattr(pipeline, "split_output", counted)
    outputs = honest.split_outputs(result)
    recalibrator, decision = honest.calibrate_on_validation(result, outputs)
    report = pipeline.evaluate_split(result, recalibrator, outputs)
    summary = honest.honest_summary(
        result, recalibrator, resamples=50, baselines=False, test_output=outputs["test"]
    )
    assert runs == [len(result.split.validation), len(result.split.test)]
    assert decision.to_dict() == own_decision.to_dict()
    assert recalibrator.to_dict() == own_recalibrator.to_dict()
    assert report_to_dict(report) == report_to_dict(own_report)
    assert summary["metrics_ci"] == own_summary["metrics_ci"]


def test_a_regression_runs_only_its_test_split_through_the_network(tiny_regression, monkeypatch):
    """Regression has no recalibration and no operating threshold: the validation split is not
    run through the network for its evaluation (it was, for nothing), and the report is the
    same."""
    from dlcore.evaluate.metrics import report_to_dict
    from dlcore.training import honest, pipeline

    result = tiny_regression.result
    runs = []
    original = honest.split_output

    def counted(result_, part):
        runs.append(len(part))
        return original(result_, part)

    monkeypatch.setattr(honest, "split_output", counted)
    monkeypatch.setattr(pipeline, "split_output", counted)
    outputs = honest.split_outputs(result)
    report = pipeline.evaluate_split(result, None, outputs)
    assert runs == [len(result.split.test)]
    assert report_to_dict(report) == report_to_dict(tiny_regression.report)


@pytest.mark.parametrize("classes", [2, 3])
def test_the_temperature_log_loss_in_chunks_is_the_same(classes, monkeypatch):
    from dlcore.evaluate import calibration

    rng = np.random.default_rng(classes)
    n = 3000
    if classes == 2:
        logits = rng.normal(0, 2.5, n)
        p = 1 / (1 + np.exp(-logits))
        y = (rng.random(n) < 1 / (1 + np.exp(-logits / 2))).astype(int)
    else:
        scores = rng.normal(0, 2.0, (n, classes))
        p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        y = np.array([rng.choice(classes, p=row) for row in p])
        p = np.exp(scores * 1.6) / np.exp(scores * 1.6).sum(axis=1, keepdims=True)
    whole = calibration.fit_recalibration(y, p, "temperature")
    monkeypatch.setattr(calibration, "LOSS_CHUNK", 256)
    chunked = calibration.fit_recalibration(y, p, "temperature")
    assert whole.temperature > 1.2  # overconfident probabilities: a real temperature was fitted
    assert chunked.temperature == pytest.approx(whole.temperature, rel=1e-6)
    in_chunks = calibration.choose_recalibration(y, p)[1]
    monkeypatch.setattr(calibration, "LOSS_CHUNK", 32_768)
    at_once = calibration.choose_recalibration(y, p)[1]
    assert in_chunks.adopted and at_once.adopted
    assert in_chunks.validation_log_loss_after == pytest.approx(
        at_once.validation_log_loss_after, rel=1e-9
    )
