"""The one training path: seeded stratified split, progress events, cancel, early stopping, weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcore.data import Dataset, infer_schema
from dlcore.data.synthetic import make_cohort
from dlcore.errors import UserError
from dlcore.models.layouts import to_model_inputs
from dlcore.models.spec import ModelSpec
from dlcore.models.tabular import run_model
from dlcore.training.fit import prepare_data, sample_weights, split_records, train


def _labels(n: int = 1000, positive_share: float = 0.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=np.float32)
    y[rng.choice(n, int(n * positive_share), replace=False)] = 1
    return y


@pytest.fixture(scope="module")
def small_cohort() -> Dataset:
    frame = make_cohort(200, seed=5)
    return Dataset("small cohort", frame, infer_schema(frame, "outcome"))


# -- the split -------------------------------------------------------------------------------


def test_split_is_seeded():
    y = _labels()
    a = split_records(y, "binary", ModelSpec(seed=3))
    b = split_records(y, "binary", ModelSpec(seed=3))
    c = split_records(y, "binary", ModelSpec(seed=4))
    for part in ("train", "validation", "test"):
        assert np.array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.test, c.test)
    assert not np.array_equal(a.validation, c.validation)
    assert a.seed == 3 and c.seed == 4


def test_split_is_disjoint_covering_and_sized():
    y = _labels(1000)
    split = split_records(y, "binary", ModelSpec(validation_fraction=0.2, test_fraction=0.1))
    parts = [split.train, split.validation, split.test]
    joined = np.concatenate(parts)
    assert len(joined) == len(set(joined.tolist())) == 1000
    assert np.array_equal(np.sort(joined), np.arange(1000))
    assert split.sizes() == {"train": 700, "validation": 200, "test": 100}


def test_split_is_stratified():
    y = _labels(1000, positive_share=0.13)
    split = split_records(y, "binary", ModelSpec(seed=9))
    assert split.stratified
    overall = y.mean()
    for part in (split.train, split.validation, split.test):
        assert abs(y[part].mean() - overall) <= 0.05


def test_split_multiclass_stratified_and_regression_not():
    rng = np.random.default_rng(1)
    y = rng.choice(3, 600, p=[0.6, 0.3, 0.1]).astype(np.int64)
    split = split_records(y, "multiclass", ModelSpec())
    assert split.stratified
    for part in (split.train, split.validation, split.test):
        shares = np.bincount(y[part], minlength=3) / len(part)
        assert np.all(np.abs(shares - np.bincount(y) / len(y)) <= 0.05)
    regression = split_records(rng.normal(size=300), "regression", ModelSpec())
    assert not regression.stratified
    assert sum(regression.sizes().values()) == 300


def test_split_round_trips_through_dict():
    from dlcore.training.fit import Split

    split = split_records(_labels(200), "binary", ModelSpec(seed=2))
    again = Split.from_dict(split.to_dict())
    assert np.array_equal(again.train, split.train)
    assert np.array_equal(again.test, split.test)
    assert again.seed == 2 and again.stratified


def test_too_few_records_is_a_user_error():
    with pytest.raises(UserError) as info:
        split_records(_labels(25), "binary", ModelSpec())
    assert "Only 25 labelled records" in str(info.value)
    assert "Fix" in str(info.value)
    frame = make_cohort(25, seed=1)
    with pytest.raises(UserError, match="Only 25"):
        train(Dataset("tiny", frame, infer_schema(frame, "outcome")), ModelSpec(epochs=1))


def test_rows_without_a_target_are_left_out():
    frame = make_cohort(100, seed=2)
    frame["outcome"] = frame["outcome"].astype(float)
    frame.loc[[0, 5, 9], "outcome"] = np.nan
    data = prepare_data(Dataset("gaps", frame, infer_schema(frame, "outcome")))
    assert len(data.y) == 97
    assert 0 not in data.row_index and 5 not in data.row_index and 1 in data.row_index
    assert list(data.features.columns) == [
        "age",
        "systolic_bp",
        "cholesterol",
        "sex",
        "smoking",
        "noise",
    ]


# -- class weights ---------------------------------------------------------------------------


def test_balanced_weights_are_inverse_to_class_counts():
    y = np.array([1.0] * 30 + [0.0] * 70)
    weights = sample_weights(y, "binary", ModelSpec(class_weighting="balanced"))
    assert weights is not None and weights.shape == (100,)
    assert weights[0] == pytest.approx(100 / (2 * 30))
    assert weights[-1] == pytest.approx(100 / (2 * 70))
    assert weights[0] / weights[-1] == pytest.approx(70 / 30)
    # each class carries the same total weight
    assert weights[y == 1].sum() == pytest.approx(weights[y == 0].sum())
    assert sample_weights(y, "binary", ModelSpec(class_weighting="none")) is None
    assert sample_weights(np.arange(10.0), "regression", ModelSpec()) is None
    multi = sample_weights(
        np.array([0] * 10 + [1] * 20 + [2] * 70),
        "multiclass",
        ModelSpec(class_weighting="balanced"),
    )
    assert multi[0] == pytest.approx(100 / 30) and multi[-1] == pytest.approx(100 / 210)


# -- fit, events, cancel, early stopping -----------------------------------------------------


def test_progress_events(small_cohort):
    events = []
    result = train(
        small_cohort,
        ModelSpec(hidden_units=[4], epochs=2, early_stopping_patience=0, seed=1),
        on_event=events.append,
    )
    kinds = [e.kind for e in events]
    assert kinds[0] == "start"
    assert kinds[-1] == "end"
    epochs = [e for e in events if e.kind == "epoch"]
    assert [e.epoch for e in epochs] == [1, 2]
    assert all(e.epochs == 2 for e in epochs)
    for event, loss, val_loss in zip(
        epochs, result.history["loss"], result.history["val_loss"], strict=True
    ):
        assert event.logs["loss"] == pytest.approx(loss)
        assert event.logs["val_loss"] == pytest.approx(val_loss)
    assert epochs[-1].fraction == pytest.approx(1.0)
    assert events[-1].logs["cancelled"] == 0.0
    assert result.epochs_run == 2 and not result.cancelled
    assert result.best_epoch == 2  # without early stopping the last weights are kept
    assert set(result.history) >= {"loss", "val_loss", "auc", "val_auc"}
    assert result.main_metric == "auc"
    assert events[0].batches == int(np.ceil(len(result.split.train) / 32))


def test_should_stop_cancels_and_registers_nothing(small_cohort):
    from dlcore.registry import list_models
    from dlcore.training.pipeline import train_and_register

    before = {m.id for m in list_models()}
    epochs_seen = []

    def on_event(event):
        if event.kind == "epoch":
            epochs_seen.append(event.epoch)

    outcome = train_and_register(
        small_cohort,
        ModelSpec(hidden_units=[4], epochs=20, early_stopping_patience=0, seed=1),
        name="cancelled run",
        on_event=on_event,
        should_stop=lambda: len(epochs_seen) >= 1,
    )
    assert outcome.record is None
    assert outcome.report is None
    assert outcome.result.cancelled
    assert outcome.result.epochs_run in (1, 2)
    assert {m.id for m in list_models()} == before


def test_early_stopping_restores_the_best_weights(small_cohort):
    spec = ModelSpec(
        hidden_units=[64],
        dropout=0.0,
        learning_rate=0.1,
        batch_size=16,
        epochs=30,
        early_stopping_patience=3,
        class_weighting="none",
        seed=0,
    )
    result = train(small_cohort, spec)
    val_loss = np.array(result.history["val_loss"])
    assert result.stopped_early
    assert result.best_epoch == int(np.argmin(val_loss)) + 1
    assert result.best_epoch < result.epochs_run  # the last epochs were worse
    # the model holds the best epoch's weights: its validation loss is the minimum
    part = result.split.validation
    inputs = to_model_inputs(result.layout, result.data.features.iloc[part])
    p = np.clip(run_model(result.model, inputs).ravel(), 1e-7, 1 - 1e-7)
    y = result.data.y[part]
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert loss == pytest.approx(val_loss.min(), rel=1e-4)
    assert loss < val_loss[-1]


def test_training_is_reproducible(small_cohort):
    spec = ModelSpec(hidden_units=[4], epochs=1, early_stopping_patience=0, seed=5)
    a = train(small_cohort, spec)
    b = train(small_cohort, spec)
    assert a.history["loss"] == pytest.approx(b.history["loss"], rel=1e-5)
    records = small_cohort.frame.head(5)
    from dlcore.predict import predict

    pa = predict(a.model, a.layout, records).output
    pb = predict(b.model, b.layout, records).output
    np.testing.assert_allclose(pa, pb, rtol=1e-5)


def test_regression_and_multiclass_train(diabetes):
    result = train(diabetes, ModelSpec(hidden_units=[4], epochs=1, class_weighting="none", seed=1))
    assert result.main_metric == "mae"
    assert result.layout.task == "regression"
    frame = make_cohort(150, seed=4, task="multiclass")
    multi = train(
        Dataset("grades", frame, infer_schema(frame, "outcome")),
        ModelSpec(hidden_units=[4], epochs=1, seed=1),
    )
    assert multi.layout.classes == ["high", "low", "medium"]
    output = run_model(multi.model, to_model_inputs(multi.layout, multi.data.features.head(4)))
    assert output.shape == (4, 3)
    np.testing.assert_allclose(output.sum(axis=1), 1.0, rtol=1e-5)


def test_spec_loss_is_checked_against_the_task(small_cohort):
    from dlcore.errors import InvalidSpecError

    with pytest.raises(InvalidSpecError, match="does not fit a binary task"):
        train(small_cohort, ModelSpec(loss="huber", epochs=1))


def test_no_features_is_a_user_error():
    frame = pd.DataFrame({"patient_id": [f"P{i}" for i in range(50)], "y": [0, 1] * 25})
    with pytest.raises(UserError, match="No column is left as a feature"):
        train(Dataset("ids only", frame, infer_schema(frame, "y")), ModelSpec(epochs=1))
