"""ModelSpec validation and the tabular network: raw records in, probabilities out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlcore.errors import InvalidSpecError
from dlcore.models.common import architecture_summary
from dlcore.models.layouts import input_names, to_model_inputs
from dlcore.models.spec import ModelSpec, check_spec, default_spec
from dlcore.models.tabular import run_model

# -- the spec --------------------------------------------------------------------------------


def test_spec_json_round_trip():
    spec = ModelSpec(
        hidden_units=[32, 16, 8],
        activation="tanh",
        dropout=0.25,
        batch_norm=True,
        loss="binary_focal_crossentropy",
        optimizer="sgd",
        learning_rate=0.01,
        momentum=0.9,
        batch_size=64,
        epochs=12,
        early_stopping_patience=0,
        class_weighting="none",
        seed=7,
    )
    text = spec.to_json()
    again = ModelSpec.from_json(text)
    assert again == spec
    assert again.to_json() == text
    assert json.loads(text)["hidden_units"] == [32, 16, 8]
    assert ModelSpec.from_json(ModelSpec().to_json()) == ModelSpec()


def test_unknown_key_is_refused():
    data = ModelSpec().to_dict() | {"hiden_units": [4]}
    with pytest.raises(InvalidSpecError) as info:
        ModelSpec.from_dict(data)
    assert "hiden_units" in str(info.value)
    assert "Fix" in str(info.value)


def test_malformed_json_is_refused():
    with pytest.raises(InvalidSpecError, match="not valid JSON"):
        ModelSpec.from_json("{hidden_units: [4]")
    with pytest.raises(InvalidSpecError, match="JSON list"):
        ModelSpec.from_json("[1, 2]")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"activation": "relu6"}, "activation"),
        ({"activation": "Relu"}, "activation"),
        ({"dropout": 0.95}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"hidden_units": []}, "hidden_units"),
        ({"hidden_units": [16, 0]}, "hidden_units"),
        ({"optimizer": "adagrad"}, "optimizer"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"validation_fraction": 0.01}, "validation_fraction"),
        ({"class_weighting": "auto"}, "class_weighting"),
        ({"seed": -1}, "seed"),
        ({"loss": "hinge"}, "loss"),
    ],
)
def test_invalid_values_are_refused(changes, named):
    data = ModelSpec().to_dict() | changes
    with pytest.raises(InvalidSpecError) as info:
        ModelSpec.from_dict(data)
    assert named in str(info.value)
    assert "Expected" in str(info.value)


def test_fractions_summing_over_point_seven_are_refused():
    check_spec(ModelSpec(validation_fraction=0.35, test_fraction=0.35))  # exactly 0.7 is allowed
    with pytest.raises(InvalidSpecError) as info:
        check_spec(ModelSpec(validation_fraction=0.4, test_fraction=0.35))
    assert "25%" in str(info.value)  # what is left to train on


def test_loss_must_fit_the_task():
    assert check_spec(ModelSpec(loss="huber"), "regression").loss == "huber"
    check_spec(ModelSpec(loss="huber"))  # without a task, any known loss passes
    for loss, task in [
        ("mean_squared_error", "binary"),
        ("binary_crossentropy", "multiclass"),
        ("categorical_crossentropy", "regression"),
    ]:
        with pytest.raises(InvalidSpecError) as info:
            check_spec(ModelSpec(loss=loss), task)
        assert f"does not fit a {task} task" in str(info.value)
    assert ModelSpec().resolved_loss("multiclass") == "categorical_crossentropy"


def test_default_spec_scales_with_the_table():
    small, large = default_spec("binary", 200), default_spec("binary", 50_000)
    assert sum(small.hidden_units) < sum(large.hidden_units)
    assert small.batch_size < large.batch_size
    assert default_spec("regression", 500).class_weighting == "none"
    for spec in (small, large):
        check_spec(spec, "binary")


def test_input_names_are_valid_and_unique():
    names = input_names(["mean radius", "Mean_Radius", "2nd value", "%"])
    assert names == {
        "mean radius": "mean_radius",
        "Mean_Radius": "Mean_Radius_2",
        "2nd value": "c_2nd_value",
        "%": "column",
    }


# -- the network -----------------------------------------------------------------------------


def _raw_inputs(layout, records: dict[str, list]) -> dict[str, np.ndarray]:
    out = {}
    for info in layout.features:
        values = records[info.name]
        if info.kind == "numeric":
            out[info.input] = np.asarray(values, dtype=np.float32).reshape(-1, 1)
        else:
            out[info.input] = np.asarray(values, dtype=str).reshape(-1, 1)
    return out


def test_layout_of_the_cohort_model(tiny_cohort):
    layout = tiny_cohort.layout
    assert layout.names == ["age", "systolic_bp", "cholesterol", "sex", "smoking", "noise"]
    assert layout.kinds == {
        "age": "numeric",
        "systolic_bp": "numeric",
        "cholesterol": "numeric",
        "sex": "categorical",
        "smoking": "categorical",
        "noise": "numeric",
    }
    smoking = layout.features[4]
    assert smoking.categories == ["current", "former", "never"]
    assert layout.features[2].missing_share > 0
    assert layout.output_names == ["P(outcome)"]  # the class '1' is named by the outcome
    assert layout.positive_label == "outcome"


def test_model_takes_raw_records_and_returns_probabilities(tiny_cohort):
    layout, model = tiny_cohort.layout, tiny_cohort.model
    records = {
        "age": [45, 70, np.nan],
        "systolic_bp": [120, 160, 140],
        "cholesterol": [np.nan, 6.1, 5.0],
        "sex": ["female", "male", "male"],
        "smoking": ["never", "current", "former"],
        "noise": [0.0, 1.0, -1.0],
    }
    output = run_model(model, _raw_inputs(layout, records))
    assert output.shape == (3, 1)
    assert np.all(np.isfinite(output))
    assert np.all((output >= 0) & (output <= 1))
    # the same through the model's own call
    import tensorflow as tf

    direct = model(
        {k: tf.constant(v) for k, v in _raw_inputs(layout, records).items()}, training=False
    )
    np.testing.assert_allclose(np.asarray(direct), output, rtol=1e-6)


def test_unseen_category_does_not_crash(tiny_cohort):
    layout, model = tiny_cohort.layout, tiny_cohort.model
    records = {
        "age": [60, 60],
        "systolic_bp": [135, 135],
        "cholesterol": [5.2, 5.2],
        "sex": ["male", "unknown"],
        "smoking": ["vaping", "(missing)"],
        "noise": [0.0, 0.0],
    }
    output = run_model(model, _raw_inputs(layout, records))
    assert output.shape == (2, 1)
    assert np.all(np.isfinite(output)) and np.all((output >= 0) & (output <= 1))


def test_encoder_imputes_scales_and_one_hot_encodes(tiny_cohort):
    from dlcore.models.keras_runtime import import_keras

    keras = import_keras()
    model, layout = tiny_cohort.model, tiny_cohort.layout
    encoder_layer = model.get_layer("encoded")
    encoder = keras.Model(model.inputs, encoder_layer.output)
    columns = {c["name"]: c for c in encoder_layer.columns}
    blocks = {name: (start, stop) for name, start, stop in encoder_layer.blocks()}
    records = {
        "age": [np.nan, 70.0],
        "systolic_bp": [135, 135],
        "cholesterol": [np.nan, 6.0],
        "sex": ["male", "female"],
        "smoking": ["current", "pipe"],
        "noise": [0.0, 0.0],
    }
    encoded = run_model(encoder, _raw_inputs(layout, records))
    age = columns["age"]
    assert not age["indicator"]  # age has no missing values in training
    a0 = blocks["age"][0]
    assert encoded[0, a0] == pytest.approx((age["fill"] - age["mean"]) / age["std"], abs=1e-5)
    assert encoded[1, a0] == pytest.approx((70.0 - age["mean"]) / age["std"], abs=1e-5)
    chol = columns["cholesterol"]
    c0, c1 = blocks["cholesterol"]
    assert chol["indicator"] and c1 - c0 == 2
    assert encoded[0, c0] == pytest.approx((chol["fill"] - chol["mean"]) / chol["std"], abs=1e-5)
    assert encoded[0, c0 + 1] == 1.0 and encoded[1, c0 + 1] == 0.0
    s0, s1 = blocks["smoking"]
    # current, former, never; a value training never saw ('pipe') is all zeros: no slot of its
    # own, whose weights would never have been trained
    assert encoded[0, s0:s1].tolist() == [1.0, 0.0, 0.0]
    assert encoded[1, s0:s1].tolist() == [0.0, 0.0, 0.0]
    assert encoded.shape[1] == 10


def test_typed_features_give_the_same_output_as_raw_inputs(tiny_cohort, cohort_dataset):
    from dlcore.data import feature_frame

    layout = tiny_cohort.layout
    typed = feature_frame(cohort_dataset.frame.head(10), cohort_dataset.schema, layout.kinds)
    via_typed = run_model(tiny_cohort.model, to_model_inputs(layout, typed))
    raw = {name: cohort_dataset.frame[name].head(10).tolist() for name in layout.names}
    via_raw = run_model(tiny_cohort.model, _raw_inputs(layout, raw))
    np.testing.assert_allclose(via_typed, via_raw, rtol=1e-6)


def test_architecture_summary_counts_parameters(tiny_cohort):
    rows = architecture_summary(tiny_cohort.model)
    dense = [r for r in rows if r["type"] == "Dense"]
    assert [r["layer"] for r in dense] == ["dense_1", "probability"]
    width = 10  # 4 numeric + 1 missing indicator + sex (2) + smoking (3)
    assert dense[0]["parameters"] == width * 8 + 8
    assert dense[0]["output_shape"] == "(batch, 8)"
    assert dense[1]["parameters"] == 8 + 1
    assert sum(r["parameters"] for r in rows) >= width * 8 + 8 + 9
    inputs = [r for r in rows if r["type"] == "InputLayer"]
    assert {r["layer"] for r in inputs} >= set(tiny_cohort.layout.names)
    assert tiny_cohort.model.get_layer("core").count_params() == width * 8 + 8 + 9


def test_architecture_preview_matches_the_built_model(tiny_cohort, cohort_dataset):
    from dlcore.models.tabular import architecture_preview

    preview = architecture_preview(tiny_cohort.spec, cohort_dataset.schema, cohort_dataset.frame)
    built = {r["layer"]: r for r in architecture_summary(tiny_cohort.model)}
    rows = {r["layer"]: r for r in preview}
    assert rows["encoded"]["output_shape"] == built["encoded"]["output_shape"] == "(batch, 10)"
    assert rows["dense_1"]["parameters"] == built["dense_1"]["parameters"]
    assert rows["output"]["parameters"] == built["probability"]["parameters"]
    assert sum(r["parameters"] for r in preview) == tiny_cohort.model.count_params()
