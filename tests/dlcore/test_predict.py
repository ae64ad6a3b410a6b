"""Predictions for records: schema checks whose messages name the problem, and readable tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcore.errors import SchemaMismatchError
from dlcore.predict import predict


@pytest.fixture(scope="module")
def records(breast_cancer) -> pd.DataFrame:
    return breast_cancer.frame.drop(columns="diagnosis").sample(25, random_state=1)


@pytest.fixture(scope="module")
def multiclass_model():
    from dlcore.data import Dataset, infer_schema
    from dlcore.data.synthetic import make_cohort
    from dlcore.models.spec import ModelSpec
    from dlcore.training.fit import train

    frame = make_cohort(200, seed=8, task="multiclass")
    dataset = Dataset("grades", frame, infer_schema(frame, "outcome"))
    return train(dataset, ModelSpec(hidden_units=[4], epochs=1, seed=1)), frame


def _binary(tiny_binary):
    return tiny_binary.result.model, tiny_binary.result.layout


def test_missing_columns_are_named(tiny_binary, records):
    model, layout = _binary(tiny_binary)
    missing = ["mean radius", "worst area", "texture error"]
    with pytest.raises(SchemaMismatchError) as info:
        predict(model, layout, records.drop(columns=missing))
    message = str(info.value)
    assert "lack 3 column(s)" in message
    for name in missing:
        assert name in message.split("Expected")[0]
    assert "Fix" in message


def test_case_mismatched_column_gets_a_rename_hint(tiny_binary, records):
    model, layout = _binary(tiny_binary)
    renamed = records.rename(columns={"mean radius": "Mean Radius", "worst area": "worst_area"})
    with pytest.raises(SchemaMismatchError) as info:
        predict(model, layout, renamed)
    message = str(info.value)
    assert "'Mean Radius' → 'mean radius'" in message
    assert "'worst_area' → 'worst area'" in message


def test_text_in_a_numeric_column_names_column_row_and_value(tiny_binary, records):
    model, layout = _binary(tiny_binary)
    bad = records.copy()
    bad["mean texture"] = bad["mean texture"].astype(object)
    bad.iloc[2, bad.columns.get_loc("mean texture")] = "abc"
    with pytest.raises(SchemaMismatchError) as info:
        predict(model, layout, bad)
    message = str(info.value)
    assert "'mean texture'" in message
    assert "row 3" in message
    assert "'abc'" in message


def test_numbers_as_text_and_blanks_are_accepted(tiny_binary, records):
    model, layout = _binary(tiny_binary)
    as_text = records.astype(str)
    expected = predict(model, layout, records).output
    np.testing.assert_allclose(predict(model, layout, as_text).output, expected, rtol=1e-5)
    blank = records.copy()
    blank["mean radius"] = blank["mean radius"].astype(object)
    blank.iloc[0, blank.columns.get_loc("mean radius")] = ""
    result = predict(model, layout, blank)
    assert np.isfinite(result.output).all()
    assert any("'mean radius': 1 missing value(s) filled" in n for n in result.notes)


def test_extra_columns_are_ignored_with_a_note(tiny_binary, records):
    model, layout = _binary(tiny_binary)
    extra = records.assign(ward="A", mrn=range(len(records)))
    result = predict(model, layout, extra)
    plain = predict(model, layout, records)
    assert np.array_equal(result.output, plain.output)
    notes = [n for n in result.notes if "does not use" in n]
    assert len(notes) == 1
    assert "2 column(s)" in notes[0] and "ward" in notes[0] and "mrn" in notes[0]
    assert not any("does not use" in n for n in plain.notes)
    # the target column, if present, is not reported as extra
    with_target = records.assign(diagnosis="benign")
    assert not any("does not use" in n for n in predict(model, layout, with_target).notes)


def test_out_of_range_values_are_noted(tiny_binary, records):
    model, layout = _binary(tiny_binary)
    far = records.copy()
    far["mean area"] = 1e6
    result = predict(model, layout, far)
    assert any("'mean area'" in n and "outside the training range" in n for n in result.notes)


def test_zero_below_the_training_range_is_not_measured_not_out_of_range(tiny_binary, records):
    model, layout = _binary(tiny_binary)
    zeroed = records.copy()
    zeroed["mean area"] = 0.0  # not measured at this hospital
    notes = [n for n in predict(model, layout, zeroed).notes if "'mean area'" in n]
    assert len(notes) == 1 and "not measured" in notes[0]
    assert "outside the training range" not in notes[0]


def test_binary_table(tiny_binary, records):
    model, layout = _binary(tiny_binary)
    result = predict(model, layout, records, threshold=0.4)
    table = result.table
    assert list(table.columns) == ["probability_malignant", "decision", "threshold"]
    assert table.index.equals(records.index)
    probability = table["probability_malignant"].to_numpy()
    assert np.array_equal(probability, result.output[:, 0])
    assert ((probability >= 0) & (probability <= 1)).all()
    expected = np.where(probability >= 0.4, "malignant", "benign")
    assert table["decision"].tolist() == expected.tolist()
    assert (table["threshold"] == 0.4).all()
    # a different threshold changes decisions, not probabilities
    low = predict(model, layout, records, threshold=0.0)
    assert (low.table["decision"] == "malignant").all()
    assert np.array_equal(low.table["probability_malignant"], table["probability_malignant"])


def test_unseen_category_is_noted(tiny_cohort, cohort_dataset):
    frame = cohort_dataset.frame.head(6).copy()
    frame.loc[frame.index[:2], "smoking"] = "vaping"
    result = predict(tiny_cohort.model, tiny_cohort.layout, frame)
    notes = [n for n in result.notes if "'smoking'" in n]
    assert len(notes) == 1
    assert "'vaping'" in notes[0] and "not seen in training" in notes[0]
    assert np.isfinite(result.output).all()
    # The positive class '1' is named by the outcome: never "probability_1".
    assert list(result.table.columns) == ["probability_outcome", "decision", "threshold"]
    assert set(result.table["decision"]) <= {"0", "1"}


def test_regression_table(tiny_regression, diabetes):
    result_model = tiny_regression.result
    frame = diabetes.frame.head(12)
    result = predict(result_model.model, result_model.layout, frame)
    assert list(result.table.columns) == ["predicted_progression"]
    values = result.table["predicted_progression"].to_numpy()
    assert np.array_equal(values, result.output[:, 0])
    assert np.isfinite(values).all()
    # the output is in the outcome's own units (the model rescales), not standardised
    assert 0 < values.mean() < 400


def test_multiclass_table(multiclass_model):
    result_model, frame = multiclass_model
    result = predict(result_model.model, result_model.layout, frame.head(15))
    table = result.table
    assert list(table.columns) == [
        "probability_high",
        "probability_low",
        "probability_medium",
        "predicted",
    ]
    probabilities = table[["probability_high", "probability_low", "probability_medium"]]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    expected = np.array(["high", "low", "medium"])[probabilities.to_numpy().argmax(axis=1)]
    assert table["predicted"].tolist() == expected.tolist()


def test_empty_records_are_refused(tiny_binary, records):
    model, layout = _binary(tiny_binary)
    with pytest.raises(SchemaMismatchError, match="empty"):
        predict(model, layout, records.iloc[:0])


def test_a_predictions_file_scored_again_has_its_old_columns_replaced():
    from dlcore.predict import with_predictions

    records = pd.DataFrame({"age": [50, 60], "probability_malignant": [0.1, 0.2]})
    fresh = pd.DataFrame({"probability_malignant": [0.7, 0.8], "decision": ["a", "b"]})
    combined, notes = with_predictions(records, fresh)
    assert list(combined.columns) == ["age", "probability_malignant", "decision"]
    assert combined["probability_malignant"].tolist() == [0.7, 0.8]
    assert notes and "probability_malignant" in notes[0]
    assert with_predictions(records[["age"]], fresh)[1] == []


def test_an_unseen_category_is_encoded_as_no_evidence(tiny_cohort, cohort_dataset):
    """An unseen value gets no weight of its own (its slot was never trained): its one-hot block
    is all zeros, and every unseen value gives the same prediction."""
    from dlcore.models.keras_runtime import import_keras
    from dlcore.models.tabular import ENCODER_LAYER

    keras = import_keras()
    model, layout = tiny_cohort.model, tiny_cohort.layout
    encoder = model.get_layer(ENCODER_LAYER)
    block = {name: (start, stop) for name, start, stop in encoder.blocks()}["smoking"]
    frame = cohort_dataset.frame.head(3).copy()
    frame["smoking"] = ["vaping", "snuff", frame["smoking"].iloc[2]]
    features = frame[[c.name for c in cohort_dataset.schema.features]]
    inputs = layout.inputs(features)
    probe = keras.Model(model.inputs, encoder.output)
    encoded = np.asarray(probe(inputs))
    assert (encoded[:2, block[0] : block[1]] == 0).all()
    assert encoded[2, block[0] : block[1]].sum() == 1
    output = predict(model, layout, frame).output
    same_otherwise = frame.iloc[[0]].assign(smoking="snuff")
    assert predict(model, layout, same_otherwise).output[0] == pytest.approx(output[0])
